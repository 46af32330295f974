"""The base every part of the SQL store inherits: engine, worker threads, transactions, locks.

Each public method of the store is one transaction run in a worker thread (``_run``), so the
event loop never blocks and a call costs one thread hop. ``_read``/``_write`` open the
transaction; writes lock the session row (``BEGIN IMMEDIATE`` on SQLite, ``SELECT … FOR
UPDATE`` on PostgreSQL: ``_lock_session``). SQLite lock timeouts are retried a few times and
driver errors become ``DatabaseError`` (``_guarded``). On SQLite, appends that arrive while
another commits share the next transaction and its commit (group_commit.py: one plain
transaction, run again with a savepoint per append when one of them fails).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import sqlite3
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, Row, select
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from ..clock import Clock, SystemClock
from ..crypto import Keyring
from ..errors import DatabaseError, NotFound, SessionhubError, SessionReadOnly
from . import engine as eng
from ._rows import SessionRow, postgres_cursor, sqlite_cursor, to_us
from .codec import PlainCodec
from .fastpath import SESSION_BY_ID, SESSION_BY_ID_SQL, Readers
from .fastpath_pg import SESSION_FOR_UPDATE_PG
from .group_commit import GroupCommit
from .schema import sessions

DEFAULT_READ_CACHE = 16 << 20  # [encryption] read_cache_mb's default, in bytes

T = TypeVar("T")


def _is_psycopg_error(exc: BaseException) -> bool:
    # psycopg is imported by SQLAlchemy only for a PostgreSQL URL; a SQLite user never loads it.
    psycopg = sys.modules.get("psycopg")
    return psycopg is not None and isinstance(exc, psycopg.Error)


def _as_error(exc: BaseException) -> BaseException:
    """What a caller sees for ``exc``: our errors as they are, driver errors as DatabaseError."""
    if isinstance(exc, (SQLAlchemyError, sqlite3.Error)) or _is_psycopg_error(exc):
        return DatabaseError(f"database error: {eng.describe_error(exc)}")
    return exc


def check_writable(session_id: str, status: str | None) -> None:
    """Refuse a write to a session that is not there for this owner (``status`` None) or is
    archived (read-only)."""
    if status is None:
        raise NotFound(f"session {session_id} not found")
    if status == "archived":
        raise SessionReadOnly(f"session {session_id} is archived (read-only); restore it first")


@contextmanager
def _sqlite_savepoint(conn: Connection) -> Iterator[None]:
    """One group-commit job of a batch run again after a failure: its writes roll back alone
    if it raises."""
    cur = sqlite_cursor(conn)
    cur.execute("SAVEPOINT job")
    try:
        yield
    except BaseException:
        cur.execute("ROLLBACK TO job")
        cur.execute("RELEASE job")
        raise
    cur.execute("RELEASE job")


class SQLBase:
    """SQLite or PostgreSQL through one code path; dialect branches only for search and locking."""

    codec: PlainCodec  # CryptoCodec when encryption is on (crypto_sql.py)

    def __init__(
        self,
        url: str | None,
        *,
        clock: Clock | None = None,
        workers: int = 8,
        keyring: Keyring | None = None,
        read_cache_bytes: int = DEFAULT_READ_CACHE,
    ) -> None:
        self.url = eng.parse_url(url)
        self.keyring = keyring  # encryption at rest when set (crypto_sql.py)
        # encrypted: plaintext of message records (SQLite) and session fields opened lately
        # (crypto/opened.py); 0: none
        self.read_cache_bytes = read_cache_bytes
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
        self._tx_local = threading.local()  # the write transaction open on this thread, if any
        # SQLite file: writes share one long-lived connection (taken under the write lock, so
        # no pool round trip per transaction) and bounded reads run inline (fastpath.py).
        self._writer: Connection | None = None
        self._uses_writer = self.url.dialect == "sqlite" and self.url.path is not None
        self.readers = Readers(self.url.path) if self._uses_writer and self.url.path is not None else None

    # -- plumbing ---------------------------------------------------------------------------

    @property
    def engine(self) -> Engine:
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

    async def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None
        if self.readers is not None:
            self.readers.close()
        with self._write_lock or contextlib.nullcontext():
            self._drop_writer()
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
                    with self._write_lock or contextlib.nullcontext():
                        self._drop_writer()
                    self._engine.dispose()
                raise _as_error(exc) from None
            except Exception as exc:  # driver errors (psycopg's too: fastpath_pg.py) become DatabaseError
                error = _as_error(exc)
                if error is exc:
                    raise
                raise error from None
        raise AssertionError("unreachable")

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with self._engine.connect() as conn, conn.begin():
            yield conn

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        # Reentrant per thread: a write opened inside another (routing: seen event + route +
        # append) joins the outer transaction, so the whole call commits or rolls back as one.
        local = self._tx_local
        outer: Connection | None = getattr(local, "conn", None)
        if outer is not None:
            yield outer
            return
        if self._uses_writer:
            with self._sqlite_write() as conn:
                yield conn
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

    @contextmanager
    def _sqlite_write(self) -> Iterator[Connection]:
        """A write transaction on the writer connection: ``BEGIN IMMEDIATE`` … ``COMMIT`` by hand.

        The connection's ``sqlite_begin="NONE"`` makes SQLAlchemy's own (auto)begin emit
        nothing, so statements run through SQLAlchemy join the transaction opened here, and
        its ``commit()`` is the driver's. Any failure of the transaction's end drops the
        connection (a fresh one is taken next time), so no half-open state survives.
        """
        assert self._write_lock is not None
        local = self._tx_local
        with self._write_lock:
            if self._writer is None:
                self._writer = self._engine.connect().execution_options(sqlite_begin="NONE")
            conn = self._writer
            driver = conn.connection.driver_connection
            assert isinstance(driver, sqlite3.Connection)
            try:
                driver.execute("BEGIN IMMEDIATE")
            except BaseException:
                self._drop_writer()
                raise
            local.conn = conn
            try:
                yield conn
            except BaseException:
                local.conn = None
                try:
                    if conn.in_transaction():
                        conn.rollback()  # the driver's rollback, and SQLAlchemy's state reset
                    else:
                        driver.rollback()
                except BaseException:
                    self._drop_writer()
                raise
            local.conn = None
            try:
                if conn.in_transaction():
                    conn.commit()
                else:
                    driver.commit()
            except BaseException:
                self._drop_writer()
                raise

    def _drop_writer(self) -> None:
        """Close the writer connection (rolling back anything open); call under the write lock."""
        conn, self._writer = self._writer, None
        if conn is not None:
            with contextlib.suppress(Exception):
                driver = conn.connection.driver_connection
                if isinstance(driver, sqlite3.Connection) and driver.in_transaction:
                    driver.rollback()
            with contextlib.suppress(Exception):
                conn.invalidate()
            with contextlib.suppress(Exception):
                conn.close()

    def _session_row(self, conn: Connection, owner: str, session_id: str, lock: bool) -> Any:
        params = {"session_id": session_id, "owner": owner}
        if self.dialect == "sqlite":
            found = sqlite_cursor(conn).execute(SESSION_BY_ID_SQL, params).fetchone()
            return None if found is None else SessionRow._make(found)
        if lock:  # PostgreSQL's write path on the driver's cursor (fastpath_pg.py)
            with postgres_cursor(conn) as cur:
                found = cur.execute(SESSION_FOR_UPDATE_PG, params).fetchone()
            return None if found is None else SessionRow._make(found)
        return conn.execute(SESSION_BY_ID, params).first()

    def _lock_session(self, conn: Connection, owner: str, session_id: str) -> Row[Any]:
        row = self._session_row(conn, owner, session_id, lock=True)
        if row is None:
            raise NotFound(f"session {session_id} not found")
        return row  # type: ignore[no-any-return]

    def _lock_writable(self, conn: Connection, owner: str, session_id: str) -> Row[Any]:
        """``_lock_session``, refusing an archived (read-only) session."""
        row = self._lock_session(conn, owner, session_id)
        check_writable(row.id, row.status)
        return row

    def _find_session(self, conn: Connection, owner: str, session_id: str) -> Row[Any]:
        row = self._session_row(conn, owner, session_id, lock=False)
        if row is None:
            raise NotFound(f"session {session_id} not found")
        return row  # type: ignore[no-any-return]

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
            base_pk, upto = base.base_session_pk, min(upto, base.base_seq)
        return segs
