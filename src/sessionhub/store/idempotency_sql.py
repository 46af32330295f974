"""``Idempotency-Key`` of appends in the SQL store (``IdempotencySQLMixin``, part of ``SQLStore``).

One row per (owner, session, key) in ``idempotency_keys`` (schema.py), written in the same
transaction as the append it names: the append and its key commit together or not at all, so
a failed attempt leaves no key behind and a crash never keeps one without the other.

Concurrency. The transaction locks the session row first (``SELECT … FOR UPDATE`` on
PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite) and only then looks the key up. Two requests with
one key, in one process or on two replicas, therefore run one after the other: the second
finds the first's committed row and replays it, so the key's unique index is never raced. On
SQLite the group commit runs several calls in one shared transaction (each in a savepoint of
its own when the batch runs again after a failure); a later call of the same batch sees an
earlier call's row on the same connection.

Bounded in bytes. A row holds the body's SHA-256 and where its messages went (first seq,
count, first and last message id): about 200 bytes whatever the body. A replay reads those
messages back; if they are no longer there (the session was cleared, a checkpoint restore
moved them to a branch) it raises ``IdempotencyKeyReused`` instead of storing them again.

Lifetime. A key lives ``KEY_TTL`` (24 hours) by the store's clock. An expired key is deleted
when it comes back, and every keyed append deletes up to ``_PRUNE_BATCH`` of the oldest
expired rows of any user (``SKIP LOCKED`` on PostgreSQL, so concurrent appends never wait on
each other for that): the table holds about one day of keys. Deleting a session deletes its
keys (foreign key, ``ON DELETE CASCADE``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Connection, delete, insert, select, tuple_

from ..errors import IdempotencyKeyReused
from ..model import Message, NewMessage
from .base import Appended, AutoText, IdempotencyKey
from .messages_sql import MessagesSQLMixin
from .schema import idempotency_keys

KEY_TTL = timedelta(hours=24)
_TTL_US = int(KEY_TTL.total_seconds()) * 1_000_000
_PRUNE_BATCH = 100

_K = idempotency_keys.c


@dataclass(frozen=True, slots=True)
class _Stored:
    """Where a known key's messages are: seqs ``first_seq`` .. ``first_seq + count - 1``."""

    first_seq: int
    count: int
    first_id: str
    last_id: str


class IdempotencySQLMixin(MessagesSQLMixin):
    """``append_once`` of ``SQLStore`` (see the module docstring)."""

    async def append_once(
        self,
        owner: str,
        session_id: str,
        items: Sequence[NewMessage],
        auto: AutoText | None,
        key: IdempotencyKey,
    ) -> Appended:
        args = (owner, session_id, items, auto, key)
        if self.group_commit is not None:
            done = await self.group_commit.submit(self._append_once, *args)
        else:
            done = await self._run(self._append_once, *args)
        if isinstance(done, _Stored):  # read after the commit that made the key visible
            return Appended(await self._run(self._replay, owner, session_id, done), True)
        return Appended(done, False)

    def _append_once(
        self,
        owner: str,
        session_id: str,
        items: Sequence[NewMessage],
        auto: AutoText | None,
        key: IdempotencyKey,
        before_append: Callable[[], None] | None = None,
    ) -> list[Message] | _Stored:
        """``before_append``: a check that runs in the transaction when the key is new
        (``append_items`` refuses item ids already in the session there)."""
        now = self._now_us()
        cutoff = now - _TTL_US
        with self._write() as conn:
            row = self._lock_session(conn, owner, session_id)  # serialises one session's keys
            where = (_K.owner == owner, _K.session_pk == row.pk, _K.key == key.key)
            found = conn.execute(
                select(_K.created_at, _K.fingerprint, _K.first_seq, _K.count, _K.first_id, _K.last_id).where(
                    *where
                )
            ).first()
            if found is not None and found[0] > cutoff:
                if found[1] != key.fingerprint:
                    raise IdempotencyKeyReused(
                        "this Idempotency-Key was already used with a different request body"
                    )
                return _Stored(*found[2:])
            if found is not None:
                conn.execute(delete(idempotency_keys).where(*where))
            self._forget_expired_keys(conn, cutoff)
            if before_append is not None:
                before_append()
            out = self._append(owner, session_id, items, auto)
            conn.execute(
                insert(idempotency_keys).values(
                    owner=owner,
                    session_pk=row.pk,
                    key=key.key,
                    fingerprint=key.fingerprint,
                    first_seq=out[0].seq,
                    count=len(out),
                    first_id=out[0].id,
                    last_id=out[-1].id,
                    created_at=now,
                )
            )
        return out

    def _forget_expired_keys(self, conn: Connection, cutoff: int) -> None:
        oldest = (
            select(_K.owner, _K.session_pk, _K.key)
            .where(_K.created_at <= cutoff)
            .order_by(_K.created_at)
            .limit(_PRUNE_BATCH)
        )
        if self.dialect == "postgresql":
            oldest = oldest.with_for_update(skip_locked=True)
        conn.execute(delete(idempotency_keys).where(tuple_(_K.owner, _K.session_pk, _K.key).in_(oldest)))

    def _replay(self, owner: str, session_id: str, stored: _Stored) -> list[Message]:
        """The messages a known key appended, read back; refused if they are gone."""
        msgs, _ = self._history(owner, session_id, stored.count, None, stored.first_seq - 1)
        if len(msgs) != stored.count or msgs[0].id != stored.first_id or msgs[-1].id != stored.last_id:
            raise IdempotencyKeyReused(
                "this Idempotency-Key was already used, and the messages it stored have since been "
                "removed from the session (cleared or moved by a restore); use a new key to append again"
            )
        return msgs


__all__ = ["KEY_TTL", "IdempotencySQLMixin"]
