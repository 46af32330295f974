"""405 answers name every method the path supports in ``Allow`` (not only the first route's)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

import sessionhub
from sessionhub.config import Settings
from sessionhub.server.app import create_app


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with sessionhub.open("sqlite://") as hub:
        app = create_app(Settings(), hub)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1"
        ) as c:
            yield c


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("PUT", "/api/sessions", "GET, POST"),
        ("DELETE", "/api/sessions", "GET, POST"),
        ("POST", "/api/sessions/ses_x", "GET, PATCH, DELETE"),
        ("PUT", "/api/sessions/ses_x/messages", "GET, POST, DELETE"),
        ("GET", "/api/sessions/ses_x/checkpoints/x", None),  # no such path: 404, not 405
        ("PATCH", "/api/sessions/ses_x/checkpoints", "GET, POST"),
        ("GET", "/api/maintenance/cleanup", "POST"),
        ("DELETE", "/api/health", "GET"),
        ("POST", "/openapi.json", "GET, HEAD"),
    ],
)
async def test_405_allow_lists_every_method_of_the_path(
    client: httpx.AsyncClient, method: str, path: str, allow: str | None
) -> None:
    """The Allow header of a 405 is the union of the methods of every route on that path."""
    r = await client.request(method, path)
    if allow is None:
        assert r.status_code == 404
        return
    assert r.status_code == 405 and r.json()["error"]["code"] == "method_not_allowed"
    assert r.headers["allow"] == allow
