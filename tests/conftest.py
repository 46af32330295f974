"""Shared fixtures: a hub on every backend (memory, SQLite file, encrypted SQLite file, PostgreSQL)."""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import subprocess
import tempfile
import traceback
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import sessionhub
import sessionhub.hub.search
from _env import SEMANTIC_OFF
from sessionhub.crypto import generate_master_key
from sessionhub.hub import Hub
from sessionhub.testing import FakeClock

PG_ADMIN_URL = os.environ.get("SESSIONHUB_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _pg_available() -> str | None:
    try:
        import psycopg

        with psycopg.connect(PG_ADMIN_URL, connect_timeout=3):
            return None
    except Exception as exc:  # any failure means "not available"
        return f"PostgreSQL not reachable at {PG_ADMIN_URL}: {exc}"


_PG_PROBLEM: str | bool | None = False


def pg_problem() -> str | None:
    global _PG_PROBLEM
    if _PG_PROBLEM is False:
        _PG_PROBLEM = _pg_available()
    return _PG_PROBLEM  # type: ignore[return-value]


def require_pg() -> None:
    problem = pg_problem()
    if problem:
        if IN_CI:
            pytest.fail(f"CI=true requires PostgreSQL: {problem}")
        pytest.skip(problem)


def _admin(dbname: str | None = None) -> Any:
    import psycopg

    url = PG_ADMIN_URL if dbname is None else PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + dbname
    return psycopg.connect(url, autocommit=True)


def _migrate(url: str) -> None:
    """Open ``url`` once (migrating it), on a thread of its own: the first test to ask may be
    an async one whose event loop is already running, where asyncio.run refuses."""
    import asyncio
    import concurrent.futures

    async def migrate() -> None:
        async with sessionhub.open(url):
            pass

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, migrate()).result()


@pytest.fixture(scope="session")
def _pg_migrated_db() -> Iterator[str]:
    """One PostgreSQL database per test process, migrated once; ``pg_url`` empties it per test."""
    require_pg()
    name = "sh_test_" + secrets.token_hex(6)
    with _admin() as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name

    try:
        _migrate(url)
        yield url
    finally:
        with _admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def pg_url(_pg_migrated_db: str) -> str:
    """A migrated, empty PostgreSQL database for one test.

    Creating and migrating a database costs ~1 s; emptying the process's one migrated
    database costs a few ms: connections a previous test left (a killed server's, say) are
    ended, then every row of every table but Alembic's is deleted.
    """
    name = _pg_migrated_db.rsplit("/", 1)[1]
    with _admin(name) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            (name,),
        )
        tables = [
            row[0]
            for row in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
            )
        ]
        if tables:  # DELETE, not TRUNCATE: ~8 ms against ~40 for a few rows in ~20 tables
            deletes = "; ".join(f'DELETE FROM "{t}"' for t in tables)
            with conn.transaction():  # foreign keys are triggers: off for this transaction
                conn.execute(f"SET LOCAL session_replication_role = replica; {deletes}")
    return _pg_migrated_db


@pytest.fixture
def pg_empty_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database (not migrated) for one test, dropped afterwards."""
    require_pg()
    name = "sh_test_" + secrets.token_hex(6)
    with _admin() as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        with _admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


BACKENDS = ["memory", "sqlite", "sqlite-encrypted", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty SQLite file migrated once per test process; ``backend_url`` hands out copies
    (a copy takes ~1 ms, migrating a new file ~40 ms, a third of a behaviour test's time)."""
    path = tmp_path_factory.mktemp("template") / "migrated.db"
    _migrate(f"sqlite:///{path}")
    return path


