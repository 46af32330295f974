"""The ``sessions`` and ``db`` commands, in-process through click's CliRunner (the ``cli`` fixture);
two tests run the real ``sessionhub`` console script end to end."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from _env import child_env

SCRIPT = Path(sys.executable).with_name("sessionhub")

Cli = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def sh(cli: Cli) -> Callable[..., subprocess.CompletedProcess[str]]:
    """``sh(*args, db=URL, ok=True)``: the command with ``--database URL``; ``ok`` asserts exit 0."""

    def run(
        *args: str, db: str, ok: bool = True, stdin: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        proc = cli(*args, "--database", db, input=stdin)
        if ok:
            assert proc.returncode == 0, proc.stderr
        return proc

    return run


def script(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The real console script, in a new process, without the caller's SESSIONHUB_* variables."""
    clean = child_env()
    return subprocess.run(
        [str(SCRIPT), *args], capture_output=True, text=True, env={**clean, **(env or {})}, timeout=60
    )


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/cli.db"
    return str(request.getfixturevalue("pg_url"))


def test_console_script_end_to_end(tmp_path: Path) -> None:
    """The installed `sessionhub` script, as a process: it creates and lists a session, and an
    unknown id is one `error:` line on stderr with exit code 3."""
    db = f"sqlite:///{tmp_path}/e2e.db"
    made = script("sessions", "new", "--title", "Smoke", "--database", db)
    assert made.returncode == 0, made.stderr
    sid = made.stdout.strip()
    assert sid.startswith("ses_")
    listed = script("sessions", "list", "--json", "--database", db)
    assert listed.returncode == 0, listed.stderr
    assert [s["title"] for s in json.loads(listed.stdout)["sessions"]] == ["Smoke"]
    gone = script("sessions", "show", "ses_doesnotexist000000000000", "--database", db)
    assert gone.returncode == 3 and gone.stdout == ""
    assert gone.stderr.startswith("error:") and "not found" in gone.stderr
    assert len(gone.stderr.strip().splitlines()) == 1


def test_session_lifecycle(db: str, sh: Callable[..., subprocess.CompletedProcess[str]]) -> None:
    """new, rename, pin, archive refusal, unpin, archive, restore, show, list --json, stats, delete."""
    sid = sh("sessions", "new", "--title", "First chat", db=db).stdout.strip()
    assert sid.startswith("ses_")
    assert "renamed" in sh("sessions", "rename", sid, "Better title", db=db).stdout
    sh("sessions", "pin", sid, db=db)
    refused = sh("sessions", "archive", sid, db=db, ok=False)
    assert (
        refused.returncode == 4 and refused.stderr.strip().startswith("error:") and "pinned" in refused.stderr
    )
    assert len(refused.stderr.strip().splitlines()) == 1
    sh("sessions", "unpin", sid, db=db)
    archived = json.loads(sh("sessions", "archive", sid, "--json", db=db).stdout)
    assert archived["status"] == "archived" and archived["read_only"] is True
    sh("sessions", "restore", sid, db=db)
    listed = json.loads(sh("sessions", "list", "--json", db=db).stdout)
    assert [s["id"] for s in listed["sessions"]] == [sid] and listed["sessions"][0]["title"] == "Better title"
    shown = json.loads(sh("sessions", "show", sid, "--json", db=db).stdout)
    assert shown["session"]["id"] == sid and shown["messages"] == []
    assert "Better title" in sh("sessions", "list", db=db).stdout
    stats = json.loads(sh("sessions", "stats", "--json", db=db).stdout)
    assert stats["total_sessions"] == 1 and stats["active"] == 1
    sh("sessions", "delete", sid, "--yes", db=db)
    gone = sh("sessions", "show", sid, db=db, ok=False)
    assert gone.returncode == 3 and "not found" in gone.stderr


def test_search_from_cli(db: str, sh: Callable[..., subprocess.CompletedProcess[str]]) -> None:
    """sessions search finds messages written through the library, with JSON output."""
    import asyncio

    import sessionhub

    async def seed() -> str:
        async with sessionhub.open(db) as hub:
            s = await hub.create_session()
            await hub.add_message(s.id, "user", "the quick brown fox jumps")
            return s.id

    sid = asyncio.run(seed())
    out = json.loads(sh("sessions", "search", "brown fox", "--json", db=db).stdout)
    assert out["results"][0]["session"]["id"] == sid and "<mark>brown</mark>" in out["results"][0]["snippet"]
    assert "quick" in sh("sessions", "search", "fox", db=db).stdout


def test_db_upgrade_and_errors(tmp_path: Path, sh: Callable[..., subprocess.CompletedProcess[str]]) -> None:
    """db upgrade reports the revision; bad input gives one line and a non-zero exit."""
    db = f"sqlite:///{tmp_path}/u.db"
    assert "revision" in sh("db", "upgrade", db=db).stdout
    assert "already at" in sh("db", "upgrade", db=db).stdout
    for args, code in [
        (("sessions", "show", "../../etc/passwd"), 3),
        (("sessions", "list", "--tz", "Nowhere/Land"), 2),
        (("sessions", "search", "!!!"), 2),
    ]:
        proc = sh(*args, db=db, ok=False)
        assert proc.returncode == code, proc.stderr
        assert proc.stderr.startswith("error:") and len(proc.stderr.strip().splitlines()) == 1
    bad = sh("sessions", "list", db="postgresql://nobody@127.0.0.1:1/x", ok=False)
    assert bad.returncode == 8 and bad.stderr.startswith("error: database error")
    unsupported = sh("sessions", "list", db="mysql://x/y", ok=False)
    assert unsupported.returncode == 2 and "unsupported" in unsupported.stderr


def test_serve_refuses_public_bind_without_token(tmp_path: Path) -> None:
    """serve --host 0.0.0.0 without a token exits non-zero with one clear line (a real process:
    were the refusal missing, the server would start, and the timeout would fail the test)."""
    proc = subprocess.run(
        [str(SCRIPT), "serve", "--host", "0.0.0.0", "--database", f"sqlite:///{tmp_path}/s.db"],
        capture_output=True,
        text=True,
        timeout=30,
        env={k: v for k, v in os.environ.items() if k != "SESSIONHUB_TOKEN"},
    )
    assert proc.returncode != 0 and "without a token" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
