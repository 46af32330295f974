"""The streaming-reply and task-run parts of the store interface, and ``TaskRun``.

``StreamStore`` is what the agent runtime (``agents/runtime.py`` ``HubTurnStore``) and the
server's crash recovery (``server/live.py``) need; ``TaskRunStore`` is what the scheduler
needs. ``turns_sql.py`` implements both.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from ..model import Message, MessageStatus, Part, Usage


@dataclass(frozen=True, slots=True)
class TaskRun:
    """One run of a scheduled task, as recorded in ``task_runs``."""

    task: str
    scheduled_at_us: int
    trigger: str
    status: str
    session_id: str | None
    started_at_us: int
    finished_at_us: int | None
    error: str | None


class StreamStore(Protocol):
    """Assistant replies written while they stream, and their recovery after a crash."""

    async def start_reply(self, owner: str, session_id: str) -> Message:
        """Append an empty ``streaming`` assistant message, owned by this server's lease."""
        ...

    async def update_message(
        self,
        owner: str,
        session_id: str,
        message_id: str,
        content: str,
        parts: Sequence[Part],
        status: MessageStatus,
        usage: Usage,
    ) -> Message:
        """Overwrite one message's content, parts, status and usage; returns it as stored."""
        ...

    async def hold_stream_lease(self) -> int | None:
        """Take this server's stream-owner lease for its life; its id (None where replicas
        cannot exist, e.g. SQLite)."""
        ...

    async def release_stream_lease(self) -> None:
        """Give the lease up (shutdown)."""
        ...

    async def recover_streaming(self, *, starting: bool) -> int:
        """Mark replies of dead servers ``interrupted``; how many changed."""
        ...


class TaskRunStore(Protocol):
    """Runs of scheduled tasks, claimed once across replicas."""

    async def claim_task_run(self, task: str, scheduled_at_us: int, trigger: str, owner: str) -> bool:
        """Record a run of ``task`` for ``scheduled_at_us``; False if any replica already did."""
        ...

    async def finish_task_run(
        self, task: str, scheduled_at_us: int, status: str, session_id: str | None, error: str | None
    ) -> None: ...

    async def last_task_runs(self, names: Sequence[str]) -> dict[str, TaskRun]:
        """Each task's latest run (by scheduled time), for the names given."""
        ...

    async def task_runs(self, task: str, limit: int = 20) -> list[TaskRun]:
        """A task's latest runs, newest first."""
        ...


__all__ = ["StreamStore", "TaskRun", "TaskRunStore"]
