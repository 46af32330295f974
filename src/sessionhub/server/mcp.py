"""``/mcp``: the MCP server of ``integrations/mcp.py`` over streamable HTTP, inside the app.

The route sits behind the app's own middleware like every other: the request guard (Host,
Origin, Content-Type), the body limit and bearer-token authentication, which puts the caller's
user into the request scope; each tool call then works on that user's hub (``auth.hub_for``).
The SDK's own DNS-rebinding check is off because the guard already does it, with the
operator's ``allowed_hosts`` / ``allowed_origins``.

The transport is stateless with JSON answers: each POST is one JSON-RPC exchange, so any
replica can answer any request and nothing is kept between calls.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Any

from fastapi import FastAPI
from mcp.server.mcpserver import Context
from mcp.server.streamable_http_manager import StreamableHTTPASGIApp, StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from starlette.requests import Request
from starlette.routing import Route

from ..errors import Unauthorized
from ..hub import Hub
from ..integrations.mcp import build_server
from .auth import hub_for
from .live import Live

PATH = "/mcp"


def install_mcp(app: FastAPI, live: Live) -> AbstractAsyncContextManager[None]:
    """Add ``/mcp`` to ``app``; returns the context manager the app's lifespan must enter."""

    def caller_hub(ctx: Context[Any, Any]) -> Hub:
        request = ctx.request_context.request
        user = request.scope.get("state", {}).get("user") if isinstance(request, Request) else None
        if not isinstance(user, str):
            raise Unauthorized("missing bearer token")
        return hub_for(app, user)

    server = build_server(caller_hub, live.runtime)
    # Builds the session manager; the Starlette app it returns is not used (the route below
    # puts the same handler into our app, behind our middleware).
    server.streamable_http_app(
        streamable_http_path=PATH,
        stateless_http=True,
        json_response=True,
        transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
    )
    manager: StreamableHTTPSessionManager = server.session_manager
    # An ASGI app as the endpoint: Starlette passes it the raw request (no Request wrapper).
    endpoint = StreamableHTTPASGIApp(manager)
    app.router.routes.append(
        Route(PATH, endpoint, methods=["GET", "POST", "DELETE"], include_in_schema=False)
    )
    return manager.run()
