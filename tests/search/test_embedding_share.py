"""The background embedding yields to appends: a quarter of its time while messages keep arriving.

A stand-in model that takes a known time per batch shows the thread's rhythm: a backlog with
nothing new arriving is embedded batch after batch, and while appends keep coming each batch
is followed by a pause three times as long as the batch took (``BUSY_SHARE``).
"""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
from tests._util import eventually

import sessionhub
from sessionhub.store import vectors_sql

BATCH_SECONDS = 0.1


class SlowModel:
    """Unit vectors after ``BATCH_SECONDS``; remembers when each batch started and ended."""

    model_id = "test-slow"

    def __init__(self) -> None:
        self.calls: list[tuple[float, float, int]] = []
        self.lock = threading.Lock()

    def embed(self, texts: list[str]) -> Any:
        start = time.monotonic()
        time.sleep(BATCH_SECONDS)
        with self.lock:
            self.calls.append((start, time.monotonic(), len(texts)))
        return np.full((len(texts), 8), 8**-0.5, dtype=np.float32)

    def embedded(self) -> int:
        with self.lock:
            return sum(n for _, _, n in self.calls)

    def gaps(self, first: int = 0) -> list[float]:
        """Seconds from the end of each batch to the start of the next, from batch ``first``."""
        with self.lock:
            calls = self.calls[first:]
        return [b[0] - a[1] for a, b in itertools.pairwise(calls)]


async def test_a_backlog_runs_flat_out_and_new_arrivals_slow_the_thread(tmp_path: Path) -> None:
    assert vectors_sql.BUSY_SHARE == 0.25
    pause = BATCH_SECONDS * (1 - vectors_sql.BUSY_SHARE) / vectors_sql.BUSY_SHARE
    async with sessionhub.open(f"sqlite:///{tmp_path / 'e.db'}") as hub:
        s = await hub.create_session()
        await hub.add_messages(s.id, [{"role": "user", "content": f"old note {i}"} for i in range(64)])
        model = SlowModel()
        hub.store.start_embedding(model)  # type: ignore[attr-defined]

        async def backlog_done() -> bool:
            return model.embedded() >= 64

        await eventually(backlog_done, what="the backlog embedded")
        quiet = model.gaps()
        assert len(quiet) >= 3 and max(quiet) < pause * 0.8, quiet  # no pause: nothing new arrived

        first_busy = len(model.calls)
        stop = asyncio.Event()

        async def keep_appending() -> None:
            i = 0
            while not stop.is_set():
                await hub.add_message(s.id, "user", f"new note {i}")
                i += 1
                await asyncio.sleep(0.01)

        appender = asyncio.create_task(keep_appending())
        try:

            async def four_busy_batches() -> bool:
                return len(model.calls) >= first_busy + 5

            await eventually(four_busy_batches, what="batches while appending", timeout=30)
        finally:
            stop.set()
            await appender
        busy = model.gaps(first_busy)[1:]  # after the first batch that saw the new messages
        assert busy and min(busy) >= pause * 0.99, busy
