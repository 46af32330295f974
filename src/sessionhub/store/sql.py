"""The SQL backend (SQLite and PostgreSQL) on SQLAlchemy Core.

Each public method is one transaction run in a worker thread, so the event loop never
blocks and a call costs one thread hop. Appends lock the session row (``BEGIN IMMEDIATE``
on SQLite, ``SELECT … FOR UPDATE`` on PostgreSQL), take ``message_count + 1`` as the next
seq, insert, and update the row's counters in the same transaction: O(1) whatever the
history length, and seqs stay 1..N under any concurrency. On SQLite, appends that arrive while
another commits share the next transaction and its commit, one savepoint each
(group_commit.py).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import dataclasses
import functools
import html
import json
import sqlite3
import threading
import time
from collections import namedtuple
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import (
    Connection,
    Row,
    Text,
    and_,
    bindparam,
    delete,
    func,
    insert,
    or_,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from ..clock import Clock, SystemClock
from ..crypto import Keyring
from ..errors import DatabaseError, InvalidInput, NotFound, SessionhubError, SessionReadOnly
from ..model import Message, NewMessage, Part, Session, SessionStats, Stats, ToolCall, ToolResult, Usage
from ..snippets import make_snippet
from . import engine as eng
from .base import AutoText, Check, NewSession, RawHit, SessionChanges, Store, View
from .codec import PlainCodec, RowKey
from .context_sql import ContextSQLMixin, context_keep
from .crypto_sql import CryptoSQLMixin
from .group_commit import GroupCommit
from .history_sql import HistorySQLMixin
from .idempotency_sql import IdempotencySQLMixin
from .routing_sql import RoutingSQLMixin
from .schema import checkpoints, messages, sessions
from .turns_sql import TurnsSQLMixin

T = TypeVar("T")
PG_RANK_CANDIDATES = 1000
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MARK_OPEN, _MARK_CLOSE = "\x02", "\x03"


def to_us(dt: datetime) -> int:
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return (dt - EPOCH) // timedelta(microseconds=1)


def from_us(us: int | None) -> datetime | None:
    return None if us is None else EPOCH + timedelta(microseconds=us)


def _dumps(value: Any) -> str | None:
    if not value:
        return None
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _loads(value: str | None) -> Any:
    return json.loads(value) if value else {}


def _parts_from_json(value: str | None) -> tuple[Part, ...]:
    if not value:
        return ()
    out: list[Part] = []
    for p in json.loads(value):
        if p.get("type") == "tool_call":
            out.append(ToolCall(id=p["id"], name=p["name"], arguments=p.get("arguments", {})))
        else:
            out.append(ToolResult(tool_call_id=p["tool_call_id"], content=p.get("content", "")))
    return tuple(out)


def session_from_row(row: Row[Any] | Mapping[str, Any]) -> Session:
    r = row._mapping if isinstance(row, (Row, SessionRow)) else row
    created = from_us(r["created_at"])
    updated = from_us(r["updated_at"])
    assert created is not None and updated is not None
    return Session(
        id=r["id"],
        key=r["key"],
        title=r["title"],
        title_source=r["title_source"],
        agent=r["agent"],
        provider=r["provider"],
        model=r["model"],
        source=r["source"],
        source_ref=r["source_ref"],
        channel=r["channel"],
        status=r["status"],
        pinned=bool(r["pinned"]),
        read_only=r["status"] == "archived",
        created_at=created,
        updated_at=updated,
        last_message_at=from_us(r["last_message_at"]),
        message_count=r["message_count"],
        preview=r["preview"],
        stats=SessionStats(
            user_messages=r["user_messages"],
            assistant_messages=r["assistant_messages"],
            tool_messages=r["tool_messages"],
            errors=r["errors"],
            input_tokens=r["input_tokens"],
            output_tokens=r["output_tokens"],
        ),
        metadata=_loads(r["metadata"]),
        owner=r["owner"],
    )


def message_from_row(row: Row[Any], session_id: str) -> Message:
    r = row._mapping
    return Message(
        id=r["id"],
        session_id=session_id,
        seq=r["seq"],
        role=r["role"],
        content=r["content"],
        parts=_parts_from_json(r["parts"]),
        status=r["status"],
        usage=Usage(r["input_tokens"], r["output_tokens"]),
        metadata=_loads(r["metadata"]),
        created_at=from_us(r["created_at"]),
    )


def _slot_constructor(cls: type[T]) -> Callable[..., T]:
    """A constructor for a frozen slots dataclass that fills the slots directly, in field order.

    The generated ``__init__`` of a frozen dataclass goes through ``object.__setattr__`` per
    field; decoding a page of rows this way is about twice as fast. Only for values that are
    already valid (read back from our own rows) and classes without ``__post_init__``.
    """
    assert not hasattr(cls, "__post_init__")
    setters = tuple(cls.__dict__[f.name].__set__ for f in dataclasses.fields(cls))  # type: ignore[arg-type]
    new = object.__new__

    def make(*values: Any) -> T:
        obj = new(cls)
        for set_slot, value in zip(setters, values, strict=True):
            set_slot(obj, value)
        return obj

    return make


_new_message = _slot_constructor(Message)
_NO_USAGE = Usage(0, 0)


def _message_from_columns(t: Sequence[Any], session_id: str) -> Message:
    """Fast path for rows of ``_MESSAGE_COLUMNS``, read by position (the latest-N hot path)."""
    msg_id, seq, role, content, parts, status, in_tok, out_tok, meta_json, created = t
    return _new_message(
        msg_id,
        session_id,
        seq,
        role,
        content,
        _parts_from_json(parts) if parts else (),
        status,
        Usage(in_tok, out_tok) if in_tok or out_tok else _NO_USAGE,
        json.loads(meta_json) if meta_json else {},
        EPOCH + timedelta(0, 0, created),
    )


_MESSAGE_COLUMNS = (
    messages.c.id,
    messages.c.seq,
    messages.c.role,
    messages.c.content,
    messages.c.parts,
    messages.c.status,
    messages.c.input_tokens,
    messages.c.output_tokens,
    messages.c.metadata,
    messages.c.created_at,
)


# Hot-path statements, built once: SQLAlchemy caches their compiled form, so an append or
# a latest-N read costs the round trips, not statement construction (see bench/RESULTS.md).
_SESSION_BY_ID = select(sessions).where(
    sessions.c.id == bindparam("session_id"), sessions.c.owner == bindparam("owner")
)
_SESSION_BY_ID_FOR_UPDATE = _SESSION_BY_ID.with_for_update()
_INSERT_MESSAGES = insert(messages)
_INSERT_MESSAGES_RETURNING = insert(messages).returning(messages.c.pk, sort_by_parameter_order=True)
_APPEND_COUNTERS = text(
    "UPDATE sessions SET message_count = :message_count, "
    "user_messages = user_messages + :d_user, assistant_messages = assistant_messages + :d_assistant, "
    "tool_messages = tool_messages + :d_tool, errors = errors + :d_errors, "
    "input_tokens = input_tokens + :d_in, output_tokens = output_tokens + :d_out, "
    "last_message_at = :at, activity_at = :at, updated_at = :now, "
    "preview = COALESCE(:preview, preview), title = COALESCE(:title, title) "
    "WHERE pk = :pk"
).bindparams(bindparam("preview", type_=Text()), bindparam("title", type_=Text()))
# SQLite goes one step lower on the hottest statements: the same SQL on the driver cursor of
# the transaction's connection, without SQLAlchemy's per-execute machinery (about a third of
# an append's CPU). Identifiers are quoted; parameters are bound by the driver.
_SESSION_COLUMNS = tuple(c.name for c in sessions.c)
_SQLITE_SESSION_BY_ID = (
    f"SELECT {', '.join(f'{chr(34)}{c}{chr(34)}' for c in _SESSION_COLUMNS)} FROM sessions "
    "WHERE id = :session_id AND owner = :owner"
)
_SQLITE_INSERT_MESSAGE = (
    "INSERT INTO messages (session_pk, seq, id, role, content, parts, metadata, status, "
    "input_tokens, output_tokens, created_at, context_keep) VALUES (:session_pk, :seq, :id, :role, "
    ":content, :parts, :metadata, :status, :input_tokens, :output_tokens, :created_at, :context_keep)"
)
_SQLITE_FTS_BEST = (
    "SELECT rowid, bm25(messages_fts) AS score FROM messages_fts WHERE messages_fts MATCH :q "
    "ORDER BY score LIMIT :n"
)
_SQLITE_MESSAGES_RANGE = {
    order: "SELECT id, seq, role, content, parts, status, input_tokens, output_tokens, metadata, "
    f"created_at FROM messages WHERE session_pk = ? AND seq >= ? AND seq <= ? ORDER BY seq {order} LIMIT ?"
    for order in ("asc", "desc")
}


class SessionRow(namedtuple("SessionRow", _SESSION_COLUMNS)):  # type: ignore[misc]
    """A ``sessions`` row read on the SQLite fast path; attribute access like a Row."""

    __slots__ = ()

    @property
    def _mapping(self) -> dict[str, Any]:
        return self._asdict()


def _as_error(exc: BaseException) -> BaseException:
    """What a caller sees for ``exc``: our errors as they are, driver errors as DatabaseError."""
    if isinstance(exc, (SQLAlchemyError, sqlite3.Error)):
        return DatabaseError(f"database error: {eng.describe_error(exc)}")
    return exc


@contextmanager
def _sqlite_savepoint(conn: Connection) -> Iterator[None]:
    """One group-commit job: its writes roll back alone if it raises."""
    cur = _cursor(conn)
    cur.execute("SAVEPOINT job")
    try:
        yield
    except BaseException:
        cur.execute("ROLLBACK TO job")
        cur.execute("RELEASE job")
        raise
    cur.execute("RELEASE job")


def _cursor(conn: Connection) -> sqlite3.Cursor:
    """The driver cursor of ``conn``, inside its current transaction (SQLite only)."""
    driver = conn.connection.driver_connection
    assert isinstance(driver, sqlite3.Connection)
    return driver.cursor()


_MESSAGES_RANGE = {
    order: select(*_MESSAGE_COLUMNS)
    .where(
        messages.c.session_pk == bindparam("pk"),
        messages.c.seq >= bindparam("lo"),
        messages.c.seq <= bindparam("hi"),
    )
    .order_by(messages.c.seq.asc() if order == "asc" else messages.c.seq.desc())
    .limit(bindparam("n", literal_execute=False))
    for order in ("asc", "desc")
}


def encode_cursor(values: Sequence[Any]) -> str:
    raw = json.dumps(list(values), separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> list[Any]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput("invalid cursor") from None
    if (
        not isinstance(values, list)
        or len(values) != 3
        or not all(isinstance(v, int) and not isinstance(v, bool) and -(2**63) <= v < 2**63 for v in values)
    ):
        raise InvalidInput("invalid cursor")
    return values


def _mark_snippet(raw: str) -> str:
    """HTML-escape a snippet and turn the match markers into ``<mark>`` tags."""
    return html.escape(raw).replace(_MARK_OPEN, "<mark>").replace(_MARK_CLOSE, "</mark>")


class SQLStore(
    CryptoSQLMixin,
    HistorySQLMixin,
    RoutingSQLMixin,
    IdempotencySQLMixin,
    ContextSQLMixin,
    TurnsSQLMixin,
    Store,
):
    """SQLite or PostgreSQL through one code path; dialect branches only for search and locking."""

    def __init__(
        self, url: str | None, *, clock: Clock | None = None, workers: int = 8, keyring: Keyring | None = None
    ) -> None:
        self.url = eng.parse_url(url)
        self.keyring = keyring  # encryption at rest when set (crypto_sql.py)
        self.codec = PlainCodec()
        self.dialect = self.url.dialect
        self.clock = clock or SystemClock()
        self._workers = 1 if self.url.memory else workers
        # SQLite has one writer at a time. Writers of this process queue on a lock, which hands
        # over at once, instead of in SQLite's busy handler, whose sleeps (up to 100 ms) leave
        # the write lock idle under load; other processes still meet the busy handler.
        self._write_lock = threading.Lock() if self.url.dialect == "sqlite" else None
        self._engine = eng.create_sqlalchemy_engine(self.url, pool_size=self._workers)
        self._executor: ThreadPoolExecutor | None = None
        # SQLite: concurrent appends share a transaction and its commit (group_commit.py).
        self.group_commit = (
            GroupCommit(self._pool, self._write, _sqlite_savepoint, self._guarded, _as_error)
            if self.url.dialect == "sqlite"
            else None
        )
        self.migrated: tuple[str | None, str | None] = (None, None)  # (before, after) at open

    # -- plumbing ---------------------------------------------------------------------------

    @property
    def engine(self) -> Any:
        return self._engine

    @property
    def location(self) -> str:
        """What to print: the SQLite file path, or the PostgreSQL URL without password."""
        if self.url.path is not None:
            return str(self.url.path)
        if self.url.memory:
            return ":memory:"
        from sqlalchemy.engine import make_url

        return make_url(self.url.sqlalchemy_url).set(drivername="postgresql").render_as_string()

    async def open(self) -> None:
        self._executor = ThreadPoolExecutor(max_workers=self._workers, thread_name_prefix="sessionhub-db")
        await self._run(self._open_sync)

    def _open_sync(self) -> None:
        self.migrated = eng.upgrade(self._engine)
        self._setup_encryption()

    async def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None
        self._engine.dispose()

    def _now_us(self) -> int:
        return to_us(self.clock.now())

    def _pool(self) -> ThreadPoolExecutor:
        if self._executor is None:
            raise DatabaseError("the store is not open (use `async with sessionhub.open(...)`)")
        return self._executor

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        pool = self._pool()
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(pool, functools.partial(self._guarded, fn, *args))

    def _guarded(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn`` translating driver errors; retry SQLite lock timeouts a few times."""
        for attempt in range(5):
            try:
                return fn(*args)
            except SessionhubError:
                raise
            except (OperationalError, sqlite3.OperationalError) as exc:
                locked = "database is locked" in str(exc) or "database is busy" in str(exc)
                if locked and attempt < 4:
                    time.sleep(0.05 * (attempt + 1))
                    continue
                if "readonly database" in str(exc):
                    # SQLite opened the file read-only while it could not write it, and would keep
                    # those pooled connections read-only after the permissions are fixed: drop them.
                    self._engine.dispose()
                raise _as_error(exc) from None
            except (SQLAlchemyError, sqlite3.Error) as exc:
                raise _as_error(exc) from None
        raise AssertionError("unreachable")

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with self._engine.connect() as conn, conn.begin():
            yield conn

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        # Reentrant per thread: a write opened inside another (routing: seen event + route +
        # append) joins the outer transaction, so the whole call commits or rolls back as one.
        local = self.__dict__.setdefault("_tx_local", threading.local())
        outer: Connection | None = getattr(local, "conn", None)
        if outer is not None:
            yield outer
            return
        with (
            self._write_lock or contextlib.nullcontext(),
            self._engine.connect().execution_options(sqlite_begin="IMMEDIATE") as conn,
            conn.begin(),
        ):
            local.conn = conn
            try:
                yield conn
            finally:
                local.conn = None

    def _session_row(self, conn: Connection, owner: str, session_id: str, lock: bool) -> Any:
        params = {"session_id": session_id, "owner": owner}
        if self.dialect == "sqlite":
            found = _cursor(conn).execute(_SQLITE_SESSION_BY_ID, params).fetchone()
            return None if found is None else SessionRow._make(found)
        return conn.execute(_SESSION_BY_ID_FOR_UPDATE if lock else _SESSION_BY_ID, params).first()

    def _lock_session(self, conn: Connection, owner: str, session_id: str) -> Row[Any]:
        row = self._session_row(conn, owner, session_id, lock=True)
        if row is None:
            raise NotFound(f"session {session_id} not found")
        return row  # type: ignore[no-any-return]

    def _lock_writable(self, conn: Connection, owner: str, session_id: str) -> Row[Any]:
        """``_lock_session``, refusing an archived (read-only) session."""
        row = self._lock_session(conn, owner, session_id)
        if row.status == "archived":
            raise SessionReadOnly(f"session {row.id} is archived (read-only); restore it first")
        return row

    def _find_session(self, conn: Connection, owner: str, session_id: str) -> Row[Any]:
        row = self._session_row(conn, owner, session_id, lock=False)
        if row is None:
            raise NotFound(f"session {session_id} not found")
        return row  # type: ignore[no-any-return]

    # -- sessions ---------------------------------------------------------------------------

    async def create_session(self, new: NewSession) -> Session:
        return await self._run(self._create_session, new)

    def _create_session(self, new: NewSession) -> Session:
        now = self._now_us()
        values: dict[str, Any] = {
            "id": new.id,
            "owner": new.owner,
            "key": new.key,
            "title": new.title,
            "title_source": new.title_source,
            "agent": new.agent,
            "provider": new.provider,
            "model": new.model,
            "source": new.source,
            "source_ref": new.source_ref,
            "channel": new.channel,
            "status": "active",
            "pinned": False,
            "created_at": now,
            "updated_at": now,
            "last_message_at": None,
            "activity_at": now,
            "message_count": 0,
            "preview": "",
            "user_messages": 0,
            "assistant_messages": 0,
            "tool_messages": 0,
            "errors": 0,
            "input_tokens": 0,
            "output_tokens": 0,
            "metadata": _dumps(dict(new.metadata)),
        }
        codec = self.codec
        if codec.encrypted:
            key = RowKey(new.id, codec.new_key(new.id))
            values["wrapped_key"] = key.wrapped
            for name in ("title", "preview", "metadata"):
                values[name] = codec.seal_session(key, name, values[name])
        with self._write() as conn:
            pk = self._insert_session(conn, values)
            self._reindex_title(conn, pk, new.title)
            row = self._find_session(conn, new.owner, new.id)
        return self._session(row)

    async def get_session(self, owner: str, session_id: str) -> Session:
        return await self._run(self._get_session, owner, session_id)

    def _get_session(self, owner: str, session_id: str) -> Session:
        with self._read() as conn:
            return self._session(self._find_session(conn, owner, session_id))

    async def update_session(
        self, owner: str, session_id: str, changes: SessionChanges, check: Check | None = None
    ) -> Session:
        return await self._run(self._update_session, owner, session_id, changes, check)

    def _update_session(
        self, owner: str, session_id: str, changes: SessionChanges, check: Check | None
    ) -> Session:
        with self._write() as conn:
            locked = self._lock_session(conn, owner, session_id)
            current = self._session(locked)
            if check is not None:
                check(current)
            values: dict[str, Any] = {}
            if changes.title is not None:
                values["title"] = changes.title
            if changes.title_source is not None:
                values["title_source"] = changes.title_source
            if changes.pinned is not None:
                values["pinned"] = changes.pinned
            if changes.status is not None:
                values["status"] = changes.status
            if changes.metadata is not None:
                values["metadata"] = _dumps(dict(changes.metadata))
            if self.codec.encrypted:
                for name in ("title", "metadata"):
                    if name in values:
                        values[name] = self.codec.seal_session(self._row_key(locked), name, values[name])
                if changes.title is not None:
                    self._reindex_title(conn, locked.pk, changes.title)
            if values:
                values["updated_at"] = self._now_us()
                conn.execute(
                    update(sessions)
                    .where(sessions.c.id == session_id, sessions.c.owner == owner)
                    .values(**values)
                )
            row = self._find_session(conn, owner, session_id)
        return self._session(row)

    async def delete_session(self, owner: str, session_id: str) -> None:
        await self._run(self._delete_session, owner, session_id)

    def _delete_session(self, owner: str, session_id: str) -> None:
        with self._write() as conn:
            row = self._lock_session(conn, owner, session_id)
            pk = row.pk
            self._release_children(conn, row)  # forks keep what they read (history_sql.py)
            conn.execute(delete(messages).where(messages.c.session_pk == pk))
            conn.execute(delete(checkpoints).where(checkpoints.c.session_pk == pk))
            conn.execute(delete(sessions).where(sessions.c.pk == pk))
        self.codec.forget(session_id)

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
                msg_id = _new_message_id()
                rows.append(
                    {
                        "session_pk": row.pk,
                        "seq": seq,
                        "id": msg_id,
                        "role": m.role,
                        **self.codec.seal_message(
                            key,
                            msg_id,
                            seq,
                            m.content,
                            _dumps([p.to_dict() for p in m.parts]),
                            _dumps(dict(m.metadata)),
                        ),
                        "status": m.status,
                        "input_tokens": m.usage.input_tokens,
                        "output_tokens": m.usage.output_tokens,
                        "created_at": created,
                        "context_keep": context_keep(m.role, m.metadata),
                    }
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
            if self.codec.encrypted:  # the blind index needs the new rows' pks: RETURNING, no re-select
                pks = [int(pk) for pk in conn.execute(_INSERT_MESSAGES_RETURNING, rows).scalars()]
                self._index_messages(conn, row.pk, row.message_count + 1, [m.content for m in items], pks)
            elif self.dialect == "sqlite":
                _cursor(conn).executemany(_SQLITE_INSERT_MESSAGE, rows)
            else:
                conn.execute(_INSERT_MESSAGES, rows)
            values: dict[str, Any] = {
                "pk": row.pk,
                "message_count": seq,
                "d_user": counts["user"],
                "d_assistant": counts["assistant"],
                "d_tool": counts["tool"],
                "d_errors": errors,
                "d_in": in_tok,
                "d_out": out_tok,
                "at": last_at,
                "now": now,
                "preview": None,
                "title": None,
            }
            codec = self.codec
            if auto is not None and codec.session_text_empty(key, "preview", row.preview):
                values["preview"] = codec.seal_session(key, "preview", auto.preview)
                if row.title_source == "auto" and codec.session_text_empty(key, "title", row.title):
                    values["title"] = codec.seal_session(key, "title", auto.title)
                    self._reindex_title(conn, row.pk, auto.title)
            if self.dialect == "sqlite":
                _cursor(conn).execute(_APPEND_COUNTERS.text, values)
            else:
                conn.execute(_APPEND_COUNTERS, values)
        return out

    async def history(
        self, owner: str, session_id: str, limit: int, before_seq: int | None, after_seq: int | None
    ) -> tuple[list[Message], bool]:
        return await self._run(self._history, owner, session_id, limit, before_seq, after_seq)

    def _segments(self, conn: Connection, row: Row[Any]) -> list[tuple[int, int, int]]:
        """(session_pk, first_seq, last_seq) from newest to oldest; forks read their base."""
        segs = [(row.pk, row.base_seq + 1, row.message_count)]
        base_pk, upto = row.base_session_pk, row.base_seq
        while base_pk is not None and upto > 0:
            base = conn.execute(
                select(sessions.c.pk, sessions.c.base_session_pk, sessions.c.base_seq).where(
                    sessions.c.pk == base_pk
                )
            ).one()
            segs.append((base.pk, base.base_seq + 1, upto))
            base_pk, upto = base.base_session_pk, base.base_seq
        return segs

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
                if self.dialect == "sqlite":
                    cur = _cursor(conn).execute(
                        _SQLITE_MESSAGES_RANGE[order], (pk, lo, hi, wanted - len(found))
                    )
                    found.extend((pk, r) for r in cur.fetchall())
                else:
                    params = {"pk": pk, "lo": lo, "hi": hi, "n": wanted - len(found)}
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
            open_columns = self.codec.open_message_columns
            out: list[Message] = []
            for pk, r in found:
                mid, seq, role, content, parts, status, in_tok, out_tok, meta, created = r
                content, parts, meta = open_columns(keys[pk], mid, seq, content, parts, meta)
                out.append(
                    _message_from_columns(
                        (mid, seq, role, content, parts, status, in_tok, out_tok, meta, created), session_id
                    )
                )
            return out, has_more
        return [_message_from_columns(r, session_id) for _pk, r in found], has_more

    async def clear(self, owner: str, session_id: str) -> None:
        await self._run(self._clear, owner, session_id)

    def _clear(self, owner: str, session_id: str) -> None:
        with self._write() as conn:
            row = self._lock_writable(conn, owner, session_id)
            self._release_children(conn, row)  # forks keep what they read (history_sql.py)
            conn.execute(delete(messages).where(messages.c.session_pk == row.pk))
            conn.execute(delete(checkpoints).where(checkpoints.c.session_pk == row.pk))
            now = self._now_us()
            conn.execute(
                update(sessions)
                .where(sessions.c.pk == row.pk)
                .values(
                    message_count=0,
                    base_session_pk=None,
                    base_seq=0,
                    preview=self.codec.seal_session(self._row_key(row), "preview", ""),
                    user_messages=0,
                    assistant_messages=0,
                    tool_messages=0,
                    errors=0,
                    input_tokens=0,
                    output_tokens=0,
                    last_message_at=None,
                    updated_at=now,
                )
            )

    # -- listings ---------------------------------------------------------------------------

    async def list_sessions(
        self,
        owner: str,
        view: View,
        limit: int,
        cursor: str | None,
        agent: str | None,
        channel: str | None,
    ) -> tuple[list[Session], str | None]:
        after = decode_cursor(cursor) if cursor else None
        return await self._run(self._list, owner, view, limit, after, agent, channel)

    def _view_filter(self, conn: Connection, owner: str, view: View) -> Any:
        if view == "archived":
            return sessions.c.status == "archived"
        if view == "scheduled":
            return sessions.c.source == "scheduled"
        if view == "all":
            return None
        newest_empty = conn.execute(
            select(sessions.c.pk)
            .where(sessions.c.owner == owner, sessions.c.status == "active", sessions.c.message_count == 0)
            .order_by(sessions.c.pk.desc())
            .limit(1)
        ).scalar()
        visible = sessions.c.message_count > 0
        if newest_empty is not None:
            visible = or_(visible, sessions.c.pk == newest_empty)
        return and_(sessions.c.status == "active", visible)

    def _list(
        self,
        owner: str,
        view: View,
        limit: int,
        after: list[int] | None,
        agent: str | None,
        channel: str | None,
    ) -> tuple[list[Session], str | None]:
        with self._read() as conn:
            conds: list[Any] = [sessions.c.owner == owner]
            vf = self._view_filter(conn, owner, view)
            if vf is not None:
                conds.append(vf)
            if agent:
                conds.append(sessions.c.agent == agent)
            if channel:
                conds.append(sessions.c.channel == channel)
            if after is not None:
                pinned = sessions.c.pinned
                key = tuple_(pinned, sessions.c.activity_at, sessions.c.pk)
                conds.append(key < tuple_(bool(after[0]), after[1], after[2]))
            q = (
                select(sessions)
                .where(*conds)
                .order_by(sessions.c.pinned.desc(), sessions.c.activity_at.desc(), sessions.c.pk.desc())
                .limit(limit + 1)
            )
            rows = conn.execute(q).all()
        next_cursor = None
        if len(rows) > limit:
            last = rows[limit - 1]
            next_cursor = encode_cursor([int(bool(last.pinned)), last.activity_at, last.pk])
            rows = rows[:limit]
        return [self._session(r) for r in rows], next_cursor

    async def recent(self, owner: str, limit: int) -> list[Session]:
        return await self._run(self._recent, owner, limit)

    def _recent(self, owner: str, limit: int) -> list[Session]:
        # Served by ix_sessions_list per status; merged here to stay an index scan.
        with self._read() as conn:
            rows: list[Row[Any]] = []
            for status in ("active", "archived"):
                for pinned in (True, False):
                    rows.extend(
                        conn.execute(
                            select(sessions)
                            .where(
                                sessions.c.owner == owner,
                                sessions.c.status == status,
                                sessions.c.pinned == pinned,
                                sessions.c.message_count > 0,
                            )
                            .order_by(sessions.c.activity_at.desc(), sessions.c.pk.desc())
                            .limit(limit)
                        ).all()
                    )
        rows.sort(key=lambda r: (r.activity_at, r.pk), reverse=True)
        return [self._session(r) for r in rows[:limit]]

    # -- search -----------------------------------------------------------------------------

    async def search(
        self, owner: str, terms: Sequence[str], limit: int, view: View, agent: str | None, channel: str | None
    ) -> list[RawHit]:
        return await self._run(self._search, owner, list(terms), limit, view, agent, channel)

    def _search_filters(
        self, conn: Connection, owner: str, view: View, agent: str | None, channel: str | None
    ) -> str:
        parts = ["s.owner = :owner"]
        if view == "active":
            parts.append("s.status = 'active'")
        elif view == "archived":
            parts.append("s.status = 'archived'")
        elif view == "scheduled":
            parts.append("s.source = 'scheduled'")
        if agent:
            parts.append("s.agent = :agent")
        if channel:
            parts.append("s.channel = :channel")
        return " AND ".join(parts)

    def _search(
        self, owner: str, terms: list[str], limit: int, view: View, agent: str | None, channel: str | None
    ) -> list[RawHit]:
        if self.codec.encrypted:
            return self._blind_search(owner, terms, limit, view, agent, channel)
        params: dict[str, Any] = {"owner": owner, "agent": agent, "channel": channel, "limit": limit}
        with self._read() as conn:
            where = self._search_filters(conn, owner, view, agent, channel)
            if self.dialect == "sqlite":
                params["q"] = " ".join('"' + t.replace('"', '""') + '"' for t in terms)
                params["mo"], params["mc"] = _MARK_OPEN, _MARK_CLOSE
                title_sql = (
                    "SELECT s.*, highlight(sessions_fts, 0, :mo, :mc) AS snip, bm25(sessions_fts) AS score "
                    f"FROM sessions_fts JOIN sessions s ON s.pk = sessions_fts.rowid "
                    f"WHERE sessions_fts MATCH :q AND {where} ORDER BY bm25(sessions_fts) LIMIT :limit"
                )
                msg_sql = (
                    "SELECT s.*, m.id AS message_id, m.seq AS message_seq, "
                    "snippet(messages_fts, 0, :mo, :mc, '…', 16) AS snip, bm25(messages_fts) AS score "
                    "FROM messages_fts JOIN messages m ON m.pk = messages_fts.rowid "
                    "JOIN sessions s ON s.pk = m.session_pk "
                    f"WHERE messages_fts MATCH :q AND {where} ORDER BY bm25(messages_fts) LIMIT :limit"
                )
            else:
                params["q"] = " ".join(terms)
                title_sql = (
                    "SELECT s.*, s.title AS snip_text, "
                    "-ts_rank(to_tsvector('simple', s.title), plainto_tsquery('simple', :q)) AS score "
                    "FROM sessions s WHERE to_tsvector('simple', s.title) @@ plainto_tsquery('simple', :q) "
                    f"AND left(s.title, 5) <> 'enc1:' AND {where} ORDER BY score LIMIT :limit"
                )
                # The full-text match runs once (a MATERIALIZED CTE: the plan must not repeat the
                # GIN scan per session when statistics are stale), and ts_rank, which re-parses
                # each text, ranks only the newest PG_RANK_CANDIDATES matches: bounded cost for
                # very common words (docs/operations.md).
                params["candidates"] = PG_RANK_CANDIDATES
                msg_sql = (
                    "WITH hits AS MATERIALIZED (SELECT m.pk, m.session_pk FROM messages m "
                    "WHERE to_tsvector('simple', m.content) @@ plainto_tsquery('simple', :q) "
                    "AND left(m.content, 5) <> 'enc1:'), "
                    "cand AS (SELECT h.pk FROM hits h JOIN sessions s ON s.pk = h.session_pk "
                    f"WHERE {where} ORDER BY h.pk DESC LIMIT :candidates) "
                    "SELECT s.*, m.id AS message_id, m.seq AS message_seq, m.content AS snip_text, "
                    "-ts_rank(to_tsvector('simple', m.content), plainto_tsquery('simple', :q)) AS score "
                    "FROM cand c JOIN messages m ON m.pk = c.pk JOIN sessions s ON s.pk = m.session_pk "
                    "ORDER BY score LIMIT :limit"
                )
            title_rows = conn.execute(text(title_sql), params).all()
            best = self._sqlite_best_hits(conn, where, params, terms) if self.dialect == "sqlite" else None
            msg_rows = conn.execute(text(msg_sql), params).all() if best is None else []

        def snip(r: Row[Any]) -> str:
            if self.dialect == "sqlite":
                return _mark_snippet(r.snip)
            return make_snippet(r.snip_text, terms)

        # Title matches weigh double (a field boost); then one ranking by score, best first.
        hits = [RawHit(session_from_row(r), None, None, snip(r), -2.0 * float(r.score)) for r in title_rows]
        hits.extend(
            RawHit(session_from_row(r), r.message_id, r.message_seq, snip(r), -float(r.score))
            for r in msg_rows
        )
        hits.extend(best or ())
        hits.sort(key=lambda h: h.score, reverse=True)
        return hits[:limit]

    def _sqlite_best_hits(
        self, conn: Connection, where: str, params: dict[str, Any], terms: list[str]
    ) -> list[RawHit] | None:
        """The best message hits from the FTS5 index alone, then filtered; None if unsure.

        Ranking every match by bm25 is cheap inside FTS5; joining every match to its message and
        session row to apply the owner/view filters is not. So take the best ``4 × limit``
        matches from the index, keep those the filters allow, and make snippets for those only.
        When fewer than ``limit`` pass although the index had more matches, the page may be
        missing hits further down: the caller then runs the exact query.
        """
        limit = int(params["limit"])
        fetch = 4 * limit
        cur = _cursor(conn)
        top = cur.execute(_SQLITE_FTS_BEST, {"q": params["q"], "n": fetch}).fetchall()
        if not top:
            return []
        score_of = dict(top)
        marks = ", ".join(f":p{i}" for i in range(len(top)))
        args = {**params, **{f"p{i}": pk for i, (pk, _score) in enumerate(top)}}
        rows = conn.execute(
            text(
                "SELECT s.*, m.pk AS message_pk, m.id AS message_id, m.seq AS message_seq, "
                "m.content AS snip_text FROM messages m CROSS JOIN sessions s ON s.pk = m.session_pk "
                f"WHERE m.pk IN ({marks}) AND {where}"
            ),
            args,
        ).all()
        if len(rows) < limit and len(top) == fetch:
            return None
        return [
            RawHit(
                session_from_row(r),
                r.message_id,
                r.message_seq,
                make_snippet(r.snip_text, terms),
                -float(score_of[r.message_pk]),
            )
            for r in sorted(rows, key=lambda r: score_of[r.message_pk])[:limit]
        ]

    # -- stats ------------------------------------------------------------------------------

    async def counts(self, owner: str, today_start_us: int, week_start_us: int) -> Stats:
        return await self._run(self._counts, owner, today_start_us, week_start_us)

    def _counts(self, owner: str, today_start_us: int, week_start_us: int) -> Stats:
        one, zero = 1, 0
        from sqlalchemy import case

        q = select(
            func.count(),
            func.coalesce(func.sum(case((sessions.c.created_at >= today_start_us, one), else_=zero)), 0),
            func.coalesce(func.sum(case((sessions.c.created_at >= week_start_us, one), else_=zero)), 0),
            func.coalesce(func.sum(sessions.c.message_count), 0),
            func.coalesce(func.sum(case((sessions.c.status == "active", one), else_=zero)), 0),
            func.coalesce(func.sum(case((sessions.c.status == "archived", one), else_=zero)), 0),
            func.coalesce(func.sum(case((sessions.c.pinned.is_(True), one), else_=zero)), 0),
        ).where(sessions.c.owner == owner)
        with self._read() as conn:
            r = conn.execute(q).one()
        return Stats(*(int(v) for v in r))


def _new_message_id() -> str:
    from ..ids import new_id

    return new_id("msg")
