"""Usage reports: where the tokens and the money go (CONTRACT 11.7). Pure: no I/O.

- **Range.** ``from`` and ``to`` are local dates in ``tz`` (``to`` included) or times on a
  quarter hour (``to`` excluded); by default the 30 days ending today. The store sums
  per quarter hour, so any quarter-hour range is exact (:func:`usage_range`).
- **Days.** A local day is exact in every zone, across DST changes: the store is given the
  zone's UTC offset per stretch of the range (:func:`offset_segments`).
- **Cost.** ``[pricing."MODEL"] input_per_million output_per_million`` per model, summed in
  decimal. A row's cost is null when a model with tokens in it has no price, or when none of
  its models has one (an unpriced model is unknown, not free); a model without tokens costs
  nothing whatever its price, and a row without messages costs 0.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from decimal import Decimal
from typing import Annotated, Any, Literal, cast, get_args

from .errors import InvalidInput
from .section import Section, number_between
from .timeutil import EPOCH, to_us

GroupBy = Literal["day", "agent", "model", "session", "channel"]
GROUP_BYS: tuple[str, ...] = get_args(GroupBy)
BUCKET = timedelta(minutes=15)
DEFAULT_DAYS = 30
MAX_DAYS = 3660  # ten years of days


PerMillion = Annotated[float, number_between(0, 1e9)]


class Price(Section):
    """``[pricing."MODEL"]``: the cost (any currency) of a million input and output tokens."""

    input_per_million: PerMillion
    output_per_million: PerMillion


@dataclass(frozen=True, slots=True)
class UsageQuery:
    """What the store sums: quarter-hour buckets ``start <= bucket < end`` of ``owner``, per
    ``group`` and model. ``segments``: ``(first_bucket, utc_offset_seconds)`` from the oldest,
    each offset holding until the next segment (local days for ``group="day"``)."""

    owner: str
    start: int
    end: int
    group: Literal["day", "agent", "model", "session", "channel", "total"]
    segments: Sequence[tuple[int, int]] = ((0, 0),)
    agent: str | None = None
    channel: str | None = None
    limit: int | None = None  # groups but days: the store may keep only the first ``limit``


@dataclass(frozen=True, slots=True)
class ModelSums:
    """What the store sums for one (key, model) group."""

    key: str | int
    model: str
    sessions: int
    messages: int
    input_tokens: int
    output_tokens: int


@dataclass(frozen=True, slots=True)
class UsageSums:
    """What the store answers for one report, read from one snapshot: the (key, model) sums
    of the asked group (for groups but days, those of the first ``UsageQuery.limit`` groups
    at least), and the totals per model (key ``""``)."""

    groups: list[ModelSums]
    totals: list[ModelSums]


RawSums = tuple[Any, str, Any, Any, Any, Any]  # key, model, sessions, messages, input, output


def rank(key: str | int, tokens: int, messages: int) -> tuple[int, int, str]:
    """How groups other than days are ordered: tokens, then messages, most first, then key."""
    return (-tokens, -messages, str(key))


def summarize(rows: Sequence[RawSums], limit: int | None = None) -> UsageSums:
    """The store's rows per (key, model) grouped by agent, model, channel or session: the
    ``limit`` first groups by :func:`rank` (all when None), and the totals per model of all.

    Sessions add up across such groups, since a session has one agent, model and channel
    (never across days: a session active on two days is one session in the totals). Only the
    kept groups become objects: a year by session is thousands of groups for 50 rows.
    """
    per_key: dict[Any, list[int]] = {}
    per_model: dict[str, list[int]] = {}
    for key, model, sessions, messages, inp, out in rows:
        k = per_key.get(key)
        if k is None:
            per_key[key] = [inp + out, messages]
        else:
            k[0] += inp + out
            k[1] += messages
        t = per_model.get(model)
        if t is None:
            per_model[model] = [sessions, messages, inp, out]
        else:
            t[0] += sessions
            t[1] += messages
            t[2] += inp
            t[3] += out
    keep = (
        None
        if limit is None or limit >= len(per_key)
        else set(heapq.nsmallest(limit, per_key, key=lambda k: rank(k, *per_key[k])))
    )
    groups = [
        ModelSums(key, model, int(n), int(m), int(i), int(o))
        for key, model, n, m, i, o in rows
        if keep is None or key in keep
    ]
    totals = [ModelSums("", model, *(int(v) for v in acc)) for model, acc in per_model.items()]
    return UsageSums(groups, totals)


@dataclass(frozen=True, slots=True)
class UsageRow:
    key: str
    sessions: int
    messages: int
    input_tokens: int
    output_tokens: int
    cost: float | None
    title: str | None = None  # group_by=session: the session's title

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {
            "key": self.key,
            "sessions": self.sessions,
            "messages": self.messages,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cost": self.cost,
        }
        if self.title is not None:
            out["title"] = self.title
        return out


@dataclass(frozen=True, slots=True)
class UsageReport:
    group_by: GroupBy
    start: datetime  # aware, in the report's zone
    end: datetime  # excluded
    tz: str
    rows: tuple[UsageRow, ...]
    totals: UsageRow

    def to_dict(self) -> dict[str, object]:
        return {
            "group_by": self.group_by,
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "tz": self.tz,
            "rows": [r.to_dict() for r in self.rows],
            "totals": self.totals.to_dict(),
        }


def check_group_by(value: str) -> GroupBy:
    if value not in GROUP_BYS:
        raise InvalidInput(f"unknown group_by {value!r} (expected one of {', '.join(GROUP_BYS)})")
    return cast(GroupBy, value)


def _parse_bound(value: str, name: str, tz: tzinfo, *, end: bool) -> datetime:
    text = value.strip()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return datetime.combine(day + timedelta(days=1) if end else day, time(), tzinfo=tz)
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"{name} must be a date (2026-12-01) or a time (2026-12-01T09:30)") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    if moment.minute % 15 or moment.second or moment.microsecond:
        raise InvalidInput(f"{name} must fall on a quarter hour (usage is summed per 15 minutes)")
    return moment


def usage_range(start: str | None, end: str | None, tz: tzinfo, now: datetime) -> tuple[datetime, datetime]:
    """The ``[start, end)`` of a report, aware in ``tz``; see the module docstring."""
    today = now.astimezone(tz).date()
    hi = (
        _parse_bound(end, "to", tz, end=True)
        if end
        else datetime.combine(today + timedelta(days=1), time(), tz)
    )
    if start:
        lo = _parse_bound(start, "from", tz, end=False)
    else:
        lo = datetime.combine(
            (hi - timedelta(seconds=1)).date() - timedelta(days=DEFAULT_DAYS - 1), time(), tz
        )
    if lo >= hi:
        raise InvalidInput("from must be before to")
    if hi - lo > timedelta(days=MAX_DAYS):
        raise InvalidInput(f"the range is longer than {MAX_DAYS} days")
    return lo.astimezone(tz), hi.astimezone(tz)


def bucket_of(moment: datetime) -> int:
    return to_us(moment) // (int(BUCKET.total_seconds()) * 1_000_000)


def _offset(tz: tzinfo, at: datetime) -> int:
    delta = at.astimezone(tz).utcoffset()
    return int(delta.total_seconds()) if delta is not None else 0


def _at(bucket: int) -> datetime:
    return EPOCH + bucket * BUCKET


def offset_segments(start: datetime, end: datetime, tz: tzinfo) -> list[tuple[int, int]]:
    """``(first_bucket, utc_offset_seconds)`` for each stretch of ``[start, end)`` with one offset.

    Walks the range a day at a time (zones change offset a few times a year, never twice in
    a day) and bisects each change to its quarter hour (changes happen on quarter hours).
    """
    first, stop = bucket_of(start), bucket_of(end)
    segments = [(first, _offset(tz, _at(first)))]
    step = 96  # quarter hours: a day
    b = first
    while b < stop:
        nxt = min(b + step, stop)
        current = segments[-1][1]
        if _offset(tz, _at(nxt)) != current:
            lo, hi = b, nxt  # offset(lo) == current != offset(hi)
            while hi - lo > 1:
                mid = (lo + hi) // 2
                lo, hi = (mid, hi) if _offset(tz, _at(mid)) == current else (lo, mid)
            segments.append((hi, _offset(tz, _at(hi))))
        b = nxt
    return segments


def cost_of(sums: Iterable[ModelSums], pricing: Mapping[str, Price]) -> float | None:
    """The cost of one row's models; see the module docstring for when it is null."""
    total = Decimal(0)
    priced = False
    sums = list(sums)
    if not sums:
        return 0.0  # nothing used: nothing spent
    for s in sums:
        price = pricing.get(s.model)
        if price is None:
            if s.input_tokens or s.output_tokens:
                return None
            continue
        priced = True
        total += s.input_tokens * Decimal(str(price.input_per_million))
        total += s.output_tokens * Decimal(str(price.output_per_million))
    return float(round(total / 1_000_000, 8)) if priced else None


