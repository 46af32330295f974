"""``/mcp``: the MCP server of ``integrations/mcp.py`` over streamable HTTP, inside the app.

The route sits behind the app's own middleware like every other: the request guard (Host,
Origin, Content-Type), the body limit and bearer-token authentication, which puts the caller's
user into the request scope; each tool call then works on that user's hub (``auth.hub_for``).
The SDK's own DNS-rebinding check is off because the guard already does it, with the
operator's ``allowed_hosts`` / ``allowed_origins``.

The transport is stateless with JSON answers: each POST is one JSON-RPC exchange, so any
replica can answer any request and nothing is kept between calls.

The MCP SDK is imported, and its session manager started, on the first request to ``/mcp``:
importing it costs ~0.4 s of CPU, a fifth of a server's start, and most servers never get an
MCP client. The manager runs in a task of its own until the app shuts down (``aclose``).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI
from starlette.requests import Request
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from ..errors import Unauthorized
from ..hub import Hub
from .auth import hub_for
from .live import Live

if TYPE_CHECKING:
    from mcp.server.streamable_http_manager import StreamableHTTPSessionManager

PATH = "/mcp"


def _build(app: FastAPI, live: Live) -> tuple[StreamableHTTPSessionManager, ASGIApp]:
    """The SDK's session manager for this app and the ASGI endpoint that hands it requests."""
    from mcp.server.mcpserver import Context
    from mcp.server.streamable_http_manager import StreamableHTTPASGIApp
    from mcp.server.transport_security import TransportSecuritySettings

    from ..integrations.mcp import build_server

    def caller_hub(ctx: Context[Any, Any]) -> Hub:
        request = ctx.request_context.request
        user = request.scope.get("state", {}).get("user") if isinstance(request, Request) else None
        if not isinstance(user, str):
            raise Unauthorized("missing bearer token")
        return hub_for(app, user)

    server = build_server(caller_hub, live.runtime)
    # Builds the session manager; the Starlette app it returns is not used (the route puts the
    # same handler into our app, behind our middleware).
    server.streamable_http_app(
        streamable_http_path=PATH,
        stateless_http=True,
        json_response=True,
        transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
    )
    manager: StreamableHTTPSessionManager = server.session_manager
    return manager, StreamableHTTPASGIApp(manager)


class LazyMCP:
    """The ``/mcp`` endpoint: builds and starts the MCP server on its first request."""

    def __init__(self, app: FastAPI, live: Live) -> None:
        self._app, self._live = app, live
        self._endpoint: ASGIApp | None = None
        self._lock = asyncio.Lock()
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        endpoint = self._endpoint or await self._start()
        await endpoint(scope, receive, send)

    async def _start(self) -> ASGIApp:
        async with self._lock:
            if self._endpoint is None:
                manager, endpoint = _build(self._app, self._live)
                ready = asyncio.Event()

                async def run() -> None:
                    async with manager.run():
                        ready.set()
                        await self._stop.wait()

                self._task = asyncio.create_task(run(), name="mcp-session-manager")
                waiting = asyncio.create_task(ready.wait())
                await asyncio.wait({self._task, waiting}, return_when=asyncio.FIRST_COMPLETED)
                if not ready.is_set():  # the manager failed to start: its error, to this request
                    waiting.cancel()
                    self._task.result()
                self._endpoint = endpoint
            return self._endpoint

    async def aclose(self) -> None:
        """Stop the session manager (the app's shutdown); nothing to do if it never started."""
        self._stop.set()
        if self._task is not None:
            await self._task


def install_mcp(app: FastAPI, live: Live) -> LazyMCP:
    """Add ``/mcp`` to ``app``; the app's lifespan must ``aclose()`` what this returns."""
    endpoint = LazyMCP(app, live)
    # An ASGI app as the endpoint: Starlette passes it the raw request (no Request wrapper).
    app.router.routes.append(
        Route(PATH, endpoint, methods=["GET", "POST", "DELETE"], include_in_schema=False)
    )
    return endpoint
