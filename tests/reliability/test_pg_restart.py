"""PostgreSQL restarted under load: library clients keep going, nothing acknowledged is lost.

Restarting the machine's shared PostgreSQL disturbs whatever else uses it, so this runs only
with CI=true or SESSIONHUB_PG_RESTART=1; PostgreSQL is started again (and waited for) even
when the test fails.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from .conftest import Appender, assert_exact, make_sessions, size

ENABLED = os.environ.get("CI", "").lower() in ("1", "true", "yes") or os.environ.get(
    "SESSIONHUB_PG_RESTART", ""
) in ("1", "true", "yes")


def _cluster() -> list[str]:
    versions = (
        sorted(os.listdir("/etc/postgresql"), key=lambda v: float(v))
        if Path("/etc/postgresql").is_dir()
        else []
    )
    if not versions:
        pytest.skip("no /etc/postgresql cluster to restart")
    return ["pg_ctlcluster", "--skip-systemctl-redirect", versions[-1], "main"]


def _wait_ready(timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while subprocess.run(["pg_isready", "-h", "127.0.0.1", "-q"], check=False).returncode != 0:
        assert time.monotonic() < deadline, "PostgreSQL did not come back"
        time.sleep(0.2)


@pytest.mark.postgres
@pytest.mark.serial
@pytest.mark.skipif(
    not ENABLED, reason="restarts the shared PostgreSQL: set CI=true or SESSIONHUB_PG_RESTART=1"
)
def test_clients_keep_appending_across_a_postgresql_restart(pg_url: str) -> None:
    """4 processes appending through the library while PostgreSQL restarts: errors during the
    outage are DatabaseErrors, every process appends again afterwards, nothing acknowledged is
    lost and seqs are exact."""
    cluster = _cluster()
    sessions = make_sessions(pg_url, 4)
    restarts = int(size(1, 5))
    writers = [Appender(pg_url, sessions[w:] + sessions[:w], f"p{w}", 0, keep_going=True) for w in range(4)]
    try:
        for w in writers:
            w.wait_for("ack ")
        for _ in range(restarts):
            marks = [len(w.lines) for w in writers]
            done = subprocess.run([*cluster, "restart"], capture_output=True, text=True, timeout=120)
            assert done.returncode == 0, done.stderr
            _wait_ready()
            for w, mark in zip(writers, marks, strict=True):
                w.wait_for("ack ", mark, timeout=60)  # each client recovered on its own
            time.sleep(1)
    finally:
        for w in writers:
            w.kill()
        if subprocess.run(["pg_isready", "-h", "127.0.0.1", "-q"], check=False).returncode != 0:
            subprocess.run([*cluster, "start"], check=False, timeout=120)
        _wait_ready()
    errors = [e for w in writers for e in w.errors]
    assert all(e.startswith("err DatabaseError database error: ") for e in errors), errors[:5]
    acked = [a for w in writers for a in w.acked]
    counts = assert_exact(pg_url, acked, sessions)
    print(
        f"\n{restarts} restart(s): {len(acked)} acknowledged, {len(errors)} DatabaseErrors, stored {counts}"
    )