def _row(key: str, sums: Sequence[ModelSums], pricing: Mapping[str, Price]) -> UsageRow:
    return UsageRow(
        key=key,
        sessions=sum(s.sessions for s in sums),  # a session has one model: no double counting
        messages=sum(s.messages for s in sums),
        input_tokens=sum(s.input_tokens for s in sums),
        output_tokens=sum(s.output_tokens for s in sums),
        cost=cost_of(sums, pricing),
    )


def build_report(
    group_by: GroupBy,
    start: datetime,
    end: datetime,
    tz_name: str,
    grouped: Sequence[ModelSums],
    totals: Sequence[ModelSums],
    pricing: Mapping[str, Price],
    *,
    limit: int,
) -> UsageReport:
    """Rows from the store's (key, model) sums: days in order with empty days filled in,
    other groups by tokens (then messages) descending, at most ``limit`` of them."""
    by_key: dict[str | int, list[ModelSums]] = {}
    for s in grouped:
        by_key.setdefault(s.key, []).append(s)
    rows: list[UsageRow]
    if group_by == "day":
        first = start.date()
        last = (end - timedelta(microseconds=1)).date()
        epoch = date(1970, 1, 1)
        rows = []
        for n in range((first - epoch).days, (last - epoch).days + 1):
            day = epoch + timedelta(days=n)
            rows.append(_row(day.isoformat(), by_key.get(n, []), pricing))
    else:
        # Ranked on the raw sums first: only the ``limit`` kept become rows (a year by session
        # is thousands of groups).
        ranks = {
            key: rank(key, sum(s.input_tokens + s.output_tokens for s in sums), sum(s.messages for s in sums))
            for key, sums in by_key.items()
        }
        top = heapq.nsmallest(limit, by_key, key=ranks.__getitem__)
        rows = [_row(str(key), by_key[key], pricing) for key in top]
    return UsageReport(group_by, start, end, tz_name, tuple(rows), _row("total", totals, pricing))
