"""Bearer-token authentication and per-user isolation.

With ``[server] tokens`` (or ``SESSIONHUB_TOKEN``) configured, every ``/api``, ``/mcp`` and
``/v1`` (the OpenAI Conversations API, where the token is the client's API key) request needs
``Authorization: Bearer <token>``; the token maps to a user name and the request works on
``hub.as_user(user)``, so another user's session is simply not found (404). Without tokens
every request is user ``default`` (the server then binds to loopback only, see ``run.py``).

``GET /api/health`` stays open (liveness probes carry no credentials; it reveals only the
database kind and the version). The OpenAPI schema and ``/docs`` are open too: they
describe the API, not anyone's data.

Tokens are compared with ``hmac.compare_digest`` against every configured token (no early
exit, so the time does not depend on which token matched), and never logged.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from typing import Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.types import ASGIApp, Receive, Scope, Send

from ..errors import Unauthorized
from ..hub import Hub
from .errors import error_response

OPEN_PATHS = frozenset({"/api/health"})
# Paths that need a bearer token when the server has tokens (the dashboard's files do not).
PROTECTED_PREFIXES = ("/api", "/mcp", "/v1")
DEFAULT_USER = "default"


class TokenTable:
    """The configured tokens; ``user_for`` finds a token's user in constant time."""

    def __init__(self, tokens: Mapping[str, str]) -> None:
        self._entries = [(t.encode("utf-8"), u) for t, u in tokens.items()]

    def __bool__(self) -> bool:
        return bool(self._entries)

    def user_for(self, presented: str) -> str | None:
        candidate = presented.encode("utf-8", "surrogateescape")
        found: str | None = None
        for token, user in self._entries:
            if hmac.compare_digest(candidate, token) and found is None:
                found = user
        return found


def bearer_token(headers: list[tuple[bytes, bytes]]) -> str | None:
    for name, value in headers:
        if name == b"authorization":
            scheme, _, rest = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and rest.strip():
                return rest.strip()
            return None
    return None


class AuthMiddleware:
    """Puts the caller's user name into ``scope["state"]["user"]`` or answers 401."""

    def __init__(
        self, app: ASGIApp, tokens: Mapping[str, str], open_prefixes: tuple[str, ...] = ("/api/channels/",)
    ) -> None:
        self.app = app
        self.table = TokenTable(tokens)
        self.open_prefixes = open_prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        state = scope.setdefault("state", {})
        if not self.table:
            state["user"] = DEFAULT_USER
        elif path.startswith(PROTECTED_PREFIXES) and path not in OPEN_PATHS:
            token = bearer_token(scope.get("headers", []))
            user = self.table.user_for(token) if token is not None else None
            # Webhooks may instead carry the platform's signature (checked by the route).
            if user is None and not any(path.startswith(p) for p in self.open_prefixes):
                message = "missing bearer token" if token is None else "invalid bearer token"
                if path.startswith("/v1"):
                    message = (
                        "You didn't provide an API key. You need to provide your API key in an "
                        "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY)."
                        if token is None
                        else "Incorrect API key provided."
                    )
                response = error_response(
                    401, "unauthorized", message, {"WWW-Authenticate": "Bearer"}, path=path
                )
                await response(scope, receive, send)
                return
            state["user"] = user
        await self.app(scope, receive, send)


_bearer = HTTPBearer(
    auto_error=False,
    description="`Authorization: Bearer <token>`; required when the server has tokens configured",
)


async def current_user(
    request: Request, _credentials: HTTPAuthorizationCredentials | None = Depends(_bearer)
) -> str:
    """The authenticated user (the middleware did the check; this documents it in OpenAPI).

    ``async`` on purpose: FastAPI runs plain ``def`` dependencies in a thread pool, which cost
    two thread hops per request on the hot path.
    """
    return request_user(request)


async def current_hub(
    request: Request, _credentials: HTTPAuthorizationCredentials | None = Depends(_bearer)
) -> Hub:
    """The hub seen by the caller: their sessions only.

    Depends on the bearer scheme directly rather than through ``current_user`` (same check,
    same OpenAPI security entry): each nested dependency costs FastAPI a resolution per
    request. Each user's view is built once per app (users are the configured tokens).
    """
    return request_hub(request)


def request_user(request: Request) -> str:
    """``current_user`` without FastAPI: the user the middleware put in the request's state."""
    user = getattr(request.state, "user", None)
    if not isinstance(user, str):
        raise Unauthorized("missing bearer token")
    return user


def request_hub(request: Request) -> Hub:
    """``current_hub`` without FastAPI (``leanroute.py`` resolves it with this)."""
    return hub_for(request.app, request_user(request))


def hub_for(app: Any, user: str) -> Hub:
    """``user``'s view of the app's hub, built once per user (users are the configured tokens)."""
    hub: Hub = app.state.hub
    if hub.owner == user:
        return hub
    views: dict[str, Hub] = app.state.hub_views
    view = views.get(user)
    if view is None or view.store is not hub.store:
        view = views[user] = hub.as_user(user)
    return view
