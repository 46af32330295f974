"""``sessionhub export|import|cleanup|checkpoint``: history tools (see ``history_ops``)."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import click
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from ..clock import isoformat
from ..errors import InvalidInput
from ..history import FORMATS, IMPORT_FORMATS
from ..history.imports import detect_format, importer
from ..hub import Hub
from .common import console, json_option, print_json, with_hub

Tick = Callable[[int, int | None], None]


@contextmanager
def progress(label: str, total: int | None) -> Iterator[Tick]:
    """A rich progress bar on stderr when it is a terminal; otherwise a no-op callback."""
    if not sys.stderr.isatty():
        yield lambda done, total: None
        return
    bar = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    task = bar.add_task(label, total=total)

    def tick(done: int, new_total: int | None) -> None:
        bar.update(task, completed=done, total=new_total if new_total is not None else total)

    with bar:
        yield tick


# --- export ---------------------------------------------------------------------------


@click.command("export")
@click.argument("session_ids", nargs=-1, required=True, metavar="ID...")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="json", show_default=True)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, writable=True),
    default=None,
    help="Write to FILE (default: standard output).",
)
@click.option("--no-metadata", is_flag=True, help="Leave session and message metadata out.")
@with_hub
async def export(hub: Hub, session_ids: tuple[str, ...], fmt: str, output: str | None, no_metadata: bool) -> None:  # fmt: skip
    """Export sessions, streamed: json (lossless, one session), markdown, text, or jsonl (one line per session).

    Messages are read in bounded pages, so memory stays flat whatever the history length.
    """
    sessions = [await hub.get_session(sid) for sid in session_ids]
    if len(sessions) > 1 and fmt == "json":
        raise InvalidInput("json exports one session per file; use --format jsonl for several")
    include = not no_metadata
    stream = (
        hub.export_stream(sessions[0].id, fmt, include)
        if len(sessions) == 1
        else hub.export_many_stream([s.id for s in sessions], fmt, include)
    )
    total = sum(s.message_count for s in sessions)
    if output is None:
        out = sys.stdout
        async for chunk in stream:
            out.write(chunk)
        out.flush()
        return
    target = Path(output)
    partial = target.with_name(target.name + ".partial")
    try:
        with partial.open("w", encoding="utf-8") as fh, progress("exporting", total) as tick:
            done = 0
            async for chunk in stream:
                fh.write(chunk)
                done += 1
                if done % 100 == 0:
                    tick(min(done, total), total)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    click.echo(f"exported {len(sessions)} session(s), {total} message(s) to {target}", err=True)


# --- import ---------------------------------------------------------------------------


@click.command("import")
@click.argument("path", type=click.Path(exists=True))
@click.option(
    "--from",
    "fmt",
    type=click.Choice(IMPORT_FORMATS),
    default=None,
    help="Source format (default: detected).",
)
@json_option
@with_hub
async def import_(hub: Hub, path: str, fmt: str | None, as_json: bool) -> None:  # fmt: skip
    """Import sessions from a FILE or DIR: our json exports, or PocketPaw, ai-lab, PicoClaw, OpenClaw files.

    Each session is imported whole or not at all; sessions imported before are skipped.
    """
    name = fmt or detect_format(path)
    total = len(list(importer(name).discover(Path(path).expanduser())))
    with progress(f"importing {name}", total) as tick:
        report = await hub.import_path(path, name, on_progress=lambda done, _t: tick(done, total))
    if as_json:
        print_json(report.to_dict())
    else:
        for item in report.imported:
            console.print(
                f"imported {item.session_id}  {item.title or '(untitled)'}  ({item.message_count} messages)"
            )
        for s in report.skipped:
            console.print(f"[yellow]skipped[/yellow] {s.what}: {s.why}")
        for f in report.failed:
            console.print(f"[red]failed[/red] {f.path}: {f.reason}")
        console.print(
            f"{len(report.imported)} imported, {len(report.skipped)} skipped, {len(report.failed)} failed"
        )
    if report.failed:
        sys.exit(1)


# --- cleanup --------------------------------------------------------------------------


@click.command()
@click.option(
    "--older-than",
    default=None,
    metavar="AGE",
    help="Delete sessions idle longer than AGE (90m, 12h, 30d, 2w).",
)
@click.option(
    "--keep-checkpoints/--no-keep-checkpoints",
    default=True,
    show_default=True,
    help="Keep sessions that have checkpoints.",
)
@click.option("--dry-run", is_flag=True, help="Only report what would be archived or deleted.")
@json_option
@with_hub
async def cleanup(hub: Hub, older_than: str | None, keep_checkpoints: bool, dry_run: bool, as_json: bool) -> None:  # fmt: skip
    """Delete old sessions (never pinned ones) and apply the [retention] settings when configured."""
    conf = hub.retention_settings()
    configured = any(v is not None for v in conf.values())
    if older_than is None and not configured:
        raise InvalidInput("nothing to do: give --older-than AGE or configure [retention]")
    out: dict[str, object] = {"dry_run": dry_run}
    if configured:
        with progress("retention", None) as tick:
            ret = await hub.apply_retention(dry_run=dry_run, on_progress=tick)
        out["retention"] = ret.to_dict()
    if older_than is not None:
        with progress("cleanup", None) as tick:
            rep = await hub.cleanup(older_than, keep_checkpoints, dry_run, on_progress=tick)
        out.update(rep.to_dict())
    if as_json:
        print_json(out)
        return
    verb = "would" if dry_run else ""
    if configured:
        r = out["retention"]
        assert isinstance(r, dict)
        console.print(
            f"retention: {len(r['archived'])} {verb + ' be ' if dry_run else ''}archived, "
            f"{len(r['deleted'])} {verb + ' be ' if dry_run else ''}deleted"
        )
    if older_than is not None:
        ids = out["session_ids"]
        assert isinstance(ids, list)
        for sid in ids:
            console.print(f"{'would delete' if dry_run else 'deleted'} {sid}")
        console.print(f"{len(ids)} session(s) {'would be deleted' if dry_run else 'deleted'}")


# --- checkpoints ----------------------------------------------------------------------


@click.group()
def checkpoint() -> None:
    """Save, list, restore and delete checkpoints (pointers into a session's history)."""


@checkpoint.command("save")
@click.argument("session_id")
@click.argument("name")
@click.option("--description", default=None)
@json_option
@with_hub
async def save(hub: Hub, session_id: str, name: str, description: str | None, as_json: bool) -> None:
    """Save a checkpoint at the session's last message."""
    cp = await hub.save_checkpoint(session_id, name, description=description)
    if as_json:
        print_json(cp.to_dict())
    else:
        console.print(f"{cp.id}  {cp.name}  at message {cp.at_seq}")


@checkpoint.command("list")
@click.argument("session_id")
@json_option
@with_hub
async def list_(hub: Hub, session_id: str, as_json: bool) -> None:
    """List a session's checkpoints, oldest first."""
    cps = await hub.list_checkpoints(session_id)
    if as_json:
        print_json({"checkpoints": [c.to_dict() for c in cps]})
        return
    table = Table()
    table.add_column("id", no_wrap=True, min_width=29)
    for col in ("name", "at message", "created", "description"):
        table.add_column(col, overflow="fold")
    for c in cps:
        table.add_row(c.id, c.name, str(c.at_seq), isoformat(c.created_at) or "", c.description)
    console.print(table)


@checkpoint.command("restore")
@click.argument("checkpoint_id")
@json_option
@with_hub
async def restore(hub: Hub, checkpoint_id: str, as_json: bool) -> None:
    """Return the session to the checkpoint; later messages are kept in an archived branch session."""
    res = await hub.restore_checkpoint_detailed(checkpoint_id)
    if as_json:
        print_json(res.to_dict())
        return
    console.print(f"{res.session.id} restored to message {res.session.message_count}")
    if res.branch is not None:
        console.print(f"{res.moved} later message(s) kept in {res.branch.id} (archived)")


@checkpoint.command("delete")
@click.argument("checkpoint_id")
@with_hub
async def delete(hub: Hub, checkpoint_id: str) -> None:
    """Delete a checkpoint (messages are not touched)."""
    await hub.delete_checkpoint(checkpoint_id)
    console.print(f"deleted {checkpoint_id}")


COMMANDS = (export, import_, cleanup, checkpoint)
