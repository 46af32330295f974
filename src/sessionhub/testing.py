"""Helpers for testing your bot against sessionhub: an in-memory hub and a fake clock.

from sessionhub.testing import FakeClock, open_memory

clock = FakeClock()
async with open_memory(clock=clock) as hub:
    s = await hub.create_session()
    clock.advance(hours=25)      # time moves only when you say so
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from .config import Settings
from .hub import Opener, open

__all__ = ["FakeClock", "open_memory"]


class FakeClock:
    """A clock that stands still until told to move; always timezone-aware UTC."""

    def __init__(self, start: datetime | None = None) -> None:
        start = start or datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
        if start.tzinfo is None:
            raise ValueError("FakeClock needs a timezone-aware start time")
        self._now = start.astimezone(UTC)

    def now(self) -> datetime:
        return self._now

    def set(self, when: datetime) -> None:
        if when.tzinfo is None:
            raise ValueError("FakeClock.set needs a timezone-aware time")
        self._now = when.astimezone(UTC)

    def advance(self, delta: timedelta | None = None, **kwargs: float) -> datetime:
        """Move forward by ``delta`` or by ``timedelta(**kwargs)``; returns the new time."""
        self._now += delta if delta is not None else timedelta(**kwargs)
        return self._now


def open_memory(*, clock: FakeClock | None = None, settings: Settings | None = None) -> Opener:
    """A hub on a private in-memory SQLite database (same code path as the file store)."""
    return open("sqlite://", clock=clock, settings=settings)
