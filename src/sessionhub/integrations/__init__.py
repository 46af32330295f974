"""Drop-in adapters that store other frameworks' conversation memory in sessionhub.

- ``sessionhub.integrations.openai_agents.HubSession``: the OpenAI Agents SDK ``Session``
  protocol (``pip install 'sessionhub[openai-agents]'``).
- ``sessionhub.integrations.langchain.HubChatMessageHistory``: LangChain's
  ``BaseChatMessageHistory`` (``pip install 'sessionhub[langchain]'``).
- ``sessionhub.integrations.adk.HubSessionService``: Google ADK's ``BaseSessionService``
  (``pip install 'sessionhub[adk]'``).
- ``sessionhub.integrations.chatkit.HubChatKitStore``: OpenAI ChatKit's ``Store``
  (``pip install 'sessionhub[chatkit]'``).

Each adapter lives in its own module and imports its framework there, so importing this
package needs none of them. Each keeps the framework's own object whole (in the message
metadata, or for ChatKit items in their own table) and also writes a readable role, content
and parts, so the sessions show in the dashboard, search and exports like any other. See
docs/integrations.md.
"""

from __future__ import annotations

__all__: list[str] = []
