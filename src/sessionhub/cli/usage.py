"""``sessionhub usage``: tokens, messages, sessions and cost per day, agent, model, session or channel."""

from __future__ import annotations

from datetime import timedelta

import click
from rich.table import Table

from ..hub import Hub
from ..usage import GROUP_BYS, UsageRow
from .common import console, json_option, print_json, with_hub


def _cost(row: UsageRow) -> str:
    return "—" if row.cost is None else f"{row.cost:,.4f}"


@click.command("usage")
@click.option("--group-by", "group_by", type=click.Choice(GROUP_BYS), default="day", show_default=True)
@click.option(
    "--from", "start", default=None, help="First day (YYYY-MM-DD) or quarter-hour time; default 30 days ago."
)
@click.option(
    "--to", "end", default=None, help="Last day (included) or a quarter-hour time (excluded); default today."
)
@click.option("--tz", default=None, help="IANA timezone of the days (default: server.timezone).")
@click.option("--agent", default=None, help="Only this agent's sessions.")
@click.option("--channel", default=None, help="Only this channel's sessions.")
@click.option("--limit", type=click.IntRange(1, 1000), default=50, help="Most rows (not for --group-by day).")
@json_option
@with_hub
async def usage(
    hub: Hub, group_by: str, start: str | None, end: str | None, tz: str | None, agent: str | None,
    channel: str | None, limit: int, as_json: bool,
) -> None:  # fmt: skip
    """Where the tokens and money went; cost from [pricing."MODEL"] (— when a model is unpriced)."""
    report = await hub.usage(group_by, start=start, end=end, tz=tz, agent=agent, channel=channel, limit=limit)
    if as_json:
        print_json(report.to_dict())
        return
    last = report.end - timedelta(microseconds=1)
    span = f"{report.start:%Y-%m-%d %H:%M} – {last:%Y-%m-%d %H:%M} ({report.tz})"
    table = Table(title=f"usage by {group_by}, {span}")
    table.add_column(group_by)
    if group_by == "session":
        table.add_column("title", overflow="fold")
    for col in ("sessions", "messages", "input tokens", "output tokens", "cost"):
        table.add_column(col, justify="right")
    for row in (*report.rows, report.totals):
        cells = [row.key] + ([row.title or ""] if group_by == "session" else [])
        cells += [f"{row.sessions:,}", f"{row.messages:,}", f"{row.input_tokens:,}", f"{row.output_tokens:,}"]
        table.add_row(*cells, _cost(row), style="bold" if row is report.totals else None)
    console.print(table)
