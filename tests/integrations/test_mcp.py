"""The MCP server, driven by the official ``mcp`` client: over streamable HTTP (``/mcp`` of a
real uvicorn server, bearer tokens, two users) and over stdio (``sessionhub mcp`` as a process)."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from tests.agent_runtime.fake_openai import SSE, FakeOpenAI, finish_chunk, text_chunk
from tests.server.live_server import running_server

import sessionhub
from sessionhub.config import settings_from_mapping

ALICE_TOKEN = "token-alice-0001"
BOB_TOKEN = "token-bob-000002"
TOOLS = {"sessions_list", "sessions_search", "sessions_history", "sessions_send"}


def _config(fake_url: str = "http://127.0.0.1:9/v1") -> dict[str, Any]:
    return {
        "server": {"tokens": {ALICE_TOKEN: "alice", BOB_TOKEN: "bob"}},
        "agents": [{"id": "main"}, {"id": "gpt", "provider": "fake", "model": "m-1"}],
        "providers": {"fake": {"type": "openai", "base_url": fake_url, "api_key_env": "FAKE_KEY"}},
    }


@pytest.fixture(scope="module")
def fake_openai_port() -> int:
    """The port the fake OpenAI server of this module listens on (chosen before the server starts)."""
    from tests.server.live_server import free_port

    return free_port()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, fake_openai_port: int) -> Iterator[str]:
    os.environ.setdefault("FAKE_KEY", "sk-test")
    url = f"sqlite:///{tmp_path_factory.mktemp('mcp')}/hub.db"
    settings = settings_from_mapping(_config(f"http://127.0.0.1:{fake_openai_port}/v1"), env={})
    with running_server(settings, url) as (host, _app):
        yield f"http://{host}"


@asynccontextmanager
async def mcp_client(base: str, token: str | None) -> AsyncIterator[Client]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=30) as http,
        Client(streamable_http_client(f"{base}/mcp", http_client=http)) as client,
    ):
        yield client


def _data(result: Any) -> Any:
    assert not result.is_error, result.content
    return json.loads(result.content[0].text)


def _error(result: Any) -> str:
    assert result.is_error
    text: str = result.content[0].text
    return text


async def _seed(base: str, token: str, title: str, texts: list[str]) -> str:
    async with httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {token}"}) as http:
        r = await http.post("/api/sessions", json={"title": title})
        assert r.status_code == 201, r.text
        sid: str = r.json()["id"]
        msgs = [{"role": "user" if i % 2 == 0 else "assistant", "content": t} for i, t in enumerate(texts)]
        r = await http.post(f"/api/sessions/{sid}/messages", json={"messages": msgs})
        assert r.status_code == 201, r.text
        return sid


async def test_tools_are_described(server: str) -> None:
    async with mcp_client(server, ALICE_TOKEN) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        assert set(tools) >= TOOLS
        for name in TOOLS:
            assert len(tools[name].description or "") > 80, name
        assert "query" in tools["sessions_search"].input_schema["required"]
        assert tools["sessions_list"].input_schema["properties"]["limit"]["maximum"] == 100
        templates = (await client.list_resource_templates()).resource_templates
        assert [t.uri_template for t in templates] == ["sessionhub://sessions/{session_id}"]


async def test_a_user_finds_reads_and_continues_only_their_conversations(server: str) -> None:
    alice_sid = await _seed(
        server, ALICE_TOKEN, "Trip to Lisbon", ["book the tram tickets", "Done: two tickets for tram 28"]
    )
    bob_sid = await _seed(server, BOB_TOKEN, "Bob's secrets", ["the tram password is hunter2"])

    async with mcp_client(server, ALICE_TOKEN) as alice:
        listed = _data(await alice.call_tool("sessions_list", {"limit": 100}))
        ids = [s["id"] for s in listed["sessions"]]
        assert alice_sid in ids and bob_sid not in ids
        mine = next(s for s in listed["sessions"] if s["id"] == alice_sid)
        assert mine["title"] == "Trip to Lisbon" and mine["message_count"] == 2

        hits = _data(await alice.call_tool("sessions_search", {"query": "tram", "mode": "keyword"}))[
            "results"
        ]
        assert {h["session"]["id"] for h in hits} == {alice_sid}
        assert any("**tram**" in h["snippet"] for h in hits)
        grouped = _data(
            await alice.call_tool("sessions_search", {"query": "tram", "mode": "keyword", "group": "session"})
        )["results"]
        assert [(h["session"]["id"], h["count"]) for h in grouped] == [(alice_sid, 2)]
        assert _error(await alice.call_tool("sessions_search", {"query": "tram", "mode": "fuzzy"}))

        history = _data(await alice.call_tool("sessions_history", {"session_id": alice_sid}))
        assert history["transcript"].splitlines() == [
            "#1 user: book the tram tickets",
            "#2 assistant: Done: two tickets for tram 28",
        ]
        page = _data(
            await alice.call_tool(
                "sessions_history", {"session_id": alice_sid, "after_seq": 1, "format": "messages"}
            )
        )
        assert [(m["seq"], m["role"]) for m in page["messages"]] == [(2, "assistant")]
        assert page["has_more"] is False

        # Another user's session is "not found", for every tool and the resource.
        assert "not found" in _error(await alice.call_tool("sessions_history", {"session_id": bob_sid}))
        assert "not found" in _error(
            await alice.call_tool("sessions_send", {"session_id": bob_sid, "content": "hi"})
        )
        with pytest.raises(Exception, match="not found"):
            await alice.read_resource(f"sessionhub://sessions/{bob_sid}")

        resource = await alice.read_resource(f"sessionhub://sessions/{alice_sid}")
        text = resource.contents[0].text
        assert text.startswith("# Trip to Lisbon") and "two tickets for tram 28" in text

        # Continue the conversation: the echo agent answers and both messages are stored.
        sent = _data(await alice.call_tool("sessions_send", {"session_id": alice_sid, "content": "thanks!"}))
        assert sent["session_id"] == alice_sid and sent["seq"] == 4 and sent["status"] == "complete"
        assert "thanks!" in sent["reply"]

    async with mcp_client(server, BOB_TOKEN) as bob:
        assert _data(await bob.call_tool("sessions_search", {"query": "lisbon"}))["results"] == []
        assert (
            "hunter2" in _data(await bob.call_tool("sessions_history", {"session_id": bob_sid}))["transcript"]
        )

    async with httpx.AsyncClient(base_url=server, headers={"Authorization": f"Bearer {ALICE_TOKEN}"}) as http:
        r = await http.get(f"/api/sessions/{alice_sid}/messages")
        assert [m["content"] for m in r.json()["messages"]][2] == "thanks!"


async def test_send_without_a_session_starts_one_and_commands_are_answered(server: str) -> None:
    async with mcp_client(server, ALICE_TOKEN) as alice:
        sent = _data(await alice.call_tool("sessions_send", {"content": "hello there"}))
        sid = sent["session_id"]
        assert sid.startswith("ses_") and sent["seq"] == 2
        answered = _data(await alice.call_tool("sessions_send", {"session_id": sid, "content": "/help"}))
        assert answered["command"] == "/help" and "/new" in answered["reply"]
        history = _data(await alice.call_tool("sessions_history", {"session_id": sid}))
        assert len(history["transcript"].splitlines()) == 2  # the command was not stored


async def test_send_runs_a_model_agent(server: str, fake_openai_port: int) -> None:
    script = [SSE([text_chunk("Lisbon "), text_chunk("is sunny."), finish_chunk()])]
    async with FakeOpenAI(script, port=fake_openai_port) as fake, mcp_client(server, ALICE_TOKEN) as alice:
        sent = _data(await alice.call_tool("sessions_send", {"content": "weather?", "agent": "gpt"}))
        assert sent["reply"] == "Lisbon is sunny."
        assert fake.requests[0].body["messages"][-1] == {"role": "user", "content": "weather?"}


async def test_bad_arguments_and_bad_tokens_are_refused(server: str) -> None:
    async with mcp_client(server, ALICE_TOKEN) as alice:
        assert _error(await alice.call_tool("sessions_list", {"limit": 0}))
        assert _error(await alice.call_tool("sessions_list", {"view": "deleted"}))
        assert "unknown agent" in _error(
            await alice.call_tool("sessions_send", {"content": "x", "agent": "nope"})
        )
        assert "not found" in _error(await alice.call_tool("sessions_history", {"session_id": "ses_nope"}))
        # The server is still answering after every error.
        assert _data(await alice.call_tool("sessions_list", {}))["sessions"] is not None
    async with httpx.AsyncClient(base_url=server) as http:
        for headers in ({}, {"Authorization": "Bearer wrong-token-000000"}):
            r = await http.post(
                "/mcp",
                headers={**headers, "Accept": "application/json, text/event-stream"},
                json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
            )
            assert r.status_code == 401, r.text
            assert r.json()["error"]["code"] == "unauthorized"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def stdio_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/hub.db"
    return str(request.getfixturevalue("pg_url"))


async def test_stdio(stdio_url: str) -> None:
    url = stdio_url
    async with sessionhub.open(url) as hub:
        session = await hub.create_session(title="Stdio notes")
        await hub.add_message(session.id, "user", "remember the milk")
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "sessionhub", "mcp", "--database", url],
        env={**os.environ, "SESSIONHUB_CONFIG": ""},
    )
    async with Client(params) as client:
        hits = _data(await client.call_tool("sessions_search", {"query": "milk"}))["results"]
        assert [h["session"]["id"] for h in hits] == [session.id]
        sent = _data(
            await client.call_tool("sessions_send", {"session_id": session.id, "content": "and eggs"})
        )
        assert sent["seq"] == 3
    async with sessionhub.open(url) as hub:
        assert [m.content for m in await hub.get_history(session.id)][1] == "and eggs"


async def test_concurrent_first_requests_start_one_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``/mcp`` builds its MCP server on the first request: six clients arriving at once on a
    fresh server all get answers, from one server built once (the start is under a lock)."""
    import asyncio

    from sessionhub.server import mcp as mcp_module

    builds: list[int] = []
    build = mcp_module._build

    def counting_build(*args: Any) -> Any:
        builds.append(1)
        return build(*args)

    monkeypatch.setattr(mcp_module, "_build", counting_build)
    monkeypatch.setenv("FAKE_KEY", "sk-test")  # the config's model provider names it
    settings = settings_from_mapping(_config(), env={})
    with running_server(settings, f"sqlite:///{tmp_path}/hub.db") as (host, _app):
        base = f"http://{host}"
        await _seed(base, ALICE_TOKEN, "first", ["hello"])

        async def one(i: int) -> set[str]:
            async with mcp_client(base, ALICE_TOKEN) as client:
                tools = {t.name for t in (await client.list_tools()).tools}
                listed = _data(await client.call_tool("sessions_list", {}))
                assert [s["title"] for s in listed["sessions"]] == ["first"], (i, listed)
                return tools

        answers = await asyncio.gather(*(one(i) for i in range(6)))
    assert all(tools >= TOOLS for tools in answers)
    assert builds == [1]
