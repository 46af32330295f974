"""The server's live side, one per app: agent turns, the event bus, the scheduler.

``Live(settings, hub)`` builds, at app creation (so a bad value stops start-up with one
line): the :class:`~sessionhub.agents.runtime.AgentRuntime` (a ``ProviderSet`` checked now and
one ``TurnManager``), the :class:`~sessionhub.server.bus.EventBus` (LISTEN/NOTIFY on
PostgreSQL) and the :class:`~sessionhub.scheduler.Scheduler` (``[[tasks]]`` parsed now).
``start()`` (app start-up) takes the server's stream-owner lease (PostgreSQL), marks replies
a crash left ``streaming`` as ``interrupted``, starts listening and scheduling; ``aclose()``
(shutdown) stops every turn (partial replies saved ``interrupted``), the scheduler, the
providers and the bus, then gives the lease up.

It imports neither the routes nor ``/ws``: ``app.py`` installs those (and
:class:`ChangeMiddleware`) and puts the ``Live`` in ``app.state.live`` for them.
:class:`ChangeMiddleware` turns every successful REST write into ``sessions_changed {session_id}`` for the
caller: the session id comes from the path (``/api/sessions/{id}/…``) or from the JSON
answer (``id`` of a session, ``session_id``, ``session_ids``).

Crash recovery (``store/turns_sql.py``): on SQLite at start only (one server streams per
file); on PostgreSQL at start and every ``recovery_interval`` seconds, each server marking
``interrupted`` the replies of servers whose advisory lock is free (dead), never those of a
live replica. A kill -9 of one replica is thus repaired within seconds by any other.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
from collections.abc import Mapping
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..agents.runtime import AgentRuntime
from ..config import Settings
from ..hub import Hub
from ..scheduler import Scheduler
from .bus import EventBus, bus_for

log = logging.getLogger("sessionhub.server")

RECOVERY_INTERVAL = 2.0
_SESSION_PATH = re.compile(r"^/api/sessions/(ses_[A-Za-z0-9_-]{1,64})(?:/|$)")
_WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Routes that publish their own events (or change nothing a dashboard lists).
_SELF_PUBLISHING = ("/api/inbound", "/api/channels/", "/api/tasks", "/api/maintenance/cleanup")
_MAX_SNIFF = 64 * 1024


class Live:
    """Runtime, bus and scheduler of one app; see the module docstring."""

    def __init__(
        self,
        settings: Settings,
        hub: Hub,
        *,
        env: Mapping[str, str] | None = None,
        bus: EventBus | None = None,
        poll_interval: float = 1.0,
        recovery_interval: float = RECOVERY_INTERVAL,
    ) -> None:
        self.settings = settings
        self.hub = hub
        self.bus = bus or bus_for(hub.store.dialect, hub.store.url.sqlalchemy_url)
        self.runtime = AgentRuntime(settings, env=os.environ if env is None else env, notify=self.notify)
        self.runtime.check()
        self.runtime.bind(hub)  # every user's view (hub.as_user) shares its turn gate
        self.scheduler = Scheduler(
            hub, self.runtime, tasks=settings.tasks, clock=hub.clock, poll_interval=poll_interval
        )
        self.started = False
        self.recovery_interval = recovery_interval
        self._recovery: asyncio.Task[None] | None = None
        self._semantic: asyncio.Task[None] | None = None

    async def notify(self, owner: str, session_id: str) -> None:
        """``sessions_changed {session_id}`` to every dashboard of ``owner``, on every replica."""
        await self.bus.session_changed(owner, session_id)

    async def start(self) -> None:
        lease = await self.hub.store.hold_stream_lease()
        await self._recover(starting=True)
        if lease is not None:  # replicas can exist: look for dead ones' replies every few seconds
            self._recovery = asyncio.create_task(self._recover_forever(), name="sessionhub-recovery")
        await self.bus.start()
        await self.scheduler.start()
        # Semantic search: the model loads and the embedding thread starts in the background;
        # a backlog of messages without vectors (an upgrade, an import, a restart) is caught
        # up from now on, and every new message is embedded after its append.
        self._semantic = asyncio.create_task(self._start_semantic(), name="sessionhub-semantic")
        self.started = True

    async def _start_semantic(self) -> None:
        try:
            if self.hub.semantic_refusal() is None:
                await self.hub.start_semantic()
        except Exception as exc:  # semantic search stays available on demand
            log.warning("semantic search: background embedding not started: %s", exc)

    async def _recover(self, *, starting: bool) -> None:
        count = await self.hub.store.recover_streaming(starting=starting)
        if count:
            log.warning("marked %d reply(ies) of a crashed server as interrupted", count)

    async def _recover_forever(self) -> None:
        """Every ``recovery_interval``: interrupt the replies of replicas that died meanwhile."""
        while True:
            await asyncio.sleep(self.recovery_interval)
            try:
                await self._recover(starting=False)
            except Exception as exc:  # the database may be down for a while; try again later
                log.warning("crash recovery failed, retrying: %s", exc)

    async def aclose(self) -> None:
        if self._semantic is not None:
            self._semantic.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._semantic
        if self._recovery is not None:
            self._recovery.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._recovery
        await self.scheduler.aclose()
        await self.runtime.aclose()
        await self.bus.aclose()
        await self.hub.store.release_stream_lease()


def _ids_in(body: Any) -> list[str]:
    if not isinstance(body, dict):
        return []
    found: list[str] = []
    value = body.get("id")
    if isinstance(value, str) and value.startswith("ses_"):
        found.append(value)
    value = body.get("session_id")
    if isinstance(value, str):
        found.append(value)
    many = body.get("session_ids")
    if isinstance(many, list):
        found.extend(v for v in many if isinstance(v, str))
    return found


class ChangeMiddleware:
    """Publishes ``sessions_changed`` after each successful REST write; see the module docstring."""

    def __init__(self, app: ASGIApp, live: Live) -> None:
        self.app = app
        self.live = live

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if (
            scope["type"] != "http"
            or scope["method"] not in _WRITE_METHODS
            or not path.startswith("/api/")
            or path.endswith("/chat")
            or path.startswith(_SELF_PUBLISHING)
        ):
            await self.app(scope, receive, send)
            return
        match = _SESSION_PATH.match(path)
        status = 0
        sniff: list[bytes] = []
        sniffing = match is None

        async def watch(message: Message) -> None:
            nonlocal status, sniffing
            if message["type"] == "http.response.start":
                status = int(message["status"])
                if sniffing:
                    headers = dict(message.get("headers", []))
                    sniffing = headers.get(b"content-type", b"").startswith(b"application/json")
            elif message["type"] == "http.response.body" and sniffing:
                sniff.append(message.get("body", b""))
                if sum(len(b) for b in sniff) > _MAX_SNIFF:
                    sniffing = False
                    sniff.clear()
            await send(message)

        await self.app(scope, receive, watch)
        if not 200 <= status < 300:
            return
        user = scope.get("state", {}).get("user")
        if not isinstance(user, str):
            return
        ids = [match.group(1)] if match is not None else []
        if sniffing and sniff:
            try:
                ids = _ids_in(json.loads(b"".join(sniff)))
            except ValueError:
                ids = []
        for session_id in dict.fromkeys(ids):
            try:
                await self.live.notify(user, session_id)
            except Exception:
                log.warning("could not publish sessions_changed", exc_info=True)
