"""Group commit: concurrent appends of one process share one transaction and its commit.

SQLite has one writer at a time. Without this, concurrent appends queue on the write lock and
each pays its own ``BEGIN``, commit (a WAL write, and an fsync at ``synchronous=FULL``) and
FTS flush, while the waiting threads fight the event loop for the GIL. Here the first append
starts a drain in a worker thread; every append that arrives while a batch commits joins the
next batch, and every caller's future is resolved only after the commit: an acknowledged
append is exactly as durable as one committed alone.

One failing append (an unknown or archived session, bad data) must fail alone. A batch first
runs as one plain transaction: a savepoint per job costs more than the rest of the batch's
bookkeeping (SQLite keeps a statement journal of every page a savepoint changes; in a batch of
16 appends, ~20 µs of the writer's ~106 µs per append, ``bench/HISTORY.md``). When a job raises,
that transaction rolls back whole, the job keeps its error, and the batch's other jobs run
again, each in its own savepoint, so that a second failure is isolated too. After a batch with
a failure the next one starts with savepoints, so a client that keeps sending failing appends
makes no batch run twice in a row. A batch of one needs neither: it is its own transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Executor
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, TypeVar

T = TypeVar("T")


@dataclass(slots=True)
class _Job:
    fn: Callable[..., Any]
    args: tuple[Any, ...]
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[Any]
    ok: bool = False
    value: Any = field(default=None)


def _settle(job: _Job) -> None:
    if job.future.done():  # the caller was cancelled; the write itself stands
        return
    if job.ok:
        job.future.set_result(job.value)
    else:
        job.future.set_exception(job.value)


class GroupCommit:
    """Run submitted write functions in shared transactions, one savepoint per function.

    ``transaction`` opens the write transaction (joined by the functions' own ``_write()``),
    ``savepoint(conn)`` brackets one job, ``guarded(fn, *args)`` runs a whole batch with the
    store's retry and error translation, and ``as_error`` turns what one job raised into the
    error its caller sees.
    """

    def __init__(
        self,
        executor: Callable[[], Executor],
        transaction: Callable[[], AbstractContextManager[Any]],
        savepoint: Callable[[Any], AbstractContextManager[None]],
        guarded: Callable[..., Any],
        as_error: Callable[[BaseException], BaseException],
        max_batch: int = 64,
    ) -> None:
        self._executor = executor
        self._transaction = transaction
        self._savepoint = savepoint
        self._guarded = guarded
        self._as_error = as_error
        self.max_batch = max_batch
        self._queue: deque[_Job] = deque()
        self._mutex = threading.Lock()
        self._draining = False
        self.batches = 0
        """Transactions committed (or attempted) so far; with ``jobs``, shows the grouping."""
        self.jobs = 0
        self.reruns = 0
        """Batches that ran again with savepoints because a job of their plain run raised."""
        self._plain = True  # the last batch had no failing job: try the next one without savepoints

    async def submit(self, fn: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        job = _Job(fn, args, loop, loop.create_future())
        with self._mutex:
            self._queue.append(job)
            start = not self._draining
            self._draining = True
        if start:
            try:
                self._executor().submit(self._drain)
            except BaseException:
                with self._mutex:
                    self._draining = False
                    self._queue.remove(job)
                raise
        result: T = await job.future
        return result

    def _drain(self) -> None:
        try:
            while True:
                with self._mutex:
                    if not self._queue:
                        self._draining = False
                        return
                    batch = [self._queue.popleft() for _ in range(min(len(self._queue), self.max_batch))]
                self._commit(batch)
        except BaseException:  # never leave later appends waiting for a drain that is gone
            with self._mutex:
                self._draining = False
            raise

    def _commit(self, batch: list[_Job]) -> None:
        self.batches += 1
        self.jobs += len(batch)
        try:
            self._guarded(self._run, batch)
        except BaseException as exc:  # BEGIN or COMMIT failed: nothing of the batch is stored
            error = self._as_error(exc)
            for job in batch:
                job.ok, job.value = False, error
        for job in batch:
            # RuntimeError: the caller's event loop has closed (it gave up): nobody to tell.
            with contextlib.suppress(RuntimeError):
                job.loop.call_soon_threadsafe(_settle, job)

    def _run(self, batch: list[_Job]) -> None:
        if len(batch) == 1:  # its own transaction: a failure rolls the one job back
            with self._transaction():
                job = batch[0]
                job.value, job.ok = job.fn(*job.args), True
            return
        rerun = False
        if self._plain:
            failed = self._run_plain(batch)
            if failed is None:
                return
            self.reruns += 1
            rerun = True
            batch = [job for job in batch if job is not failed]
        with self._transaction() as conn:
            for job in batch:
                job.ok = False
                try:
                    with self._savepoint(conn):
                        job.value = job.fn(*job.args)
                    job.ok = True
                except Exception as exc:
                    job.value = self._as_error(exc)
        # plain again only after a batch with savepoints in which nothing failed
        self._plain = not rerun and all(job.ok for job in batch)

    def _run_plain(self, batch: list[_Job]) -> _Job | None:
        """The batch in one transaction without savepoints. A job that raises rolls all of it
        back: that job is returned with its error, and nothing of the batch is written."""
        current: _Job | None = None
        try:
            with self._transaction():
                for job in batch:
                    current = job
                    job.value = job.fn(*job.args)
                current = None
        except Exception as exc:
            if current is None:  # BEGIN or COMMIT: the batch's own failure
                raise
            current.ok, current.value = False, self._as_error(exc)
            return current
        for job in batch:
            job.ok = True
        return None
