"""``LeanRoute``: FastAPI routes and documents the route; its requests skip FastAPI's resolution.

FastAPI resolves a route's parameters anew for every request, generically:
``solve_dependencies`` walks the dependency tree (``current_hub`` and the bearer scheme under
it), builds a sub-response, and looks every parameter up through helpers that re-examine its
kind and annotation each time. For the calls an assistant makes every turn (append, read the
latest page) that was the largest share of the event loop's CPU around a small store call:
measured in-process (``bench/profile_route.py``, medians of alternating runs), the loop's CPU
per append 228 -> 139 us and per latest-50 read 555 -> 455 us with the messages routes on
``LeanRoute``.

``LeanRoute`` reads the same declarations once, when the route is built, and per request does
only what they ask, in FastAPI's order and with FastAPI's own validators (the route's
``ModelField`` objects), so that every answer stays the same (tests/server/test_messages_http.py
holds them, and compares each with FastAPI's own handling of the same request):

1. the body read and, for a JSON media type (FastAPI's test), parsed strictly
   (``StrictJSONRequest``); a body that cannot be read is FastAPI's 400;
2. the dependencies, each by its resolver in ``RESOLVERS`` (``current_hub``: ``request_hub``);
3. path, query, header and body values validated by their fields, every error collected in
   FastAPI's order (path, query, header, body), then one ``RequestValidationError`` (rendered
   by ``errors.py``, as for every route);
4. the endpoint called with them; it returns a ``Response`` (no response-model serialisation).

The OpenAPI document does not change: it is built from the same route declarations. What
``LeanRoute`` does not handle (a cookie, a list-valued query or header, a parameter model, a
validation alias, several or embedded body fields, a form, ``Request``/``Response``/
``BackgroundTasks``/``SecurityScopes`` parameters, a dependency without a resolver, a sync
endpoint, FastAPI's ``max_body_size``) is refused with ``TypeError`` when the route is built.
FastAPI's OpenTelemetry spans for dependencies (which sessionhub does not configure) are not
emitted for these routes. It uses FastAPI's internal helpers (``fastapi._compat``); with a FastAPI
that lacks them, the routes fall back to FastAPI's own handling (``AVAILABLE`` is False).
"""

from __future__ import annotations

import email.message
import functools
import inspect
from collections.abc import Callable, Mapping
from copy import deepcopy
from dataclasses import dataclass
from typing import Any

import fastapi.routing
from fastapi import Request, Response, params
from fastapi.datastructures import DefaultPlaceholder
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel
from starlette.exceptions import HTTPException

from .auth import current_hub, request_hub
from .jsonbody import Handler, StrictJSONRoute, strict_json

try:  # FastAPI's internal helpers (tested with 0.165); without them FastAPI resolves as usual
    from fastapi._compat import (
        ModelField,
        field_annotation_is_sequence,
        get_missing_field_error,
        lenient_issubclass,
    )

    AVAILABLE = True
except ImportError:  # pragma: no cover - another FastAPI than the tested ones
    AVAILABLE = False

# A dependency FastAPI would solve -> what gives its value from the request alone.
RESOLVERS: dict[Callable[..., Any], Callable[[Request], Any]] = {current_hub: request_hub}

_MISSING: Any = object()
_ATOMIC = (int, float, str, bool, bytes, type(None))  # defaults deepcopy would return as they are


@dataclass(frozen=True, slots=True)
class _Param:
    """A parameter (path, query, header or the body): where to look it up, how to check it."""

    name: str
    key: str
    loc: tuple[str, ...]
    field: ModelField
    required: bool
    validate_default: bool

    @classmethod
    def of(cls, field: ModelField, loc: tuple[str, ...]) -> _Param:
        info = field.field_info
        return cls(field.name, field.alias, loc, field, info.is_required(), bool(info.validate_default))

    def value(self, given: Any, errors: list[Any]) -> Any:
        """What ``fastapi.dependencies.utils._validate_value_with_model_field`` does
        (``_MISSING``: not in the request)."""
        if given is _MISSING:
            if self.required:
                errors.append(get_missing_field_error(self.loc))
                return None
            default = self.field.default
            given = default if isinstance(default, _ATOMIC) else deepcopy(default)
            if not self.validate_default:
                return given
        value, found = self.field.validate(given, {}, loc=self.loc)
        errors.extend(found)
        return value


@functools.lru_cache(maxsize=64)
def is_json_media(content_type: str) -> bool:
    """FastAPI's test of a body's ``Content-Type``: ``application/json`` or ``application/*+json``,
    read with the email package's parser as FastAPI does (cached: a server sees few values)."""
    message = email.message.Message()
    message["content-type"] = content_type
    if message.get_content_maintype() != "application":
        return False
    subtype = message.get_content_subtype()
    return subtype == "json" or subtype.endswith("+json")


