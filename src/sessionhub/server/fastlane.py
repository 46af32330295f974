"""``FastLane``: a request for a ``LeanRoute`` goes straight to it, past FastAPI's route walk.

FastAPI (0.137 and later) keeps every included router as a node that a request walks: the
application's router asks each node in turn whether it matches, the matching node matches
its routes again to pick one, records the choice in the scope, and hands the request to the
route, which looks the choice up once more. For an append that walk was the largest share of
the event loop's CPU left around the route itself (``bench/profile_route.py`` under cProfile:
``_match``, ``_handle_selected`` and the nodes' ``handle``).

``FastLane`` sits where FastAPI's router runs (inside the error handlers and every
middleware) and knows the ``LeanRoute`` routes as FastAPI included them: for a request whose
method and path one of them matches in full, it makes the same changes to the scope that
FastAPI's walk makes (the path parameters, the endpoint, the route, and with OpenTelemetry on
the route named in the request's span) and calls that route's application, the one FastAPI
would call; every other request, and a path whose method does not match (405), goes to
FastAPI's router unchanged. The lanes are kept by request method, so a request tries only the
lanes of its own method.

The lanes are read from the router at the first request, when every route is in place. A
lane is kept only if FastAPI's own walk picks the same route for a path made from the lane's
template (each parameter ``x``), so a route added before it that would take its paths turns
the lane off rather than changing an answer (and so does a parameter that ``x`` does not fit,
an ``int`` one: such a route goes FastAPI's way). With a FastAPI that lacks the internals used
here (``AVAILABLE`` False), every request goes the usual way.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from starlette.routing import Match
from starlette.types import ASGIApp, Receive, Scope, Send

from .leanroute import LeanRoute

try:  # FastAPI's internals (tested with 0.165)
    from fastapi.routing import (
        _FASTAPI_EFFECTIVE_ROUTE_CONTEXT_KEY,
        APIRouter,
        _EffectiveRouteContext,
        _get_fastapi_scope,
        _IncludedRouter,
    )

    AVAILABLE = True
except ImportError:  # pragma: no cover - another FastAPI than the tested ones
    AVAILABLE = False

_route_selected: Callable[..., None] | None
try:  # FastAPI's native OpenTelemetry (0.165 has it): the span of a request names its route
    from fastapi.telemetry._api import _route_selected
except ImportError:  # pragma: no cover - a FastAPI without it: no span to name
    _route_selected = None

_PARAM = re.compile(r"{([^}:]+)(?::[^}]*)?}")


class FastLane:
    """The innermost ASGI layer of ``router``: ``LeanRoute`` requests skip the route walk."""

    def __init__(self, app: ASGIApp, router: Any) -> None:
        self.app = app
        self.router = router
        self._by_method: dict[str, list[Any]] | None = None  # the lanes a request method can take

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            if self._by_method is None:
                self._build()
            assert self._by_method is not None
            for lane in self._by_method.get(scope["method"], ()):
                match, child = lane.matches(scope)
                if match is Match.FULL:
                    scope.update(child)
                    scope["route"] = lane.original_route
                    scope.setdefault("router", self.router)
                    _get_fastapi_scope(scope)[_FASTAPI_EFFECTIVE_ROUTE_CONTEXT_KEY] = lane
                    if _route_selected is not None and "fastapi.telemetry" in scope:
                        _route_selected(scope=scope, path=lane.path_format)  # [server] opentelemetry
                    await lane.app(scope, receive, send)
                    return
        await self.app(scope, receive, send)

    def _build(self) -> list[Any]:
        lanes = [lane for lane in _lean_contexts(self.router) if _walk_picks(self.router, lane)]
        by_method: dict[str, list[Any]] = {}
        for lane in lanes:  # a lane whose methods lack the request's matches it only PARTIAL
            for method in lane.methods:
                by_method.setdefault(method, []).append(lane)
        self._by_method = by_method
        return lanes


def _lean_contexts(router: Any) -> list[Any]:
    """The ``LeanRoute`` routes as FastAPI included them, in FastAPI's order."""
    if not AVAILABLE:
        return []
    out: list[Any] = []
    for node in router.routes:
        if isinstance(node, _IncludedRouter):
            out.extend(_lean_contexts_of(node))
    return out


def _lean_contexts_of(node: Any) -> list[Any]:
    out: list[Any] = []
    for candidate in node.effective_candidates():
        if isinstance(candidate, _IncludedRouter):
            out.extend(_lean_contexts_of(candidate))
        elif (
            isinstance(candidate, _EffectiveRouteContext)
            and isinstance(candidate.original_route, LeanRoute)
            and candidate.app is not None
        ):
            out.append(candidate)
    return out


def _probe_scope(lane: Any, method: str) -> dict[str, Any]:
    path = _PARAM.sub("x", lane.path_format)
    return {
        "type": "http",
        "method": method,
        "path": path,
        "root_path": "",
        "path_params": {},
        "headers": [],
        "query_string": b"",
    }


def _walk_picks(router: Any, lane: Any) -> bool:
    """Whether FastAPI's walk sends a request made from the lane's template to the lane."""
    for method in lane.methods:
        scope = _probe_scope(lane, method)
        match, _ = lane.matches(scope)
        if match is not Match.FULL:
            return False
        for node in router.routes:
            if isinstance(node, _IncludedRouter):
                found, _, _, context = node._match(dict(scope))
                if found is Match.FULL:
                    if context is not lane:
                        return False
                    break
            else:
                found, _ = node.matches(dict(scope))
                if found is Match.FULL:
                    return False
        else:
            return False
    return True


def install(router: Any) -> None:
    """Put a ``FastLane`` at the bottom of ``router``'s (the application's router's) stack."""
    if AVAILABLE and isinstance(router, APIRouter):
        router.middleware_stack = FastLane(router.middleware_stack, router)


__all__ = ["AVAILABLE", "FastLane", "install"]
