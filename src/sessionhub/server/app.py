"""The app factory: ``create_app(settings, hub)``; nothing is created at import time.

Layers, outermost first: the request guard of ``security.py`` (Host, Origin and
Content-Type refused before anything else runs; security headers on every answer, the
body limit's included), the body limit (413 before a big body is read, 408 for a body
that does not arrive in time), authentication (401, and the caller's user for
``hub.as_user``), then FastAPI with one router per resource and the error handlers of
``errors.py``.

``/docs`` is Swagger UI from the files of the installed ``fastapi-offline`` package,
started by our own ``static/docs.js`` (FastAPI's page loads it from a CDN and starts it
with an inline script, which the Content-Security-Policy forbids).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from .. import __version__
from ..config import Settings
from ..hub import Hub
from . import fastlane
from .auth import AuthMiddleware
from .errors import install_error_handlers
from .limits import BodyLimitMiddleware
from .live import ChangeMiddleware, Live
from .mcp import install_mcp
from .routes import (
    COMMON_ERRORS,
    agents,
    ai_lab,
    branches,
    chat,
    checkpoints,
    conversation_items,
    conversations,
    inbound,
    maintenance,
    messages,
    sessions,
    tasks,
    triggers,
    usage,
)
from .schemas import Health
from .security import RequestGuard
from .ws import websocket_endpoint

STATIC_DIR = Path(__file__).parent / "static"

DESCRIPTION = """\
The session layer for AI assistants. Every error is `{"error": {"code", "message"}}`.

With `[server] tokens` configured every `/api` call needs `Authorization: Bearer <token>`
(except `GET /api/health`); each token is a user, and another user's session is a 404.

`/v1` speaks OpenAI's Conversations API (a conversation is a session, `conv_X` ↔ `ses_X`),
with OpenAI's error shape `{"error": {"message", "type", "param", "code"}}`.

Request bodies are JSON (`Content-Type: application/json`, else 415), except the platform
webhooks and triggers. A POST, PUT, PATCH or DELETE whose `Origin` is neither the server's
own nor in `[server] allowed_origins` gets 403.
"""


def create_app(settings: Settings, hub: Hub, *, close_hub: bool = False) -> FastAPI:
    """Build the app around an open hub; with ``close_hub`` the app closes it at shutdown."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await live.start()
        try:
            yield
        finally:
            await mcp.aclose()
            await live.aclose()
            if close_hub:
                await hub.close()

    app = FastAPI(
        telemetry=None
        if settings.server.opentelemetry
        else {"tracing": False, "metrics": False, "logs": False},
        title="sessionhub",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # served below from local files
        redoc_url=None,  # ReDoc injects inline styles and comes from a CDN: not offered
    )
    app.state.hub = hub
    app.state.settings = settings
    app.state.hub_views = {}  # user -> hub.as_user(user), built on first use (auth.current_hub)
    install_error_handlers(app)
    live = Live(settings, hub)  # agents, event bus, scheduler: a bad config value fails here
    app.state.live = live  # for the chat and tasks routes and /ws

    @app.get("/api/health", tags=["meta"], response_model=Health)
    async def health() -> Health:
        """Liveness: the database kind and the version (no token needed)."""
        return Health(status="ok", database=hub.database, version=__version__)

    # FastAPI (0.137 and later) keeps each included router as a node that a request walks in
    # order, routes and all, before the router that holds its path: so the routers of the calls
    # an assistant makes every turn (append, read the latest messages) come first. Measured
    # in-process: the event loop's CPU per REST append 447 -> 340 us, a third of it the routing.
    # No path of one router can be taken by another (their prefixes and paths differ).
    for module in (
        messages, sessions, ai_lab, maintenance, checkpoints, branches, agents, inbound, triggers, chat, tasks,
        usage,
    ):  # fmt: skip
        app.include_router(module.router, responses=COMMON_ERRORS)
    # OpenAI's Conversations API: the official clients work against /v1 by base_url alone.
    for module in (conversations, conversation_items):
        app.include_router(module.router)
    app.add_api_websocket_route("/ws", websocket_endpoint)
    mcp = install_mcp(app, live)  # /mcp: the sessions for MCP clients

    # The dashboard: static files using the same REST API and WebSocket as every client.
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.get("/", include_in_schema=False)
    async def dashboard() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-cache"})

    @app.get("/usage", include_in_schema=False)
    async def usage_page() -> FileResponse:
        return FileResponse(STATIC_DIR / "usage.html", headers={"Cache-Control": "no-cache"})

    @app.get("/s/{session_id}", include_in_schema=False)
    async def dashboard_session(session_id: str) -> FileResponse:
        """A session's own URL (deep links, back/forward): the same page, which opens it."""
        return FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-cache"})

    app.mount("/docs/assets", StaticFiles(packages=[("fastapi_offline", "static")]), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def docs() -> FileResponse:
        return FileResponse(STATIC_DIR / "docs.html", headers={"Cache-Control": "no-cache"})

    app.add_middleware(ChangeMiddleware, live=live)  # runs inside authentication (needs the user)
    # Added last = outermost: the guard, then the body limit, then authentication.
    app.add_middleware(AuthMiddleware, tokens=settings.server.tokens)
    app.add_middleware(
        BodyLimitMiddleware,
        max_body_bytes=settings.server.max_body_bytes,
        timeout=settings.server.request_timeout_seconds,
    )
    app.add_middleware(RequestGuard, server=settings.server)
    fastlane.install(app.router)  # the LeanRoutes (messages, the list) skip FastAPI's route walk
    return app
