"""Compaction summaries written by the session agent's model (CONTRACT 11.3).

``ModelSummarizer`` is the hub's ``summarizer`` in the server and the CLI chat (the agent
runtime builds it and ``AgentRuntime.bind`` hands it to the hub). For a session whose
provider is not ``echo`` it sends ``context.summary_prompt`` (the previous summary folded in,
then the new messages) to the session's provider and model, and the reply is the summary
(recorded with ``method = "model"``). For an ``echo`` session it returns None and the hub
writes the extractive summary; a provider that fails makes the hub fall back the same way,
so a compaction is never lost to a provider outage.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..config import EchoProviderSettings, Settings
from ..context import summary_prompt
from ..model import Message, Session
from .providers import ProviderSet, TextDelta


class ModelSummarizer:
    """``await summarizer(session, previous, messages)``: the new summary text, or None."""

    def __init__(self, settings: Settings, providers: ProviderSet) -> None:
        self.settings = settings
        self.providers = providers

    def uses_model(self, session: Session) -> bool:
        """Whether ``session``'s summaries are written by its model (its provider is not echo)."""
        return not isinstance(self.settings.provider(session.provider), EchoProviderSettings)

    async def __call__(
        self, session: Session, previous: str | None, messages: Sequence[Message]
    ) -> str | None:
        if not self.uses_model(session):
            return None
        provider = self.providers.get(session.provider)
        parts: list[str] = []
        async for event in provider.stream(session.model, summary_prompt(previous, messages)):
            if isinstance(event, TextDelta):
                parts.append(event.text)
        return "".join(parts).strip() or None


__all__ = ["ModelSummarizer"]
