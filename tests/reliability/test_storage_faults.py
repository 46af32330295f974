"""The database file made read-only, and the disk full, while processes write to it.

Read-only: POSIX file modes bind at open, so a process that already holds the file open
keeps writing; the failure shows in a process that opens the file after the change. The
tests hold one connection open (the WAL and shared-memory files stay), make the files and
the directory read-only, and start writers that lose CAP_DAC_OVERRIDE (the suite runs as
root here). Disk full: a 2 MB tmpfs (skipped with the reason when mount is not permitted).
"""

from __future__ import annotations

import contextlib
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from .conftest import Appender, assert_exact, drop_dac_override, integrity, make_sessions, serve, stored

READONLY = "err DatabaseError database error: attempt to write a readonly database"
DISK_FULL = "err DatabaseError database error: database or disk is full"


def _seed(url: str, n: int = 5) -> str:
    sid = make_sessions(url, 1)[0]
    Appender(url, [sid], "seed", n).join()
    return sid


@contextlib.contextmanager
def read_only(db: Path) -> Iterator[None]:
    """The database, its WAL files and its directory read-only (0444 / 0555); restored on exit."""
    hold = sqlite3.connect(db)  # keeps the -wal and -shm files while read-only
    try:
        hold.execute("SELECT count(*) FROM messages").fetchall()
        files = [p for p in db.parent.iterdir() if p.name.startswith(db.name)]
        assert {p.name for p in files} >= {db.name, f"{db.name}-wal", f"{db.name}-shm"}
        for p in files:
            p.chmod(0o444)
        db.parent.chmod(0o555)
        try:
            yield
        finally:
            db.parent.chmod(0o755)
            for p in files:
                p.chmod(0o644)
    finally:
        hold.close()


def test_read_only_database_gives_a_clear_error_and_recovers_after_restore(tmp_path: Path) -> None:
    """Library: appends to a read-only database raise DatabaseError("attempt to write a readonly
    database"), store nothing, and succeed again (new process) once permissions are restored."""
    db = tmp_path / "ro" / "ro.db"
    url = f"sqlite:///{db}"
    sid = _seed(url)
    before = stored(url)
    with read_only(db):
        writer = Appender(url, [sid], "ro", 0, keep_going=True, preexec_fn=drop_dac_override)
        try:
            first = writer.wait_for("err ")
            writer.wait_for("err ", first + 5)
        finally:
            writer.kill()
        assert not writer.acked
        assert set(writer.errors) == {READONLY}, writer.errors[:3]
        assert stored(url) == before  # nothing half-written
    assert integrity(db) == "ok"
    after = Appender(url, [sid], "after", 10, preexec_fn=drop_dac_override)
    after.join()
    assert after.lines[-1] == "done" and len(after.acked) == 10, after.lines
    assert assert_exact(url, after.acked, [sid]) == {sid: 15}


def test_read_only_database_is_a_503_envelope_from_the_server(tmp_path: Path) -> None:
    """Server: on a read-only database reads answer 200, appends answer a 503 database_error
    envelope and store nothing; after restoring permissions (and a restart) appends are 201."""
    db = tmp_path / "ro" / "ro.db"
    url = f"sqlite:///{db}"
    sid = _seed(url)
    before = stored(url)
    with read_only(db), serve(tmp_path, url, preexec_fn=drop_dac_override) as (base, _proc):
        assert httpx.get(f"{base}/api/sessions/{sid}/messages").status_code == 200
        for _ in range(3):
            r = httpx.post(f"{base}/api/sessions/{sid}/messages", json={"role": "user", "content": "no"})
            assert r.status_code == 503, r.text
            assert r.json()["error"]["code"] == "database_error"
            assert "readonly database" in r.json()["error"]["message"]
        assert stored(url) == before
    assert integrity(db) == "ok"
    with serve(tmp_path, url, preexec_fn=drop_dac_override) as (base, _proc):
        r = httpx.post(f"{base}/api/sessions/{sid}/messages", json={"role": "user", "content": "yes"})
        assert r.status_code == 201 and r.json()["messages"][0]["seq"] == 6


