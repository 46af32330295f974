"""Concurrent appends: exact seqs, failures isolated per call, and (SQLite) shared commits."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from sessionhub import DatabaseError, NotFound, SessionReadOnly
from sessionhub.hub import Hub
from sessionhub.store.group_commit import GroupCommit


async def test_concurrent_appends_with_failures_in_between(hub: Hub) -> None:
    """Calls failing next to others (unknown or archived session) fail alone; the rest are stored."""
    live = [await hub.create_session() for _ in range(4)]
    archived = await hub.create_session()
    await hub.add_message(archived.id, "user", "before archiving")
    await hub.archive(archived.id)

    calls: list[Any] = []
    for i in range(25):
        calls.append(hub.add_message(live[i % 4].id, "user", f"message {i}"))
        if i % 6 == 0:
            calls.append(hub.add_message("ses_doesnotexist0000000000000", "user", "lost"))
            calls.append(hub.add_message(archived.id, "user", "refused"))
    results = await asyncio.gather(*calls, return_exceptions=True)

    errors = [r for r in results if isinstance(r, BaseException)]
    assert sorted(type(e).__name__ for e in errors) == ["NotFound"] * 5 + ["SessionReadOnly"] * 5
    assert all(isinstance(e, (NotFound, SessionReadOnly)) for e in errors)
    stored = 0
    for s in live:
        history = await hub.get_history(s.id, limit=100)
        assert [m.seq for m in history] == list(range(1, len(history) + 1))
        assert (await hub.get_session(s.id)).message_count == len(history)
        stored += len(history)
    assert stored == 25
    assert [m.content for m in await hub.get_history(archived.id)] == ["before archiving"]


async def test_sqlite_appends_share_commits(tmp_path: Any) -> None:
    """On SQLite, appends that queue behind a commit join the next transaction."""
    import sessionhub

    async with sessionhub.open(f"sqlite:///{tmp_path}/g.db") as hub:
        sessions = [await hub.create_session() for _ in range(8)]
        group = hub.store.group_commit
        assert group is not None
        before_batches, before_jobs = group.batches, group.jobs
        await asyncio.gather(*(hub.add_message(s.id, "user", f"m{i}") for i in range(8) for s in sessions))
        jobs = group.jobs - before_jobs
        assert jobs == 64
        assert group.batches - before_batches < jobs  # at least one transaction held several appends
        for s in sessions:
            assert [m.seq for m in await hub.get_history(s.id)] == list(range(1, 9))


async def test_cancelled_caller_does_not_break_the_batch(hub: Hub) -> None:
    """Cancelling one waiting caller leaves every other append intact."""
    s = await hub.create_session()
    tasks = [asyncio.create_task(hub.add_message(s.id, "user", f"m{i}")) for i in range(10)]
    tasks[3].cancel()
    done = await asyncio.gather(*tasks, return_exceptions=True)
    stored = await hub.get_history(s.id)
    assert [m.seq for m in stored] == list(range(1, len(stored) + 1))
    assert len(stored) in (9, 10)  # the cancelled write may already have been committed
    assert sum(not isinstance(r, BaseException) for r in done) == 9


class _Tx:
    """A fake transaction that records what it ran and can fail at commit."""

    def __init__(self, fail_commit: bool) -> None:
        self.fail_commit = fail_commit
        self.committed: list[str] = []
        self.pending: list[str] = []
        self.savepoints = 0

    @contextlib.contextmanager
    def transaction(self) -> Iterator[_Tx]:
        self.pending = []
        yield self
        if self.fail_commit:
            raise OSError("disk I/O error")
        self.committed += self.pending

    @contextlib.contextmanager
    def savepoint(self, _conn: object) -> Iterator[None]:
        self.savepoints += 1
        mark = len(self.pending)
        try:
            yield
        except BaseException:
            del self.pending[mark:]
            raise


@pytest.mark.parametrize("fail_commit", [False, True])
async def test_group_commit_outcomes(fail_commit: bool) -> None:
    """Each job gets its own result or error; a failed commit fails every job of the batch."""
    tx = _Tx(fail_commit)

    def write(name: str) -> str:
        tx.pending.append(name)
        if name.startswith("bad"):
            raise NotFound(f"{name} not found")
        return name.upper()

    def as_error(exc: BaseException) -> BaseException:
        return DatabaseError(f"database error: {exc}") if isinstance(exc, OSError) else exc

    with ThreadPoolExecutor(1) as pool:
        gate = pool.submit(lambda: __import__("time").sleep(0.05))  # hold the worker: jobs pile up
        group = GroupCommit(
            lambda: pool, tx.transaction, tx.savepoint, lambda fn, *a: fn(*a), as_error, max_batch=64
        )
        names = ["a", "bad1", "b", "c", "bad2"]
        results = await asyncio.gather(*(group.submit(write, n) for n in names), return_exceptions=True)
        gate.result()

    if fail_commit:
        assert all(isinstance(r, DatabaseError) and "disk I/O error" in str(r) for r in results)
        assert tx.committed == []
    else:
        assert results[0] == "A" and results[2] == "B" and results[3] == "C"
        assert isinstance(results[1], NotFound) and isinstance(results[4], NotFound)
        assert sorted(tx.committed) == ["a", "b", "c"]


async def test_a_batch_runs_without_savepoints_until_a_job_fails() -> None:
    """A clean batch is one plain transaction; a failing job rolls its batch back, keeps its
    error, and the others run again, each in a savepoint, as does the next batch; the batch
    after a clean one with savepoints is plain again."""
    tx = _Tx(fail_commit=False)
    runs: list[str] = []

    def write(name: str) -> str:
        runs.append(name)
        tx.pending.append(name)
        if name.startswith("bad"):
            raise NotFound(f"{name} not found")
        return name.upper()

    with ThreadPoolExecutor(1) as pool:
        group = GroupCommit(lambda: pool, tx.transaction, tx.savepoint, lambda fn, *a: fn(*a), lambda e: e)

        async def batch(names: list[str]) -> list[Any]:
            gate = pool.submit(lambda: __import__("time").sleep(0.05))  # the jobs pile up behind it
            results = await asyncio.gather(*(group.submit(write, n) for n in names), return_exceptions=True)
            gate.result()
            return results

        assert await batch(["a", "b", "c"]) == ["A", "B", "C"]
        assert (tx.savepoints, group.reruns, runs) == (0, 0, ["a", "b", "c"])

        runs.clear()
        first = await batch(["d", "bad1", "e"])
        assert first[0] == "D" and isinstance(first[1], NotFound) and first[2] == "E"
        assert runs == ["d", "bad1", "d", "e"]  # "bad1" is not run again: its error stands
        assert (tx.savepoints, group.reruns) == (2, 1)

        second = await batch(["bad2", "f"])  # after a failure: savepoints from the start
        assert isinstance(second[0], NotFound) and second[1] == "F"
        assert (tx.savepoints, group.reruns) == (4, 1)
        assert await batch(["g", "h"]) == ["G", "H"]  # still savepoints: the last batch failed
        assert tx.savepoints == 6
        assert await batch(["i", "j"]) == ["I", "J"]  # plain again
        assert (tx.savepoints, group.reruns) == (6, 1)
    assert tx.committed == ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"]


async def test_a_job_failing_after_its_writes_leaves_none_of_them(tmp_path: Any) -> None:
    """SQLite: a job that wrote and then raised in a plain batch leaves nothing behind, and the
    appends of its batch are stored once, numbered as their callers were told."""
    import threading

    import sessionhub

    async with sessionhub.open(f"sqlite:///{tmp_path}/g.db") as hub:
        session = await hub.create_session()
        store = hub.store
        group = store.group_commit
        assert group is not None
        items, auto = hub.check_messages([{"role": "user", "content": "kept"}])
        half_items, _ = hub.check_messages([{"role": "user", "content": "half"}])

        def half() -> None:
            store._append(hub.owner, session.id, half_items, None)
            raise RuntimeError("after its write")

        release = threading.Event()
        holder = asyncio.ensure_future(group.submit(release.wait, 5))
        await asyncio.sleep(0.05)  # the drain holds the first batch: the next ones queue
        calls = [group.submit(store._append, hub.owner, session.id, items, auto) for _ in range(3)]
        calls.insert(1, group.submit(half))
        tasks = [asyncio.ensure_future(c) for c in calls]
        await asyncio.sleep(0.05)
        release.set()
        await holder
        results = await asyncio.gather(*tasks, return_exceptions=True)

        assert isinstance(results[1], RuntimeError)
        told = [m.seq for r in results if isinstance(r, list) for m in r]
        assert told == [1, 2, 3]
        assert group.reruns == 1
        stored = await hub.get_history(session.id)
        assert [(m.seq, m.content) for m in stored] == [(1, "kept"), (2, "kept"), (3, "kept")]
        assert [m.id for m in stored] == [m.id for r in results if isinstance(r, list) for m in r]
        assert (await hub.get_session(session.id)).message_count == 3


def test_a_caller_whose_loop_closed_does_not_stall_later_appends() -> None:
    """A job finishing after its caller's event loop closed is dropped quietly; the drain goes on."""
    import threading

    tx = _Tx(fail_commit=False)
    started, release = threading.Event(), threading.Event()

    def slow(name: str) -> str:
        started.set()
        release.wait(5)
        tx.pending.append(name)
        return name

    def quick(name: str) -> str:
        tx.pending.append(name)
        return name.upper()

    with ThreadPoolExecutor(1) as pool:
        group = GroupCommit(lambda: pool, tx.transaction, tx.savepoint, lambda fn, *a: fn(*a), lambda e: e)

        async def give_up() -> None:
            task = asyncio.ensure_future(group.submit(slow, "a"))
            await asyncio.to_thread(started.wait, 5)
            task.cancel()

        asyncio.run(give_up())  # that loop is closed now, with "a" still being written
        release.set()

        async def later() -> str:
            return await asyncio.wait_for(group.submit(quick, "b"), 5)

        assert asyncio.run(later()) == "B"
    assert tx.committed == ["a", "b"]
