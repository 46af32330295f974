"""One router per resource, each built by ``api_router`` (strict JSON bodies, see ``jsonbody``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from ..jsonbody import StrictJSONRoute
from ..schemas import ErrorResponse

_DESCRIPTIONS = {
    400: "Bad request",
    401: "Missing or wrong bearer token",
    404: "Unknown, malformed or not yours",
    409: "Rule conflict (session_pinned, session_read_only, idempotency_key_reused)",
    413: "Request body or message too large",
    415: "Unsupported media type",
    422: "Invalid input (bad body, malformed JSON, query value out of range)",
}


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for error statuses, all with the error envelope."""
    return {s: {"model": ErrorResponse, "description": _DESCRIPTIONS[s]} for s in statuses}


# Every /api route may answer these.
COMMON_ERRORS = errors(400, 401, 413, 422)


def api_router(prefix: str, tag: str, route_class: type[StrictJSONRoute] = StrictJSONRoute) -> APIRouter:
    """A resource's router; its routes parse JSON bodies strictly (NaN, lone surrogates: 422)."""
    return APIRouter(prefix=prefix, tags=[tag], route_class=route_class)
