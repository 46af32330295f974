"""SQL for agent turns and scheduled task runs (``TurnsSQLMixin``, part of ``SQLStore``).

- ``update_message`` rewrites one message (a streaming reply) in one transaction, locking
  the session row, and keeps the session's counters in step: token totals change by the
  usage difference, ``errors`` by whether the status became or stopped being ``error``;
  ``updated_at`` moves, and when the reply leaves ``streaming`` so do ``last_message_at``
  and ``activity_at``. Full-text search follows the content through the ``AFTER UPDATE OF
  content`` trigger (SQLite FTS5) or the expression GIN index (PostgreSQL).
- ``start_reply`` appends the empty ``streaming`` assistant message of a turn and records
  which server streams it (``stream_owner``, PostgreSQL).
- ``recover_streaming`` is crash recovery: a reply left ``streaming`` by a server that died
  (kill -9, power loss) becomes ``interrupted``. On SQLite one server streams per database
  file, so every ``streaming`` reply found at start is a dead server's. On PostgreSQL several
  replicas share the database, so liveness is tested, not guessed: each server holds, for its
  whole life, a session-level advisory lock ``(STREAM_LOCKS, id)`` on a connection of its own
  (:meth:`hold_stream_lease`; PostgreSQL releases it when the process dies, kill -9
  included) and writes ``id`` into ``stream_owner`` of the replies it streams. Any server, at
  start and every few seconds, looks at the owners of the ``streaming`` replies (a partial
  index keeps that cheap) and tries each owner's lock: taking it means the owner is dead, so
  its replies become ``interrupted`` while the lock is held (no new server can take that id
  meanwhile), then the lock is released. A starting server also interrupts replies carrying
  its own new id (left by a dead server that had it). Replies without an owner (written by a
  server older than migration 0008) are interrupted only once ``LEGACY_STALE`` old.
- ``claim_task_run`` inserts the ``task_runs`` row ``(task, scheduled_at)`` with
  ``ON CONFLICT DO NOTHING``: exactly one replica gets ``True`` for a due run.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Sequence
from datetime import timedelta
from typing import Any, TypeVar

from sqlalchemy import Connection, Row, and_, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ..errors import NotFound
from ..model import Message, MessageStatus, NewMessage, Part, Usage
from ._rows import MESSAGE_COLUMNS, dumps_json
from .messages_sql import MessagesSQLMixin
from .schema import messages, sessions, task_runs
from .turns_base import TaskRun

T = TypeVar("T")

log = logging.getLogger("sessionhub.store")

STREAM_LOCKS = 0x5E55  # the advisory lock space (first key) of stream owners; the second key is the id
LEGACY_STALE = timedelta(minutes=10)
_TRY_LOCK = text("SELECT pg_try_advisory_lock(:space, :id)")
_UNLOCK = text("SELECT pg_advisory_unlock(:space, :id)")


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


class TurnsSQLMixin(MessagesSQLMixin):
    """Streaming-reply updates, crash recovery and task-run claims for ``SQLStore``."""

    _lease: tuple[Connection, int] | None = None

    # -- streaming replies ------------------------------------------------------------------

    async def start_reply(self, owner: str, session_id: str) -> Message:
        """Append an empty ``streaming`` assistant message, owned by this server's lease."""
        return await self._run(self._start_reply, owner, session_id)

    def _start_reply(self, owner: str, session_id: str) -> Message:
        with self._write() as conn:
            (msg,) = self._append(owner, session_id, [NewMessage("assistant", "", status="streaming")], None)
            if self._lease is not None:
                pk = select(sessions.c.pk).where(sessions.c.id == session_id).scalar_subquery()
                conn.execute(
                    update(messages)
                    .where(messages.c.session_pk == pk, messages.c.seq == msg.seq)
                    .values(stream_owner=self._lease[1])
                )
        return msg

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
        now = self._now_us()
        with self._write() as conn:
            row = self._lock_session(conn, owner, session_id)
            old = conn.execute(
                select(*MESSAGE_COLUMNS).where(messages.c.session_pk == row.pk, messages.c.id == message_id)
            ).first()
            if old is None:
                raise NotFound(f"message {message_id} not found in session {session_id}")
            parts_json = dumps_json([p.to_dict() for p in parts])
            codec = self.codec  # seals the columns when encryption is on (crypto_sql.py)
            key = self._row_key(row)
            metadata = dumps_json(dict(codec.message(old, session_id, key).metadata))
            columns = codec.seal_message(key, message_id, old.seq, content, parts_json, metadata)
            self._reindex_at(conn, row.pk, old.seq, content)  # the blind index, when encrypted
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
                select(*MESSAGE_COLUMNS).where(messages.c.session_pk == row.pk, messages.c.id == message_id)
            ).one()
        return codec.message(new, session_id, key)

    # -- crash recovery (see the module docstring) ------------------------------------------

    async def hold_stream_lease(self) -> int | None:
        """PostgreSQL: take this server's stream-owner lock for its life; its id (None on SQLite)."""
        if self.dialect != "postgresql":
            return None
        return await self._run(self._hold_lease, None)

    def _hold_lease(self, wanted: int | None) -> int:
        conn = self._engine.connect()
        try:
            while True:
                lease_id = wanted if wanted is not None else secrets.randbelow(2**31 - 1) + 1
                if conn.execute(_TRY_LOCK, {"space": STREAM_LOCKS, "id": lease_id}).scalar():
                    break
                wanted = None  # taken by a live server: draw another id
            conn.commit()  # session-level: the lock outlives the transaction; the connection idles
        except BaseException:
            conn.invalidate()  # a pooled connection must never keep a lease
            conn.close()
            raise
        self._lease = (conn, lease_id)
        return lease_id

    def _check_lease(self) -> None:
        """Reconnect the lease when its connection died (database restart), keeping its id if free."""
        if self._lease is None:
            return
        conn, lease_id = self._lease
        try:
            conn.execute(text("SELECT 1"))
            conn.commit()
            return
        except Exception:
            log.warning("the stream-owner lease connection was lost; taking the lease again")
            conn.invalidate()
            conn.close()
            self._lease = None
        self._hold_lease(lease_id)

    async def release_stream_lease(self) -> None:
        """Give the lease up (shutdown, after every turn of this server ended)."""
        if self._lease is not None:
            await self._run(self._release_lease)

    def _release_lease(self) -> None:
        if self._lease is None:
            return
        conn, _ = self._lease
        self._lease = None
        conn.invalidate()  # closes the database session (not back to the pool): the lock is released
        conn.close()

    async def recover_streaming(self, *, starting: bool) -> int:
        """Mark replies of dead servers ``interrupted``; how many changed (see the module docstring).

        ``starting``: this server has streamed nothing yet (at start-up); SQLite recovers only then.
        """
        return await self._run(self._recover, starting)

    def _recover(self, starting: bool) -> int:
        streaming = messages.c.status == "streaming"
        if self.dialect != "postgresql":
            return self._interrupt(streaming) if starting else 0
        self._check_lease()
        own = self._lease[1] if self._lease is not None else None
        legacy = self._now_us() - int(LEGACY_STALE.total_seconds() * 1_000_000)
        count = self._interrupt(
            and_(streaming, messages.c.stream_owner.is_(None), messages.c.created_at < legacy)
        )
        if starting and own is not None:
            count += self._interrupt(and_(streaming, messages.c.stream_owner == own))
        with self._read() as conn:
            owners = conn.execute(
                select(messages.c.stream_owner)
                .where(streaming, messages.c.stream_owner.isnot(None))
                .distinct()
            ).scalars()
            others = sorted(o for o in owners if o != own)
        for owner_id in others:
            count += self._interrupt_if_dead(owner_id)
        return count

    def _interrupt_if_dead(self, owner_id: int) -> int:
        """Interrupt ``owner_id``'s streaming replies if its lock is free (its server is dead)."""
        params = {"space": STREAM_LOCKS, "id": owner_id}
        with self._engine.connect() as conn:
            if not conn.execute(_TRY_LOCK, params).scalar():
                return 0  # its server is alive
            try:
                where = and_(messages.c.status == "streaming", messages.c.stream_owner == owner_id)
                return self._interrupt(where)
            finally:
                try:
                    conn.rollback()
                    conn.execute(_UNLOCK, params)
                    conn.commit()
                except Exception:
                    conn.invalidate()  # never return a connection still holding a dead server's id
                    raise

    def _interrupt(self, where: Any) -> int:
        now = self._now_us()
        with self._write() as conn:
            pks = [r[0] for r in conn.execute(select(messages.c.session_pk).where(where)).all()]
            if not pks:
                return 0
            result = conn.execute(update(messages).where(where).values(status="interrupted"))
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
