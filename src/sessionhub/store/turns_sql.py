"""SQL for agent turns and scheduled task runs (``TurnsSQLMixin``, part of ``SQLStore``).

- ``update_message`` rewrites one message (a streaming reply) in one transaction, locking
  the session row, and keeps the session's counters in step: token totals change by the
  usage difference, ``errors`` by whether the status became or stopped being ``error``;
  ``updated_at`` moves, and when the reply leaves ``streaming`` so do ``last_message_at``
  and ``activity_at``. Full-text search follows the content through the ``AFTER UPDATE OF
  content`` trigger (SQLite FTS5) or the expression GIN index (PostgreSQL).
- ``interrupt_streaming`` is crash recovery: replies still ``streaming`` when a server
  starts were cut by a crash and become ``interrupted``. ``started_before_us`` limits it to
  replies started before then (with several replicas sharing PostgreSQL, a starting replica
  must not cut a live turn of another one).
- ``claim_task_run`` inserts the ``task_runs`` row ``(task, scheduled_at)`` with
  ``ON CONFLICT DO NOTHING``: exactly one replica gets ``True`` for a due run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Row, and_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ..errors import NotFound
from ..model import Message, MessageStatus, Part, Usage
from ._core import SQLCore
from .schema import messages, sessions, task_runs

T = TypeVar("T")


def _sql() -> Any:
    from . import sql

    return sql


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


def _run_from_row(r: Row[Any]) -> TaskRun:
    return TaskRun(
        task=r.task,
        scheduled_at_us=r.scheduled_at,
        trigger=r.trigger,
        status=r.status,
        session_id=r.session_id,
        started_at_us=r.started_at,
        finished_at_us=r.finished_at,
        error=r.error,
    )


class TurnsSQLMixin(SQLCore):
    """Streaming-reply updates, crash recovery and task-run claims for ``SQLStore``."""

    # -- streaming replies ------------------------------------------------------------------

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
        return await self._run(
            self._update_message, owner, session_id, message_id, content, parts, status, usage
        )

    def _update_message(
        self,
        owner: str,
        session_id: str,
        message_id: str,
        content: str,
        parts: Sequence[Part],
        status: MessageStatus,
        usage: Usage,
    ) -> Message:
        sql = _sql()
        now = self._now_us()
        with self._write() as conn:
            row = self._lock_session(conn, owner, session_id)
            old = conn.execute(
                select(*sql._MESSAGE_COLUMNS).where(
                    messages.c.session_pk == row.pk, messages.c.id == message_id
                )
            ).first()
            if old is None:
                raise NotFound(f"message {message_id} not found in session {session_id}")
            parts_json = sql._dumps([p.to_dict() for p in parts])
            codec: Any = getattr(self, "codec", None)  # encryption at rest (crypto_sql.py), if any
            key: Any = None
            if codec is not None:
                key = getattr(self, "_row_key")(row)  # noqa: B009
                metadata = sql._dumps(dict(codec.message(old, session_id, key).metadata))
                columns = codec.seal_message(key, message_id, old.seq, content, parts_json, metadata)
                getattr(self, "_reindex_at")(conn, row.pk, old.seq, content)  # noqa: B009 (blind index)
            else:
                columns = {"content": content, "parts": parts_json}
            conn.execute(
                update(messages)
                .where(messages.c.session_pk == row.pk, messages.c.id == message_id)
                .values(
                    **columns,
                    status=status,
                    input_tokens=usage.input_tokens,
                    output_tokens=usage.output_tokens,
                    token_count=None,  # a cached count is for the old text
                )
            )
            values: dict[str, Any] = {
                "input_tokens": sessions.c.input_tokens + (usage.input_tokens - old.input_tokens),
                "output_tokens": sessions.c.output_tokens + (usage.output_tokens - old.output_tokens),
                "errors": sessions.c.errors + (int(status == "error") - int(old.status == "error")),
                "updated_at": now,
            }
            if old.status == "streaming" and status != "streaming":
                values["last_message_at"] = now
                values["activity_at"] = now
            conn.execute(update(sessions).where(sessions.c.pk == row.pk).values(**values))
            new = conn.execute(
                select(*sql._MESSAGE_COLUMNS).where(
                    messages.c.session_pk == row.pk, messages.c.id == message_id
                )
            ).one()
            message: Message = (
                codec.message(new, session_id, key)
                if codec is not None
                else sql.message_from_row(new, session_id)
            )
        return message

    async def interrupt_streaming(self, started_before_us: int | None = None) -> int:
        """Mark replies left ``streaming`` as ``interrupted``; returns how many changed."""
        return await self._run(self._interrupt_streaming, started_before_us)

    def _interrupt_streaming(self, started_before_us: int | None) -> int:
        where = [messages.c.status == "streaming"]
        if started_before_us is not None:
            where.append(messages.c.created_at < started_before_us)
        now = self._now_us()
        with self._write() as conn:
            pks = [r[0] for r in conn.execute(select(messages.c.session_pk).where(and_(*where))).all()]
            if not pks:
                return 0
            result = conn.execute(update(messages).where(and_(*where)).values(status="interrupted"))
            conn.execute(update(sessions).where(sessions.c.pk.in_(sorted(set(pks)))).values(updated_at=now))
            return int(result.rowcount or 0)

    # -- scheduled task runs ----------------------------------------------------------------

    async def claim_task_run(self, task: str, scheduled_at_us: int, trigger: str, owner: str) -> bool:
        """Record a run of ``task`` for ``scheduled_at_us``; False if any replica already did."""
        return await self._run(self._claim_task_run, task, scheduled_at_us, trigger, owner)

    def _claim_task_run(self, task: str, scheduled_at_us: int, trigger: str, owner: str) -> bool:
        values = {
            "task": task,
            "scheduled_at": scheduled_at_us,
            "trigger": trigger,
            "owner": owner,
            "status": "running",
            "started_at": self._now_us(),
        }
        dialect_insert = pg_insert if self.dialect == "postgresql" else sqlite_insert
        stmt = dialect_insert(task_runs).values(**values).on_conflict_do_nothing().returning(task_runs.c.task)
        with self._write() as conn:
            return conn.execute(stmt).first() is not None

    async def finish_task_run(
        self, task: str, scheduled_at_us: int, status: str, session_id: str | None, error: str | None
    ) -> None:
        await self._run(self._finish_task_run, task, scheduled_at_us, status, session_id, error)

    def _finish_task_run(
        self, task: str, scheduled_at_us: int, status: str, session_id: str | None, error: str | None
    ) -> None:
        with self._write() as conn:
            conn.execute(
                update(task_runs)
                .where(task_runs.c.task == task, task_runs.c.scheduled_at == scheduled_at_us)
                .values(status=status, session_id=session_id, error=error, finished_at=self._now_us())
            )

    async def last_task_runs(self, names: Sequence[str]) -> dict[str, TaskRun]:
        """Each task's latest run (by scheduled time), for the names given."""
        return await self._run(self._last_task_runs, list(names))

    def _last_task_runs(self, names: list[str]) -> dict[str, TaskRun]:
        out: dict[str, TaskRun] = {}
        with self._read() as conn:
            for name in names:
                r = conn.execute(
                    select(task_runs)
                    .where(task_runs.c.task == name)
                    .order_by(task_runs.c.scheduled_at.desc())
                    .limit(1)
                ).first()
                if r is not None:
                    out[name] = _run_from_row(r)
        return out

    async def task_runs(self, task: str, limit: int = 20) -> list[TaskRun]:
        """A task's latest runs, newest first."""
        return await self._run(self._task_runs, task, limit)

    def _task_runs(self, task: str, limit: int) -> list[TaskRun]:
        with self._read() as conn:
            rows = conn.execute(
                select(task_runs)
                .where(task_runs.c.task == task)
                .order_by(task_runs.c.scheduled_at.desc())
                .limit(limit)
            ).all()
        return [_run_from_row(r) for r in rows]
