"""Drop-in adapters that store other frameworks' conversation memory in sessionhub.

- ``sessionhub.integrations.openai_agents.HubSession``: the OpenAI Agents SDK ``Session``
  protocol (``pip install 'sessionhub[openai-agents]'``).
- ``sessionhub.integrations.langchain.HubChatMessageHistory``: LangChain's
  ``BaseChatMessageHistory`` (``pip install 'sessionhub[langchain]'``).

Each adapter lives in its own module and imports its framework there, so importing this
package needs neither. Both keep the framework's own object whole in the message metadata
(read back exactly) and also write a readable role, content and parts, so the sessions
show in the dashboard, search and exports like any other. See docs/integrations.md.
"""

from __future__ import annotations

__all__: list[str] = []
