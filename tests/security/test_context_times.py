"""``GET /api/sessions/{id}/context`` gives every message its real ``created_at`` (issue 14 point 9)."""

from __future__ import annotations

import httpx

from sessionhub.config import Settings
from sessionhub.hub import Hub
from sessionhub.server.app import create_app
from sessionhub.testing import FakeClock


async def test_context_messages_carry_their_real_created_at(hub: Hub, clock: FakeClock) -> None:
    """The summary's system message carries the summary's time, every other message its stored time."""
    s = await hub.create_session()
    for i in range(12):
        clock.advance(seconds=60)
        await hub.add_message(s.id, "user" if i % 2 == 0 else "assistant", f"message {i} " + "word " * 40)
    clock.advance(seconds=60)
    summary = await hub.compact(s.id)
    for i in range(3):  # newer than the summary: in the window as themselves
        clock.advance(seconds=60)
        await hub.add_message(s.id, "user", f"later {i}")
    stored = {m["id"]: m["created_at"] for m in await hub.get_history(s.id, limit=100, format="json")}
    app = create_app(Settings(), Hub(hub.store, Settings(), clock=hub.clock))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1") as http:
        r = await http.get(f"/api/sessions/{s.id}/context", params={"strategy": "smart"})
    assert r.status_code == 200, r.text
    window = r.json()
    first, rest = window["messages"][0], window["messages"][1:]
    assert first["metadata"].get("summary") is True
    assert first["created_at"] == window["summary"]["created_at"] == summary.to_dict()["created_at"]
    assert rest and all(m["created_at"] == stored[m["id"]] for m in rest)
