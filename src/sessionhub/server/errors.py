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

from ..errors import InvalidInput, SessionhubError
from .openai_errors import PARSE_ERROR, InvalidParam, is_v1, openai_error_body

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
    status: int, code: str, message: str, headers: dict[str, str] | None = None, *, path: str = ""
) -> JSONResponse:
    """The error answer; under ``/v1`` in OpenAI's shape (``openai_errors.py``)."""
    if is_v1(path):
        return JSONResponse(openai_error_body(status, message), status_code=status, headers=headers)
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status, headers=headers)


def _v1_validation(errors: list[Any]) -> JSONResponse:
    """A refused ``/v1`` request value as OpenAI words it: 400 with ``param``."""
    first = errors[0] if errors else {}
    if first.get("type") == "json_invalid":
        return JSONResponse(openai_error_body(400, PARSE_ERROR), status_code=400)
    loc = [str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path", "header")]
    param = ".".join(loc) or None
    message = f"Invalid '{param}': {first.get('msg', 'invalid value')}." if param else _describe(errors)
    return JSONResponse(openai_error_body(400, message, param), status_code=400)


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
    async def _core(request: Request, exc: SessionhubError) -> JSONResponse:
        if exc.status_code >= 500:
            log.error("%s: %s", exc.code, exc.message)
        if is_v1(request.url.path):
            status = 400 if isinstance(exc, InvalidInput) else exc.status_code
            param = exc.param if isinstance(exc, InvalidParam) else None
            code = exc.error_code if isinstance(exc, InvalidParam) else None
            return JSONResponse(openai_error_body(status, exc.message, param, code), status_code=status)
        return error_response(exc.status_code, exc.code, exc.message)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        if is_v1(request.url.path):
            return _v1_validation(list(exc.errors()))
        return error_response(422, "invalid_input", _describe(list(exc.errors())))

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, "error")
        message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
        v1 = is_v1(request.url.path)
        if exc.status_code == 404 and message == "Not Found":
            message = f"Invalid URL ({request.method} {request.url.path})" if v1 else "no such endpoint"
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = allowed_methods(request) or headers.get("Allow", "")
        return error_response(exc.status_code, code, message, headers=headers or None, path=request.url.path)

    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_response(500, "internal", "internal server error", path=request.url.path)
