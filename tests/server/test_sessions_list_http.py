"""``GET /api/sessions`` through LeanRoute and the fast lane answers as FastAPI's own handling does.

The two apps share one hub, so the same request gets the same page from both: every good and
bad request below is compared status, headers and body, and FastAPI resolved nothing for the
lean app's requests.
"""

from __future__ import annotations

from typing import Any

import fastapi.routing
import pytest

from sessionhub.server import fastlane
from sessionhub.server.jsonbody import StrictJSONRoute
from sessionhub.server.leanroute import LeanRoute
from sessionhub.server.routes import sessions

from .conftest import ClientFactory
from .util import new_session

QUERIES = [
    "",
    "?view=archived",
    "?view=all",
    "?view=scheduled",
    "?view=bogus",
    "?view=",
    "?limit=1",
    "?limit=2&view=all",
    "?limit=0",
    "?limit=501",
    "?limit=abc",
    "?limit=1.5",
    "?limit=1&limit=3",
    "?cursor=bad",
    "?cursor=" + "x" * 513,
    "?agent=main",
    "?agent=" + "a" * 201,
    "?channel=slack",
    "?channel=" + "c" * 65,
    "?tz=Europe/Paris",
    "?tz=Not/AZone",
    "?tz=" + "t" * 65,
    "?unknown=1",
    "?view=active&limit=500&tz=UTC",
]


async def test_list_answers_as_fastapi(make_client: ClientFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    solved: list[object] = []
    solve = fastapi.routing.solve_dependencies

    async def counting_solve(**kwargs: Any) -> Any:
        if kwargs["dependant"].call is sessions.list_sessions:
            solved.append(kwargs["dependant"].call)
        return await solve(**kwargs)

    monkeypatch.setattr(fastapi.routing, "solve_dependencies", counting_solve)
    with monkeypatch.context() as patch:
        patch.setattr(LeanRoute, "get_route_handler", StrictJSONRoute.get_route_handler)
        patch.setattr(fastlane, "install", lambda router: None)
        plain = make_client()
        await plain.get("/api/sessions")  # FastAPI builds an included router's handlers on first use
    lean = make_client()
    for i in range(5):
        s = await new_session(lean)
        if i % 2:
            await lean.post(f"/api/sessions/{s['id']}/messages", json={"role": "user", "content": f"m{i}"})
    first = (await lean.get("/api/sessions?limit=1&view=all")).json()
    queries = [*QUERIES, f"?limit=1&view=all&cursor={first['next_cursor']}"]
    resolved_by_fastapi = 0
    for query in queries:
        answers = []
        for c in (plain, lean):
            solved.clear()
            r = await c.get("/api/sessions" + query)
            answers.append((r.status_code, r.headers.raw, r.text))
            resolved_by_fastapi += len(solved) if c is plain else 0
        assert not solved, query  # the lean app's request: FastAPI resolved nothing
        assert answers[0] == answers[1], query
    assert resolved_by_fastapi > len(queries) // 2
    assert first["sessions"] and first["next_cursor"]
