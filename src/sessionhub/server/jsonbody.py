"""Strict JSON request bodies for every route (FastAPI's "custom Request and APIRoute class").

FastAPI reads a JSON body with ``Request.json()``, which is Python's lenient ``json.loads``:
``NaN``, ``Infinity`` and ``"\\ud800"`` pass and reach the database. ``StrictJSONRequest``
parses with ``sessionhub.validation.loads`` instead; ``StrictJSONRoute`` hands it to the
endpoint. Every router is built with it (``routes.api_router``), so every body is parsed
strictly exactly once, at no extra cost for an ordinary body.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import HTTPException, Request, Response
from fastapi.routing import APIRoute

from ..errors import InvalidInput
from ..validation import loads


class StrictJSONRequest(Request):
    """A request whose ``json()`` refuses what is not strict JSON with 422 ``invalid_input``."""

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            try:
                self._json = loads(await self.body())
            except InvalidInput as exc:
                # FastAPI turns other exceptions raised here into a generic 400; an
                # HTTPException passes through to the error handlers as 422 invalid_input.
                raise HTTPException(status_code=422, detail=exc.message) from None
        return self._json


Handler = Callable[[Request], Coroutine[Any, Any, Response]]


def strict_json(handler: Handler) -> Handler:
    """``handler`` called with a ``StrictJSONRequest`` of the request."""

    async def strict_handler(request: Request) -> Response:
        return await handler(StrictJSONRequest(request.scope, request.receive))

    return strict_handler


class StrictJSONRoute(APIRoute):
    """An ``APIRoute`` whose endpoint sees a ``StrictJSONRequest``."""

    def get_route_handler(self) -> Handler:
        return strict_json(super().get_route_handler())


__all__ = ["Handler", "StrictJSONRequest", "StrictJSONRoute", "strict_json"]
