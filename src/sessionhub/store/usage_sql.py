"""Usage sums from the rollups (``UsageSQLMixin``, part of ``SQLStore``).

Two levels, kept by triggers in the transaction of every change to ``messages`` (schema.py,
migrations 0015 and 0016): ``usage_rollup`` per session and quarter hour (the exact base)
and ``usage_day`` per session and UTC day, with the first and last quarter hour of the day
that has messages. A report reads ``usage_day`` for the whole UTC days of its range and
``usage_rollup`` for the quarter hours of the partial UTC days at its two ends (``plan``):

- per agent, model, channel or session: the sums of those rows; sessions counted once each;
- per local day: a local day meets a UTC day in a prefix or a suffix (a UTC day holds at
  most two local days while the zone's offset holds), so a session-day whose first and last
  quarter hours fall on one local day belongs to it whole; one that spans the local
  midnight (a few in a hundred) is split there: its quarter hours before the midnight are
  summed from the rollup (``ix_usage_rollup_session``), the rest is the day's sums minus
  those. A UTC day in which the offset changes is read from the rollup entirely.

A local day is ``(bucket * 900 + utc_offset) // 86400`` with the offset of the zone at that
bucket: the caller passes the offset segments of its range (``usage.UsageQuery``), so days
are exact across DST changes without a per-row time-zone function (SQLite has none). The
queries of a report run in one transaction with one snapshot (REPEATABLE READ on
PostgreSQL), so its rows and its totals agree under concurrent appends.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import pairwise
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    and_,
    case,
    distinct,
    func,
    literal,
    select,
    union_all,
)
from sqlalchemy.sql.expression import ColumnCollection

from ..usage import ModelSums, RawSums, UsageQuery, UsageSums, summarize
from .crypto_sql import CryptoSQLMixin
from .schema import USAGE_BUCKET_US, USAGE_DAY_BUCKETS, sessions, usage_day, usage_rollup

_R = usage_rollup.c
_D = usage_day.c
BUCKET_SECONDS = USAGE_BUCKET_US // 1_000_000
DAY_SECONDS = 86_400
DAY = USAGE_DAY_BUCKETS


@dataclass(frozen=True, slots=True)
class Plan:
    """Where a range is read from: ``usage_day`` for the UTC days ``days[0] <= day < days[1]``
    but those in ``skip``, ``usage_rollup`` for the ``[lo, hi)`` quarter hours of ``exact``.
    Together they cover the range once. One stretch of days, not one per gap, so each
    database reads (or joins) ``usage_day`` once per report."""

    days: tuple[int, int] | None
    skip: tuple[int, ...]
    exact: tuple[tuple[int, int], ...]


def plan(start: int, end: int, exact_days: Sequence[int] = ()) -> Plan:
    """The whole UTC days of ``[start, end)`` (quarter hours) but ``exact_days``, and the rest."""
    first, stop = -(-start // DAY), end // DAY  # the whole days are [first, stop)
    if first >= stop:
        return Plan(None, (), ((start, end),) if start < end else ())
    skip = tuple(sorted({d for d in exact_days if first <= d < stop}))
    exact = [(start, first * DAY)] if start < first * DAY else []
    exact += [(d * DAY, d * DAY + DAY) for d in skip]
    if stop * DAY < end:
        exact.append((stop * DAY, end))
    return Plan((first, stop), skip, tuple(exact))


def changing_days(segments: Sequence[tuple[int, int]]) -> list[int]:
    """The UTC days in which the offset changes (a change at UTC midnight changes none)."""
    return [start // DAY for start, _ in segments[1:] if start % DAY]


def local_day(column: ColumnElement[Any], segments: Sequence[tuple[int, int]]) -> ColumnElement[Any]:
    """The local day number of the quarter hour in ``column`` (see the module docstring)."""

    def day(offset: int) -> ColumnElement[Any]:
        return (column * BUCKET_SECONDS + offset) // DAY_SECONDS

    if len(segments) == 1:
        return day(segments[0][1])
    whens = [(column < start, day(prev_offset)) for (_, prev_offset), (start, _) in pairwise(segments)]
    return case(*whens, else_=day(segments[-1][1]))


def offset_quarters(column: ColumnElement[Any], segments: Sequence[tuple[int, int]]) -> ColumnElement[Any]:
    """The zone's UTC offset at the quarter hour in ``column``, in quarter hours."""
    if len(segments) == 1:
        return literal(segments[0][1] // BUCKET_SECONDS)
    whens = [
        (column < start, literal(prev // BUCKET_SECONDS)) for (_, prev), (start, _) in pairwise(segments)
    ]
    return case(*whens, else_=literal(segments[-1][1] // BUCKET_SECONDS))


def _filtered(stmt: Select[Any], cols: ColumnCollection[str, Any], q: UsageQuery) -> Select[Any]:
    stmt = stmt.where(cols.owner == q.owner)
    if q.agent is not None:
        stmt = stmt.where(cols.agent == q.agent)
    if q.channel is not None:
        stmt = stmt.where(cols.channel == q.channel)
    return stmt


def _whole_days(q: UsageQuery, p: Plan, cols: Sequence[ColumnElement[Any]], *where: Any) -> list[Select[Any]]:
    """``usage_day`` rows of ``p.days`` (one select, or none)."""
    if p.days is None:
        return []
    lo, hi = p.days
    days = [_D.day >= lo, _D.day < hi, *([_D.day.not_in(p.skip)] if p.skip else [])]
    return [_filtered(select(*cols).where(*days, *where), _D, q)]


def _quarters(q: UsageQuery, p: Plan, cols: Sequence[ColumnElement[Any]]) -> list[Select[Any]]:
    """``usage_rollup`` rows of ``p.exact``: one select per stretch of quarter hours."""
    return [_filtered(select(*cols).where(_R.bucket >= lo, _R.bucket < hi), _R, q) for lo, hi in p.exact]


def _summed(parts: list[Select[Any]], *, one_session_each: bool = False) -> Select[Any] | None:
    """Sums and sessions per (key, model) over the UNION ALL of ``parts`` (columns key, model,
    session_pk, messages, input_tokens, output_tokens); None when there is nothing to read."""
    if not parts:
        return None
    u = (parts[0] if len(parts) == 1 else union_all(*parts)).subquery()
    # A group of one session (group_by=session) is one session: no distinct set to keep.
    count = literal(1) if one_session_each else func.count(distinct(u.c.session_pk))
    return select(
        u.c.key,
        u.c.model,
        count,
        func.sum(u.c.messages),
        func.sum(u.c.input_tokens),
        func.sum(u.c.output_tokens),
    ).group_by(u.c.key, u.c.model)


class UsageSQLMixin(CryptoSQLMixin):
    """``usage`` of ``SQLStore`` (see the module docstring)."""

    async def usage(self, query: UsageQuery) -> UsageSums:
        return await self._run(self._usage, query)

    async def session_titles(self, owner: str, session_ids: list[str]) -> dict[str, str]:
        return await self._run(self._session_titles, owner, session_ids)

    def _session_titles(self, owner: str, session_ids: list[str]) -> dict[str, str]:
        titles: dict[str, str] = {}
        with self._read() as conn:
            for i in range(0, len(session_ids), 500):
                stmt = select(sessions).where(
                    sessions.c.owner == owner, sessions.c.id.in_(session_ids[i : i + 500])
                )
                for row in conn.execute(stmt).all():
                    titles[row.id] = self._session(row).title
        return titles

    @contextmanager
    def _snapshot(self) -> Iterator[Connection]:
        """A read transaction whose statements all see one snapshot."""
        if self.dialect == "sqlite":  # a deferred BEGIN: the snapshot of the first read
            with self._read() as conn:
                yield conn
            return
        options = {"isolation_level": "REPEATABLE READ"}
        with self._engine.connect().execution_options(**options) as conn, conn.begin():
            yield conn

    def _usage(self, q: UsageQuery) -> UsageSums:
        with self._snapshot() as conn:
            if q.group == "day":
                return self._by_day(conn, q)
            if q.group == "session" and q.limit is not None:
                # Thousands of sessions in a year: the database ranks them and hands back the
                # first ``limit`` (thousands of rows in Python cost more than the query, and
                # their garbage brings full collections); the totals are a query of their own.
                totals = self._grouped(conn, dataclasses.replace(q, group="total", limit=None))
                return UsageSums(summarize(self._grouped(conn, q)).groups, summarize(totals).totals)
            return summarize(self._grouped(conn, q), q.limit)

    def _grouped(self, conn: Connection, q: UsageQuery) -> Sequence[RawSums]:
        """Sums per (key, model) from whole days and exact edges; sessions counted once each."""
        if q.group == "day":
            raise ValueError("days are summed by _by_day")
        p = plan(q.start, q.end)
        day_key: ColumnElement[Any]
        rollup_key: ColumnElement[Any]
        if q.group in ("total", "session"):
            day_key = literal("") if q.group == "total" else _D.session_pk
            rollup_key = literal("") if q.group == "total" else _R.session_pk
        else:
            day_key, rollup_key = _D[q.group], _R[q.group]
        stmt = _summed(
            _whole_days(q, p, (day_key.label("key"), _D.model, *_day_sums()))
            + _quarters(q, p, (rollup_key.label("key"), _R.model, *_rollup_sums())),
            one_session_each=q.group == "session",
        )
        if stmt is None:
            return []
        if q.group == "session":  # the public id of the session, after summing by its pk
            agg = stmt.subquery()
            pk, model, count, messages, inp, out = agg.c
            by_id: Select[Any] = select(sessions.c.id, model, count, messages, inp, out)
            stmt = by_id.join(sessions, sessions.c.pk == pk)
            if q.limit is not None:  # in the order of usage.rank (ids compared bytewise)
                sid = sessions.c.id if self.dialect == "sqlite" else sessions.c.id.collate("C")
                stmt = stmt.order_by((inp + out).desc(), messages.desc(), sid).limit(q.limit)
        return cast("Sequence[RawSums]", conn.execute(stmt).all())  # rows unpack as tuples

    @staticmethod
    def _split_days(
        q: UsageQuery, p: Plan, first: ColumnElement[Any], last: ColumnElement[Any]
    ) -> list[Select[Any]]:
        """The session-days of ``p.days`` that span a local midnight, as two rows each: the
        quarter hours before the midnight summed from the rollup (the local day of the first
        quarter hour) and the day's sums minus those (the local day of the last)."""
        midnight = last * DAY - offset_quarters(_D.last_bucket, q.segments)  # in the UTC day
        before = usage_day.join(
            usage_rollup,
            and_(_R.session_pk == _D.session_pk, _R.bucket >= _D.day * DAY, _R.bucket < midnight),
        )
        # Grouped by the primary key of usage_day: its other columns are one value per group.
        cols = (first.label("k1"), last.label("k2"), _D.model, *_day_sums())
        summed = (func.sum(_R.messages), func.sum(_R.input_tokens), func.sum(_R.output_tokens))
        split = [
            part.select_from(before).group_by(_D.owner, _D.day, _D.session_pk)
            for part in _whole_days(
                q, p, (*cols, *(c.label(f"before_{i}") for i, c in enumerate(summed))), first != last
            )
        ]
        if not split:
            return []
        s = split[0].subquery()
        side = union_all(select(literal(0).label("side")), select(literal(1).label("side"))).subquery()
        early = side.c.side == 0

        def pick(a: ColumnElement[Any], b: ColumnElement[Any]) -> ColumnElement[Any]:
            return case((early, a), else_=b)

        return [
            select(
                pick(s.c.k1, s.c.k2).label("key"),
                s.c.model,
                s.c.session_pk,
                pick(s.c.before_0, s.c.messages - s.c.before_0),
                pick(s.c.before_1, s.c.input_tokens - s.c.before_1),
                pick(s.c.before_2, s.c.output_tokens - s.c.before_2),
            ).select_from(s.join(side, literal(True)))
        ]

    def _by_day(self, conn: Connection, q: UsageQuery) -> UsageSums:
        """Sums and sessions per (local day, model), and the totals (sessions per model once
        each); see the module docstring for which rows say what."""
        p = plan(q.start, q.end, changing_days(q.segments))
        first = local_day(_D.first_bucket, q.segments)
        last = local_day(_D.last_bucket, q.segments)
        parts = _whole_days(q, p, (first.label("key"), _D.model, *_day_sums()), first == last)
        parts += self._split_days(q, p, first, last)
        parts += _quarters(q, p, (local_day(_R.bucket, q.segments).label("key"), _R.model, *_rollup_sums()))
        stmt = _summed(parts)
        grouped = (
            []
            if stmt is None
            else [
                ModelSums(int(k), m, int(n), int(a), int(b), int(c))
                for k, m, n, a, b, c in conn.execute(stmt)
            ]
        )
        # The totals: sums add up across days, sessions do not (one active on two days is one).
        totals = summarize(self._grouped(conn, dataclasses.replace(q, group="total"))).totals
        return UsageSums(grouped, totals)


def _day_sums() -> tuple[ColumnElement[Any], ...]:
    return (_D.session_pk, _D.messages, _D.input_tokens, _D.output_tokens)


def _rollup_sums() -> tuple[ColumnElement[Any], ...]:
    return (_R.session_pk, _R.messages, _R.input_tokens, _R.output_tokens)
