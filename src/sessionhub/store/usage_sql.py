"""Usage sums from ``usage_rollup`` (``UsageSQLMixin``, part of ``SQLStore``).

The rollup (schema.py, migration 0015) holds one row per session and quarter hour, kept by
triggers on ``messages``; a query is one range scan of ``(owner, bucket)`` grouped by the
asked key and the model (cost is priced per model by the caller). A local day is
``(bucket * 900 + utc_offset) // 86400`` with the offset of the zone at that bucket: the
caller passes the offset segments of its range (``usage.UsageQuery``), so days are exact
across DST changes without a per-row time-zone function (SQLite has none).
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise
from typing import Any

from sqlalchemy import ColumnElement, case, distinct, func, literal, select

from ..usage import ModelSums, UsageQuery
from ._db import SQLBase
from .schema import USAGE_BUCKET_US, sessions, usage_rollup

_R = usage_rollup.c
BUCKET_SECONDS = USAGE_BUCKET_US // 1_000_000
DAY_SECONDS = 86_400


def _local_day(segments: Sequence[tuple[int, int]]) -> ColumnElement[Any]:
    def day(offset: int) -> ColumnElement[Any]:
        return (_R.bucket * BUCKET_SECONDS + offset) // DAY_SECONDS

    if len(segments) == 1:
        return day(segments[0][1])
    whens = [(_R.bucket < start, day(prev_offset)) for (_, prev_offset), (start, _) in pairwise(segments)]
    return case(*whens, else_=day(segments[-1][1]))


class UsageSQLMixin(SQLBase):
    """``usage`` of ``SQLStore`` (see the module docstring)."""

    async def usage(self, query: UsageQuery) -> list[ModelSums]:
        return await self._run(self._usage, query)

    def _usage(self, q: UsageQuery) -> list[ModelSums]:
        key: ColumnElement[Any]
        if q.group == "day":
            key = _local_day(q.segments)
        elif q.group == "total":
            key = literal("")
        elif q.group == "session":
            key = sessions.c.id
        else:
            key = _R[q.group]
        stmt = (
            select(
                key.label("key"),
                _R.model,
                func.count(distinct(_R.session_pk)),
                func.sum(_R.messages),
                func.sum(_R.input_tokens),
                func.sum(_R.output_tokens),
            )
            .where(_R.owner == q.owner, _R.bucket >= q.start, _R.bucket < q.end)
            .group_by(key, _R.model)
        )
        if q.group == "session":
            stmt = stmt.join(sessions, sessions.c.pk == _R.session_pk)
        if q.agent is not None:
            stmt = stmt.where(_R.agent == q.agent)
        if q.channel is not None:
            stmt = stmt.where(_R.channel == q.channel)
        with self._read() as conn:
            rows = conn.execute(stmt).all()
        return [
            ModelSums(
                key if isinstance(key, str) else int(key),
                model,
                int(sessions),
                int(messages or 0),
                int(inp or 0),
                int(out or 0),
            )
            for key, model, sessions, messages, inp, out in rows
        ]
