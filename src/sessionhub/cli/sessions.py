"""``sessionhub sessions …``: list, show, new, rename, pin, unpin, archive, restore, delete, search, stats."""

from __future__ import annotations

import click
from rich.table import Table

from ..clock import isoformat
from ..hub import Hub
from ..model import Session
from .common import console, json_option, print_json, with_hub


@click.group()
def sessions() -> None:
    """Manage sessions."""


def _table(rows: list[Session], title: str | None = None) -> Table:
    table = Table(title=title, show_lines=False)
    for col in ("id", "title", "agent", "channel", "msgs", "last activity", "status"):
        table.add_column(col, overflow="fold")
    for s in rows:
        flags = s.status + (" · pinned" if s.pinned else "")
        when = isoformat(s.last_message_at or s.created_at) or ""
        table.add_row(s.id, s.title or "(untitled)", s.agent, s.channel, str(s.message_count), when, flags)
    return table


@sessions.command("list")
@click.option("--view", type=click.Choice(["active", "archived", "scheduled", "all"]), default="active")
@click.option("--limit", type=click.IntRange(1, 500), default=50)
@click.option("--cursor", default=None, help="next_cursor of a previous page.")
@click.option("--agent", default=None)
@click.option("--channel", default=None)
@click.option("--tz", default=None, help="IANA timezone for the groups (default: server.timezone).")
@json_option
@with_hub
async def list_(
    hub: Hub, view: str, limit: int, cursor: str | None, agent: str | None, channel: str | None, tz: str | None,
    as_json: bool,
) -> None:  # fmt: skip
    """List sessions: pinned first, then by last activity."""
    page = await hub.list_sessions(view=view, limit=limit, cursor=cursor, tz=tz, agent=agent, channel=channel)
    if as_json:
        print_json(page.to_dict())
        return
    console.print(_table(list(page.sessions)))
    if page.next_cursor:
        console.print(f"more: --cursor {page.next_cursor}")


@sessions.command()
@click.argument("session_id")
@click.option("--limit", type=click.IntRange(1, 1000), default=20, help="How many latest messages to show.")
@click.option(
    "--context",
    "context_tokens",
    type=click.IntRange(min=1),
    default=None,
    help="Show the context window of this many tokens instead (what the model would be sent).",
)
@click.option(
    "--strategy",
    type=click.Choice(["recent", "smart", "summarize"]),
    default="smart",
    show_default=True,
    help="Context strategy (with --context).",
)
@json_option
@with_hub
async def show(
    hub: Hub, session_id: str, limit: int, context_tokens: int | None, strategy: str, as_json: bool
) -> None:
    """Show one session and its latest messages (or, with --context N, its context window)."""
    if context_tokens is not None:
        await _show_context(hub, session_id, context_tokens, strategy, as_json)
        return
    s = await hub.get_session(session_id)
    msgs = await hub.get_history(session_id, limit=limit)
    if as_json:
        print_json({"session": s.to_dict(), "messages": [m.to_dict() for m in msgs]})
        return
    console.print(f"[bold]{s.title or '(untitled)'}[/bold]  {s.id}")
    console.print(
        f"agent {s.agent} · {s.provider}/{s.model} · {s.channel} · {s.status}{' · pinned' if s.pinned else ''}"
        f" · {s.message_count} messages · key {s.key}"
    )
    for m in msgs:
        console.print(f"[dim]#{m.seq} {isoformat(m.created_at)}[/dim] [bold]{m.role}[/bold]: {m.content}")


async def _show_context(hub: Hub, session_id: str, max_tokens: int, strategy: str, as_json: bool) -> None:
    window = await hub.get_context_history(session_id, max_tokens=max_tokens, strategy=strategy)
    if as_json:
        print_json(window.to_dict())
        return
    summary = window.summary
    click.echo(
        f"context of {session_id}: {window.token_count}/{max_tokens} tokens · strategy {window.strategy}"
        f" · {len(window.messages)} messages · {window.dropped} dropped"
        + (f" · summary to #{summary.covers_until_seq} ({summary.method})" if summary else "")
    )
    for m in window.messages:
        label = "summary" if m.metadata.get("summary") else f"#{m.seq}"
        click.echo(f"{label} {m.role}: {m.content}")


