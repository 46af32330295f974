"""Usage reports of the hub (``UsageOps``): ``hub.usage(...)``, CONTRACT 11.7.

The range, the days of a zone and the prices are worked out in ``sessionhub.usage``; the
store sums its rollups (``store/usage_sql.py``) and answers the groups and the totals (a
session active on several days counts once in the totals) from one snapshot.
"""

from __future__ import annotations

import dataclasses

from ..timeutil import zone
from ..usage import (
    UsageQuery,
    UsageReport,
    bucket_of,
    build_report,
    check_group_by,
    offset_segments,
    usage_range,
)
from ._core import HubCore, check_limit

MAX_ROWS = 1000


class UsageOps(HubCore):
    """``usage``: tokens, messages, sessions and cost of the owner's sessions."""

    async def usage(
        self,
        group_by: str = "day",
        *,
        start: str | None = None,
        end: str | None = None,
        tz: str | None = None,
        agent: str | None = None,
        channel: str | None = None,
        limit: int = 50,
    ) -> UsageReport:
        """Usage per ``group_by`` (day, agent, model, session or channel) over ``[start, end]``.

        ``start``/``end`` are dates in ``tz`` (``end`` included) or quarter-hour times (``end``
        excluded); by default the last 30 days. Days come in order, empty ones included; other
        groups by tokens, most first, ``limit`` of them.
        """
        group = check_group_by(group_by)
        check_limit(limit, MAX_ROWS)
        tz_name = tz or self.settings.server.timezone
        zone_info = zone(tz_name)
        lo, hi = usage_range(start, end, zone_info, self.clock.now())
        base = UsageQuery(
            owner=self.owner,
            start=bucket_of(lo),
            end=bucket_of(hi),
            group=group,
            segments=offset_segments(lo, hi, zone_info),
            agent=agent,
            channel=channel,
            limit=None if group == "day" else limit,
        )
        sums = await self.store.usage(base)
        report = build_report(
            group, lo, hi, tz_name, sums.groups, sums.totals, self.settings.pricing, limit=limit
        )
        if group != "session":
            return report
        # Deleted since the sums were read: no title.
        titles = await self.store.session_titles(self.owner, [row.key for row in report.rows])
        rows = tuple(dataclasses.replace(row, title=titles.get(row.key, "")) for row in report.rows)
        return dataclasses.replace(report, rows=rows)
