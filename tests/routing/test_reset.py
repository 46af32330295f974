"""Reset evaluation with fixed datetimes: day boundaries, DST, idle gaps, machine timezone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from sessionhub.errors import InvalidInput
from sessionhub.routing.reset import ResetPolicy, is_stale, last_boundary, next_boundary

BERLIN = ZoneInfo("Europe/Berlin")
NY = ZoneInfo("America/New_York")


def at(tz: ZoneInfo, *args: int) -> datetime:
    return datetime(*args, tzinfo=tz)  # type: ignore[misc]


def test_none_never_stale() -> None:
    """Mode none (the default) never resets, whatever the gap."""
    created = datetime(2020, 1, 1, tzinfo=UTC)
    assert not is_stale(ResetPolicy(), created, created, created + timedelta(days=900))


def test_daily_boundary_between_activity_and_now() -> None:
    """Daily at 04:00 Berlin: stale only if 04:00 local passed after the last activity."""
    p = ResetPolicy("daily", at_hour=4, timezone="Europe/Berlin")
    last = at(BERLIN, 2024, 5, 10, 23, 0)
    created = last - timedelta(hours=1)
    assert not is_stale(p, last, created, at(BERLIN, 2024, 5, 11, 3, 59))
    assert is_stale(p, last, created, at(BERLIN, 2024, 5, 11, 4, 0))
    assert not is_stale(p, at(BERLIN, 2024, 5, 11, 4, 0), created, at(BERLIN, 2024, 5, 11, 9, 0))
    assert not is_stale(p, at(BERLIN, 2024, 5, 11, 5, 0), created, at(BERLIN, 2024, 5, 12, 3, 0))


def test_daily_uses_policy_timezone_not_machine_or_utc() -> None:
    """04:00 in New York is 08:00 UTC in summer; inputs in other zones compare correctly."""
    p = ResetPolicy("daily", at_hour=4, timezone="America/New_York")
    tokyo = timezone(timedelta(hours=9))
    last = datetime(2024, 7, 1, 7, 30, tzinfo=UTC)
    assert not is_stale(p, last, last, datetime(2024, 7, 1, 16, 59, tzinfo=tokyo))  # 07:59 UTC
    assert is_stale(p, last, last, datetime(2024, 7, 1, 17, 0, tzinfo=tokyo))  # 08:00 UTC


@pytest.mark.parametrize(
    ("tz", "day", "hour", "expected_utc_hour"),
    [
        ("Europe/Berlin", (2024, 3, 30), 4, 3),  # CET, before spring forward
        ("Europe/Berlin", (2024, 3, 31), 4, 2),  # CEST, after spring forward
        ("Europe/Berlin", (2024, 10, 27), 4, 3),  # CET again, after fall back
        ("America/New_York", (2024, 3, 10), 4, 8),  # EDT: 2am skipped
        ("America/New_York", (2024, 11, 3), 4, 9),  # EST: 1am repeated
    ],
)
def test_dst_days_keep_local_wall_time(
    tz: str, day: tuple[int, int, int], hour: int, expected_utc_hour: int
) -> None:
    """On DST change days the boundary stays at the local hour (the UTC hour shifts)."""
    p = ResetPolicy("daily", at_hour=hour, timezone=tz)
    b = last_boundary(p, datetime(*day, 23, 0, tzinfo=UTC))
    assert b == datetime(*day, expected_utc_hour, 0, tzinfo=UTC)


def test_boundary_in_dst_gap_moves_forward() -> None:
    """02:30 does not exist on Berlin's spring-forward day; the reset happens at 03:30 local."""
    p = ResetPolicy("daily", at_hour=2, at_minute=30, timezone="Europe/Berlin")
    b = last_boundary(p, datetime(2024, 3, 31, 12, tzinfo=UTC))
    assert b.astimezone(BERLIN).replace(tzinfo=None) == datetime(2024, 3, 31, 3, 30)
    last = at(BERLIN, 2024, 3, 31, 1, 0)
    assert not is_stale(p, last, last, at(BERLIN, 2024, 3, 31, 3, 29))
    assert is_stale(p, last, last, at(BERLIN, 2024, 3, 31, 3, 30))


def test_boundary_in_dst_overlap_happens_once() -> None:
    """01:30 occurs twice in New York on fall-back day; only the first counts."""
    p = ResetPolicy("daily", at_hour=1, at_minute=30, timezone="America/New_York")
    first = datetime(2024, 11, 3, 5, 30, tzinfo=UTC)  # 01:30 EDT
    assert last_boundary(p, datetime(2024, 11, 3, 7, 0, tzinfo=UTC)) == first
    assert not is_stale(p, first, first, datetime(2024, 11, 3, 6, 45, tzinfo=UTC))  # 01:45 EST
    assert next_boundary(p, first) == datetime(2024, 11, 4, 6, 30, tzinfo=UTC)


def test_idle_gap() -> None:
    """Idle: stale exactly when the gap reaches idle_minutes."""
    p = ResetPolicy("idle", idle_minutes=60)
    last = datetime(2024, 1, 1, 12, 0, tzinfo=UTC)
    assert not is_stale(p, last, last, last + timedelta(minutes=59, seconds=59))
    assert is_stale(p, last, last, last + timedelta(minutes=60))


def test_daily_plus_idle_either_triggers() -> None:
    """daily+idle resets on a day boundary or after an idle gap, whichever comes first."""
    p = ResetPolicy("daily+idle", at_hour=4, idle_minutes=120, timezone="UTC")
    last = datetime(2024, 1, 1, 3, 30, tzinfo=UTC)
    assert is_stale(p, last, last, datetime(2024, 1, 1, 4, 0, tzinfo=UTC))
    last = datetime(2024, 1, 1, 10, 0, tzinfo=UTC)
    assert is_stale(p, last, last, datetime(2024, 1, 1, 12, 0, tzinfo=UTC))
    assert not is_stale(p, last, last, datetime(2024, 1, 1, 11, 59, tzinfo=UTC))


def test_no_activity_uses_creation_time_and_naive_is_utc() -> None:
    """Without activity the creation time counts; naive datetimes are read as UTC."""
    p = ResetPolicy("idle", idle_minutes=10)
    assert is_stale(p, None, datetime(2024, 1, 1, 0, 0), datetime(2024, 1, 1, 0, 10, tzinfo=UTC))
    assert not is_stale(p, None, datetime(2024, 1, 1, 0, 0), datetime(2024, 1, 1, 0, 9, tzinfo=UTC))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"mode": "weekly"},
        {"at_hour": 24},
        {"at_hour": True},
        {"idle_minutes": 0},
        {"timezone": "Mars/Olympus"},
    ],
)
def test_invalid_policies(kwargs: dict[str, object]) -> None:
    """Out-of-range or unknown values are refused with InvalidInput."""
    with pytest.raises(InvalidInput):
        ResetPolicy(**kwargs)  # type: ignore[arg-type]
