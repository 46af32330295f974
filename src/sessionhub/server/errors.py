"""The one place errors become HTTP responses: ``{"error": {"code", "message"}}``.

- ``SessionhubError`` (the core's hierarchy) → its ``status_code`` and ``code``;
- ``RequestValidationError`` (bad query value, malformed JSON, wrong body shape) → 422
  ``invalid_input`` naming the first offending field;
- Starlette ``HTTPException`` (unknown route 404, 405, 408 and 413 from the body limits) → its
  status; a 405's ``Allow`` lists every method of the path (Starlette names only those of the
  first route that matched the path, e.g. ``GET`` for ``PUT /api/sessions``);
- anything else is a bug: logged with its traceback and answered 500 ``internal``.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.routing import Match, Mount

from ..errors import SessionhubError

log = logging.getLogger("sessionhub.server")

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    408: "request_timeout",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_input",
}


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status, headers=headers)


def _describe(errors: list[Any]) -> str:
    if not errors:
        return "invalid request"
    first = errors[0]
    kind = first.get("type", "")
    loc = [str(p) for p in first.get("loc", ()) if p not in ("body",)]
    if kind == "json_invalid":
        return "malformed JSON body"
    where = ".".join(loc)
    msg = str(first.get("msg", "invalid value"))
    if len(errors) > 1:
        msg += f" (and {len(errors) - 1} more)"
    return f"{where}: {msg}" if where else msg


METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def allowed_methods(request: Request) -> str | None:
    """The methods some route fully matches on the request's path, as an ``Allow`` value.

    Each method is tried against the router (FastAPI nests included routers, so the routes
    are not a flat list to read ``methods`` from). Mounts (static files) match any method
    and answer 405 themselves: they are left out.
    """
    routes = [r for r in request.app.router.routes if not isinstance(r, Mount)]
    allowed = [
        method
        for method in METHODS
        if any(r.matches({**request.scope, "method": method})[0] is Match.FULL for r in routes)
    ]
    return ", ".join(allowed) or None


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(SessionhubError)
    async def _core(_request: Request, exc: SessionhubError) -> JSONResponse:
        if exc.status_code >= 500:
            log.error("%s: %s", exc.code, exc.message)
        return error_response(exc.status_code, exc.code, exc.message)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(422, "invalid_input", _describe(list(exc.errors())))

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, "error")
        message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
        if exc.status_code == 404 and message == "Not Found":
            message = "no such endpoint"
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = allowed_methods(request) or headers.get("Allow", "")
        return error_response(exc.status_code, code, message, headers=headers or None)

    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_response(500, "internal", "internal server error")
