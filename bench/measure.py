"""Timing and statistics.

Every figure is a list of per-operation wall-clock times (``time.perf_counter``) taken in
one process, one operation at a time. A sampler runs an operation until it has the wanted
number of samples or its time budget is spent, whichever comes first, so a peer that needs
seconds per operation still finishes; the sample count is always reported next to the
median and the 95th percentile.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any


class Unsupported(Exception):
    """The peer cannot do this work; the message says why (shown as "—" in the report)."""


@dataclass
class Samples:
    """Per-operation times in seconds."""

    times: list[float] = field(default_factory=list)

    @property
    def n(self) -> int:
        return len(self.times)

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    @property
    def p95(self) -> float:
        ordered = sorted(self.times)
        rank = max(0, min(len(ordered) - 1, round(0.95 * len(ordered) + 0.5) - 1))
        return ordered[rank]

    @property
    def total(self) -> float:
        return sum(self.times)


async def sample(
    op: Callable[[], Awaitable[Any]],
    *,
    reps: int,
    budget_s: float,
    warmup: int = 1,
    slow_s: float = 1.0,
) -> Samples:
    """Time ``op`` up to ``reps`` times within ``budget_s`` seconds.

    The first ``warmup`` calls are discarded, unless one of them takes longer than ``slow_s``
    (a slow operation gains nothing from a warm-up and the budget cannot afford it twice):
    then it counts as a sample.
    """
    out = Samples()
    start = time.perf_counter()
    for _ in range(warmup):
        t0 = time.perf_counter()
        await op()
        elapsed = time.perf_counter() - t0
        if elapsed > slow_s:
            out.times.append(elapsed)
            break
    while out.n < reps and (time.perf_counter() - start < budget_s or out.n == 0):
        t0 = time.perf_counter()
        await op()
        out.times.append(time.perf_counter() - t0)
    return out


def fmt_seconds(seconds: float) -> str:
    """A duration with a unit that keeps three significant digits."""
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} µs"
    if seconds < 1.0:
        return f"{seconds * 1e3:.3g} ms"
    return f"{seconds:.3g} s"


def fmt_ratio(ratio: float) -> str:
    """A ratio as ``12.3×``."""
    if ratio >= 100:
        return f"{ratio:,.0f}×"
    if ratio >= 10:
        return f"{ratio:.1f}×"
    return f"{ratio:.2f}×"


def fmt_bytes(n: float) -> str:
    """Bytes with a binary unit."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")
