"""What both adapters share: a session found by a key, bounded reads, pop, a sync bridge.

``KeyedSession`` maps a foreign conversation id (any string) to a sessionhub session.
A ``ses_…`` id that is valid is used as it is; any other string is namespaced into the
session key ``{agent}:{integration}:{foreign_id}`` and resolved through the routing
store's key table (``route_keys``), the same compare-and-swap binding the channel router
uses: concurrent first calls, even from several processes, end in one session. As for
channels, an archived or deleted session under the key is replaced by a new one on the
next write; reads of an archived session still see its history.

``pop_last`` removes the newest message with ``hub.pop_message(session_id)`` (O(1), the
older messages keep their ids).

``run_sync`` runs a coroutine on one background event loop thread shared by all
adapters in the process, so sync APIs work with and without a running loop.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Coroutine, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from .. import ids
from ..errors import InvalidInput, NotFound, SessionReadOnly
from ..model import Message, NewMessage

if TYPE_CHECKING:
    from ..config import AgentSettings
    from ..hub import Hub
    from ..store.routing_sql import RoutingStore

T = TypeVar("T")

PAGE = 1000  # the hub's largest history page
MAX_KEY_ID_CHARS = 1000


class KeyedSession:
    """A sessionhub session addressed by a sessionhub id or a foreign conversation id."""

    def __init__(
        self, hub: Hub, integration: str, ident: str, *, agent: str | None, create: bool, title: str | None
    ) -> None:
        if not isinstance(ident, str) or not ident:
            raise InvalidInput("the session id must be a non-empty string")
        if len(ident) > MAX_KEY_ID_CHARS:
            raise InvalidInput(f"the session id must be at most {MAX_KEY_ID_CHARS} characters")
        self.hub = hub
        self.integration = integration
        self.ident = ident
        self.create = create
        self.title = title
        self.explicit = ids.is_valid(ident, "ses")
        self.spec = _agent(hub, agent)
        self.key = None if self.explicit else f"{self.spec.id}:{integration}:{ident}"
        self._cached: str | None = ident if self.explicit else None

    # -- resolution -------------------------------------------------------------------------

    def _store(self) -> RoutingStore:
        return self.hub.routing_store()

    async def session_id(self, *, write: bool) -> str | None:
        """The session id, binding a new session under the key for a write (if ``create``).

        None only for a read when nothing exists under the key yet.
        """
        if self._cached is not None:
            return self._cached
        assert self.key is not None
        hub, store = self.hub, self._store()
        state = await store.route_state(hub.owner, self.key, self.key, None)
        current = state.session
        if current is not None and (current.status == "active" or not write):
            self._cached = current.id
            return current.id
        if not write:
            return None
        if not self.create:
            raise NotFound(f"no session under key {self.key!r} (create=False)")
        from ..hub.router import seen_limits
        from ..store.base import NewSession

        new = NewSession(
            id=ids.new_id("ses"),
            owner=hub.owner,
            key=self.key,
            title=self.title or "",
            title_source="user" if self.title else "auto",
            agent=self.spec.id,
            provider=self.spec.provider,
            model=self.spec.model,
            source="manual",
            source_ref=None,
            channel="web",
            metadata={"integration": {"name": self.integration, "session_id": self.ident}},
        )
        bound = await store.bind_route(
            hub.owner, self.key, None, new, None, None, None, seen_limits(hub.settings)
        )
        assert bound.session is not None
        self._cached = bound.session.id
        return bound.session.id

    def forget(self) -> bool:
        """Drop the cached id (it was deleted or archived); True if it may be re-resolved."""
        if self.explicit:
            return False
        self._cached = None
        return True

    # -- operations -------------------------------------------------------------------------

    async def read_latest(self, limit: int | None) -> list[Message]:
        """The latest ``limit`` messages (all for None), oldest first, reading only those."""
        if limit is not None and limit <= 0:
            return []
        sid = await self.session_id(write=False)
        if sid is None:
            return []
        try:
            return await _latest(self.hub, sid, limit)
        except NotFound:
            if not self.forget():
                raise
        sid = await self.session_id(write=False)  # the key's session was deleted: its successor
        return [] if sid is None else await _latest(self.hub, sid, limit)

    async def append(self, items: Sequence[Mapping[str, Any] | NewMessage]) -> list[Message]:
        """Append in one transaction (batches of 10,000 beyond that)."""
        if not items:
            return []
        for attempt in (0, 1):
            sid = await self.session_id(write=True)
            assert sid is not None
            try:
                out: list[Message] = []
                for i in range(0, len(items), 10_000):
                    out += await self.hub.add_messages(sid, items[i : i + 10_000])
                return out
            except (NotFound, SessionReadOnly):
                if attempt or not self.create or not self.forget():
                    raise
        raise AssertionError("unreachable")

    async def clear(self) -> None:
        """Delete every message; the session (and its key) stays."""
        sid = await self.session_id(write=False)
        if sid is None:
            return
        try:
            await self.hub.clear_history(sid)
        except NotFound:
            if not self.forget():
                raise

    async def pop_last(self) -> Message | None:
        """Remove and return the newest message, None if the session is empty."""
        sid = await self.session_id(write=False)
        if sid is None:
            return None
        try:
            return await self.hub.pop_message(sid)
        except NotFound:
            if not self.forget():
                raise
            return None


def _agent(hub: Hub, agent: str | None) -> AgentSettings:
    if agent is None:
        return hub.settings.default_agent
    found = hub.settings.agent(agent)
    if found is None:
        known = ", ".join(a.id for a in hub.settings.agents)
        raise InvalidInput(f"unknown agent {agent!r} (known: {known})")
    return found


async def _latest(hub: Hub, sid: str, limit: int | None) -> list[Message]:
    """Page backwards from the newest message until ``limit`` (or all) are read."""
    pages: list[list[Message]] = []
    want = limit
    before: int | None = None
    while want is None or want > 0:
        n = PAGE if want is None else min(PAGE, want)
        page, more = await hub.history_page(sid, n, before_seq=before)
        if page:
            pages.append(page)
            before = page[0].seq
            if want is not None:
                want -= len(page)
        if not more or not page:
            break
    return [m for page in reversed(pages) for m in page]


# -- the sync bridge ------------------------------------------------------------------------

_loop: asyncio.AbstractEventLoop | None = None
_thread: threading.Thread | None = None
_guard = threading.Lock()


def _background_loop() -> asyncio.AbstractEventLoop:
    global _loop, _thread
    with _guard:
        if _loop is None or _thread is None or not _thread.is_alive():
            loop = asyncio.new_event_loop()
            thread = threading.Thread(target=loop.run_forever, name="sessionhub-integrations", daemon=True)
            thread.start()
            _loop, _thread = loop, thread
        return _loop


def run_sync(coro: Awaitable[T]) -> T:
    """Run ``coro`` (any awaitable) to completion from sync code, whether or not this thread runs a loop.

    The coroutine runs on a daemon thread's event loop shared by all adapters (the hub's
    store does its I/O in its own thread pool, so any loop may drive it). Called from
    inside a running loop it blocks that loop until the call finishes, as any sync I/O
    does; prefer the async methods there.
    """
    loop = _background_loop()
    if threading.current_thread() is _thread:
        if isinstance(coro, Coroutine):
            coro.close()
        raise RuntimeError("a sync sessionhub adapter method was called on its own background loop")
    return asyncio.run_coroutine_threadsafe(_await(coro), loop).result()


async def _await(awaitable: Awaitable[T]) -> T:
    return await awaitable