@pytest.fixture(params=BACKENDS)
def backend_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty, migrated database on each backend (``sqlite-encrypted``: a file
    opened with :func:`encryption_key`, so the behaviour suite also runs with encryption at rest
    on). Migrating a new database is tested in tests/core/test_database.py and on ``memory``."""
    if request.param == "memory":
        yield "sqlite://"
    elif request.param in ("sqlite", "sqlite-encrypted"):
        shutil.copyfile(request.getfixturevalue("_sqlite_template"), tmp_path / "test.db")
        yield f"sqlite:///{tmp_path}/test.db"
    else:
        yield request.getfixturevalue("pg_url")


@pytest.fixture(scope="session")
def _master_key() -> str:
    return generate_master_key()


@pytest.fixture
def encryption_key(request: pytest.FixtureRequest, backend_url: str) -> str | None:
    """The master key to open ``backend_url`` with: a key on ``sqlite-encrypted``, else None."""
    callspec = getattr(request.node, "callspec", None)
    backend = callspec.params.get("backend_url") if callspec is not None else None
    return request.getfixturevalue("_master_key") if backend == "sqlite-encrypted" else None


@pytest.fixture
async def hub(backend_url: str, encryption_key: str | None, clock: FakeClock) -> AsyncIterator[Hub]:
    async with sessionhub.open(backend_url, clock=clock, encryption_key=encryption_key) as h:
        yield h


def invoke_cli(
    *args: str, input: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``sessionhub ARGS`` run in-process with click's CliRunner, its result shaped like ``subprocess.run``'s.

    As a fresh console-script process would see it: an empty working directory (no stray
    ``./sessionhub.toml``), none of the caller's ``SESSIONHUB_*`` variables (``env`` is added),
    ``input`` on stdin (not a terminal). An exception escaping the command becomes exit
    code 1 with its traceback on stderr, as the interpreter would print it.
    """
    from click.testing import CliRunner

    from sessionhub.cli import cli

    clean: dict[str, str | None] = {k: None for k in os.environ if k.startswith("SESSIONHUB_")}
    runner = CliRunner(env={**clean, **SEMANTIC_OFF, **(env or {})})
    with tempfile.TemporaryDirectory() as cwd, contextlib.chdir(cwd):
        result = runner.invoke(cli, list(args), input=input, prog_name="sessionhub")
    stderr = result.stderr
    if (
        result.exception is not None
        and result.exc_info is not None
        and not isinstance(result.exception, SystemExit)
    ):
        stderr += "".join(traceback.format_exception(*result.exc_info))
    return subprocess.CompletedProcess(["sessionhub", *args], result.exit_code, result.stdout, stderr)


@pytest.fixture
def cli() -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run the ``sessionhub`` command in-process: ``cli("sessions", "list", "--json")``.

    CLI tests use this; only a few go through the real console script (tests/cli).
    """
    return invoke_cli


# Semantic search as if its extra were not installed, except in tests marked ``semantic``. With
# it available, every hybrid search (the default mode) loads the embedding model and embeds the
# messages stored so far, and every server started in-process embeds everything in the
# background: CPU that tests of anything else do not need (with the servers of tests/_env.py, a
# third of the suite's CPU). Patched at import, so module-scoped servers see it too.
_AVAILABLE = sessionhub.hub.search.available
sessionhub.hub.search.available = lambda: False  # type: ignore[assignment]


@pytest.fixture(autouse=True)
def _semantic_when_marked(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    if request.node.get_closest_marker("semantic") is not None:
        monkeypatch.setattr("sessionhub.hub.search.available", _AVAILABLE)


# The long files first. `make test` hands whole files to the workers (--dist loadfile) in
# collection order; when long files came last, one worker ran them alone at the end. The files
# measured longest (`pytest --durations`, 2026-12) go first, longest first; then the rest of the
# browser, security and reliability directories; then everything else.
_LONGEST = (
    "browser/test_dashboard.py",
    "browser/test_chat_view.py",
    "security/test_turn_races.py",
    "reliability/test_storage_faults.py",
    "browser/test_sidebar_view.py",
    "security/test_key_rotation.py",
    "reliability/test_servers.py",
    "security/test_start_refusals.py",
    "server/test_schemathesis.py",
    "browser/test_branches_view.py",
    "integrations/test_adk.py",
    "reliability/test_sqlite_processes.py",
    "search/test_search_modes.py",
    "core/test_branches.py",
    "security/test_per_user_keys.py",
    "security/test_slowloris.py",
    "security/test_pg_crash.py",
    "cli/test_sessions_cli.py",
    "security/test_bad_input.py",
    "browser/test_token_prompt.py",
    "security/test_headers_docs.py",
    "core/test_usage_levels.py",
)
_LONG_DIRS = ("browser", "security", "reliability")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        path = item.path.as_posix()
        for n, name in enumerate(_LONGEST):
            if path.endswith("/tests/" + name):
                return n
        parts = item.path.parts
        for n, name in enumerate(_LONG_DIRS):
            if name in parts:
                return len(_LONGEST) + n
        return len(_LONGEST) + len(_LONG_DIRS)

    items.sort(key=rank)  # stable: each file's tests stay together and in order
