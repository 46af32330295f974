"""Timezones, list groups, durations, and the microsecond timestamps the database stores."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, tzinfo
from typing import overload
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .errors import InvalidInput

_DURATION = re.compile(r"^\s*(\d+)\s*(s|m|h|d|w)\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_us(dt: datetime) -> int:
    """Microseconds since the epoch, the integer every timestamp column holds (naive means UTC)."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return (dt - EPOCH) // timedelta(microseconds=1)


@overload
def from_us(us: int) -> datetime: ...
@overload
def from_us(us: None) -> None: ...
@overload
def from_us(us: int | None) -> datetime | None: ...
def from_us(us: int | None) -> datetime | None:
    """The aware UTC datetime of a timestamp column (None stays None)."""
    return None if us is None else EPOCH + timedelta(microseconds=us)


def zone(name: str | None, default: str = "UTC") -> tzinfo:
    """The ``ZoneInfo`` for an IANA name; ``InvalidInput`` for an unknown one."""
    tz_name = name or default
    try:
        return ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a directory or an over-long name
        raise InvalidInput(f"unknown timezone {tz_name!r}") from None


def local_day_starts(now: datetime, tz: tzinfo) -> tuple[datetime, datetime, datetime]:
    """Start of today, of yesterday, and of the 7-day window (today and the 6 days before), in ``tz``."""
    local = now.astimezone(tz)
    today = datetime(local.year, local.month, local.day, tzinfo=tz)
    # Aware arithmetic with one tzinfo is wall-clock arithmetic: local midnights, DST-safe.
    return today, today - timedelta(days=1), today - timedelta(days=6)


def group_for(activity: datetime, now: datetime, tz: tzinfo) -> str:
    """today / yesterday / this_week (the 7 local days ending today) / older."""
    return group_by_starts(activity, local_day_starts(now, tz))


def group_by_starts(activity: datetime, starts: tuple[datetime, datetime, datetime]) -> str:
    """``group_for`` with the day starts computed once (``local_day_starts``), for a whole page."""
    today, yesterday, week = starts
    if activity >= today:
        return "today"
    if activity >= yesterday:
        return "yesterday"
    if activity >= week:
        return "this_week"
    return "older"


def parse_duration(value: str) -> timedelta:
    """``90m``, ``12h``, ``30d``, ``2w`` (and ``45s``) to a timedelta; InvalidInput otherwise."""
    m = _DURATION.match(value) if isinstance(value, str) else None
    if not m or int(m.group(1)) <= 0:
        raise InvalidInput(f"invalid duration {value!r} (use e.g. 90m, 12h, 30d, 2w)")
    return timedelta(seconds=int(m.group(1)) * _UNITS[m.group(2)])
