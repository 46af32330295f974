"""GET /api/agents and POST /api/triggers/{name}."""

from __future__ import annotations

import httpx

from sessionhub.config import AgentSettings

from .conftest import ClientFactory, make_settings
from .util import assert_error


async def test_agents_default(client: httpx.AsyncClient) -> None:
    """Without [[agents]] one agent main on echo is listed."""
    r = await client.get("/api/agents")
    assert r.json() == {"agents": [{"id": "main", "provider": "echo", "model": "echo", "description": ""}]}


async def test_agents_from_settings(make_client: ClientFactory) -> None:
    """Configured agents are listed with id, provider, model and description."""
    settings = make_settings().replace(
        agents=(
            AgentSettings(id="a", description="first"),
            AgentSettings(id="b", provider="openai", model="gpt"),
        ),
    )
    r = await make_client(settings).get("/api/agents")
    assert [a["id"] for a in r.json()["agents"]] == ["a", "b"] and r.json()["agents"][1]["model"] == "gpt"


async def test_trigger_creates_trigger_session(client: httpx.AsyncClient) -> None:
    """A trigger renders {{payload}} into the first message of a source=trigger session."""
    r = await client.post("/api/triggers/deploy", json={"service": "api", "ok": True})
    assert r.status_code == 201, r.text
    s = r.json()
    assert s["source"] == "trigger" and s["source_ref"] == "deploy" and s["channel"] == "webhook"
    msgs = (await client.get(f"/api/sessions/{s['id']}/messages")).json()["messages"]
    assert msgs[0]["role"] == "user" and msgs[0]["content"].startswith("Deploy api finished:\n{")
    assert '"ok": true' in msgs[0]["content"]


async def test_trigger_without_body_and_unknown(client: httpx.AsyncClient) -> None:
    """An empty body still fires; an unknown trigger is 404; broken JSON is 422."""
    r = await client.post("/api/triggers/deploy")
    assert r.status_code == 201
    assert_error(await client.post("/api/triggers/nope", json={}), 404, "not_found")
    r = await client.post("/api/triggers/deploy", content=b"{", headers={"content-type": "application/json"})
    assert_error(r, 422)


async def test_trigger_too_large_leaves_nothing(make_client: ClientFactory) -> None:
    """A rendered prompt over the message limit is 413 and no session stays behind."""
    settings = make_settings().replace(limits={"max_message_chars": 50})
    c = make_client(settings)
    assert_error(await c.post("/api/triggers/deploy", json={"service": "x" * 100}), 413, "payload_too_large")
    assert (await c.get("/api/sessions", params={"view": "all"})).json()["sessions"] == []
