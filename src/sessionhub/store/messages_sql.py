"""Appends and history reads: the store's hot paths, fenced here.

Appends lock the session row, take ``message_count + 1`` as the next seq, insert, and update
the row's counters in the same transaction: O(1) whatever the history length, and seqs stay
1..N under any concurrency. The statements are built once (SQLAlchemy caches their compiled
form); the append's statements run on the driver cursor on both databases, compiled once
per dialect in fastpath.py (on PostgreSQL: half the Python time of an append, measured).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import bindparam, insert, select

from ..model import Message, NewMessage
from ._rows import MESSAGE_COLUMNS, from_us, new_message_id, sqlite_cursor, to_us
from .base import AutoText
from .codec import message_values
from .fastpath import (
    APPEND_COUNTERS_PG,
    APPEND_COUNTERS_SQL,
    INSERT_MESSAGE_PG,
    INSERT_MESSAGE_SQL,
    decode_page,
    sqlite_text,
)
from .schema import messages
from .sessions_sql import SessionsSQLMixin

_INSERT_MESSAGES_RETURNING = insert(messages).returning(messages.c.pk, sort_by_parameter_order=True)
# The general history read (forks, long pages, PostgreSQL); SQLite runs its text on the cursor.
_MESSAGES_RANGE = {
    order: select(*MESSAGE_COLUMNS)
    .where(
        messages.c.session_pk == bindparam("pk"),
        messages.c.seq >= bindparam("lo"),
        messages.c.seq <= bindparam("hi"),
    )
    .order_by(messages.c.seq.asc() if order == "asc" else messages.c.seq.desc())
    .limit(bindparam("n", literal_execute=False))
    for order in ("asc", "desc")
}
_SQLITE_MESSAGES_RANGE = {order: sqlite_text(stmt) for order, stmt in _MESSAGES_RANGE.items()}


class MessagesSQLMixin(SessionsSQLMixin):
    """``append`` and ``history`` of ``SQLStore``."""

    # -- messages ---------------------------------------------------------------------------

    async def append(
        self, owner: str, session_id: str, items: Sequence[NewMessage], auto: AutoText | None
    ) -> list[Message]:
        if self.group_commit is not None:
            return await self.group_commit.submit(self._append, owner, session_id, items, auto)
        return await self._run(self._append, owner, session_id, items, auto)

    def _append(
        self, owner: str, session_id: str, items: Sequence[NewMessage], auto: AutoText | None
    ) -> list[Message]:
        now = self._now_us()
        with self._write() as conn:
            row = self._lock_writable(conn, owner, session_id)
            seq = row.message_count
            key = self._row_key(row)
            rows: list[dict[str, Any]] = []
            out: list[Message] = []
            counts = {"user": 0, "assistant": 0, "tool": 0, "system": 0}
            errors = in_tok = out_tok = 0
            last_at = now
            for m in items:
                seq += 1
                created = to_us(m.created_at) if m.created_at is not None else now
                last_at = created
                msg_id = m.id or new_message_id()
                rows.append(
                    {"session_pk": row.pk, **message_values(self.codec, key, msg_id, seq, m, created)}
                )
                counts[m.role] += 1
                errors += m.status == "error"
                in_tok += m.usage.input_tokens
                out_tok += m.usage.output_tokens
                out.append(
                    Message(
                        id=msg_id,
                        session_id=session_id,
                        seq=seq,
                        role=m.role,
                        content=m.content,
                        parts=m.parts,
                        status=m.status,
                        usage=m.usage,
                        metadata=m.metadata,
                        created_at=from_us(created),
                    )
                )
            if self.codec.encrypted:  # the blind index needs the new rows' pks
                if self.dialect == "sqlite":
                    cursor = sqlite_cursor(conn)
                    pks = []
                    for message_row in rows:
                        cursor.execute(INSERT_MESSAGE_SQL, message_row)
                        assert cursor.lastrowid is not None  # set by every INSERT
                        pks.append(cursor.lastrowid)
                else:
                    pks = [int(pk) for pk in conn.execute(_INSERT_MESSAGES_RETURNING, rows).scalars()]
                self._index_messages(conn, row.pk, row.message_count + 1, [m.content for m in items], pks)
            elif self.dialect == "sqlite":
                if len(rows) == 1:
                    sqlite_cursor(conn).execute(INSERT_MESSAGE_SQL, rows[0])
                else:
                    sqlite_cursor(conn).executemany(INSERT_MESSAGE_SQL, rows)
            values: dict[str, Any] = {
                "b_pk": row.pk,
                "b_count": seq,
                "d_user": counts["user"],
                "d_assistant": counts["assistant"],
                "d_tool": counts["tool"],
                "d_errors": errors,
                "d_in": in_tok,
                "d_out": out_tok,
                "b_at": last_at,
                "b_now": now,
                "b_preview": None,
                "b_title": None,
            }
            codec = self.codec
            if auto is not None and codec.session_text_empty(key, "preview", row.preview):
                values["b_preview"] = codec.seal_session(key, "preview", auto.preview)
                if row.title_source == "auto" and codec.session_text_empty(key, "title", row.title):
                    values["b_title"] = codec.seal_session(key, "title", auto.title)
                    self._reindex_title(conn, row.pk, auto.title)
            if self.dialect == "sqlite":
                sqlite_cursor(conn).execute(APPEND_COUNTERS_SQL, values)
            else:
                driver = conn.connection.driver_connection
                assert driver is not None
                # psycopg's pipeline mode: the message rows (unless inserted above for their pks)
                # and the counters go to the server together, one round trip instead of two.
                with driver.pipeline(), driver.cursor() as cur:
                    if not self.codec.encrypted:
                        cur.executemany(INSERT_MESSAGE_PG, rows)
                    cur.execute(APPEND_COUNTERS_PG, values)
        return out

    async def history(
        self, owner: str, session_id: str, limit: int, before_seq: int | None, after_seq: int | None
    ) -> tuple[list[Message], bool]:
        if self.readers is not None:  # SQLite: a bounded page on this thread (fastpath.py)
            page = self.readers.history(self.codec, owner, session_id, limit, before_seq, after_seq)
            if page is not None:
                return page
        return await self._run(self._history, owner, session_id, limit, before_seq, after_seq)

    def _history(
        self, owner: str, session_id: str, limit: int, before_seq: int | None, after_seq: int | None
    ) -> tuple[list[Message], bool]:
        with self._read() as conn:
            row = self._find_session(conn, owner, session_id)
            segs = self._segments(conn, row)
            ascending = after_seq is not None
            lo_bound = (after_seq or 0) + 1
            hi_bound = (before_seq - 1) if before_seq is not None else row.message_count
            wanted = limit + 1
            found: list[Any] = []
            ordered = list(reversed(segs)) if ascending else segs
            for pk, first, last in ordered:
                lo, hi = max(first, lo_bound), min(last, hi_bound)
                if lo > hi:
                    continue
                order = "asc" if ascending else "desc"
                params = {"pk": pk, "lo": lo, "hi": hi, "n": wanted - len(found)}
                if self.dialect == "sqlite":
                    cur = sqlite_cursor(conn).execute(_SQLITE_MESSAGES_RANGE[order], params)
                    found.extend((pk, r) for r in cur.fetchall())
                else:
                    found.extend((pk, r) for r in conn.execute(_MESSAGES_RANGE[order], params).all())
                if len(found) >= wanted:
                    break
            owners = [pk for pk, _first, _last in segs]
            keys = self._keys_of(conn, owners, row) if self.codec.encrypted else {}
        has_more = len(found) > limit
        found = found[:limit]
        if not ascending:
            found.reverse()
        if keys:  # encrypted: decrypt the three sealed columns, the rest as below
            openers = {pk: self.codec.message_opener(key) for pk, key in keys.items()}
            out: list[Message] = []
            for pk, r in found:
                out += decode_page([r], session_id, openers[pk])
            return out, has_more
        return decode_page([r for _pk, r in found], session_id), has_more
