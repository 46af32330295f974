"""The fast lane takes only the requests FastAPI's own walk would give the same route."""

from __future__ import annotations

import httpx
from fastapi import APIRouter, FastAPI, Response

from sessionhub.server import fastlane
from sessionhub.server.leanroute import LeanRoute


def _app(shadowing_route_first: bool) -> FastAPI:
    app = FastAPI()
    if shadowing_route_first:

        @app.get("/items/{item_id}/notes")
        async def shadow(item_id: str) -> Response:
            return Response(f"shadow {item_id}")

    router = APIRouter(prefix="/items/{item_id}/notes", route_class=LeanRoute)

    @router.get("")
    async def lean_get(item_id: str) -> Response:
        return Response(f"lean get {item_id}")

    @router.post("")
    async def lean_post(item_id: str) -> Response:
        return Response(f"lean post {item_id}")

    app.include_router(router)
    fastlane.install(app.router)
    return app


def _lanes(app: FastAPI) -> list[tuple[str, set[str]]]:
    lane = app.router.middleware_stack
    assert isinstance(lane, fastlane.FastLane)
    return [(entry.path_format, entry.methods) for entry in lane._build()]


async def test_lanes_for_the_lean_routes() -> None:
    app = _app(shadowing_route_first=False)
    assert _lanes(app) == [("/items/{item_id}/notes", {"GET"}), ("/items/{item_id}/notes", {"POST"})]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        assert (await c.get("/items/7/notes")).text == "lean get 7"
        assert (await c.post("/items/7/notes")).text == "lean post 7"
        assert (await c.put("/items/7/notes")).status_code == 405  # FastAPI's walk answers
        assert (await c.get("/items/7/other")).status_code == 404


async def test_a_route_that_takes_the_path_first_turns_its_lane_off() -> None:
    """FastAPI answers GET with the earlier route; the lane for GET would have changed that."""
    app = _app(shadowing_route_first=True)
    assert _lanes(app) == [("/items/{item_id}/notes", {"POST"})]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        assert (await c.get("/items/7/notes")).text == "shadow 7"
        assert (await c.post("/items/7/notes")).text == "lean post 7"
