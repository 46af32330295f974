"""Database URLs, engines and migrations for the SQL backend.

SQLite: WAL, a busy timeout, foreign keys on, and write transactions opened with
``BEGIN IMMEDIATE`` so concurrent writers queue on the busy handler instead of failing
on a lock upgrade. PostgreSQL: psycopg 3. Alembic migrations run at open (serialised
across processes: the SQLite write lock, a PostgreSQL advisory lock) and from
``sessionhub db upgrade``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic.config import Config
from alembic.runtime.environment import EnvironmentContext
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.pool import StaticPool

from ..errors import DatabaseError, InvalidInput
from .schema import metadata

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
_PG_MIGRATION_LOCK = 7_361_204_511  # arbitrary advisory-lock id for migrations


@dataclass(frozen=True, slots=True)
class DatabaseURL:
    """A parsed, supported database URL."""

    dialect: str  # "sqlite" or "postgresql"
    sqlalchemy_url: str
    path: Path | None  # SQLite file, None for memory or PostgreSQL
    synchronous: str = "NORMAL"

    @property
    def memory(self) -> bool:
        return self.dialect == "sqlite" and self.path is None


def default_sqlite_path() -> Path:
    """The default store file, in the user data dir (``$XDG_DATA_HOME/sessionhub``)."""
    from platformdirs import user_data_path

    return user_data_path("sessionhub", appauthor=False) / "sessionhub.db"


def parse_url(url: str | None) -> DatabaseURL:
    """Accept ``sqlite:///path``, ``sqlite://`` (memory), a bare path, or ``postgresql://…``."""
    if url is None or url == "":
        path = default_sqlite_path()
        return DatabaseURL("sqlite", f"sqlite+pysqlite:///{path}", path)
    if url in ("sqlite://", "sqlite:///:memory:", ":memory:"):
        return DatabaseURL("sqlite", "sqlite+pysqlite://", None)
    if "://" not in url:
        path = Path(url).expanduser()
        return DatabaseURL("sqlite", f"sqlite+pysqlite:///{path}", path)
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise InvalidInput(f"invalid database URL {url!r}") from None
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        sync = str(parsed.query.get("synchronous", "NORMAL")).upper()
        if sync not in ("OFF", "NORMAL", "FULL", "EXTRA"):
            raise InvalidInput(f"invalid SQLite synchronous setting {sync!r}")
        database = parsed.database
        if not database or database == ":memory:":
            return DatabaseURL("sqlite", "sqlite+pysqlite://", None, sync)
        path = Path(database).expanduser()
        return DatabaseURL("sqlite", f"sqlite+pysqlite:///{path}", path, sync)
    if backend in ("postgresql", "postgres"):
        pg = parsed.set(drivername="postgresql+psycopg")
        return DatabaseURL("postgresql", pg.render_as_string(hide_password=False), None)
    raise InvalidInput(
        f"unsupported database URL scheme {parsed.drivername!r} (use sqlite:// or postgresql://)"
    )


def create_sqlalchemy_engine(db: DatabaseURL, pool_size: int = 8) -> Engine:
    """Create the engine with the per-dialect setup; nothing is connected yet."""
    if db.dialect == "postgresql":
        return create_engine(
            db.sqlalchemy_url,
            pool_size=pool_size,
            max_overflow=pool_size,
            pool_pre_ping=True,
            connect_args={"connect_timeout": 10},
        )
    if db.memory:
        engine = create_engine(
            db.sqlalchemy_url, poolclass=StaticPool, connect_args={"check_same_thread": False}
        )
    else:
        assert db.path is not None
        try:
            db.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DatabaseError(f"cannot create the database directory {db.path.parent}: {exc}") from None
        engine = create_engine(
            db.sqlalchemy_url,
            pool_size=pool_size,
            max_overflow=pool_size,
            connect_args={"timeout": 30.0, "check_same_thread": False},
        )
    synchronous = db.synchronous

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        if not db.memory:
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        if mode != "NONE":  # NONE: the store's writer connection, which begins by hand (_db.py)
            conn.exec_driver_sql(f"BEGIN {mode}")

    return engine


def _alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return cfg


@functools.cache
def _scripts() -> ScriptDirectory:
    """The migration scripts, read once per process: Alembic compiles every revision file each
    time it builds a ``ScriptDirectory`` (~10 ms for ours), and every open asks for the head."""
    return ScriptDirectory.from_config(_alembic_config())


def head_revision() -> str | None:
    return _scripts().get_current_head()


def current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine) -> tuple[str | None, str | None]:
    """Apply pending migrations; returns (before, after) revisions."""
    head = head_revision()
    with engine.connect() as probe:
        before = current_revision(probe)
        probe.rollback()
    if before == head:
        return before, head
    options = {"sqlite_begin": "IMMEDIATE"} if engine.dialect.name == "sqlite" else {}
    with engine.connect().execution_options(**options) as conn, conn.begin():
        if engine.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_MIGRATION_LOCK})
        before = current_revision(conn)
        if before != head:
            _upgrade_to_head(conn)
    return before, head


def _upgrade_to_head(conn: Connection) -> None:
    """``alembic upgrade head`` on ``conn``, with the scripts read once (``command.upgrade``
    reads them again and runs env.py, which would configure the context as here)."""
    scripts = _scripts()
    with EnvironmentContext(
        _alembic_config(),
        scripts,
        fn=lambda rev, _context: scripts._upgrade_revs("head", rev),
        destination_rev="head",
    ) as env:
        env.configure(connection=conn, target_metadata=metadata, render_as_batch=True)
        env.run_migrations()


def describe_error(exc: BaseException) -> str:
    """One line for a database failure, without the SQL or parameters."""
    if isinstance(exc, SQLAlchemyError):
        orig = getattr(exc, "orig", None)
        msg = str(orig) if orig is not None else str(exc).split("\n")[0]
    else:
        msg = str(exc)
    return " ".join(msg.split())[:300] or type(exc).__name__
