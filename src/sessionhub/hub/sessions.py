"""Sessions and messages: create, read, change, delete, append, read history, list, search.

``SessionOps`` is the core of ``Hub`` (CONTRACT section 3): it validates input, applies
the session rules and hands the store one write per call, so every change is all or
nothing (``update``, the REST ``PATCH``, included).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any, Literal, cast

from .. import ids
from ..errors import InvalidInput, NotFound, SessionPinned, SessionReadOnly
from ..model import SOURCES, Message, NewMessage, SearchHit, Session, SessionPage, Stats
from ..render import render_messages
from ..searchquery import parse_query
from ..store.base import VIEWS, Appended, AutoText, IdempotencyKey, NewSession, SessionChanges, View
from ..text import collapse
from ..timeutil import local_day_starts, to_us, zone
from ..validation import check_session_text, check_text
from ._core import HubCore, check_limit, check_metadata, check_seq
from .search import HYBRID_SEMANTIC_ONLY, check_group, fuse_hits, load_model, resolve_mode, semantic_refusal
from .turn_gate import turn_stopped

HISTORY_FORMATS = ("messages", "json", "markdown", "text")
MAX_LIST_LIMIT = 500
MAX_HISTORY_LIMIT = 1000


class SessionOps(HubCore):
    """Sessions, messages and listings of one owner (see the module docstring)."""

    # -- sessions ---------------------------------------------------------------------------

    async def create_session(
        self,
        agent: str | None = None,
        model: str | None = None,
        title: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        *,
        source: str = "manual",
        source_ref: str | None = None,
        channel: str = "web",
        key: str | None = None,
    ) -> Session:
        """Create a session; agent, provider and model are fixed from here on."""
        spec = self._agent(agent)
        if model is not None and (not isinstance(model, str) or not model.strip()):
            raise InvalidInput("model must be a non-empty string")
        if title is not None and not isinstance(title, str):
            raise InvalidInput("title must be a string")
        if source not in SOURCES:
            raise InvalidInput(f"unknown source {source!r} (expected one of {', '.join(SOURCES)})")
        session_id = ids.new_id("ses")
        clean_title = collapse(title or "")
        check_session_text(title=clean_title, model=model, source_ref=source_ref, channel=channel, key=key)
        return await self.store.create_session(
            NewSession(
                id=session_id,
                owner=self.owner,
                key=key or session_id,
                title=clean_title,
                title_source="user" if clean_title else "auto",
                agent=spec.id,
                provider=spec.provider,
                model=model or spec.model,
                source=source,
                source_ref=source_ref,
                channel=channel,
                metadata=check_metadata(metadata),
            )
        )

    async def rename(self, session_id: str, title: str) -> Session:
        """Set a user title: it is never overwritten by auto titles afterwards."""
        if not isinstance(title, str) or not collapse(title):
            raise InvalidInput("title must be a non-empty string")
        clean = collapse(title)
        check_text(clean, "title", 500)
        return await self.store.update_session(
            self.owner, self._session_id(session_id), SessionChanges(title=clean, title_source="user")
        )

    async def pin(self, session_id: str) -> Session:
        """Pin (listed first, never archived); an archived session refuses with ``SessionReadOnly``."""

        def not_archived(current: Session) -> None:
            if current.status == "archived":
                raise SessionReadOnly(f"session {current.id} is archived; restore it before pinning")

        return await self.store.update_session(
            self.owner, self._session_id(session_id), SessionChanges(pinned=True), not_archived
        )

    async def unpin(self, session_id: str) -> Session:
        return await self.store.update_session(
            self.owner, self._session_id(session_id), SessionChanges(pinned=False)
        )

    async def archive(self, session_id: str) -> Session:
        """Archive (read-only); a pinned session refuses with ``SessionPinned``."""

        def not_pinned(current: Session) -> None:
            if current.pinned:
                raise SessionPinned(f"session {current.id} is pinned; unpin it before archiving")

        sid = self._session_id(session_id)
        async with turn_stopped(self, sid):
            return await self.store.update_session(
                self.owner, sid, SessionChanges(status="archived"), not_pinned
            )

    async def restore(self, session_id: str) -> Session:
        """Make an archived session active (writable) again."""
        return await self.store.update_session(
            self.owner, self._session_id(session_id), SessionChanges(status="active")
        )

    async def set_metadata(self, session_id: str, metadata: Mapping[str, Any]) -> Session:
        return await self.store.update_session(
            self.owner, self._session_id(session_id), SessionChanges(metadata=check_metadata(metadata))
        )

    async def update(
        self,
        session_id: str,
        *,
        title: str | None = None,
        pinned: bool | None = None,
        archived: bool | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> Session:
        """PATCH semantics: every given field in one write, all or nothing.

        The inputs are checked first; the rules (a pinned session is not archived, an
        archived one is not pinned, ``pinned`` and ``archived`` not both true) are checked
        against the row as it is under the write lock, so a refusal (``SessionPinned``,
        ``SessionReadOnly``) leaves every field as it was, even with a concurrent change.
        """
        sid = self._session_id(session_id)
        clean_title: str | None = None
        if title is not None:
            if not isinstance(title, str) or not collapse(title):
                raise InvalidInput("title must be a non-empty string")
            clean_title = check_text(collapse(title), "title", 500)
        clean_metadata = None if metadata is None else check_metadata(metadata)
        if title is None and pinned is None and archived is None and metadata is None:
            return await self.get_session(sid)
        changes = SessionChanges(
            title=clean_title,
            title_source="user" if clean_title is not None else None,
            pinned=None if pinned is None else bool(pinned),
            status=None if archived is None else ("archived" if archived else "active"),
            metadata=clean_metadata,
        )

        def allowed(current: Session) -> None:
            archived_after = archived if archived is not None else current.status == "archived"
            if pinned and archived_after:
                raise SessionReadOnly(
                    f"session {sid}: an archived session cannot be pinned; restore it first"
                )
            if archived and (pinned if pinned is not None else current.pinned):
                raise SessionPinned(f"session {sid} is pinned; unpin it before archiving")

        if not archived:
            return await self.store.update_session(self.owner, sid, changes, allowed)
        async with turn_stopped(self, sid):
            return await self.store.update_session(self.owner, sid, changes, allowed)

    async def delete_session(self, session_id: str) -> None:
        """Delete the session, its messages and checkpoints for good."""
        sid = self._session_id(session_id)
        async with turn_stopped(self, sid, NotFound(f"session {sid} was deleted; its reply was stopped")):
            await self.store.delete_session(self.owner, sid)

    # -- messages ---------------------------------------------------------------------------

    async def add_message(
        self,
        session_id: str,
        role: str,
        content: str,
        parts: Sequence[Mapping[str, Any]] | None = None,
        usage: Mapping[str, int] | None = None,
        metadata: Mapping[str, Any] | None = None,
        *,
        status: str = "complete",
    ) -> Message:
        """Append one message; returns it with its id and seq."""
        item = self._new_message(
            {
                "role": role,
                "content": content,
                "parts": parts,
                "usage": usage,
                "metadata": metadata,
                "status": status,
            }
        )
        (msg,) = await self.store.append(self.owner, self._session_id(session_id), [item], self._auto([item]))
        return msg

    def _batch(self, items: Sequence[Mapping[str, Any] | NewMessage]) -> list[NewMessage]:
        if isinstance(items, (str, bytes, Mapping)) or not isinstance(items, Sequence):
            raise InvalidInput("messages must be a list")
        if not items:
            raise InvalidInput("messages must not be empty")
        if len(items) > 10_000:
            raise InvalidInput("at most 10000 messages per call")
        return [self._new_message(m) for m in items]

    def check_messages(
        self, items: Sequence[Mapping[str, Any] | NewMessage]
    ) -> tuple[list[NewMessage], AutoText | None]:
        """Validate messages exactly as ``add_messages`` does, storing nothing: the checked
        messages and the auto title/preview they give. For adapters that append through a store
        call of their own (integrations/adk.py writes its state in the same transaction)."""
        batch = self._batch(items)
        return batch, self._auto(batch)

    async def add_messages(
        self,
        session_id: str,
        items: Sequence[Mapping[str, Any] | NewMessage],
        *,
        idempotency_key: str | None = None,
    ) -> list[Message]:
        """Append several messages in one transaction (all or nothing).

        With ``idempotency_key`` the call happens once: see ``append_once``.
        """
        if idempotency_key is not None:
            return (await self.append_once(session_id, items, idempotency_key)).messages
        batch = self._batch(items)
        return await self.store.append(self.owner, self._session_id(session_id), batch, self._auto(batch))

    async def append_once(
        self, session_id: str, items: Sequence[Mapping[str, Any] | NewMessage], idempotency_key: str
    ) -> Appended:
        """``add_messages`` once per key: a retry with the same key (this user, this session,
        within 24 hours) and the same messages stores nothing and gives the first call's
        messages (``replayed=True``); other messages raise ``IdempotencyKeyReused``. The key is
        kept in the database with the append, so it holds across restarts and replicas."""
        batch = self._batch(items)
        key = IdempotencyKey.of(idempotency_key, batch)
        return await self.store.append_once(
            self.owner, self._session_id(session_id), batch, self._auto(batch), key
        )

    async def get_history(
        self,
        session_id: str,
        limit: int = 50,
        before_seq: int | None = None,
        after_seq: int | None = None,
        *,
        format: Literal["messages", "json", "markdown", "text"] = "messages",
    ) -> Any:
        """The latest ``limit`` messages (or those after ``after_seq``), oldest first.

        ``format="messages"`` gives a list of Message; ``"json"`` a list of dicts;
        ``"markdown"`` / ``"text"`` a string of the same page.
        """
        msgs, _ = await self.history_page(session_id, limit, before_seq, after_seq)
        if format == "messages":
            return msgs
        if format == "json":
            return [m.to_dict() for m in msgs]
        if format not in HISTORY_FORMATS:
            raise InvalidInput(f"unknown format {format!r} (expected messages, json, markdown or text)")
        return render_messages(msgs, format)

    async def history_page(
        self, session_id: str, limit: int = 50, before_seq: int | None = None, after_seq: int | None = None
    ) -> tuple[list[Message], bool]:
        """Like ``get_history`` and also whether more messages exist in the read direction."""
        check_limit(limit, MAX_HISTORY_LIMIT)
        return await self.store.history(
            self.owner,
            self._session_id(session_id),
            limit,
            check_seq(before_seq, "before_seq"),
            check_seq(after_seq, "after_seq"),
        )

    async def clear_history(self, session_id: str) -> None:
        """Delete every message (and checkpoint) but keep the session."""
        sid = self._session_id(session_id)
        async with turn_stopped(self, sid):
            await self.store.clear(self.owner, sid)

    # -- listings ---------------------------------------------------------------------------

    def _view(self, view: str) -> View:
        if view not in VIEWS:
            raise InvalidInput(f"unknown view {view!r} (expected one of {', '.join(VIEWS)})")
        return cast(View, view)

    async def list_sessions(
        self,
        view: str = "active",
        limit: int = 50,
        cursor: str | None = None,
        tz: str | None = None,
        *,
        agent: str | None = None,
        channel: str | None = None,
    ) -> SessionPage:
        """One keyset page: pinned first, then by last activity; each with its ``group``."""
        v = self._view(view)
        check_limit(limit, MAX_LIST_LIMIT)
        zone(tz, self.settings.server.timezone)
        rows, next_cursor = await self.store.list_sessions(self.owner, v, limit, cursor, agent, channel)
        return SessionPage(tuple(map(self._grouper(tz, v == "scheduled"), rows)), next_cursor)

    async def recent(self, limit: int = 10, tz: str | None = None) -> list[Session]:
        """Sessions with messages, by last activity, archived included."""
        check_limit(limit, MAX_LIST_LIMIT)
        zone(tz, self.settings.server.timezone)
        return list(map(self._grouper(tz), await self.store.recent(self.owner, limit)))

    async def search(
        self,
        query: str,
        limit: int = 20,
        *,
        view: str = "all",
        agent: str | None = None,
        channel: str | None = None,
        mode: str | None = None,
        group: str | None = None,
    ) -> list[SearchHit]:
        """Search messages and titles, ranked (hub/search.py: modes, fusion).

        ``mode``: ``keyword`` (every word must match; the last one as a prefix; CJK and Thai
        by substring), ``semantic`` (nearest in meaning), ``hybrid`` (both, fused), or None
        for the configured default. ``group="session"``: one hit per session (its best) with
        ``count``, the session's number of hits.
        """
        if not isinstance(query, str):
            raise InvalidInput("query must be a string")
        q = parse_query(query)
        if q.empty and not q.short_grams:
            raise InvalidInput("the search query has no words")
        check_limit(limit, MAX_LIST_LIMIT)
        v = self._view(view)
        grouped = check_group(group)
        how = resolve_mode(mode, self.settings, self.store.encrypted)
        with_group = self._grouper(None)
        pool = limit if how == "keyword" else max(limit, 20)

        async def by_words() -> list[SearchHit]:
            if how == "semantic" or q.empty:
                return []
            raw = await self.store.search(self.owner, q, pool, v, agent, channel, grouped)
            return [
                SearchHit(with_group(h.session), h.message_id, h.seq, h.snippet, h.score, h.count)
                for h in raw
            ]

        async def by_meaning() -> list[SearchHit]:
            if how == "keyword":
                return []
            await self.start_semantic()
            near = await self.store.semantic_search(
                self.owner, query, pool, v, agent, channel, self.settings.search.min_similarity, grouped
            )
            return [
                SearchHit(
                    with_group(h.session), h.message_id, h.seq, h.snippet, h.similarity, h.count, "semantic"
                )
                for h in near
            ]

        if how == "keyword":  # one search alone is awaited directly: no tasks to gather
            return await by_words()
        if how == "semantic":
            return (await by_meaning())[:limit]
        # Hybrid: both run at once (each on its own worker thread).
        keyword, semantic = await asyncio.gather(by_words(), by_meaning())
        floor = max(HYBRID_SEMANTIC_ONLY, self.settings.search.min_similarity)
        return fuse_hits(keyword, semantic, limit, grouped, floor)

    def semantic_refusal(self) -> str | None:
        """Why semantic search cannot run on this hub (encrypted, extra missing, turned off), or None."""
        return semantic_refusal(self.settings, self.store.encrypted)

    async def start_semantic(self, *, background: bool = True) -> bool:
        """Start embedding messages in the background (once per store); False when it cannot run."""
        if self.store.embedding:
            return True
        if semantic_refusal(self.settings, self.store.encrypted) is not None:
            return False
        loop = asyncio.get_running_loop()
        model = await loop.run_in_executor(None, load_model)
        self.store.start_embedding(model, background=background)
        return True

    async def embed_pending(self, limit: int | None = None) -> int:
        """Embed the messages that have no vector yet, now; how many (0 when semantic search is off)."""
        if not await self.start_semantic():
            return 0
        return await self.store.embed_pending(limit)

    async def stats(self, tz: str | None = None) -> Stats:
        """Counts of CONTRACT section 6; "today" and "this week" in ``tz``."""
        tzinfo = zone(tz, self.settings.server.timezone)
        today, _, week = local_day_starts(self.clock.now(), tzinfo)
        return await self.store.counts(self.owner, to_us(today), to_us(week))


__all__ = ["HISTORY_FORMATS", "MAX_HISTORY_LIMIT", "MAX_LIST_LIMIT", "SessionOps"]
