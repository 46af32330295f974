"""An in-memory :class:`~sessionhub.agents.runner.TurnStore`, for tests and demos.

It keeps each session's messages in a list and records every write in ``writes`` as
``(monotonic time, message_id, status, content)`` so tests can check how often and what a
turn persisted.
"""

from __future__ import annotations

import dataclasses
import secrets
import time
from collections.abc import Sequence

from ..clock import Clock, SystemClock
from ..model import Message, MessageStatus, Part, ToolResult, Usage


class MemoryTurnStore:
    """Messages per session in memory; see the module docstring."""

    def __init__(self, clock: Clock | None = None) -> None:
        self.clock = clock or SystemClock()
        self.messages: dict[str, list[Message]] = {}
        self.writes: list[tuple[float, str, MessageStatus, str]] = []

    def _append(self, message: Message) -> Message:
        self.messages.setdefault(message.session_id, []).append(message)
        self.writes.append((time.monotonic(), message.id, message.status, message.content))
        return message

    def _next_seq(self, session_id: str) -> int:
        return len(self.messages.get(session_id, ())) + 1

    def add(self, session_id: str, role: str, content: str) -> Message:
        """Append a complete message (e.g. the user's)."""
        return self._append(
            Message(
                id=f"msg_{secrets.token_hex(12)}",
                session_id=session_id,
                seq=self._next_seq(session_id),
                role=role,  # type: ignore[arg-type]
                content=content,
                created_at=self.clock.now(),
            )
        )

    def get(self, session_id: str, message_id: str) -> Message:
        return next(m for m in self.messages[session_id] if m.id == message_id)

    async def start_reply(self, session_id: str) -> str:
        message = Message(
            id=f"msg_{secrets.token_hex(12)}",
            session_id=session_id,
            seq=self._next_seq(session_id),
            role="assistant",
            content="",
            status="streaming",
            created_at=self.clock.now(),
        )
        return self._append(message).id

    async def update_reply(
        self,
        session_id: str,
        message_id: str,
        *,
        content: str,
        parts: Sequence[Part],
        status: MessageStatus,
        usage: Usage,
    ) -> Message:
        messages = self.messages[session_id]
        index = next(i for i, m in enumerate(messages) if m.id == message_id)
        updated = dataclasses.replace(
            messages[index], content=content, parts=tuple(parts), status=status, usage=usage
        )
        messages[index] = updated
        self.writes.append((time.monotonic(), message_id, status, content))
        return updated

    async def add_tool_message(
        self, session_id: str, *, tool_call_id: str, name: str, content: str, is_error: bool
    ) -> Message:
        return self._append(
            Message(
                id=f"msg_{secrets.token_hex(12)}",
                session_id=session_id,
                seq=self._next_seq(session_id),
                role="tool",
                content=content,
                parts=(ToolResult(tool_call_id=tool_call_id, content=content),),
                metadata={"tool_name": name, "is_error": is_error},
                created_at=self.clock.now(),
            )
        )
