"""The store's hot paths on SQLite, fenced in one module: every append, every latest-N read
and the session list's pages.

What makes them fast, and what keeps them honest:

- **SQL derived from the Core statements.** Each statement below is a SQLAlchemy Core
  statement over ``schema.py``'s tables, compiled once at import for SQLite (named
  parameters). The hot paths run that text on the driver cursor, without SQLAlchemy's
  per-execute machinery. PostgreSQL's append statements are compiled for psycopg the same
  way in fastpath_pg.py (a plaintext append: one statement, one round trip); the other
  statements go through SQLAlchemy.
  The two cannot drift: the text *is* the compiled statement, and
  ``tests/core/test_fastpath.py`` checks the columns, tables and order against ``schema.py``.
- **The owner check folded into the read.** ``LATEST`` joins the session (by id *and*
  owner) to its messages in one statement: one index probe on ``sessions.id``, one range
  of ``uq_messages_session_seq`` read backwards. A single SELECT is its own consistent
  snapshot, so no BEGIN/COMMIT is needed.
- **No thread hop for bounded reads.** ``Readers`` keeps one read-only driver connection per
  thread; ``SQLStore.history`` runs a page of at most ``INLINE_LIMIT`` messages on the
  calling thread (the event loop): tens of microseconds from the page cache, less than the
  hop to a worker thread costs. Anything it cannot answer alone (an unknown session, a fork
  whose page reaches into its base, a busy database) returns ``None`` and the caller takes
  the general path in a worker thread, which has the busy timeout, retries and error
  translation. The connection has ``busy_timeout=0`` and ``query_only``: it never waits on a
  lock and never writes. A page of the session list (``LIST_SQL``: the active or archived
  list without an agent or channel filter, read in order from ``ix_sessions_list``) is read
  the same way, the active list's newest empty session folded in as a subquery.
"""

from __future__ import annotations

import contextlib
import json
import re
import sqlite3
import threading
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Select, Text, bindparam, func, insert, or_, select, tuple_, update
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler

from ..model import Message, Session, Usage, slot_constructor
from ._rows import (
    EPOCH,
    MESSAGE_COLUMNS,
    SESSION_FIELDS,
    encode_cursor,
    parts_from_json,
    session_from_columns,
)
from .codec import ColumnOpener, PlainCodec, RowKey
from .schema import messages, sessions

INLINE_LIMIT = 200
"""Pages up to this many messages are read on the calling thread (no worker-thread hop)."""

_SQLITE = sqlite_dialect.dialect(paramstyle="named")


def sqlite_text(statement: ClauseElement, column_keys: Sequence[str] | None = None) -> str:
    """The SQL of a Core statement as SQLite runs it, with ``:name`` parameters.

    Integer literals SQLAlchemy adds on its own (SQLite's ``OFFSET 0`` after a ``LIMIT``) are
    written inline, so a caller passes exactly the parameters it named.
    """
    compiled = statement.compile(dialect=_SQLITE, column_keys=list(column_keys) if column_keys else None)
    assert isinstance(compiled, SQLCompiler)
    sql = compiled.string
    for bind, name in compiled.bind_names.items():
        if bind.unique and bind.value is not None:
            if type(bind.value) is not int:
                raise TypeError(f"unexpected literal {bind.value!r} in {sql!r}")
            sql = re.sub(rf":{re.escape(name)}\b", str(bind.value), sql)
    return sql


# -- the statements -----------------------------------------------------------------------------

INSERT_MESSAGE_COLUMNS = (
    "session_pk",
    "seq",
    "id",
    "role",
    "content",
    "parts",
    "metadata",
    "status",
    "input_tokens",
    "output_tokens",
    "created_at",
    "context_keep",
)
"""Every column a new message row sets (``codec.message_values`` plus ``session_pk``)."""

INSERT_MESSAGE = insert(messages)
INSERT_MESSAGE_SQL = sqlite_text(INSERT_MESSAGE, INSERT_MESSAGE_COLUMNS)

