"""The app factory: ``create_app(settings, hub)``; nothing is created at import time."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from .. import __version__
from ..config import Settings
from ..errors import SessionhubError
from ..hub import Hub


def create_app(settings: Settings, hub: Hub, *, close_hub: bool = False) -> FastAPI:
    """Build the app around an open hub; with ``close_hub`` the app closes it at shutdown."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            if close_hub:
                await hub.close()

    app = FastAPI(title="sessionhub", version=__version__, lifespan=lifespan)
    app.state.hub = hub
    app.state.settings = settings

    @app.exception_handler(SessionhubError)
    async def _sessionhub_error(_request: Request, exc: SessionhubError) -> JSONResponse:
        return JSONResponse(exc.to_dict(), status_code=exc.status_code)

    @app.get("/api/health", tags=["meta"])
    async def health() -> dict[str, str]:
        """Liveness: the database kind and the version."""
        return {"status": "ok", "database": hub.database, "version": __version__}

    return app