@pytest.mark.parametrize("edge", ["library", "server"])
def test_running_process_recovers_when_permissions_are_restored(tmp_path: Path, edge: str) -> None:
    """The same process that saw the read-only error appends again once permissions are back."""
    db = tmp_path / "ro" / "ro.db"
    url = f"sqlite:///{db}"
    sid = _seed(url)
    if edge == "library":
        writer = Appender(url, [sid], "w", 0, keep_going=True, preexec_fn=drop_dac_override)
        try:
            with read_only(db):
                first = writer.wait_for("err ")
            writer.wait_for("ack ", first, timeout=5)
        finally:
            writer.kill()
        return
    with read_only(db), serve(tmp_path, url, preexec_fn=drop_dac_override) as (base, _proc):
        r = httpx.post(f"{base}/api/sessions/{sid}/messages", json={"role": "user", "content": "no"})
        assert r.status_code == 503
        db.parent.chmod(0o755)
        for p in db.parent.iterdir():
            p.chmod(0o644)
        r = httpx.post(f"{base}/api/sessions/{sid}/messages", json={"role": "user", "content": "yes"})
        assert r.status_code == 201, r.text


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MB tmpfs mounted on a temp dir (skipped when mount is not permitted)."""
    mnt = tmp_path / "tiny"
    mnt.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mnt)], capture_output=True, text=True
    )
    if done.returncode != 0:
        reason = f"cannot mount a tmpfs to fill: {done.stderr.strip() or done.returncode}"
        print(reason)
        pytest.skip(reason)
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def _fill(mnt: Path) -> Path:
    filler = mnt / "filler"
    filler.write_bytes(b"\0" * 400_000)
    return filler


def test_disk_full_gives_a_clear_error_no_corruption_and_recovers(tiny_disk: Path) -> None:
    """Library, disk full mid-run: appends raise DatabaseError("database or disk is full"),
    integrity_check stays ok, every ack is stored, and the same process appends again once
    space is freed."""
    db = tiny_disk / "full.db"
    url = f"sqlite:///{db}"
    sid = _seed(url)
    filler = _fill(tiny_disk)
    writer = Appender(url, [sid], "w", 0, keep_going=True, pad=20_000)
    try:
        first = writer.wait_for("err ", timeout=60)
        assert writer.lines[first] == DISK_FULL
        filler.unlink()
        writer.wait_for("ack ", first, timeout=10)  # the same process recovers
    finally:
        writer.kill()
    assert set(writer.errors) == {DISK_FULL}
    assert integrity(db) == "ok"
    assert_exact(url, writer.acked, [sid])
    print(f"\n{len(writer.acked)} appends acknowledged, {len(writer.errors)} refused while full")


def test_disk_full_is_a_503_envelope_from_the_server(tiny_disk: Path, tmp_path: Path) -> None:
    """Server, disk full: appends answer a 503 database_error envelope, nothing half-written,
    and appends succeed again in the same server once space is freed."""
    db = tiny_disk / "full.db"
    url = f"sqlite:///{db}"
    sid = _seed(url)
    filler = _fill(tiny_disk)
    acked: list[tuple[str, int, str]] = []
    with serve(tmp_path, url) as (base, _proc), httpx.Client(base_url=base, timeout=30) as c:
        for i in range(200):
            content = f"m{i}"
            r = c.post(
                f"/api/sessions/{sid}/messages",
                json={"role": "user", "content": f"{content} {'z' * 20_000}"},
            )
            if r.status_code != 201:
                break
            acked.append((sid, r.json()["messages"][0]["seq"], content))
        assert r.status_code == 503, r.text
        assert r.json()["error"] == {
            "code": "database_error",
            "message": "database error: database or disk is full",
        }
        assert integrity(db) == "ok"
        filler.unlink()
        r = c.post(f"/api/sessions/{sid}/messages", json={"role": "user", "content": "after"})
        assert r.status_code == 201, r.text
        acked.append((sid, r.json()["messages"][0]["seq"], "after"))
    assert integrity(db) == "ok"
    assert_exact(url, acked, [sid])