INSERT_TERM_SQL = "INSERT INTO search_terms (token, session_pk, message_pk) VALUES (?, ?, ?)"
"""One blind-index row of a title (encrypted databases), positional."""
INSERT_TOKENS_SQL = "INSERT INTO message_tokens (rowid, tokens) VALUES (?, ?)"
DELETE_TOKENS_SQL = "DELETE FROM message_tokens WHERE rowid = ?"
"""An encrypted message's blind-index entry on SQLite: its pk, its tokens joined by spaces
(migration 0017; deleting the message deletes it by trigger)."""

SESSION_BY_ID = select(sessions).where(
    sessions.c.id == bindparam("session_id"), sessions.c.owner == bindparam("owner")
)
SESSION_BY_ID_SQL = sqlite_text(SESSION_BY_ID)

APPEND_CHANGES: dict[str, Any] = {
    "user_messages": sessions.c.user_messages + bindparam("d_user"),
    "assistant_messages": sessions.c.assistant_messages + bindparam("d_assistant"),
    "tool_messages": sessions.c.tool_messages + bindparam("d_tool"),
    "errors": sessions.c.errors + bindparam("d_errors"),
    "input_tokens": sessions.c.input_tokens + bindparam("d_in"),
    "output_tokens": sessions.c.output_tokens + bindparam("d_out"),
    "last_message_at": bindparam("b_at"),
    "activity_at": bindparam("b_at"),
    "updated_at": bindparam("b_now"),
}
"""What every append does to its session row besides the count, preview and title: the
counters grow by ``:d_*``, the activity times become ``:b_at`` / ``:b_now`` (both dialects)."""
APPEND_COUNTERS = (
    update(sessions)
    .where(sessions.c.pk == bindparam("b_pk"))
    .values(
        message_count=bindparam("b_count"),
        **APPEND_CHANGES,
        preview=func.coalesce(bindparam("b_preview", type_=Text()), sessions.c.preview),
        title=func.coalesce(bindparam("b_title", type_=Text()), sessions.c.title),
    )
)
"""The session row after an append: counters, activity, and preview/title when still empty."""
APPEND_COUNTERS_SQL = sqlite_text(APPEND_COUNTERS)


LATEST_EXTRA = (sessions.c.base_session_pk, sessions.c.wrapped_key)
LATEST = (
    select(*MESSAGE_COLUMNS, *LATEST_EXTRA)
    .select_from(sessions.join(messages, messages.c.session_pk == sessions.c.pk))
    .where(
        sessions.c.id == bindparam("session_id"),
        sessions.c.owner == bindparam("owner"),
        messages.c.seq > sessions.c.base_seq,  # the session's own rows (a fork's base is elsewhere)
        messages.c.seq <= sessions.c.message_count,
        messages.c.seq >= bindparam("lo"),
        messages.c.seq <= bindparam("hi"),
    )
)
"""A page of one session's own messages, owner checked in the same statement."""
LATEST_SQL = {
    "desc": sqlite_text(LATEST.order_by(messages.c.seq.desc()).limit(bindparam("n"))),
    "asc": sqlite_text(LATEST.order_by(messages.c.seq.asc()).limit(bindparam("n"))),
}

_NO_UPPER = 2**62

LIST_VIEWS = ("active", "archived")
"""The list views ``Readers.sessions_page`` serves: those ``ix_sessions_list`` reads in order
(``all`` sorts every session of the owner, ``scheduled`` filters on an unindexed column)."""
LIST_COLUMNS = (*SESSION_FIELDS, "wrapped_key", "pk")
_PINNED, _ACTIVITY, _PK = (
    SESSION_FIELDS.index("pinned"),
    SESSION_FIELDS.index("activity_at"),
    len(SESSION_FIELDS) + 1,
)


