"""The hub: the Python API of CONTRACT section 9, and the one place the session rules live.

``Hub`` validates input, applies the rules of CONTRACT section 3 and delegates storage to
a ``Store``. It is bound to one owner (user); ``hub.as_user(name)`` gives a view for
another owner over the same store, which is how the server isolates its users.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import Any, Literal, cast

from . import ids
from .clock import Clock, SystemClock
from .config import AgentSettings, Settings
from .context_ops import ContextOps, context_settings_of
from .errors import InvalidInput, NotFound, PayloadTooLarge, SessionPinned, SessionReadOnly
from .history_ops import HistoryOps
from .model import (
    MESSAGE_STATUSES,
    ROLES,
    SOURCES,
    Message,
    MessageStatus,
    NewMessage,
    Role,
    SearchHit,
    Session,
    SessionPage,
    Stats,
    Usage,
    parts_from_list,
)
from .router import Router
from .routing_ops import RoutingOps
from .store.base import VIEWS, Appended, AutoText, IdempotencyKey, NewSession, SessionChanges, Store, View
from .store.sql import SQLStore
from .text import auto_title, collapse, preview
from .timeutil import group_by_starts, local_day_starts, to_us, zone
from .turn_gate import TurnGate, turn_stopped
from .validation import check_json, check_session_text, check_text

HISTORY_FORMATS = ("messages", "json", "markdown", "text")
MAX_LIST_LIMIT = 500
MAX_HISTORY_LIMIT = 1000


def _check_limit(limit: int, hi: int, name: str = "limit") -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= hi:
        raise InvalidInput(f"{name} must be an integer between 1 and {hi}")
    return limit


def _check_seq(value: int | None, name: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidInput(f"{name} must be a non-negative integer")
    return value


def _check_metadata(value: object, name: str = "metadata") -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidInput(f"{name} must be an object")
    metadata = dict(value)
    check_json(metadata, name)
    return metadata


class Hub(HistoryOps, RoutingOps, ContextOps):
    """Sessions for one owner. Open with ``sessionhub.open(...)``."""

    def __init__(
        self,
        store: Store,
        settings: Settings | None = None,
        *,
        clock: Clock | None = None,
        owner: str = "default",
    ) -> None:
        self.store = store
        self.settings = settings or Settings()
        self.clock = clock or SystemClock()
        self.owner = owner
        self.router = Router(self.settings)  # routing policy: a bad [session]/[dispatch] fails here
        self.turns: TurnGate | None = None  # the server's running turns (turn_gate.py), if any

    # -- lifecycle --------------------------------------------------------------------------

    def as_user(self, owner: str) -> Hub:
        """The same store seen by another owner: their sessions only."""
        if not isinstance(owner, str) or not owner:
            raise InvalidInput("owner must be a non-empty string")
        check_session_text(owner=owner)
        view = Hub(self.store, self.settings, clock=self.clock, owner=owner)
        view.router = self.router  # shared policy, pre-reset hooks and per-key locks
        view.turns = self.turns
        return view

    async def close(self) -> None:
        await self.store.close()

    async def __aenter__(self) -> Hub:
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    @property
    def database(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.store.dialect

    # -- validation helpers -----------------------------------------------------------------

    def _session_id(self, session_id: object) -> str:
        if not ids.is_valid(session_id, "ses"):
            raise NotFound(f"session {str(session_id)[:80]!r} not found")
        return cast(str, session_id)

    def _agent(self, agent: str | None) -> AgentSettings:
        if agent is None:
            return self.settings.default_agent
        found = self.settings.agent(agent)
        if found is None:
            known = ", ".join(a.id for a in self.settings.agents)
            raise InvalidInput(f"unknown agent {agent!r} (known: {known})")
        return found

    def _new_message(self, data: Mapping[str, Any] | NewMessage) -> NewMessage:
        if isinstance(data, NewMessage):
            data = {
                "role": data.role,
                "content": data.content,
                "parts": [p.to_dict() for p in data.parts],
                "status": data.status,
                "usage": data.usage.to_dict(),
                "metadata": dict(data.metadata),
                "created_at": data.created_at,
            }
        if not isinstance(data, Mapping):
            raise InvalidInput("each message must be an object")
        role = data.get("role")
        if role not in ROLES:
            raise InvalidInput(f"unknown role {role!r} (expected one of {', '.join(ROLES)})")
        content = data.get("content", "")
        if not isinstance(content, str):
            raise InvalidInput("content must be a string")
        limit = self.settings.max_message_chars
        if len(content) > limit:
            raise PayloadTooLarge(f"content is {len(content)} characters; the limit is {limit}")
        check_text(content, "content")
        parts = parts_from_list(data.get("parts"))
        status = data.get("status", "complete")
        if status not in MESSAGE_STATUSES:
            raise InvalidInput(f"unknown status {status!r}")
        if not content.strip() and not parts and status == "complete":
            raise InvalidInput("a message needs non-empty content or parts")
        created = data.get("created_at")
        if created is not None and not hasattr(created, "tzinfo"):
            raise InvalidInput("created_at must be a datetime")
        return NewMessage(
            role=cast(Role, role),
            content=content,
            parts=parts,
            status=cast(MessageStatus, status),
            usage=Usage.from_dict(data.get("usage")),
            metadata=_check_metadata(data.get("metadata")),
            created_at=created,
        )

    def _grouper(self, tz: str | None, scheduled: bool = False) -> Callable[[Session], Session]:
        """Sets each session's ``group``; the day boundaries are computed once for a whole page."""
        starts = local_day_starts(self.clock.now(), zone(tz, self.settings.server.timezone))

        def with_group(s: Session) -> Session:
            if scheduled and s.source == "scheduled":
                group = s.source_ref or "scheduled"
            elif s.pinned:
                group = "pinned"
            else:
                group = group_by_starts(s.last_message_at or s.created_at, starts)
            return dataclasses.replace(s, group=group)

        return with_group

    def _with_group(self, s: Session, tz: str | None) -> Session:
        return self._grouper(tz)(s)

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
                metadata=_check_metadata(metadata),
            )
        )

    async def get_session(self, session_id: str, *, tz: str | None = None) -> Session:
        s = await self.store.get_session(self.owner, self._session_id(session_id))
        return self._with_group(s, tz)

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
            self.owner, self._session_id(session_id), SessionChanges(metadata=_check_metadata(metadata))
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
        """PATCH semantics: apply each given field with its rule, in a safe order.

        A body whose outcome breaks a rule (a pinned session archived, an archived one
        pinned, ``pinned`` and ``archived`` both true) is refused before anything is written.
        """
        sid = self._session_id(session_id)
        s = await self.get_session(sid)
        archived_after = archived if archived is not None else s.status == "archived"
        if pinned is True and archived_after:
            raise SessionReadOnly(f"session {sid}: an archived session cannot be pinned; restore it first")
        if archived is True and (pinned if pinned is not None else s.pinned):
            raise SessionPinned(f"session {sid} is pinned; unpin it before archiving")
        if title is not None:
            s = await self.rename(sid, title)
        if metadata is not None:
            s = await self.set_metadata(sid, metadata)
        if archived is False:
            s = await self.restore(sid)
        if pinned is not None:
            s = await (self.pin(sid) if pinned else self.unpin(sid))
        if archived is True:
            s = await self.archive(sid)
        return s

    async def delete_session(self, session_id: str) -> None:
        """Delete the session, its messages and checkpoints for good."""
        sid = self._session_id(session_id)
        async with turn_stopped(self, sid, NotFound(f"session {sid} was deleted; its reply was stopped")):
            await self.store.delete_session(self.owner, sid)

    # -- messages ---------------------------------------------------------------------------

    def _auto(self, items: Sequence[NewMessage]) -> AutoText | None:
        for m in items:
            if m.role == "user" and m.content.strip():
                return AutoText(
                    title=auto_title(m.content, self.settings.title_max_chars), preview=preview(m.content)
                )
        return None

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
        from .render import render_messages

        return render_messages(msgs, format)

    async def history_page(
        self, session_id: str, limit: int = 50, before_seq: int | None = None, after_seq: int | None = None
    ) -> tuple[list[Message], bool]:
        """Like ``get_history`` and also whether more messages exist in the read direction."""
        _check_limit(limit, MAX_HISTORY_LIMIT)
        return await self.store.history(
            self.owner,
            self._session_id(session_id),
            limit,
            _check_seq(before_seq, "before_seq"),
            _check_seq(after_seq, "after_seq"),
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
        _check_limit(limit, MAX_LIST_LIMIT)
        zone(tz, self.settings.server.timezone)
        rows, next_cursor = await self.store.list_sessions(self.owner, v, limit, cursor, agent, channel)
        return SessionPage(tuple(map(self._grouper(tz, v == "scheduled"), rows)), next_cursor)

    async def recent(self, limit: int = 10, tz: str | None = None) -> list[Session]:
        """Sessions with messages, by last activity, archived included."""
        _check_limit(limit, MAX_LIST_LIMIT)
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
    ) -> list[SearchHit]:
        """Full-text search over messages and titles, ranked; every word must match."""
        import re

        if not isinstance(query, str):
            raise InvalidInput("query must be a string")
        terms = re.findall(r"\w+", query.lower())[:16]
        if not terms:
            raise InvalidInput("the search query has no words")
        _check_limit(limit, MAX_LIST_LIMIT)
        raw = await self.store.search(self.owner, terms, limit, self._view(view), agent, channel)
        with_group = self._grouper(None)
        return [SearchHit(with_group(h.session), h.message_id, h.seq, h.snippet, h.score) for h in raw]

    async def stats(self, tz: str | None = None) -> Stats:
        """Counts of CONTRACT section 6; "today" and "this week" in ``tz``."""
        tzinfo = zone(tz, self.settings.server.timezone)
        today, _, week = local_day_starts(self.clock.now(), tzinfo)
        return await self.store.counts(self.owner, to_us(today), to_us(week))


