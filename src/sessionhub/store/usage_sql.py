"""Usage sums from the rollups (``UsageSQLMixin``, part of ``SQLStore``).

Three levels, kept by triggers in the transaction of every change to ``messages``
(schema.py, migrations 0015 and 0016): ``usage_rollup`` per session and quarter hour (the
exact base), ``usage_day`` per session and UTC day (with its first and last quarter hour),
``usage_quarter`` per quarter hour without the session. A report reads the smallest level
that is still exact for each stretch of its range (``_plan``):

- sums per local day: ``usage_quarter`` (a local day is whole quarter hours in every zone);
- sums per agent, model, channel or session and all sessions counts: ``usage_day`` for the
  whole UTC days of the range, ``usage_rollup`` for the quarter hours of the partial UTC days
  at its two ends;
- sessions per local day: within a UTC day whose offset does not change, a session was
  active on the local days of its first and its last quarter hour (a UTC day holds at most
  two local days, each a prefix or a suffix of it); a UTC day in which the zone's offset
  changes is read from ``usage_rollup``, quarter hour by quarter hour.

A local day is ``(bucket * 900 + utc_offset) // 86400`` with the offset of the zone at that
bucket: the caller passes the offset segments of its range (``usage.UsageQuery``), so days
are exact across DST changes without a per-row time-zone function (SQLite has none). All
queries of a report run in one transaction with one snapshot (REPEATABLE READ on
PostgreSQL), so its rows and its totals agree with each other under concurrent appends.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import pairwise
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    CompoundSelect,
    Connection,
    Select,
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
from .schema import USAGE_BUCKET_US, USAGE_DAY_BUCKETS, sessions, usage_day, usage_quarter, usage_rollup

_R = usage_rollup.c
_D = usage_day.c
_Q = usage_quarter.c
BUCKET_SECONDS = USAGE_BUCKET_US // 1_000_000
DAY_SECONDS = 86_400
DAY = USAGE_DAY_BUCKETS


@dataclass(frozen=True, slots=True)
class Plan:
    """Where a range is read from: ``days``, ``[lo, hi)`` UTC days of ``usage_day``; ``exact``,
    ``[lo, hi)`` quarter hours of ``usage_rollup``. Together they cover the range once."""

    days: tuple[tuple[int, int], ...]
    exact: tuple[tuple[int, int], ...]


def plan(start: int, end: int, exact_days: Sequence[int] = ()) -> Plan:
    """The whole UTC days of ``[start, end)`` (quarter hours) but ``exact_days``, and the rest."""
    first, stop = -(-start // DAY), end // DAY  # the whole days are [first, stop)
    if first >= stop:
        return Plan((), ((start, end),) if start < end else ())
    days: list[tuple[int, int]] = []
    exact: list[tuple[int, int]] = [(start, first * DAY)] if start < first * DAY else []
    lo = first
    for d in sorted({d for d in exact_days if first <= d < stop}):
        if lo < d:
            days.append((lo, d))
        exact.append((d * DAY, d * DAY + DAY))
        lo = d + 1
    if lo < stop:
        days.append((lo, stop))
    if stop * DAY < end:
        exact.append((stop * DAY, end))
    return Plan(tuple(days), tuple(exact))


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


def _filtered(stmt: Select[Any], cols: ColumnCollection[str, Any], q: UsageQuery) -> Select[Any]:
    stmt = stmt.where(cols.owner == q.owner)
    if q.agent is not None:
        stmt = stmt.where(cols.agent == q.agent)
    if q.channel is not None:
        stmt = stmt.where(cols.channel == q.channel)
    return stmt


def _rows(
    q: UsageQuery,
    p: Plan,
    day_cols: Sequence[Sequence[ColumnElement[Any]]],
    rollup_cols: Sequence[ColumnElement[Any]],
) -> CompoundSelect[Any] | Select[Any] | None:
    """UNION ALL of ``usage_day`` rows (one select per column list in ``day_cols``) over
    ``p.days`` and ``usage_rollup`` rows over ``p.exact``; None when both are empty."""
    parts: list[Select[Any]] = []
    for lo, hi in p.days:
        for cols in day_cols:
            parts.append(_filtered(select(*cols).where(_D.day >= lo, _D.day < hi), _D, q))
    for lo, hi in p.exact:
        parts.append(_filtered(select(*rollup_cols).where(_R.bucket >= lo, _R.bucket < hi), _R, q))
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else union_all(*parts)


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
            return summarize(self._grouped(conn, q), q.limit)

    def _grouped(self, conn: Connection, q: UsageQuery) -> Sequence[RawSums]:
        """Sums per (key, model) from whole days and exact edges; sessions counted once each."""
        if q.group == "day":
            raise ValueError("days are summed by _by_day")
        p = plan(q.start, q.end)
        values = (_D.session_pk, _D.messages, _D.input_tokens, _D.output_tokens)
        rollup_values = (_R.session_pk, _R.messages, _R.input_tokens, _R.output_tokens)
        if q.group in ("total", "session"):
            day_key: ColumnElement[Any] = literal("") if q.group == "total" else _D.session_pk
            rollup_key: ColumnElement[Any] = literal("") if q.group == "total" else _R.session_pk
        else:
            day_key, rollup_key = _D[q.group], _R[q.group]
        rows = _rows(
            q,
            p,
            [(day_key.label("key"), _D.model, *values)],
            (rollup_key.label("key"), _R.model, *rollup_values),
        )
        if rows is None:
            return []
        u = rows.subquery()
        # A group of one session is one session: no distinct set to keep.
        count = literal(1) if q.group == "session" else func.count(distinct(u.c.session_pk))
        stmt = select(
            u.c.key,
            u.c.model,
            count,
            func.sum(u.c.messages),
            func.sum(u.c.input_tokens),
            func.sum(u.c.output_tokens),
        ).group_by(u.c.key, u.c.model)
        if q.group == "session":  # the public id of the session, after summing by its pk
            agg = stmt.subquery()
            cols = list(agg.c)
            stmt = select(sessions.c.id, *cols[1:]).join(sessions, sessions.c.pk == cols[0])
        return cast("Sequence[RawSums]", conn.execute(stmt).all())  # rows unpack as tuples

    def _by_day(self, conn: Connection, q: UsageQuery) -> UsageSums:
        """Sums per (local day, model) from ``usage_quarter``, sessions per (local day, model)
        and the totals' sessions per model from ``usage_day`` and ``usage_rollup``."""
        day = local_day(_Q.bucket, q.segments).label("key")
        sums_stmt = _filtered(
            select(
                day, _Q.model, func.sum(_Q.messages), func.sum(_Q.input_tokens), func.sum(_Q.output_tokens)
            )
            .where(_Q.bucket >= q.start, _Q.bucket < q.end)
            .group_by(day, _Q.model),
            _Q,
            q,
        )
        sums = {(int(k), m): (msgs, inp, out) for k, m, msgs, inp, out in conn.execute(sums_stmt).all()}

        per_day: dict[tuple[int, str], int] = {}
        rows = _rows(
            q,
            plan(q.start, q.end, changing_days(q.segments)),
            [
                (local_day(_D.first_bucket, q.segments).label("key"), _D.model, _D.session_pk),
                (local_day(_D.last_bucket, q.segments).label("key"), _D.model, _D.session_pk),
            ],
            (local_day(_R.bucket, q.segments).label("key"), _R.model, _R.session_pk),
        )
        if rows is not None:
            u = rows.subquery()
            stmt = select(u.c.key, u.c.model, func.count(distinct(u.c.session_pk))).group_by(
                u.c.key, u.c.model
            )
            per_day = {(int(k), m): int(n) for k, m, n in conn.execute(stmt).all()}
        grouped = [
            ModelSums(k, m, per_day.get((k, m), 0), *(int(x) for x in v)) for (k, m), v in sums.items()
        ]

        by_model: dict[str, int] = {}
        rows = _rows(q, plan(q.start, q.end), [(_D.model, _D.session_pk)], (_R.model, _R.session_pk))
        if rows is not None:
            u = rows.subquery()
            stmt = select(u.c.model, func.count(distinct(u.c.session_pk))).group_by(u.c.model)
            by_model = {m: int(n) for m, n in conn.execute(stmt).all()}
        # Sums add up across days; sessions do not (by_model counts each once).
        days = [(g.key, g.model, 0, g.messages, g.input_tokens, g.output_tokens) for g in grouped]
        totals = [
            ModelSums("", t.model, by_model.get(t.model, 0), t.messages, t.input_tokens, t.output_tokens)
            for t in summarize(days).totals
        ]
        return UsageSums(grouped, totals)