def list_page(view: str, after: bool, agent: bool = False, channel: bool = False) -> Select[Any]:
    """A page of one owner's list, newest activity first, pinned sessions before the rest.

    ``active``: sessions with messages and the newest empty one (a new chat); ``archived``;
    ``scheduled`` (run by the scheduler); ``all``. Parameters: ``:owner``, ``:status`` (active
    and archived), ``:agent`` and ``:channel`` when filtered, ``:n``, and after a cursor
    ``:a_pinned``, ``:a_at``, ``:a_pk``. The store's one list statement, on every database.
    """
    conds: list[Any] = [sessions.c.owner == bindparam("owner")]
    if view == "active":
        newest_empty = (
            select(sessions.c.pk)
            .where(
                sessions.c.owner == bindparam("owner"),
                sessions.c.status == bindparam("status"),
                sessions.c.message_count == 0,
            )
            .order_by(sessions.c.pk.desc())
            .limit(1)
            .scalar_subquery()
        )
        conds += [
            sessions.c.status == bindparam("status"),
            or_(sessions.c.message_count > 0, sessions.c.pk == newest_empty),
        ]
    elif view == "archived":
        conds.append(sessions.c.status == bindparam("status"))
    elif view == "scheduled":
        conds.append(sessions.c.source == "scheduled")
    if agent:
        conds.append(sessions.c.agent == bindparam("agent"))
    if channel:
        conds.append(sessions.c.channel == bindparam("channel"))
    if after:
        key = tuple_(sessions.c.pinned, sessions.c.activity_at, sessions.c.pk)
        conds.append(key < tuple_(bindparam("a_pinned"), bindparam("a_at"), bindparam("a_pk")))
    return (
        select(*(sessions.c[name] for name in LIST_COLUMNS))
        .where(*conds)
        .order_by(sessions.c.pinned.desc(), sessions.c.activity_at.desc(), sessions.c.pk.desc())
        .limit(bindparam("n"))
    )


def list_params(
    owner: str, view: str, limit: int, after: Sequence[int] | None, **filters: str | None
) -> dict[str, Any]:
    """The parameters of ``list_page`` (a page of ``limit`` and one more row, to tell if more follow)."""
    params: dict[str, Any] = {"owner": owner, "status": view, "n": limit + 1, **filters}
    if after is not None:
        params.update(a_pinned=bool(after[0]), a_at=after[1], a_pk=after[2])
    return params


def next_cursor(rows: Sequence[Sequence[Any]], limit: int) -> str | None:
    """The cursor after a page of ``LIST_COLUMNS`` rows read with ``n = limit + 1``."""
    if len(rows) <= limit:
        return None
    last = rows[limit - 1]
    return encode_cursor([int(bool(last[_PINNED])), last[_ACTIVITY], last[_PK]])


LIST_SQL = {
    (view, after): sqlite_text(list_page(view, after)) for view in LIST_VIEWS for after in (False, True)
}
"""``(view, with a cursor)`` -> the SQL of a page of the session list (``:owner``, ``:status``,
``:n`` and, after a cursor, ``:a_pinned``, ``:a_at``, ``:a_pk``)."""


# -- values -------------------------------------------------------------------------------------

_new_message = slot_constructor(Message)
_NO_USAGE = Usage(0, 0)
_loads = json.loads


def decode_page(
    rows: Sequence[Sequence[Any]],
    session_id: str,
    open_columns: ColumnOpener | None = None,
) -> list[Message]:
    """Messages from rows of ``MESSAGE_COLUMNS`` (extra columns after them are ignored).

    ``open_columns(id, seq, content, parts, metadata)`` decrypts when encryption is on.
    """
    out: list[Message] = []
    append = out.append
    epoch, us = EPOCH, timedelta
    for r in rows:
        mid, seq, role, content, parts, status, in_tok, out_tok, meta, created = r[:10]
        if open_columns is not None:
            content, parts, meta = open_columns(mid, seq, content, parts, meta)
        append(
            _new_message(
                mid,
                session_id,
                seq,
                role,
                content,
                parts_from_json(parts) if parts else (),
                status,
                Usage(in_tok, out_tok) if in_tok or out_tok else _NO_USAGE,
                _loads(meta) if meta else {},
                epoch + us(0, 0, created),
            )
        )
    return out


