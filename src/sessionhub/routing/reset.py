"""Pure reset evaluation: is the session under a key stale when the next message arrives?

Modes (CONTRACT §4, ``[session.reset]``): ``none`` (default), ``daily`` (a boundary every
day at ``at_hour:at_minute`` local time in ``timezone``), ``idle`` (``idle_minutes``
without conversation), ``daily+idle`` (either).

- Daily: stale when a boundary lies after the last activity and at or before now.
  Boundaries are computed in the policy's timezone with ``zoneinfo``, whatever the machine's
  zone. A boundary in a DST gap (a local time that does not exist, e.g. 02:30 on the
  spring-forward day) is shifted forward by the gap (03:30), like ``dateutil``'s
  ``resolve_imaginary``; a boundary in a DST overlap is its first occurrence.
- Idle: stale when ``now - last_activity >= idle_minutes``.
- No activity yet: the session's creation time stands in for the last activity.
- Naive datetimes are taken as UTC (as ``clock.parse_iso`` does).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal, TypeAlias
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..errors import InvalidInput

ResetMode: TypeAlias = Literal["none", "daily", "idle", "daily+idle"]
RESET_MODES: tuple[str, ...] = ("none", "daily", "idle", "daily+idle")


@dataclass(frozen=True, slots=True)
class ResetPolicy:
    """When a key's session goes stale; validated on construction (``InvalidInput``)."""

    mode: ResetMode = "none"
    at_hour: int = 4
    idle_minutes: int = 60
    timezone: str = "UTC"
    at_minute: int = 0

    def __post_init__(self) -> None:
        if self.mode not in RESET_MODES:
            raise InvalidInput(f"reset mode must be one of {', '.join(RESET_MODES)}, not {self.mode!r}")
        if not _int_in(self.at_hour, 0, 23):
            raise InvalidInput(f"reset at_hour must be an integer 0..23, not {self.at_hour!r}")
        if not _int_in(self.at_minute, 0, 59):
            raise InvalidInput(f"reset at_minute must be an integer 0..59, not {self.at_minute!r}")
        if not _int_in(self.idle_minutes, 1, 10**7):
            raise InvalidInput(f"reset idle_minutes must be a positive integer, not {self.idle_minutes!r}")
        zone(self.timezone)

    @property
    def daily(self) -> bool:
        return self.mode in ("daily", "daily+idle")

    @property
    def idle(self) -> bool:
        return self.mode in ("idle", "daily+idle")


def zone(name: str) -> ZoneInfo:
    """The IANA timezone ``name``; ``InvalidInput`` if unknown."""
    if not isinstance(name, str) or not name:
        raise InvalidInput("timezone must be an IANA name such as 'Europe/Berlin'")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidInput(f"unknown timezone {name!r}") from exc


def is_stale(
    policy: ResetPolicy, last_activity: datetime | None, session_created: datetime, now: datetime
) -> bool:
    """Whether the session must be replaced by a new one before storing the next message."""
    if policy.mode == "none":
        return False
    since = _utc(last_activity if last_activity is not None else session_created)
    now = _utc(now)
    if policy.idle and now - since >= timedelta(minutes=policy.idle_minutes):
        return True
    if policy.daily:
        boundary = last_boundary(policy, now)
        return since < boundary <= now
    return False


def last_boundary(policy: ResetPolicy, now: datetime) -> datetime:
    """The latest daily boundary at or before ``now`` (UTC)."""
    now = _utc(now)
    tz = zone(policy.timezone)
    today = now.astimezone(tz).date()
    candidates = (_boundary(policy, today + timedelta(days=d), tz) for d in (1, 0, -1, -2))
    return max(b for b in candidates if b <= now)


def next_boundary(policy: ResetPolicy, after: datetime) -> datetime:
    """The first daily boundary strictly after ``after`` (UTC), e.g. to tell a user when."""
    after = _utc(after)
    tz = zone(policy.timezone)
    today = after.astimezone(tz).date()
    candidates = (_boundary(policy, today + timedelta(days=d), tz) for d in (-1, 0, 1, 2))
    return min(b for b in candidates if b > after)


def _boundary(policy: ResetPolicy, day: date, tz: ZoneInfo) -> datetime:
    # fold=0: in a gap zoneinfo uses the offset from before the transition, which moves the
    # wall time forward by the gap; in an overlap it picks the first occurrence.
    local = datetime.combine(day, time(policy.at_hour, policy.at_minute), tzinfo=tz)
    return local.astimezone(UTC)


def _utc(dt: datetime) -> datetime:
    if dt.tzinfo is None or dt.utcoffset() is None:
        return dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


def _int_in(value: object, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


__all__ = ["RESET_MODES", "ResetMode", "ResetPolicy", "is_stale", "last_boundary", "next_boundary", "zone"]
