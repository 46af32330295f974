"""Live events between the server's parts and its replicas: ``publish(user, event)`` / ``subscribe(user)``.

``EventBus`` is the interface; two backends:

- :class:`MemoryBus` (SQLite, or any single process): subscribers of a user get the event
  in-process.
- :class:`PostgresBus` (PostgreSQL): the same, plus ``NOTIFY sessionhub_events`` so every
  other server process sharing the database delivers it to its own subscribers. One psycopg
  async connection per process is dedicated to ``LISTEN`` (reconnected with backoff if it
  drops); a publish is ``SELECT pg_notify('sessionhub_events', payload)`` on a second one.
  The payload is JSON ``{"user", "session_id", "origin", "event"}``; ``origin`` is the
  process's random id, so a process ignores its own notifications (it delivered them
  locally already). PostgreSQL limits a payload to 8000 bytes: an event too big for that
  is delivered locally only (only small events such as ``sessions_changed`` cross replicas).

A subscription is a bounded queue: a slow consumer loses the oldest events rather than
slowing a publisher (``sessions_changed`` is a hint to refresh, so a lost one is harmless
once a newer one arrives).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
from collections.abc import AsyncIterator
from typing import Any

log = logging.getLogger("sessionhub.bus")

CHANNEL = "sessionhub_events"
MAX_PAYLOAD = 7900
QUEUE_SIZE = 256


def sessions_changed(session_id: str) -> dict[str, Any]:
    return {"type": "sessions_changed", "session_id": session_id}


class Subscription:
    """One subscriber's queue of events; iterate it or ``await get()``; ``close()`` when done."""

    def __init__(self, bus: EventBus, user: str) -> None:
        self.bus = bus
        self.user = user
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(QUEUE_SIZE)

    def put(self, event: dict[str, Any]) -> None:
        if self.queue.full():
            with contextlib.suppress(asyncio.QueueEmpty):
                self.queue.get_nowait()
        self.queue.put_nowait(event)

    async def get(self) -> dict[str, Any]:
        return await self.queue.get()

    def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
        return self._iter()

    async def _iter(self) -> AsyncIterator[dict[str, Any]]:
        while True:
            yield await self.queue.get()

    def close(self) -> None:
        self.bus._remove(self)


class EventBus:
    """Per-user fan-out of live events (the in-process part every backend shares)."""

    def __init__(self) -> None:
        self._subs: dict[str, set[Subscription]] = {}

    async def start(self) -> None:
        return None

    async def aclose(self) -> None:
        return None

    def subscribe(self, user: str) -> Subscription:
        sub = Subscription(self, user)
        self._subs.setdefault(user, set()).add(sub)
        return sub

    def _remove(self, sub: Subscription) -> None:
        subs = self._subs.get(sub.user)
        if subs is not None:
            subs.discard(sub)
            if not subs:
                del self._subs[sub.user]

    def deliver(self, user: str, event: dict[str, Any]) -> None:
        """Give ``event`` to this process's subscribers of ``user``."""
        for sub in list(self._subs.get(user, ())):
            sub.put(event)

    async def publish(self, user: str, event: dict[str, Any]) -> None:
        self.deliver(user, event)

    async def session_changed(self, user: str, session_id: str) -> None:
        """Publish ``sessions_changed {session_id}`` to every dashboard of ``user``."""
        await self.publish(user, sessions_changed(session_id))


class MemoryBus(EventBus):
    """In-process only (one server process)."""


class PostgresBus(EventBus):
    """In-process delivery plus LISTEN/NOTIFY across the processes sharing one database."""

    def __init__(self, conninfo: str, *, channel: str = CHANNEL) -> None:
        super().__init__()
        self.conninfo = conninfo
        self.channel = channel
        self.origin = secrets.token_hex(8)
        self._listener: asyncio.Task[None] | None = None
        self._pub: Any = None
        self._pub_lock = asyncio.Lock()
        # NOTIFY only between start() and aclose(): a bus never started (an app run without its
        # lifespan) would otherwise open a connection nothing ever closes.
        self._open = False
        self.listening = asyncio.Event()

    async def start(self) -> None:
        self._open = True
        if self._listener is None:
            self._listener = asyncio.create_task(self._listen(), name="sessionhub-bus-listen")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.listening.wait(), 10)

    async def aclose(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._listener
            self._listener = None
        self._open = False
        async with self._pub_lock:  # a NOTIFY in flight finishes first; none reconnects after
            await self._drop_pub()

    async def _drop_pub(self) -> None:
        """Close the NOTIFY connection (a dropped reference would leave it open until GC)."""
        pub, self._pub = self._pub, None
        if pub is not None:
            with contextlib.suppress(Exception):
                await pub.close()

    async def _listen(self) -> None:
        import psycopg

        delay = 0.5
        while True:
            try:
                conn = await psycopg.AsyncConnection.connect(self.conninfo, autocommit=True)
                async with conn:
                    await conn.execute(f"LISTEN {self.channel}")
                    self.listening.set()
                    delay = 0.5
                    async for note in conn.notifies():
                        self._receive(note.payload)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.listening.clear()
                log.warning("event bus: LISTEN connection lost (%s); retrying in %.1fs", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)

    def _receive(self, payload: str) -> None:
        try:
            data = json.loads(payload)
        except ValueError:
            return
        if not isinstance(data, dict) or data.get("origin") == self.origin:
            return
        user, event = data.get("user"), data.get("event")
        if not isinstance(event, dict) and isinstance(data.get("session_id"), str):
            event = sessions_changed(data["session_id"])
        if isinstance(user, str) and isinstance(event, dict):
            self.deliver(user, event)

    async def publish(self, user: str, event: dict[str, Any]) -> None:
        self.deliver(user, event)
        payload = json.dumps(
            {"user": user, "session_id": event.get("session_id"), "origin": self.origin, "event": event},
            separators=(",", ":"),
        )
        if len(payload.encode()) > MAX_PAYLOAD:
            return
        import psycopg

        async with self._pub_lock:
            for attempt in range(2):
                if not self._open:
                    return
                try:
                    if self._pub is None or self._pub.closed:
                        self._pub = await psycopg.AsyncConnection.connect(self.conninfo, autocommit=True)
                    await self._pub.execute("SELECT pg_notify(%s, %s)", (self.channel, payload))
                    return
                except Exception as exc:
                    await self._drop_pub()
                    if attempt:
                        log.warning("event bus: NOTIFY failed: %s", exc)


def libpq_url(sqlalchemy_url: str) -> str:
    """``postgresql+psycopg://…`` → ``postgresql://…`` for psycopg."""
    scheme, sep, rest = sqlalchemy_url.partition("://")
    return "postgresql" + sep + rest if scheme.startswith("postgresql") else sqlalchemy_url


def bus_for(dialect: str, sqlalchemy_url: str | None) -> EventBus:
    """The bus for a store: PostgreSQL fans out across replicas, anything else stays in-process."""
    if dialect == "postgresql" and sqlalchemy_url:
        return PostgresBus(libpq_url(sqlalchemy_url))
    return MemoryBus()
