"""The server's live side, one per app: agent turns, the event bus, the scheduler.

``Live(settings, hub)`` builds, at app creation (so a bad value stops start-up with one
line): the :class:`~sessionhub.conversation.AgentRuntime` (a ``ProviderSet`` checked now and
one ``TurnManager``), the :class:`~sessionhub.server.bus.EventBus` (LISTEN/NOTIFY on
PostgreSQL) and the :class:`~sessionhub.scheduler.Scheduler` (``[[tasks]]`` parsed now).
``start()`` (app start-up) marks replies a crash left ``streaming`` as ``interrupted``,
starts listening and scheduling; ``aclose()`` (shutdown) stops every turn (partial replies
saved ``interrupted``), the scheduler, the providers and the bus.

``install(app)`` adds the chat and tasks routes, ``/ws``, and :class:`ChangeMiddleware`,
which turns every successful REST write into ``sessions_changed {session_id}`` for the
caller: the session id comes from the path (``/api/sessions/{id}/…``) or from the JSON
answer (``id`` of a session, ``session_id``, ``session_ids``).

With several replicas on PostgreSQL a starting server only interrupts replies started more
than ``STALE_STREAMING`` ago: a younger one may be streaming on another replica.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..config import Settings
from ..conversation import AgentRuntime
from ..hub import Hub
from ..scheduler import Scheduler, parse_tasks
from ..store.sql import to_us
from .bus import EventBus, bus_for

if TYPE_CHECKING:
    from fastapi import FastAPI

log = logging.getLogger("sessionhub.server")

STALE_STREAMING = timedelta(minutes=10)
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
    ) -> None:
        self.settings = settings
        self.hub = hub
        store_url = getattr(getattr(hub.store, "url", None), "sqlalchemy_url", None)
        self.bus = bus or bus_for(hub.store.dialect, store_url)
        self.runtime = AgentRuntime(settings, env=os.environ if env is None else env, notify=self.notify)
        self.runtime.check()
        self.scheduler = Scheduler(
            hub, self.runtime, tasks=parse_tasks(settings), clock=hub.clock, poll_interval=poll_interval
        )
        self.started = False

    async def notify(self, owner: str, session_id: str) -> None:
        """``sessions_changed {session_id}`` to every dashboard of ``owner``, on every replica."""
        await self.bus.session_changed(owner, session_id)

    async def start(self) -> None:
        interrupt = getattr(self.hub.store, "interrupt_streaming", None)
        if interrupt is not None:
            before = None
            if self.hub.store.dialect == "postgresql":
                before = to_us(self.hub.clock.now() - STALE_STREAMING)
            count = await interrupt(before)
            if count:
                log.warning("marked %d reply(ies) cut by a previous crash as interrupted", count)
        await self.bus.start()
        await self.scheduler.start()
        self.started = True

    async def aclose(self) -> None:
        await self.scheduler.aclose()
        await self.runtime.aclose()
        await self.bus.aclose()

    def install(self, app: FastAPI) -> None:
        from .routes import COMMON_ERRORS, chat, tasks
        from .ws import websocket_endpoint

        app.state.live = self
        app.include_router(chat.router, responses=COMMON_ERRORS)
        app.include_router(tasks.router, responses=COMMON_ERRORS)
        app.add_api_websocket_route("/ws", websocket_endpoint)
        app.add_middleware(ChangeMiddleware, live=self)


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
