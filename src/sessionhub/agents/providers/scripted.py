"""A scripted provider for tests: each call plays the next script round.

    ScriptedProvider([
        [TextDelta("Let me check. "), ToolCallEvent("c1", "current_time", {}), Done("tool_calls")],
        ["It is noon.", Done()],              # plain strings are text deltas
        ProviderError("upstream down"),       # a round that fails at once
    ], delay=0.01)                            # seconds before each event

A round may also contain an exception instance (raised at that point, after the events
before it) . Calls past the end of the script repeat the last round. ``calls`` records the
``(model, messages, tools)`` of every call.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

from .base import Done, ProviderEvent, TextDelta

ScriptItem = ProviderEvent | str | BaseException
Round = Sequence[ScriptItem] | BaseException


class ScriptedProvider:
    """Plays back scripted rounds; see the module docstring."""

    def __init__(self, rounds: Sequence[Round], *, delay: float = 0.0) -> None:
        if not rounds:
            raise ValueError("a script needs at least one round")
        self.rounds = list(rounds)
        self.delay = delay
        self.calls: list[tuple[str, list[dict[str, Any]], list[dict[str, Any]] | None]] = []

    async def stream(
        self,
        model: str,
        messages: Sequence[Mapping[str, Any]],
        tools: Sequence[Mapping[str, Any]] | None = None,
    ) -> AsyncIterator[ProviderEvent]:
        round_ = self.rounds[min(len(self.calls), len(self.rounds) - 1)]
        self.calls.append((model, [dict(m) for m in messages], [dict(t) for t in tools] if tools else None))
        if isinstance(round_, BaseException):
            raise round_
        for item in round_:
            if self.delay:
                await asyncio.sleep(self.delay)
            if isinstance(item, BaseException):
                raise item
            yield TextDelta(item) if isinstance(item, str) else item
        if not any(isinstance(item, Done) for item in round_):
            yield Done("stop")

    async def aclose(self) -> None:
        return None
