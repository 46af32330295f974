"""Helpers shared by the server tests."""

from __future__ import annotations

from typing import Any

import httpx


async def new_session(client: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    r = await client.post("/api/sessions", json=body)
    assert r.status_code == 201, r.text
    data: dict[str, Any] = r.json()
    return data


def assert_error(r: httpx.Response, status: int, code: str | None = None) -> None:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}, body
    if code is not None:
        assert body["error"]["code"] == code, body
