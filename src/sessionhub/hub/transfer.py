"""Export and import of sessions: ``Hub`` inherits ``TransferOps``, built on ``HistoryOps``
(an export carries the checkpoints, an import recreates them).

- **Export** streams: messages are read 500 at a time, so memory does not grow with the
  history. ``json`` is lossless; ``jsonl`` of several sessions gives one line each.
- **Import** is all-or-nothing per session (one transaction, original timestamps kept,
  counters recomputed, new ids). Files imported with ``import_path`` remember their
  source (``import_ref``): importing them again reports "already imported".
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, cast

from .. import ids
from ..errors import InvalidInput, NotFound, SessionhubError
from ..history import FORMATS, ImportedSession, ImportFailure, export_jsonl, export_session, parse_export
from ..history.imported import Skipped
from ..history.imports import read_sessions
from ..model import JSON, SOURCES, Message, Session
from ..routing.keys import parse_key
from ..routing.legacy import Origin, is_legacy_key, origin_key, parse_legacy_key
from ..store.history_base import ImportRows, NewCheckpoint
from ..text import auto_title, collapse, preview
from ..validation import check_json, check_session_text, check_text
from ._core import Progress
from .history import HistoryOps

EXPORT_PAGE = 500


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


class TransferOps(HistoryOps):
    """Export and import for ``Hub`` (see the module docstring)."""

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
            if isinstance(item, Skipped):  # a file of the source that is not a session to import
                skipped.append(SkippedItem(item.what, item.why))
                continue
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

    def _imported_origin(self, imp: ImportedSession) -> tuple[str, Origin] | None:
        """The canonical key a migrated session continues under, and its chat (CONTRACT 11.2):
        the origin the importer read, else the one a legacy ``agent:`` source key names; None
        when the source names no chat sessionhub routes (web, CLI, AI-Lab)."""
        origin = imp.origin
        if origin is None and imp.source_key and is_legacy_key(imp.source_key):
            try:
                origin = parse_legacy_key(imp.source_key)
            except InvalidInput:
                return None
        if origin is None or imp.format == "sessionhub":
            return None
        agents = [a.id for a in self.settings.agents]
        key = origin_key(self.router.policy, origin, agents)
        return None if key is None else (key, origin)

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
        if imp.source_key is not None:
            metadata["source_key"] = imp.source_key
        if imp.archived:
            status = "archived"
        target = self._imported_origin(imp)
        if target is not None:
            key, origin = target
            channel, source = origin.channel or "web", "channel"
            metadata["origin"] = origin.to_dict()
            if self.settings.agent(agent) is None:  # the source's agent is not ours: the key's is
                agent = parse_key(key).agent
        elif imp.format == "ai-lab":  # AI-Lab's own id keeps working on its endpoints
            key = f"{self.settings.default_agent.id}:ai-lab:{imp.source_session_id}"
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
                bind_key=target is not None or imp.format == "ai-lab",
            )
        )
