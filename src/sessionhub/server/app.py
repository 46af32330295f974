"""The app factory: ``create_app(settings, hub)``; nothing is created at import time.

Layers, outermost first: the body limit (413 before a big body is read), authentication
(401, and the caller's user for ``hub.as_user``), then FastAPI with one router per
resource and the error handlers of ``errors.py``.
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
from .auth import AuthMiddleware
from .errors import install_error_handlers
from .limits import BodyLimitMiddleware
from .live import Live
from .routes import COMMON_ERRORS, agents, checkpoints, inbound, maintenance, messages, sessions, triggers
from .schemas import Health

STATIC_DIR = Path(__file__).parent / "static"

DESCRIPTION = """\
The session layer for AI assistants. Every error is `{"error": {"code", "message"}}`.

With `[server] tokens` configured every `/api` call needs `Authorization: Bearer <token>`
(except `GET /api/health`); each token is a user, and another user's session is a 404.
"""


def create_app(settings: Settings, hub: Hub, *, close_hub: bool = False) -> FastAPI:
    """Build the app around an open hub; with ``close_hub`` the app closes it at shutdown."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await live.start()
        try:
            yield
        finally:
            await live.aclose()
            if close_hub:
                await hub.close()

    app = FastAPI(title="sessionhub", version=__version__, description=DESCRIPTION, lifespan=lifespan)
    app.state.hub = hub
    app.state.settings = settings
    app.state.hub_views = {}  # user -> hub.as_user(user), built on first use (auth.current_hub)
    install_error_handlers(app)
    live = Live(settings, hub)  # agents, event bus, scheduler: a bad config value fails here

    @app.get("/api/health", tags=["meta"], response_model=Health)
    async def health() -> Health:
        """Liveness: the database kind and the version (no token needed)."""
        return Health(status="ok", database=hub.database, version=__version__)

    for module in (sessions, maintenance, messages, checkpoints, agents, inbound, triggers):
        app.include_router(module.router, responses=COMMON_ERRORS)

    # The dashboard: static files using the same REST API and WebSocket as every client.
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.get("/", include_in_schema=False)
    async def dashboard() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-cache"})

    live.install(app)  # chat, tasks and /ws; its change notifier runs inside authentication
    # Added last = outermost: the body limit runs before authentication.
    app.add_middleware(AuthMiddleware, tokens=settings.server.tokens)
    app.add_middleware(BodyLimitMiddleware, max_body_bytes=settings.server.max_body_bytes)
    return app
