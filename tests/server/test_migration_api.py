"""What a user switching from AI-Lab, Yapflows or OpenClaw meets first (CONTRACT 11.2, 11.3):
AI-Lab's session endpoints, triggers that run their agent, pinned sessions, and imported
sessions whose provider is not configured here."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from agent_runtime.fake_openai import SSE, FakeOpenAI, finish_chunk, text_chunk
from sessionhub.config import AgentSettings, ImportSettings
from sessionhub.hub import Hub
from sessionhub.testing import FakeClock

from .conftest import ClientFactory, make_settings
from .util import assert_error

FIXTURES = Path(__file__).parent.parent / "history" / "fixtures"


async def post(client: httpx.AsyncClient, path: str, body: Any, status: int = 200) -> Any:
    r = await client.post(path, json=body)
    assert r.status_code == status, r.text
    return r.json()


async def test_ai_lab_endpoints_as_its_frontend_calls_them(
    client: httpx.AsyncClient, hub: Hub, clock: FakeClock
) -> None:
    """start → save (the whole session JSON, twice: stored once) → list (limit/offset, aggregates,
    preview, counts) → load (AI-Lab's shape) → export (training data) → delete; an imported
    AI-Lab session answers under its own AI-Lab id."""
    clock.set(datetime(2026, 3, 2, 12, 0, tzinfo=UTC))  # after the imported sessions (February)
    report = await hub.import_path(FIXTURES / "ai-lab/memory", "ai-lab")
    assert len(report.imported) == 2
    started = await post(client, "/api/sessions/start", {"metadata": {"type": "chat"}})
    sid = started["session_id"]
    assert sid.startswith("ses_") and started["started_at"].endswith("Z")
    current = {  # sessionManager.currentSession, as its auto-save posts it
        "session_id": sid,
        "started_at": started["started_at"],
        "user_name": "User",
        "model": "echo",
        "metadata": {"type": "chat"},
        "messages": [
            {
                "role": "user",
                "content": "how do I list files?",
                "timestamp": "2026-02-07T10:00:00Z",
                "metadata": {},
            },
            {"role": "assistant", "content": "Use ls.", "timestamp": "2026-02-07T10:00:02Z", "metadata": {}},
        ],
        "stats": {"total_messages": 2, "user_messages": 1, "assistant_messages": 1, "errors": 0},
    }
    assert (await post(client, "/api/sessions/save", current))["saved"] == 2
    assert (await post(client, "/api/sessions/save", current))["saved"] == 0  # idempotent
    current["messages"].append(
        {"role": "user", "content": "and hidden ones?", "timestamp": "x", "metadata": {}}
    )
    assert (await post(client, "/api/sessions/save", current))["saved"] == 1

    listed = await post(client, "/api/sessions/list", {"limit": 2, "offset": 0})
    assert listed["total_sessions"] == 3 and listed["total_messages"] == 3 + 2 + 3
    stats = (await client.get("/api/sessions/stats")).json()
    assert (listed["sessions_today"], listed["sessions_this_week"]) == (
        stats["sessions_today"],
        stats["sessions_this_week"],
    )
    assert listed["sessions_today"] == 1
    assert listed["sessions"][0]["session_id"] == sid  # newest activity first
    mine = listed["sessions"][0]
    assert (mine["message_count"], mine["user_messages"], mine["assistant_messages"]) == (3, 2, 1)
    assert mine["preview"] == "how do I list files?" and mine["metadata"] == {"type": "chat"}
    page2 = await post(client, "/api/sessions/list", {"limit": 2, "offset": 2})
    assert [s["session_id"] for s in page2["sessions"]] == ["abc123def456"]  # offset honoured
    assert set(page2) >= {"total_sessions", "sessions_today", "sessions_this_week", "total_messages"}

    loaded = await post(client, "/api/sessions/load", {"session_id": "abc123def456"})
    assert loaded["session_id"] == "abc123def456" and loaded["user_name"] == "Nova"
    assert [m["role"] for m in loaded["messages"]] == ["system", "user", "assistant"]
    assert loaded["messages"][1]["timestamp"] == "2026-02-07T10:01:00.000Z"
    assert loaded["stats"] == {"total_messages": 3, "user_messages": 1, "assistant_messages": 1, "errors": 0}
    assert loaded["errors"][0]["message"] == "timeout"

    exported = await post(client, "/api/sessions/export", {"session_id": sid, "format": "jsonl"})
    assert exported["success"] is True and exported["sessions"] == 1
    line = json.loads(exported["data"].splitlines()[0])
    assert line == {"messages": [m | {} for m in [
        {"role": "user", "content": "how do I list files?"},
        {"role": "assistant", "content": "Use ls."},
        {"role": "user", "content": "and hidden ones?"},
    ]]}  # fmt: skip
    everything = await post(client, "/api/sessions/export", {"format": "jsonl"})
    assert everything["sessions"] == 3 and len(everything["data"].splitlines()) == 3

    # a session AI-Lab started itself (its own id) is created by its first save
    own = {"session_id": "f00dfeed1234", "messages": [{"role": "user", "content": "hi"}], "user_name": "Ana"}
    assert (await post(client, "/api/sessions/save", own))["saved"] == 1
    assert (await post(client, "/api/sessions/load", {"session_id": "f00dfeed1234"}))["user_name"] == "Ana"

    assert (await post(client, "/api/sessions/delete", {"session_id": "abc123def456"}))["success"] is True
    assert_error(await client.post("/api/sessions/load", json={"session_id": "abc123def456"}), 404)
    assert_error(await client.post("/api/sessions/load", json={}), 422)
    assert_error(await client.post("/api/sessions/list", json={"limit": 0}), 422)
    bad = {"session_id": sid, "messages": [{"role": "narrator", "content": "?"}]}
    assert_error(await client.post("/api/sessions/save", json=bad), 422)


async def test_trigger_runs_its_agent_and_pins(
    make_client: ClientFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """POST /api/triggers/{name} renders the prompt, calls the trigger agent's model (a real
    OpenAI-compatible server, streaming), stores the reply; `pin = true` pins the session."""
    async with FakeOpenAI([SSE([text_chunk("Deploy "), text_chunk("looks good."), finish_chunk()])]) as fake:
        monkeypatch.setenv("FAKE_KEY", "sk-test")
        settings = make_settings().replace(
            agents=(AgentSettings(id="main"), AgentSettings(id="ops", provider="fake", model="m-ops")),
            providers={"fake": {"type": "openai", "base_url": fake.base_url, "api_key_env": "FAKE_KEY"}},
            triggers={
                "deploy": {"agent": "ops", "prompt": "Review deploy of {{payload.service}}", "pin": True}
            },
        )
        client = make_client(settings)
        r = await client.post("/api/triggers/deploy", json={"service": "api"})
        assert r.status_code == 201, r.text
        s = r.json()
        assert (s["source"], s["agent"], s["pinned"], s["message_count"]) == ("trigger", "ops", True, 2)
        msgs = (await client.get(f"/api/sessions/{s['id']}/messages")).json()["messages"]
        assert [(m["role"], m["content"]) for m in msgs] == [
            ("user", "Review deploy of api"),
            ("assistant", "Deploy looks good."),
        ]
        assert len(fake.requests) == 1
        assert fake.requests[0].body["model"] == "m-ops"
        assert fake.requests[0].body["messages"][-1] == {"role": "user", "content": "Review deploy of api"}


async def test_telegram_pin_sessions(make_client: ClientFactory) -> None:
    """`[channels.telegram] pin_sessions = true` pins Telegram-created sessions, not others."""
    settings = make_settings().replace(channels={"telegram": {"pin_sessions": True}})
    client = make_client(settings)
    tg = await post(
        client, "/api/inbound", {"channel": "telegram", "chat": "1", "sender": "1", "text": "/session"}
    )
    wa = await post(
        client, "/api/inbound", {"channel": "whatsapp", "chat": "2", "sender": "2", "text": "/session"}
    )
    assert (await client.get(f"/api/sessions/{tg['session_id']}")).json()["pinned"] is True
    assert (await client.get(f"/api/sessions/{wa['session_id']}")).json()["pinned"] is False


async def test_unconfigured_provider_stays_usable(make_client: ClientFactory, hub: Hub) -> None:
    """An imported OpenClaw session on `anthropic` (not configured) is readable, searchable,
    exportable, forkable; chatting uses `[import] chat_agent` and says so (no 502)."""
    await hub.import_path(FIXTURES / "openclaw", "openclaw")
    settings = make_settings().replace(
        agents=(AgentSettings(id="main"), AgentSettings(id="helper", model="echo")),
        imports=ImportSettings(chat_agent="helper"),
    )
    client = make_client(settings)
    [s] = (await client.get("/api/sessions", params={"view": "all"})).json()["sessions"]
    assert s["provider"] == "anthropic" and s["model"] == "claude-sonnet-4-5"
    assert (await client.get(f"/api/sessions/{s['id']}/messages")).status_code == 200
    hits = (await client.get("/api/sessions/search", params={"q": "README"})).json()["results"]
    assert hits and hits[0]["session"]["id"] == s["id"]
    assert (await client.get(f"/api/sessions/{s['id']}/export", params={"format": "json"})).status_code == 200
    fork = await client.post(f"/api/sessions/{s['id']}/fork", json={})
    assert fork.status_code == 201, fork.text
    r = await client.post(f"/api/sessions/{s['id']}/chat", json={"content": "summarize it"})
    assert r.status_code == 201, r.text
    reply = r.json()
    assert reply["content"] == "summarize it" and reply["status"] == "complete"
    assert reply["metadata"]["stand_in"]["chat_agent"] == "helper"
    assert "'anthropic'" in reply["metadata"]["stand_in"]["note"]
