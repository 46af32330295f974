"""The history commands of ``sessionhub`` on a SQLite file, in-process through click's CliRunner."""

from __future__ import annotations

import asyncio
import json
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

import sessionhub
from sessionhub.testing import FakeClock

FIXTURES = Path(__file__).parent.parent / "history" / "fixtures"


Run = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def run(cli: Run) -> Run:
    """``run(db, *args)``: the command with ``--database db``, in-process."""

    def go(db: str, *args: str) -> subprocess.CompletedProcess[str]:
        return cli(*args, "--database", db)

    return go


@pytest.fixture
def db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/cli.db"


def seed(db: str, n: int = 3, when: datetime | None = None) -> str:
    """A session with n user messages, created at ``when`` (default: now)."""

    async def main() -> str:
        clock = FakeClock(when) if when else None
        async with sessionhub.open(db, clock=clock) as hub:
            s = await hub.create_session()
            for i in range(n):
                await hub.add_message(s.id, "user", f"m{i + 1}")
            return s.id

    return asyncio.run(main())


def test_checkpoint_commands(db: str, run: Run) -> None:
    """checkpoint save / list / restore / delete work end to end and report the kept-aside branch."""
    sid = seed(db, 2)
    saved = run(db, "checkpoint", "save", sid, "two", "--description", "d", "--json")
    assert saved.returncode == 0, saved.stderr
    cp = json.loads(saved.stdout)
    assert cp["at_seq"] == 2 and cp["description"] == "d"
    asyncio.run(_append(db, sid, "m3"))
    listed = json.loads(run(db, "checkpoint", "list", sid, "--json").stdout)
    assert [c["id"] for c in listed["checkpoints"]] == [cp["id"]]
    assert cp["id"] in run(db, "checkpoint", "list", sid).stdout
    restored = run(db, "checkpoint", "restore", cp["id"])
    assert restored.returncode == 0 and "1 later message(s) kept in ses_" in restored.stdout
    shown = json.loads(run(db, "sessions", "show", sid, "--json").stdout)
    assert [m["content"] for m in shown["messages"]] == ["m1", "m2"]
    assert run(db, "checkpoint", "delete", cp["id"]).returncode == 0
    gone = run(db, "checkpoint", "delete", cp["id"])
    assert (
        gone.returncode == 3
        and gone.stderr.strip().startswith("error:")
        and len(gone.stderr.splitlines()) == 1
    )


async def _append(db: str, sid: str, text: str) -> None:
    async with sessionhub.open(db) as hub:
        await hub.add_message(sid, "user", text)


def test_export_and_import_round_trip(db: str, tmp_path: Path, run: Run) -> None:
    """export -o writes a json file that import turns into a new session; importing again skips it."""
    sid = seed(db, 3)
    out = tmp_path / "s.json"
    exported = run(db, "export", sid, "--format", "json", "-o", str(out))
    assert exported.returncode == 0, exported.stderr
    assert len(json.loads(out.read_text())["messages"]) == 3
    assert not list(tmp_path.glob("*.partial"))
    md = run(db, "export", sid, "--format", "markdown", "--no-metadata")
    assert md.returncode == 0 and "m3" in md.stdout and "**Session:**" not in md.stdout
    first = run(db, "import", str(out), "--json")
    assert first.returncode == 0, first.stderr
    report = json.loads(first.stdout)
    assert len(report["imported"]) == 1 and report["imported"][0]["message_count"] == 3
    again = run(db, "import", str(out))
    assert (
        again.returncode == 0
        and "already imported" in again.stdout
        and "0 imported, 1 skipped" in again.stdout
    )
    jsonl = run(db, "export", sid, report["imported"][0]["session_id"], "--format", "jsonl")
    assert len(jsonl.stdout.splitlines()) == 2


def test_import_foreign_and_bad_files(db: str, tmp_path: Path, run: Run) -> None:
    """import --from reads a foreign layout; a broken file fails with a non-zero exit and imports nothing."""
    ok = run(db, "import", str(FIXTURES / "pocketpaw" / "memory"), "--from", "pocketpaw")
    assert ok.returncode == 0, ok.stderr
    assert "2 imported, " in ok.stdout
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "sessionhub", "version": 1, "session": {', encoding="utf-8")
    res = run(db, "import", str(bad), "--from", "sessionhub")
    assert res.returncode == 1 and "failed" in res.stdout and "0 imported" in res.stdout
    unknown = run(db, "import", str(tmp_path / "bad.json"), "--from", "nope")
    assert unknown.returncode == 2
    (tmp_path / "x.txt").write_text("hi", encoding="utf-8")
    undetectable = run(db, "import", str(tmp_path / "x.txt"))
    assert undetectable.returncode == 2 and "cannot tell the format" in undetectable.stderr


def test_cleanup_command(db: str, run: Run) -> None:
    """cleanup --dry-run lists old sessions without deleting; a real run deletes them; pinned stay."""
    old = seed(db, 1, datetime(2020, 1, 1, tzinfo=UTC))
    pinned = seed(db, 1, datetime(2020, 1, 1, tzinfo=UTC))
    assert run(db, "sessions", "pin", pinned).returncode == 0
    fresh = seed(db, 1)
    dry = run(db, "cleanup", "--older-than", "30d", "--dry-run", "--json")
    assert dry.returncode == 0, dry.stderr
    assert json.loads(dry.stdout)["session_ids"] == [old]
    real = run(db, "cleanup", "--older-than", "30d")
    assert real.returncode == 0 and f"deleted {old}" in real.stdout
    assert run(db, "sessions", "show", old).returncode == 3
    assert run(db, "sessions", "show", pinned).returncode == 0
    assert run(db, "sessions", "show", fresh).returncode == 0
    bad = run(db, "cleanup", "--older-than", "soon")
    assert bad.returncode == 2 and "invalid duration" in bad.stderr
    assert run(db, "cleanup").returncode == 2


def test_cleanup_applies_configured_retention(db: str, tmp_path: Path, run: Run) -> None:
    """With [retention] configured, a plain `sessionhub cleanup` archives idle sessions."""
    idle = seed(db, 1, datetime(2020, 1, 1, tzinfo=UTC))
    conf = tmp_path / "sessionhub.toml"
    conf.write_text("[retention]\nauto_archive_after_days = 7\n", encoding="utf-8")
    res = run(db, "cleanup", "--config", str(conf), "--json")
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["retention"]["archived"] == [idle]
    assert json.loads(run(db, "sessions", "show", idle, "--json").stdout)["session"]["status"] == "archived"