@sessions.command()
@click.option("--agent", default=None)
@click.option("--model", default=None)
@click.option("--title", default=None)
@json_option
@with_hub
async def new(hub: Hub, agent: str | None, model: str | None, title: str | None, as_json: bool) -> None:
    """Create a session."""
    s = await hub.create_session(agent=agent, model=model, title=title)
    print_json(s.to_dict()) if as_json else click.echo(s.id)


def _simple(name: str, doc: str) -> None:
    @sessions.command(name, help=doc)
    @click.argument("session_id")
    @json_option
    @with_hub
    async def cmd(hub: Hub, session_id: str, as_json: bool) -> None:
        s = await getattr(hub, name)(session_id)
        print_json(s.to_dict()) if as_json else click.echo(f"{name}: {s.id} ({s.status}, pinned={s.pinned})")


_simple("pin", "Pin a session: listed first, never archived.")
_simple("unpin", "Unpin a session.")
_simple("archive", "Archive a session (read-only); pinned sessions refuse.")
_simple("restore", "Make an archived session active again.")


@sessions.command()
@click.argument("session_id")
@click.argument("title")
@json_option
@with_hub
async def rename(hub: Hub, session_id: str, title: str, as_json: bool) -> None:
    """Rename a session (auto titles never overwrite it afterwards)."""
    s = await hub.rename(session_id, title)
    print_json(s.to_dict()) if as_json else click.echo(f"renamed: {s.id} -> {s.title}")


@sessions.command()
@click.argument("session_id")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@with_hub
async def delete(hub: Hub, session_id: str, yes: bool) -> None:
    """Delete a session with its messages and checkpoints, for good."""
    await hub.get_session(session_id)
    if not yes and not click.confirm(f"Delete {session_id} for good?", default=False):
        click.echo("kept")
        return
    await hub.delete_session(session_id)
    click.echo(f"deleted: {session_id}")


@sessions.command()
@click.argument("query")
@click.option("--limit", type=click.IntRange(1, 500), default=20)
@click.option("--view", type=click.Choice(["active", "archived", "scheduled", "all"]), default="all")
@click.option("--agent", default=None)
@click.option("--channel", default=None)
@click.option(
    "--mode",
    type=click.Choice(["keyword", "semantic", "hybrid"]),
    default=None,
    help="default: hybrid when semantic search is installed, else keyword",
)
@click.option(
    "--group",
    type=click.Choice(["message", "session"]),
    default="message",
    help="session: one hit per session",
)
@json_option
@with_hub
async def search(
    hub: Hub,
    query: str,
    limit: int,
    view: str,
    agent: str | None,
    channel: str | None,
    mode: str | None,
    group: str,
    as_json: bool,
) -> None:
    """Search messages and titles, best first (the last word also matches as a prefix)."""
    hits = await hub.search(
        query, limit=limit, view=view, agent=agent, channel=channel, mode=mode, group=group
    )
    if as_json:
        print_json({"results": [h.to_dict() for h in hits]})
        return
    table = Table()
    for col in ("score", "session", "seq", "snippet") + (("hits",) if group == "session" else ()):
        table.add_column(col, overflow="fold")
    for h in hits:
        snippet = h.snippet.replace("<mark>", "[bold yellow]").replace("</mark>", "[/bold yellow]")
        table.add_row(
            f"{h.score:.3f}",
            f"{h.session.title or '(untitled)'}\n{h.session.id}",
            str(h.seq or "title"),
            snippet,
            *((str(h.count),) if group == "session" else ()),
        )
    console.print(table)


@sessions.command()
@click.option("--tz", default=None)
@json_option
@with_hub
async def stats(hub: Hub, tz: str | None, as_json: bool) -> None:
    """Counts: total, today, this week, messages, active, archived, pinned."""
    st = await hub.stats(tz=tz)
    if as_json:
        print_json(st.to_dict())
        return
    table = Table(show_header=False)
    for k, v in st.to_dict().items():
        table.add_row(k, str(v))
    console.print(table)