class _Opener:
    """What ``sessionhub.open`` returns: ``async with`` it, or ``await`` it."""

    def __init__(
        self,
        url: str | None,
        config: str | None,
        encryption_key: str | None,
        clock: Clock | None,
        settings: Settings | None,
    ) -> None:
        self._args = (url, config, encryption_key, clock, settings)
        self._hub: Hub | None = None

    async def _open(self) -> Hub:
        url, config, encryption_key, clock, settings = self._args
        if settings is None:
            if config is not None:
                from .config import load_settings

                settings = load_settings(config)
            else:
                settings = Settings()
        Router(settings)  # a bad routing value fails before the database is touched
        context_settings_of(settings)  # a wrong [agents.context] value fails at start
        from .keyconfig import keyring_from

        keyring = keyring_from(settings.encryption, encryption_key)
        store = SQLStore(url if url is not None else settings.database_url, clock=clock, keyring=keyring)
        try:
            await store.open()
        except BaseException:
            await store.close()
            raise
        return Hub(store, settings, clock=clock)

    def __await__(self) -> Any:
        return self._open().__await__()

    async def __aenter__(self) -> Hub:
        self._hub = await self._open()
        return self._hub

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._hub is not None:
            await self._hub.close()


def open(
    url: str | None = None,
    *,
    config: str | None = None,
    encryption_key: str | None = None,
    clock: Clock | None = None,
    settings: Settings | None = None,
) -> _Opener:
    """Open a hub on ``url`` (None: the default SQLite file, or the config's ``[database] url``).

    ``async with sessionhub.open("sqlite:///chat.db") as hub: ...`` or ``hub = await sessionhub.open()``.
    """
    return _Opener(url, config, encryption_key, clock, settings)
