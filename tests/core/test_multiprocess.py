"""Several processes appending to one SQLite file; several tasks on one PostgreSQL session."""

from __future__ import annotations

import asyncio
import multiprocessing as mp
from pathlib import Path
from typing import Protocol

import pytest

import sessionhub

PROCS, PER_PROC = 4, 30


class _Barrier(Protocol):
    def wait(self, timeout: float | None = None) -> int: ...


def _writer(url: str, session_ids: list[str], n: int, out: mp.Queue, start: _Barrier) -> None:  # type: ignore[type-arg]
    async def run() -> int:
        async with sessionhub.open(url) as hub:
            start.wait(60)  # every process has started and opened the hub: the appends overlap
            for i in range(n):
                await hub.add_message(session_ids[i % len(session_ids)], "user", f"message {i}")
        return n

    try:
        out.put(("ok", asyncio.run(run())))
    except BaseException as exc:
        out.put(("error", repr(exc)))


async def _check_exact(url: str, session_ids: list[str], expected_total: int) -> None:
    async with sessionhub.open(url) as hub:
        total = 0
        for sid in session_ids:
            msgs = await hub.get_history(sid, limit=1000)
            assert [m.seq for m in msgs] == list(range(1, len(msgs) + 1))
            assert (await hub.get_session(sid)).message_count == len(msgs)
            total += len(msgs)
        assert total == expected_total


def _run_processes(url: str, session_ids: list[str]) -> None:
    ctx = mp.get_context("spawn")
    out: mp.Queue = ctx.Queue()  # type: ignore[type-arg]
    start = ctx.Barrier(PROCS)
    procs = [ctx.Process(target=_writer, args=(url, session_ids, PER_PROC, out, start)) for _ in range(PROCS)]
    for p in procs:
        p.start()
    results = [out.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=30)
    assert all(kind == "ok" for kind, _ in results), results


# make soak (SESSIONHUB_SOAK=1 pytest -m 'slow or reliability'), not make test: process pool appends to one SQLite file (~6 s); tests/reliability/test_sqlite_processes.py covers the same in make test.
@pytest.mark.slow
def test_processes_append_to_one_sqlite_file(tmp_path: Path) -> None:
    """4 processes x 30 appends, started together, to 2 shared sessions: no error reaches a caller, seqs are 1..N exact."""
    url = f"sqlite:///{tmp_path}/shared.db"

    async def setup() -> list[str]:
        async with sessionhub.open(url) as hub:
            return [(await hub.create_session()).id for _ in range(2)]

    ids = asyncio.run(setup())
    _run_processes(url, ids)
    asyncio.run(_check_exact(url, ids, PROCS * PER_PROC))


@pytest.mark.postgres
def test_processes_append_to_one_postgres_session(pg_url: str) -> None:
    """4 processes appending together to one PostgreSQL session: seqs are 1..N exact, nothing lost."""

    async def setup() -> list[str]:
        async with sessionhub.open(pg_url) as hub:
            return [(await hub.create_session()).id]

    ids = asyncio.run(setup())
    _run_processes(pg_url, ids)
    asyncio.run(_check_exact(pg_url, ids, PROCS * PER_PROC))