# -- inline reads --------------------------------------------------------------------------------


class Readers:
    """One read-only driver connection per thread for the inline reads of one database file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._mutex = threading.Lock()
        self.closed = False

    def connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA busy_timeout=0")  # never wait on a lock here: the caller falls back
            conn.execute("PRAGMA query_only=1")
            self._local.conn = conn
            with self._mutex:
                self._all.append(conn)
        return conn

    def close(self) -> None:
        self.closed = True
        with self._mutex:
            conns, self._all = self._all, []
        for conn in conns:
            with contextlib.suppress(sqlite3.Error):
                conn.close()
        self._local = threading.local()

    def history(
        self,
        codec: PlainCodec,
        owner: str,
        session_id: str,
        limit: int,
        before_seq: int | None,
        after_seq: int | None,
    ) -> tuple[list[Message], bool] | None:
        """The page ``SQLStore.history`` returns, or ``None`` when the general path must answer."""
        if self.closed or limit > INLINE_LIMIT:
            return None
        ascending = after_seq is not None
        params = {
            "session_id": session_id,
            "owner": owner,
            "lo": (after_seq or 0) + 1,
            "hi": (before_seq - 1) if before_seq is not None else _NO_UPPER,
            "n": limit + 1,
        }
        try:
            rows = self.connection().execute(LATEST_SQL["asc" if ascending else "desc"], params).fetchall()
        except sqlite3.Error:  # busy, or anything odd: the worker path retries and reports
            return None
        if not rows:
            return None  # unknown session, an empty page or a page in a fork's base: general path
        has_more = len(rows) > limit
        if not has_more and rows[0][10] is not None:
            return None  # a fork: older messages may sit in its base session
        if ascending and rows[0][10] is not None:
            return None  # a fork read forwards starts in its base
        if has_more:
            rows = rows[:limit]
        if not ascending:
            rows.reverse()
        return decode_page(rows, session_id, codec.message_opener(RowKey(session_id, rows[0][11]))), has_more

    def sessions_page(
        self, codec: PlainCodec, owner: str, view: str, limit: int, after: Sequence[int] | None
    ) -> tuple[list[Session], str | None] | None:
        """The page ``SQLStore.list_sessions`` returns without an agent or channel filter, or
        ``None`` when the general path must answer."""
        if self.closed or limit > INLINE_LIMIT or view not in LIST_VIEWS:
            return None
        params = list_params(owner, view, limit, after)
        try:
            rows = self.connection().execute(LIST_SQL[view, after is not None], params).fetchall()
        except sqlite3.Error:  # busy, or anything odd: the worker path retries and reports
            return None
        cursor = next_cursor(rows, limit)
        if codec.encrypted:  # titles, previews and metadata opened by the codec
            return [codec.session(dict(zip(LIST_COLUMNS, r, strict=True))) for r in rows[:limit]], cursor
        return [session_from_columns(r) for r in rows[:limit]], cursor


__all__ = [
    "APPEND_CHANGES",
    "APPEND_COUNTERS",
    "APPEND_COUNTERS_SQL",
    "INLINE_LIMIT",
    "INSERT_MESSAGE",
    "INSERT_MESSAGE_COLUMNS",
    "INSERT_MESSAGE_SQL",
    "LATEST",
    "LATEST_SQL",
    "LIST_COLUMNS",
    "LIST_SQL",
    "LIST_VIEWS",
    "SESSION_BY_ID",
    "SESSION_BY_ID_SQL",
    "Readers",
    "decode_page",
    "list_page",
    "list_params",
    "next_cursor",
    "sqlite_text",
]
