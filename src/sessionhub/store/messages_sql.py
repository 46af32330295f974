"""Appends and history reads: the store's hot paths, fenced here.

Appends lock the session row, take ``message_count + 1`` as the next seq, insert, and update
the row's counters in the same transaction: O(1) whatever the history length, and seqs stay
1..N under any concurrency. The statements are built once (SQLAlchemy caches their compiled
form); the append's statements run on the driver cursor on both databases, compiled once
per dialect in fastpath.py and fastpath_pg.py. A plaintext append on PostgreSQL is all of that
in one statement and one round trip (``APPEND_PG``), where the BEGIN, the row lock, the
inserts, the counters and the COMMIT took five; an encrypted one runs the statements apart.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import bindparam, insert, select

from ..model import Message, NewMessage
from ._db import check_writable
from ._rows import MESSAGE_COLUMNS, from_us, new_message_id, postgres_cursor, sqlite_cursor, to_us
from .base import AutoText
from .codec import RowKey, message_values
from .fastpath import (
    APPEND_COUNTERS_SQL,
    INSERT_MESSAGE_COLUMNS,
    INSERT_MESSAGE_SQL,
    decode_page,
    sqlite_text,
)
from .fastpath_pg import APPEND_COUNTERS_PG, APPEND_PG
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
        new = [
            (m, m.id or new_message_id(), to_us(m.created_at) if m.created_at is not None else now)
            for m in items
        ]
        values = _counter_values(new, now)
        if self.dialect == "postgresql" and not self.codec.encrypted:
            first = self._append_postgres(owner, session_id, new, values, auto) + 1
            return _messages(session_id, first, new)
        with self._write() as conn:
            row = self._lock_writable(conn, owner, session_id)
            key = self._row_key(row)
            rows = [
                {"session_pk": row.pk, **message_values(self.codec, key, msg_id, seq, m, created)}
                for seq, (m, msg_id, created) in enumerate(new, row.message_count + 1)
            ]
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
            elif len(rows) == 1:
                sqlite_cursor(conn).execute(INSERT_MESSAGE_SQL, rows[0])
            else:
                sqlite_cursor(conn).executemany(INSERT_MESSAGE_SQL, rows)
            values.update(b_pk=row.pk, b_count=row.message_count + len(rows), b_preview=None, b_title=None)
            codec = self.codec
            if auto is not None and codec.session_text_empty(key, "preview", row.preview):
                values["b_preview"] = codec.seal_session(key, "preview", auto.preview)
                if row.title_source == "auto" and codec.session_text_empty(key, "title", row.title):
                    values["b_title"] = codec.seal_session(key, "title", auto.title)
                    self._reindex_title(conn, row.pk, auto.title)
            if self.dialect == "sqlite":
                sqlite_cursor(conn).execute(APPEND_COUNTERS_SQL, values)
            else:
                with postgres_cursor(conn) as cur:
                    cur.execute(APPEND_COUNTERS_PG, values)
            return _messages(session_id, row.message_count + 1, new)

    def _append_postgres(
        self,
        owner: str,
        session_id: str,
        new: Sequence[tuple[NewMessage, str, int]],
        values: dict[str, Any],
        auto: AutoText | None,
    ) -> int:
        """A plaintext append on PostgreSQL: ``APPEND_PG``, one statement in one round trip, its
        own transaction (autocommit) unless it joins a caller's. Returns the session's message
        count before the append."""
        columns: dict[str, list[Any]] = {f"v_{c}": [] for c in INSERT_MESSAGE_COLUMNS[2:]}
        for m, msg_id, created in new:
            # seq 0: a plaintext row does not depend on its seq (an encrypted one seals it
            # in); the statement numbers the rows from the locked count
            for column, value in message_values(self.codec, RowKey("", None), msg_id, 0, m, created).items():
                if column != "seq":
                    columns[f"v_{column}"].append(value)
        params = {"owner": owner, "session_id": session_id, "b_n": len(new), **columns, **values}
        params["b_preview"] = auto.preview if auto is not None else None
        params["b_title"] = auto.title if auto is not None else None
        outer = getattr(self._tx_local, "conn", None)
        if outer is not None:  # inside a caller's write (routing): its transaction, its commit
            with postgres_cursor(outer) as cur:
                found = cur.execute(APPEND_PG, params).fetchone()
        else:
            with self._engine.connect() as conn:
                driver = conn.connection.driver_connection
                assert driver is not None
                driver.autocommit = True  # one statement is its own transaction: no BEGIN, no COMMIT
                try:
                    found = driver.execute(APPEND_PG, params).fetchone()
                finally:
                    driver.autocommit = False
        check_writable(session_id, None if found is None else found[1])
        return int(found[0])

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


def _counter_values(new: Sequence[tuple[NewMessage, str, int]], now: int) -> dict[str, Any]:
    """The session counters' changes for an append of ``new``: ``APPEND_CHANGES``' parameters."""
    counts = {"user": 0, "assistant": 0, "tool": 0, "system": 0}
    errors = in_tok = out_tok = 0
    for m, _msg_id, _created in new:
        counts[m.role] += 1
        errors += m.status == "error"
        in_tok += m.usage.input_tokens
        out_tok += m.usage.output_tokens
    return {
        "d_user": counts["user"],
        "d_assistant": counts["assistant"],
        "d_tool": counts["tool"],
        "d_errors": errors,
        "d_in": in_tok,
        "d_out": out_tok,
        "b_at": new[-1][2] if new else now,
        "b_now": now,
    }


def _messages(session_id: str, first_seq: int, new: Sequence[tuple[NewMessage, str, int]]) -> list[Message]:
    """The appended messages as stored, numbered from ``first_seq``."""
    return [
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
        for seq, (m, msg_id, created) in enumerate(new, first_seq)
    ]
