"""Real processes on one SQLite file: kill -9 mid-append, and 8 concurrent appenders."""

from __future__ import annotations

import random
import time
from pathlib import Path

from .conftest import Appender, assert_exact, integrity, make_sessions, size


def test_kill_9_of_appending_processes_loses_no_acknowledged_message(tmp_path: Path) -> None:
    """kill -9 of processes appending in a loop, at random moments, round after round: every
    acknowledged message is stored at its seq, integrity_check is ok, seqs are 1..N."""
    db = tmp_path / "kill.db"
    url = f"sqlite:///{db}"
    sessions = make_sessions(url, 3)
    rng = random.Random(1234)
    rounds = int(size(2, 40))  # quick: one round of each kind (all killed; one killed first)
    acked: list[tuple[str, int, str]] = []
    for r in range(rounds):
        procs = [Appender(url, sessions, f"r{r}p{p}") for p in range(3)]
        try:
            for a in procs:
                assert a.ready.wait(30), a.stderr()
            time.sleep(rng.uniform(0.2, 1.0))
            victims = procs if r % 2 == 0 else rng.sample(procs, 1)
            for a in victims:  # SIGKILL mid-append; the others keep writing a moment longer
                a.kill()
                time.sleep(rng.uniform(0, 0.1))
        finally:
            for a in procs:
                a.kill()
        for a in procs:
            assert not a.errors, a.errors
            acked += a.acked
        assert integrity(db) == "ok"
    counts = assert_exact(url, acked, sessions)
    assert len(acked) > rounds * 10, f"too few appends acknowledged: {len(acked)}"
    print(f"\n{rounds} rounds, {len(acked)} acknowledged appends, stored per session: {counts}")


def test_eight_processes_append_to_shared_sessions(tmp_path: Path) -> None:
    """8 processes appending to the same 4 sessions of one SQLite file: no error reaches a
    caller, every session's seqs are 1..N, all appends stored."""
    db = tmp_path / "shared.db"
    url = f"sqlite:///{db}"
    sessions = make_sessions(url, 4)
    per_proc = int(size(150, 2000))
    start = time.monotonic()
    procs = [Appender(url, sessions[p % 2 :] + sessions[: p % 2], f"p{p}", per_proc) for p in range(8)]
    try:
        for a in procs:
            a.join(int(size(120, 1200)))
    finally:
        for a in procs:
            a.kill()
    elapsed = time.monotonic() - start
    for a in procs:
        assert a.proc.returncode == 0, (a.errors, a.stderr())
        assert not a.errors and a.lines[-1] == "done"
    acked = [x for a in procs for x in a.acked]
    assert len(acked) == 8 * per_proc
    counts = assert_exact(url, acked, sessions)
    assert sum(counts.values()) == 8 * per_proc
    assert integrity(db) == "ok"
    print(
        f"\n8 processes x {per_proc} appends in {elapsed:.1f}s ({len(acked) / elapsed:.0f}/s incl. start-up)"
    )
