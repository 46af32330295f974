"""Messages addressed by id, for the OpenAI Conversations API (``/v1``): find, append with
given ids, delete one message anywhere in the history.

An item's id is its message's id. ``ix_messages_id`` (migration 0012) finds the rows that
carry an id in O(log n); a row counts only when it is part of the session's visible
history (its own rows, or a base's rows up to the fork point: ``_segments``).

Deleting message ``s`` of ``n``:

- the last one (``s == n``) is ``pop_message`` (O(1), fork-safe; history_sql.py);
- any other: the messages after it move down one seq. Sequence numbers are dense (1..n,
  ``message_count`` is the last), and an encrypted row's seq is bound into its
  ciphertext, so the messages ``s+1..n`` are read, the session is cut to ``s-1``
  (fork-safe: forks that read ``s`` or later first receive the rows they need, as for a
  delete) and those messages are written back at ``s..n-1`` with their ids, times, usage
  and metadata. O(n - s); checkpoints after ``s`` move down one, summaries covering ``s``
  are dropped (their text included the deleted message).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from ..errors import InvalidInput
from ..model import Message, NewMessage
from ._rows import MESSAGE_COLUMNS, to_us
from .base import Appended, AutoText, IdempotencyKey
from .codec import message_values
from .idempotency_sql import IdempotencySQLMixin
from .schema import checkpoints, messages, sessions, summaries

Segments = Sequence[tuple[int, int, int]]


class DuplicateItem(InvalidInput):
    """An item id given to ``append_items`` is already used in the conversation (or twice in the call)."""

    def __init__(self, item_id: str) -> None:
        super().__init__(f"Duplicate item found with id {item_id}.")
        self.item_id = item_id


class ItemsSQLMixin(IdempotencySQLMixin):
    """``find_message``, ``append_items`` (with an optional ``Idempotency-Key``) and
    ``delete_message`` of ``SQLStore``."""

    def _locate(self, conn: Connection, segs: Segments, ids: Iterable[str]) -> dict[str, Any]:
        """The visible rows (``MESSAGE_COLUMNS`` and ``session_pk``) carrying these ids, by id."""
        wanted = list(dict.fromkeys(ids))
        ranges = {pk: (first, last) for pk, first, last in segs if first <= last}
        if not wanted or not ranges:
            return {}
        # (id, session_pk) equalities only: each is one probe of ix_messages_id, whatever the
        # history's length (a seq range in SQL would let the planner scan the session instead).
        found = conn.execute(
            select(*MESSAGE_COLUMNS, messages.c.session_pk).where(
                messages.c.id.in_(wanted), messages.c.session_pk.in_(list(ranges))
            )
        ).all()
        out: dict[str, Any] = {}
        for r in found:
            first, last = ranges[r.session_pk]
            if first <= r.seq <= last:
                out[r.id] = r
        return out

    def _open(self, conn: Connection, row: Any, found: Any, session_id: str) -> Message:
        key = self._row_key(row) if found.session_pk == row.pk else self._key_of(conn, found.session_pk)
        return self.codec.message(found, session_id, key)

    # -- find -------------------------------------------------------------------------------

    async def find_message(self, owner: str, session_id: str, message_id: str) -> Message | None:
        return await self._run(self._find_message, owner, session_id, message_id)

    def _find_message(self, owner: str, session_id: str, message_id: str) -> Message | None:
        with self._read() as conn:
            row = self._find_session(conn, owner, session_id)
            found = self._locate(conn, self._segments(conn, row), [message_id]).get(message_id)
            return None if found is None else self._open(conn, row, found, session_id)

    # -- append with given ids --------------------------------------------------------------

    async def append_items(
        self,
        owner: str,
        session_id: str,
        items: Sequence[NewMessage],
        auto: AutoText | None,
        key: IdempotencyKey | None = None,
    ) -> Appended:
        done = await self._run(self._append_items, owner, session_id, items, auto, key)
        if isinstance(done, list):
            return Appended(done, False)
        # A known Idempotency-Key: read its messages back after the commit that made it visible.
        return Appended(await self._run(self._replay, owner, session_id, done), True)

    def _append_items(
        self,
        owner: str,
        session_id: str,
        items: Sequence[NewMessage],
        auto: AutoText | None,
        key: IdempotencyKey | None,
    ) -> Any:
        given = [m.id for m in items if m.id is not None]
        seen: set[str] = set()
        for item_id in given:
            if item_id in seen:
                raise DuplicateItem(item_id)
            seen.add(item_id)
        with self._write() as conn:
            row = self._lock_writable(conn, owner, session_id)

            def unique() -> None:
                if given:
                    taken = self._locate(conn, self._segments(conn, row), given)
                    if taken:
                        raise DuplicateItem(next(i for i in given if i in taken))

            if key is not None:  # joins this transaction; a known key replays instead
                return self._append_once(owner, session_id, items, auto, key, unique)
            unique()
            return self._append(owner, session_id, items, auto)  # joins this transaction

    # -- delete one -------------------------------------------------------------------------

    async def delete_message(self, owner: str, session_id: str, message_id: str) -> Message | None:
        return await self._run(self._delete_message, owner, session_id, message_id)

    def _delete_message(self, owner: str, session_id: str, message_id: str) -> Message | None:
        """Delete the visible message ``message_id``; None when there is none (module docstring)."""
        now = self._now_us()
        with self._write() as conn:
            row = self._lock_writable(conn, owner, session_id)
            segs = self._segments(conn, row)
            found = self._locate(conn, segs, [message_id]).get(message_id)
            if found is None:
                return None
            s, n = found.seq, row.message_count
            if s == n:
                return self._pop_message(owner, session_id)  # joins this transaction
            gone = self._open(conn, row, found, session_id)
            later = self._read_after(conn, row, segs, s, session_id)
            k = s - 1
            reader = conn.execute(
                select(sessions.c.pk)
                .where(sessions.c.base_session_pk == row.pk, sessions.c.base_seq >= s)
                .limit(1)
            ).first()
            if reader is not None:  # forks read row s or later: they keep those rows
                heir = self._release_children(conn, row)
                base_pk, base_seq = self._base_for(conn, heir, k)
            elif k < row.base_seq:
                base_pk, base_seq = self._base_for(conn, row.base_session_pk, k)
            else:
                base_pk, base_seq = row.base_session_pk, row.base_seq
            conn.execute(delete(messages).where(messages.c.session_pk == row.pk, messages.c.seq >= s))
            key = self._row_key(row)
            rows = [
                {
                    "session_pk": row.pk,
                    **message_values(
                        self.codec,
                        key,
                        m.id,
                        s + i,
                        NewMessage(m.role, m.content, m.parts, m.status, m.usage, m.metadata),
                        to_us(m.created_at) if m.created_at is not None else now,
                    ),
                }
                for i, m in enumerate(later)
            ]
            if rows and self.codec.encrypted:
                returning = insert(messages).returning(messages.c.pk, sort_by_parameter_order=True)
                pks = [int(pk) for pk in conn.execute(returning, rows).scalars()]
                self._index_messages(conn, row.pk, s, [m.content for m in later], pks)
            elif rows:
                conn.execute(insert(messages), rows)
            self._shift_after(conn, row.pk, s)
            values: dict[str, Any] = {
                "message_count": n - 1,
                "base_session_pk": base_pk,
                "base_seq": base_seq,
                "input_tokens": sessions.c.input_tokens - gone.usage.input_tokens,
                "output_tokens": sessions.c.output_tokens - gone.usage.output_tokens,
                "updated_at": now,
            }
            counter = {"user": "user_messages", "assistant": "assistant_messages", "tool": "tool_messages"}
            if gone.role in counter:
                values[counter[gone.role]] = getattr(sessions.c, counter[gone.role]) - 1
            if gone.status == "error":
                values["errors"] = sessions.c.errors - 1
            conn.execute(update(sessions).where(sessions.c.pk == row.pk).values(**values))
            if gone.role == "user":
                fresh = self._row_by_pk(conn, row.pk)
                preview = self._first_user_preview(conn, self._segments(conn, fresh), n - 1)
                conn.execute(
                    update(sessions)
                    .where(sessions.c.pk == row.pk)
                    .values(preview=self.codec.seal_session(key, "preview", preview))
                )
            return gone

    def _read_after(
        self, conn: Connection, row: Any, segs: Segments, s: int, session_id: str
    ) -> list[Message]:
        """The visible messages ``s+1..n``, oldest first, decrypted."""
        out: list[tuple[int, Message]] = []
        for pk, first, last in segs:
            lo = max(first, s + 1)
            if lo > last:
                continue
            found = conn.execute(
                select(*MESSAGE_COLUMNS, messages.c.session_pk).where(
                    messages.c.session_pk == pk, messages.c.seq >= lo, messages.c.seq <= last
                )
            ).all()
            out.extend((r.seq, self._open(conn, row, r, session_id)) for r in found)
        out.sort(key=lambda t: t[0])
        return [m for _seq, m in out]

    def _shift_after(self, conn: Connection, session_pk: int, s: int) -> None:
        """Checkpoints after the deleted seq ``s`` move down one; summaries covering it go."""
        conn.execute(
            delete(summaries).where(summaries.c.session_pk == session_pk, summaries.c.covers_until_seq >= s)
        )
        conn.execute(
            update(checkpoints)
            .where(checkpoints.c.session_pk == session_pk, checkpoints.c.at_seq >= s)
            .values(at_seq=checkpoints.c.at_seq - 1, message_count=checkpoints.c.message_count - 1)
        )


__all__ = ["DuplicateItem", "ItemsSQLMixin"]
