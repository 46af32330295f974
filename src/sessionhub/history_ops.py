"""History tools of the hub: checkpoints, forks, export, import, cleanup and retention.

``Hub`` inherits ``HistoryOps``; this module holds the rules, the store does the rows
(``store/history_sql.py``). The rules, in one place:

- **Checkpoint**: a pointer ``(session, at_seq = message_count)``; saving costs one row.
- **Restore** a checkpoint: the session's visible history returns to ``at_seq``; the
  messages after it are *kept aside* in a new **branch** session (archived, so read-only
  and out of the active list; listed by ``hub.forks(session_id)`` and the archived view;
  its metadata has ``kept_aside_from``). The branch is a fork of the session at
  ``at_seq``: it shows the whole history as it was before the restore. Checkpoints after
  ``at_seq`` move to the branch with the messages they point into. New messages continue
  at ``at_seq + 1``. Restoring when nothing follows the checkpoint changes nothing, so
  restoring twice is safe. Unarchive the branch (``hub.restore``) to continue it.
- **Fork** at a seq (default: the end) or a checkpoint of the same session: a new active
  session with the same agent/provider/model whose history ``1..at_seq`` is read from the
  source by pointer; both continue independently. Title ``"<title> (fork)"``; metadata
  gets ``forked_from``.
- **Deleting** (or clearing) a session that forks read from never breaks them: the fork
  that reads furthest inherits the rows (moved, not copied) and the other forks read from
  it. The deleted session's own checkpoints go with it.
- **Pop** removes the last message in one transaction (a fork reading it keeps it, as on
  delete); checkpoints past the new end are clamped to it, never deleted.
- **Export** streams: messages are read 500 at a time, so memory does not grow with the
  history. ``json`` is lossless; ``jsonl`` of several sessions gives one line each.
- **Import** is all-or-nothing per session (one transaction, original timestamps kept,
  counters recomputed, new ids). Files imported with ``import_path`` remember their
  source (``import_ref``): importing them again reports "already imported".
- **Cleanup** deletes sessions whose last activity is older than ``older_than``; pinned
  ones never, and with ``keep_checkpoints`` none that has a checkpoint. **Retention**
  archives active unpinned sessions idle for ``auto_archive_after_days`` and deletes
  archived unpinned sessions unchanged for ``delete_archived_after_days``.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, cast

from . import ids
from .errors import InvalidInput, NotFound, SessionhubError
from .history import FORMATS, ImportedSession, ImportFailure, export_jsonl, export_session, parse_export
from .history.imports import read_sessions
from .model import JSON, SOURCES, Checkpoint, Message, NewMessage, Session
from .store.history_base import DerivedSession, ImportRows, NewCheckpoint
from .text import auto_title, collapse, preview
from .timeutil import parse_duration, to_us
from .turn_gate import TurnGate, turn_stopped
from .validation import check_json, check_session_text, check_text

if TYPE_CHECKING:
    from .clock import Clock
    from .config import AgentSettings, Settings
    from .store.base import Store

EXPORT_PAGE = 500
MAX_NAME_CHARS = 200
MAX_DESCRIPTION_CHARS = 2000


# --- reports -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RestoreResult:
    """What ``restore_checkpoint_detailed`` did: the session, the branch keeping the later
    messages (``None`` when none followed the checkpoint) and how many were kept aside."""

    session: Session
    branch: Session | None
    moved: int

    def to_dict(self) -> dict[str, JSON]:
        return {
            "session": self.session.to_dict(),
            "branch": self.branch.to_dict() if self.branch else None,
            "moved": self.moved,
        }


@dataclass(frozen=True, slots=True)
class ImportedItem:
    session_id: str
    title: str
    message_count: int
    format: str
    source_path: str
    source_session_id: str

    def to_dict(self) -> dict[str, JSON]:
        return {
            "session_id": self.session_id,
            "title": self.title,
            "message_count": self.message_count,
            "format": self.format,
            "source_path": self.source_path,
            "source_session_id": self.source_session_id,
        }


@dataclass(frozen=True, slots=True)
class SkippedItem:
    """Something not imported: a whole session ("already imported") or a part of one."""

    what: str
    why: str

    def to_dict(self) -> dict[str, JSON]:
        return {"what": self.what, "why": self.why}


@dataclass(frozen=True, slots=True)
class ImportReport:
    imported: tuple[ImportedItem, ...] = ()
    skipped: tuple[SkippedItem, ...] = ()
    failed: tuple[ImportFailure, ...] = ()

    def to_dict(self) -> dict[str, JSON]:
        return {
            "imported": [i.to_dict() for i in self.imported],
            "skipped": [s.to_dict() for s in self.skipped],
            "failed": [{"path": f.path, "reason": f.reason} for f in self.failed],
        }


@dataclass(frozen=True, slots=True)
class CleanupReport:
    """``deleted``: how many sessions were deleted (would be, on a dry run)."""

    deleted: int
    session_ids: tuple[str, ...]
    dry_run: bool = False

    def to_dict(self) -> dict[str, JSON]:
        return {"deleted": self.deleted, "session_ids": list(self.session_ids), "dry_run": self.dry_run}


@dataclass(frozen=True, slots=True)
class RetentionReport:
    archived: tuple[str, ...] = ()
    deleted: tuple[str, ...] = ()
    dry_run: bool = False
    settings: Mapping[str, float | None] = field(default_factory=dict)

    def to_dict(self) -> dict[str, JSON]:
        return {
            "archived": list(self.archived),
            "deleted": list(self.deleted),
            "dry_run": self.dry_run,
            "settings": dict(self.settings),
        }


Progress = Callable[[int, int | None], None]  # (done, total or None)


# --- streaming glue --------------------------------------------------------------------


class _Feed(Iterator[Message]):
    """Messages for a sync exporter, refilled page by page by the async pump.

    Every exporter yields at least one chunk per message it reads, so the pump keeps one
    page ahead: before each step it refills an empty feed that is not finished.
    """

    def __init__(self, fill: Callable[[_Feed], Any]) -> None:
        self.buf: deque[Message] = deque()
        self.done = False
        self.fill = fill

    def __iter__(self) -> Iterator[Message]:
        return self

    def __next__(self) -> Message:
        if self.buf:
            return self.buf.popleft()
        if self.done:
            raise StopIteration
        raise RuntimeError("export feed ran dry (an exporter read two messages in one step)")

    @property
    def hungry(self) -> bool:
        return not self.buf and not self.done


async def _pump(chunks: Iterator[str], feeds: Sequence[_Feed]) -> AsyncIterator[str]:
    i = 0
    while True:
        while i < len(feeds) and feeds[i].done and not feeds[i].buf:
            i += 1
        if i < len(feeds) and feeds[i].hungry:
            await feeds[i].fill(feeds[i])
        try:
            chunk = next(chunks)
        except StopIteration:
            return
        yield chunk


def _clean_text(value: object, name: str, limit: int, *, required: bool) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        raise InvalidInput(f"{name} must be a string")
    text = value.strip() if required else value
    if required and not text:
        raise InvalidInput(f"{name} must not be empty")
    return check_text(text, name, limit)


def _days(value: object, name: str) -> float | None:
    if value is None or value == 0:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise InvalidInput(f"retention.{name} must be a positive number of days")
    return float(value)


class HistoryOps:
    """The history half of ``Hub`` (see the module docstring for the rules)."""

    if TYPE_CHECKING:
        store: Store
        settings: Settings
        clock: Clock
        owner: str

        def _session_id(self, session_id: object) -> str: ...
        def _agent(self, agent: str | None) -> AgentSettings: ...
        def _new_message(self, data: Mapping[str, Any] | NewMessage) -> NewMessage: ...
        async def get_session(self, session_id: str, *, tz: str | None = None) -> Session: ...
        async def history_page(
            self,
            session_id: str,
            limit: int = 50,
            before_seq: int | None = None,
            after_seq: int | None = None,
        ) -> tuple[list[Message], bool]: ...
        async def delete_session(self, session_id: str) -> None: ...

        turns: TurnGate | None

    def _checkpoint_id(self, checkpoint_id: object) -> str:
        if not ids.is_valid(checkpoint_id, "chk"):
            raise NotFound(f"checkpoint {str(checkpoint_id)[:80]!r} not found")
        return cast(str, checkpoint_id)

    # -- checkpoints ------------------------------------------------------------------------

    async def save_checkpoint(self, session_id: str, name: str, description: str | None = None) -> Checkpoint:
        """Record a pointer at the session's current last message (no copy)."""
        clean = collapse(_clean_text(name, "name", MAX_NAME_CHARS, required=True))
        desc = _clean_text(description, "description", MAX_DESCRIPTION_CHARS, required=False)
        return await self.store.save_checkpoint(
            self.owner, self._session_id(session_id), ids.new_id("chk"), clean, desc
        )

    async def list_checkpoints(self, session_id: str) -> list[Checkpoint]:
        """The session's checkpoints, oldest first."""
        return await self.store.list_checkpoints(self.owner, self._session_id(session_id))

    async def get_checkpoint(self, checkpoint_id: str) -> Checkpoint:
        return await self.store.get_checkpoint(self.owner, self._checkpoint_id(checkpoint_id))

    async def delete_checkpoint(self, checkpoint_id: str) -> None:
        """Delete the pointer; no message is touched."""
        await self.store.delete_checkpoint(self.owner, self._checkpoint_id(checkpoint_id))

    async def restore_checkpoint(self, checkpoint_id: str) -> Session:
        """Return the session's history to the checkpoint; later messages are kept aside."""
        return (await self.restore_checkpoint_detailed(checkpoint_id)).session

    async def restore_checkpoint_detailed(self, checkpoint_id: str) -> RestoreResult:
        """Like ``restore_checkpoint``, also giving the branch that keeps the later messages."""

        def derive(s: Session, at: int, cp: Checkpoint | None) -> DerivedSession:
            name = cp.name if cp else str(at)
            meta = dict(s.metadata)
            meta["kept_aside_from"] = {
                "session_id": s.id,
                "checkpoint_id": cp.id if cp else None,
                "checkpoint_name": name,
                "at_seq": at,
            }
            title = f"{s.title or 'Untitled'} (kept aside by restore to {name})"
            return DerivedSession(title=title[:500], title_source=s.title_source, metadata=meta)

        cid = self._checkpoint_id(checkpoint_id)
        sid = (await self.get_checkpoint(cid)).session_id if self.turns is not None else ""
        async with turn_stopped(self, sid):
            out = await self.store.restore_checkpoint(self.owner, cid, ids.new_id("ses"), derive)
        return RestoreResult(out.session, out.branch, out.moved)

    # -- forks ------------------------------------------------------------------------------

    async def fork(
        self,
        session_id: str,
        at_seq: int | None = None,
        checkpoint_id: str | None = None,
        *,
        title: str | None = None,
    ) -> Session:
        """A new session sharing the history up to ``at_seq`` (default: all) or a checkpoint."""
        sid = self._session_id(session_id)
        if at_seq is not None and checkpoint_id is not None:
            raise InvalidInput("give at_seq or checkpoint_id, not both")
        if at_seq is not None and (isinstance(at_seq, bool) or not isinstance(at_seq, int) or at_seq < 0):
            raise InvalidInput("at_seq must be a non-negative integer")
        cid = self._checkpoint_id(checkpoint_id) if checkpoint_id is not None else None
        if title is not None and (not isinstance(title, str) or not collapse(title)):
            raise InvalidInput("title must be a non-empty string")
        if title is not None:
            check_text(title, "title")

        def derive(s: Session, at: int, cp: Checkpoint | None) -> DerivedSession:
            meta = dict(s.metadata)
            meta["forked_from"] = {"session_id": s.id, "at_seq": at, "checkpoint_id": cp.id if cp else None}
            if title is not None:
                return DerivedSession(collapse(title)[:500], "user", meta)
            derived = f"{s.title} (fork)" if s.title else ""
            return DerivedSession(derived[:500], s.title_source, meta)

        return await self.store.fork(self.owner, sid, at_seq, cid, ids.new_id("ses"), derive)

    async def forks(self, session_id: str) -> list[Session]:
        """Sessions reading part of their history from this one: forks and restore branches."""
        return await self.store.forks(self.owner, self._session_id(session_id))

    # -- pop --------------------------------------------------------------------------------

    async def pop_message(self, session_id: str) -> Message | None:
        """Remove and return the session's last message (None when it has none).

        One transaction, O(1) (plus the rows handed over when a fork reads that message:
        the fork keeps it). Counters, preview and ``last_message_at`` follow; checkpoints at
        or after the removed seq are clamped to the new last seq; the next message gets the
        removed seq again. Archived: ``SessionReadOnly``; unknown or malformed id: ``NotFound``.
        """
        sid = self._session_id(session_id)
        async with turn_stopped(self, sid):
            return await self.store.pop_message(self.owner, sid)

    # -- export -----------------------------------------------------------------------------

    def _check_export_format(self, format: str) -> str:
        if format not in FORMATS:
            raise InvalidInput(f"unknown export format {format!r} (expected one of {', '.join(FORMATS)})")
        return format

    def _feed(self, session_id: str, page_size: int) -> _Feed:
        last = 0

        async def fill(feed: _Feed) -> None:
            nonlocal last
            msgs, more = await self.history_page(session_id, limit=page_size, after_seq=last)
            feed.buf.extend(msgs)
            if msgs:
                last = msgs[-1].seq
            if not msgs or not more:
                feed.done = True

        return _Feed(fill)

    def export_stream(
        self,
        session_id: str,
        format: str = "json",
        include_metadata: bool = True,
        *,
        page_size: int = EXPORT_PAGE,
    ) -> AsyncIterator[str]:
        """The export as an async iterator of text chunks; reads ``page_size`` messages at a time."""
        sid = self._session_id(session_id)
        fmt = self._check_export_format(format)

        async def gen() -> AsyncIterator[str]:
            session = await self.get_session(sid)
            cps = await self.list_checkpoints(sid) if fmt == "json" else []
            feed = self._feed(sid, page_size)
            async for chunk in _pump(export_session(fmt, session, feed, cps, include_metadata), [feed]):
                yield chunk

        return gen()

    async def export(self, session_id: str, format: str = "json", include_metadata: bool = True) -> str:
        """The whole export as one string (use ``export_stream`` for long histories)."""
        return "".join([c async for c in self.export_stream(session_id, format, include_metadata)])

    def export_many_stream(
        self,
        session_ids: Sequence[str],
        format: str = "jsonl",
        include_metadata: bool = False,
        *,
        page_size: int = EXPORT_PAGE,
    ) -> AsyncIterator[str]:
        """Several sessions in one stream: ``jsonl`` one line each; ``markdown``/``text`` one
        after the other. ``json`` is one document per session: export them one by one."""
        if isinstance(session_ids, str) or not session_ids:
            raise InvalidInput("session_ids must be a non-empty list")
        fmt = self._check_export_format(format)
        if fmt == "json":
            raise InvalidInput("json exports one session per document; use jsonl for several")
        sids = [self._session_id(s) for s in session_ids]

        async def gen() -> AsyncIterator[str]:
            found = [await self.get_session(s) for s in sids]
            if fmt == "jsonl":
                feeds = [self._feed(s.id, page_size) for s in found]
                pairs: Iterable[tuple[Session, Iterable[Message]]] = list(zip(found, feeds, strict=True))
                async for chunk in _pump(export_jsonl(pairs, include_metadata), feeds):
                    yield chunk
                return
            for n, s in enumerate(found):
                if n:
                    yield "\n\n" + ("---\n\n" if fmt == "markdown" else "")
                feed = self._feed(s.id, page_size)
                async for chunk in _pump(export_session(fmt, s, feed, (), include_metadata), [feed]):
                    yield chunk

        return gen()

    async def export_many(
        self, session_ids: Sequence[str], format: str = "jsonl", include_metadata: bool = False
    ) -> str:
        return "".join([c async for c in self.export_many_stream(session_ids, format, include_metadata)])

    # -- import -----------------------------------------------------------------------------

    async def import_session(self, data: str | bytes | Mapping[str, Any]) -> Session:
        """Create a new session from our ``json`` export (a string or the decoded object)."""
        if isinstance(data, (str, bytes)):
            try:
                data = json.loads(data)
            except ValueError as exc:
                raise InvalidInput(f"not valid JSON: {exc}") from None
        imported = parse_export(data)
        session = await self._create_imported(imported, import_ref=None)
        assert session is not None
        return session

    async def import_path(
        self, path: str | Path, fmt: str | None = None, *, on_progress: Progress | None = None
    ) -> ImportReport:
        """Import every session under ``path`` (a file or a directory) of format ``fmt``
        (``sessionhub``, ``pocketpaw``, ``ai-lab``, ``picoclaw``, ``openclaw``; None: detect).

        Each session is created in one transaction or not at all; sessions imported before
        from the same source are skipped as "already imported"; unreadable ones are listed
        in ``failed`` and import nothing.
        """
        units = await asyncio.to_thread(read_sessions, path, fmt)
        imported: list[ImportedItem] = []
        skipped: list[SkippedItem] = []
        failed: list[ImportFailure] = []
        done = 0
        while True:
            item = await asyncio.to_thread(next, units, None)
            if item is None:
                break
            done += 1
            if isinstance(item, ImportFailure):
                failed.append(item)
            else:
                where = item.source_path or item.source_session_id
                try:
                    session = await self._create_imported(item, import_ref=item.source_id)
                except (InvalidInput, NotFound) as exc:
                    failed.append(ImportFailure(path=where, reason=exc.message))
                else:
                    if session is None:
                        skipped.append(
                            SkippedItem(f"{item.format} session {item.source_session_id}", "already imported")
                        )
                    else:
                        imported.append(
                            ImportedItem(
                                session.id,
                                session.title,
                                session.message_count,
                                item.format,
                                item.source_path,
                                item.source_session_id,
                            )
                        )
                        skipped.extend(SkippedItem(f"{where}: {s.what}", s.why) for s in item.skipped)
            if on_progress is not None:
                on_progress(done, None)
        return ImportReport(tuple(imported), tuple(skipped), tuple(failed))

    def _imported_runtime(self, imp: ImportedSession) -> tuple[str, str, str]:
        """The agent, provider and model an imported session is stored with.

        Our own exports must name a configured agent and its provider, as ``create_session``
        requires (``InvalidInput`` otherwise): an import never makes a session that chats
        through an agent or provider the API would refuse. Sessions migrated from other
        tools keep the source's names as a record (CONTRACT 11.2).
        """
        if imp.format == "sessionhub":
            spec = self._agent(imp.agent)
            if imp.provider is not None and imp.provider != spec.provider:
                raise InvalidInput(
                    f"provider {imp.provider!r} is not the provider of agent {spec.id!r} ({spec.provider!r})"
                )
            return spec.id, spec.provider, imp.model or spec.model
        default = self._agent(None)
        agent = imp.agent or default.id
        known = self.settings.agent(agent)
        provider = imp.provider or (known.provider if known else default.provider)
        return agent, provider, imp.model or (known.model if known else default.model)

    async def _create_imported(self, imp: ImportedSession, import_ref: str | None) -> Session | None:
        try:
            msgs = [self._new_message(m) for m in imp.messages]
        except SessionhubError as exc:
            raise InvalidInput(f"{imp.source_session_id}: {exc.message}") from None
        src = dict(imp.session or {})
        agent, provider, model = self._imported_runtime(imp)
        if src.get("status") == "archived" and src.get("pinned"):
            raise InvalidInput(f"{imp.source_session_id}: an archived session cannot be pinned")
        first_user = next((m.content for m in msgs if m.role == "user" and m.content.strip()), "")
        own_id = ids.new_id("ses")
        title = collapse(imp.title or "")[:500]
        title_source: Literal["auto", "user"] = "user" if title else "auto"
        if src.get("title_source") in ("auto", "user"):
            title_source = cast(Literal["auto", "user"], src["title_source"])
        if not title and first_user:
            title, title_source = auto_title(first_user, self.settings.title_max_chars), "auto"
        now = self.clock.now()
        created = (
            imp.created_at or next((m.created_at for m in msgs if m.created_at is not None), None) or now
        )
        updated = imp.updated_at or next(
            (m.created_at for m in reversed(msgs) if m.created_at is not None), created
        )
        metadata = dict(imp.metadata)
        if imp.format != "sessionhub":
            metadata["imported_from"] = {
                "format": imp.format,
                "session_id": imp.source_session_id,
                "path": imp.source_path,
            }
        old_key = src.get("key")
        key = old_key if isinstance(old_key, str) and old_key and old_key != src.get("id") else own_id
        source = src.get("source") if src.get("source") in SOURCES else "manual"
        source_ref = src.get("source_ref") if isinstance(src.get("source_ref"), str) else None
        channel = src.get("channel") if isinstance(src.get("channel"), str) and src.get("channel") else "web"
        status: Literal["active", "archived"] = "archived" if src.get("status") == "archived" else "active"
        check_session_text(
            key=key, title=title, agent=agent, provider=provider, model=model, source_ref=source_ref,
            channel=cast(str, channel),
        )  # fmt: skip
        check_json(metadata, "metadata")
        cps = [
            NewCheckpoint(
                id=ids.new_id("chk"),
                name=check_text(c.name or "checkpoint", "checkpoint name"),
                description=check_text(c.description, "checkpoint description"),
                at_seq=max(0, min(c.at_index, len(msgs))),
                created_at=c.created_at,
            )
            for c in imp.checkpoints
        ]
        return await self.store.import_rows(
            ImportRows(
                id=own_id,
                owner=self.owner,
                key=key,
                title=title,
                title_source=title_source,
                agent=agent,
                provider=provider,
                model=model,
                source=cast(str, source),
                source_ref=source_ref,
                channel=cast(str, channel),
                status=status,
                pinned=bool(src.get("pinned", False)),
                preview=preview(first_user) if first_user else "",
                metadata=metadata,
                created_at=created,
                updated_at=updated,
                messages=msgs,
                checkpoints=cps,
                import_ref=import_ref,
            )
        )

    # -- cleanup and retention --------------------------------------------------------------

    async def _delete_ids(self, session_ids: Sequence[str], on_progress: Progress | None) -> list[str]:
        deleted: list[str] = []
        for n, sid in enumerate(session_ids, start=1):
            try:
                await self.delete_session(sid)
            except NotFound:
                pass  # deleted meanwhile
            else:
                deleted.append(sid)
            if on_progress is not None:
                on_progress(n, len(session_ids))
        return deleted

    async def cleanup(
        self,
        older_than: str | timedelta = "30d",
        keep_checkpoints: bool = True,
        dry_run: bool = False,
        *,
        on_progress: Progress | None = None,
    ) -> CleanupReport:
        """Delete sessions whose last activity is older than ``older_than`` (``90m``, ``12h``,
        ``30d``, ``2w``); never pinned ones; with ``keep_checkpoints`` never those with a
        checkpoint. ``dry_run`` reports the sessions without deleting."""
        age = older_than if isinstance(older_than, timedelta) else parse_duration(older_than)
        if age <= timedelta(0):
            raise InvalidInput("older_than must be positive")

        before = to_us(self.clock.now() - age)
        found = await self.store.stale_sessions(self.owner, before, bool(keep_checkpoints), None, 10_000_000)
        if dry_run:
            return CleanupReport(len(found), tuple(found), True)
        deleted = await self._delete_ids(found, on_progress)
        return CleanupReport(len(deleted), tuple(deleted), False)

    def retention_settings(self) -> dict[str, float | None]:
        """``auto_archive_after_days`` and ``delete_archived_after_days`` from the settings."""
        raw = self.settings.retention or {}
        return {
            "auto_archive_after_days": _days(raw.get("auto_archive_after_days"), "auto_archive_after_days"),
            "delete_archived_after_days": _days(
                raw.get("delete_archived_after_days"), "delete_archived_after_days"
            ),
        }

    async def apply_retention(
        self,
        auto_archive_after_days: float | None = None,
        delete_archived_after_days: float | None = None,
        *,
        dry_run: bool = False,
        on_progress: Progress | None = None,
    ) -> RetentionReport:
        """Archive idle unpinned sessions and delete long-archived ones.

        A ``None`` argument takes the value of ``[retention]`` in the settings; 0 turns the
        step off. Archived sessions are deleted once unchanged for ``delete_archived_after_days``
        (archiving counts as a change, so the clock starts when a session is archived).
        """
        conf = self.retention_settings()
        archive_days = (
            conf["auto_archive_after_days"]
            if auto_archive_after_days is None
            else _days(auto_archive_after_days, "auto_archive_after_days")
        )
        delete_days = (
            conf["delete_archived_after_days"]
            if delete_archived_after_days is None
            else _days(delete_archived_after_days, "delete_archived_after_days")
        )

        now = self.clock.now()
        archived: list[str] = []
        deleted: list[str] = []
        if delete_days is not None:
            cutoff = to_us(now - timedelta(days=delete_days))
            found = await self.store.archived_before(self.owner, cutoff, 10_000_000)
            deleted = found if dry_run else await self._delete_ids(found, on_progress)
        if archive_days is not None:
            cutoff = to_us(now - timedelta(days=archive_days))
            archived = await self.store.archive_inactive(self.owner, cutoff, dry_run)
        return RetentionReport(
            tuple(archived),
            tuple(deleted),
            dry_run,
            {"auto_archive_after_days": archive_days, "delete_archived_after_days": delete_days},
        )