def _params(fields: list[ModelField], kind: str) -> list[_Param]:
    out = []
    for field in fields:
        info = field.field_info
        if kind != "path" and (
            field_annotation_is_sequence(info.annotation) or lenient_issubclass(info.annotation, BaseModel)
        ):
            raise TypeError(f"LeanRoute: {kind} parameter {field.name!r} is a list or a model")
        if info.validation_alias is not None:
            raise TypeError(f"LeanRoute: {kind} parameter {field.name!r} has a validation alias")
        out.append(_Param.of(field, (kind, field.alias)))
    return out


class LeanRoute(StrictJSONRoute):
    """A route whose requests are resolved by the plan above rather than by FastAPI."""

    def get_route_handler(self) -> Handler:
        if not AVAILABLE:
            return super().get_route_handler()
        # FastAPI builds a handler per inclusion of the route (its dependant then includes the
        # including router's dependencies) and tells which through this variable.
        context = getattr(fastapi.routing, "_effective_route_context_var", None)
        included = context.get() if context is not None else None
        route: Any = included if included is not None and included.original_route is self else self
        return strict_json(_lean_handler(route))


def _lean_handler(route: Any) -> Handler:
    dependant = route.dependant
    call = dependant.call
    if not inspect.iscoroutinefunction(call):
        raise TypeError(f"LeanRoute: {route.path}: the endpoint must be async")
    special = (
        "request_param_name",
        "websocket_param_name",
        "http_connection_param_name",
        "response_param_name",
        "background_tasks_param_name",
        "security_scopes_param_name",
    )
    if dependant.cookie_params or any(getattr(dependant, name, None) for name in special):
        raise TypeError(f"LeanRoute: {route.path}: cookie, request or response parameters")
    if getattr(route, "max_body_size", None) is not None:
        raise TypeError(f"LeanRoute: {route.path}: max_body_size")
    resolvers: list[tuple[str | None, Callable[[Request], Any]]] = []
    for sub in dependant.dependencies:
        resolver = RESOLVERS.get(sub.call)
        if resolver is None:
            raise TypeError(f"LeanRoute: {route.path}: no resolver for the dependency {sub.call!r}")
        resolvers.append((sub.name, resolver))
    path = _params(dependant.path_params, "path")
    query = _params(dependant.query_params, "query")
    header = _params(dependant.header_params, "header")
    body: _Param | None = None
    if dependant.body_params:
        if len(dependant.body_params) > 1 or getattr(route, "_embed_body_fields", False):
            raise TypeError(f"LeanRoute: {route.path}: several or embedded body fields")
        body = _Param.of(dependant.body_params[0], ("body",))
        info = body.field.field_info
        if isinstance(info, params.Form) or getattr(info, "embed", False):
            raise TypeError(f"LeanRoute: {route.path}: a form or embedded body")
    strict = getattr(route, "strict_content_type", True)
    strict = bool(strict.value if isinstance(strict, DefaultPlaceholder) else strict)

    async def read_body(request: Request) -> Any:
        """FastAPI's reading of the body (fastapi.routing.get_request_handler)."""
        try:
            raw = await request.body()
            if not raw:
                return _MISSING
            content_type = request.headers.get("content-type")
            if (not content_type and not strict) or (content_type and is_json_media(content_type)):
                return await request.json()
            return raw
        except HTTPException:
            raise
        except Exception as exc:
            raise HTTPException(status_code=400, detail="There was an error parsing the body") from exc

    def lookup(
        params_: list[_Param], given: Mapping[str, Any], values: dict[str, Any], errors: list[Any]
    ) -> None:
        for p in params_:
            found = given.get(p.key)
            values[p.name] = p.value(_MISSING if found is None else found, errors)

    async def handler(request: Request) -> Response:
        received = await read_body(request) if body is not None else _MISSING
        values: dict[str, Any] = {}
        for name, resolve in resolvers:
            resolved = resolve(request)
            if name is not None:
                values[name] = resolved
        errors: list[Any] = []
        if path:
            lookup(path, request.path_params, values, errors)
        if query:
            lookup(query, request.query_params, values, errors)
        if header:
            lookup(header, request.headers, values, errors)
        if body is not None:
            values[body.name] = body.value(received, errors)
        if errors:
            raise RequestValidationError(errors, body=None if received is _MISSING else received)
        response = await call(**values)
        if not isinstance(response, Response):
            raise TypeError(f"LeanRoute: {route.path}: the endpoint must return a Response")
        return response

    return handler


__all__ = ["AVAILABLE", "RESOLVERS", "LeanRoute", "is_json_media"]
