"""POST /api/sessions/{id}/chat: commands, agent turns (JSON and SSE), refusals, provider errors."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx

from _util import eventually
from agent_runtime.fake_openai import SSE, FakeOpenAI, Status, finish_chunk, text_chunk, usage_chunk
from sessionhub.agents import ProviderError, ScriptedProvider, TextDelta
from sessionhub.agents.providers.base import Done
from sessionhub.config import AgentSettings

from .conftest import ClientFactory, make_settings
from .util import assert_error, new_session


def parse_sse(text: str) -> list[tuple[str, dict[str, Any]]]:
    out: list[tuple[str, dict[str, Any]]] = []
    for frame in text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in frame.splitlines() if ": " in line)
        out.append((lines["event"], json.loads(lines["data"])))
    return out


async def messages(client: httpx.AsyncClient, sid: str) -> list[dict[str, Any]]:
    r = await client.get(f"/api/sessions/{sid}/messages")
    data: list[dict[str, Any]] = r.json()["messages"]
    return data


async def test_chat_returns_final_assistant_message(client: httpx.AsyncClient) -> None:
    """Without SSE the chat waits and answers 201 with the complete assistant reply; both are stored."""
    s = await new_session(client)
    r = await client.post(f"/api/sessions/{s['id']}/chat", json={"content": "hello there echo agent"})
    assert r.status_code == 201, r.text
    reply = r.json()
    assert reply["role"] == "assistant" and reply["status"] == "complete"
    assert reply["content"] == "hello there echo agent" and reply["usage"]["output_tokens"] == 4
    stored = await messages(client, s["id"])
    assert [(m["role"], m["status"]) for m in stored] == [("user", "complete"), ("assistant", "complete")]
    session = (await client.get(f"/api/sessions/{s['id']}")).json()
    assert session["stats"]["assistant_messages"] == 1 and session["stats"]["output_tokens"] == 4
    assert session["title"] == "hello there echo agent"


async def test_chat_sse_streams_events_in_order(client: httpx.AsyncClient) -> None:
    """With Accept: text/event-stream: the user message, deltas, the reply message, then stream_end."""
    s = await new_session(client)
    r = await client.post(
        f"/api/sessions/{s['id']}/chat",
        json={"content": "one two three four five six seven"},
        headers={"Accept": "text/event-stream"},
    )
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
    events = parse_sse(r.text)
    kinds = [k for k, _ in events]
    assert kinds[0] == "message" and events[0][1]["message"]["role"] == "user"
    assert kinds[1:-2] == ["delta"] * (len(kinds) - 3) and len(kinds) - 3 == 3
    assert kinds[-2:] == ["message", "stream_end"]
    assert "".join(e["text"] for k, e in events if k == "delta") == "one two three four five six seven"
    final = events[-2][1]["message"]
    assert final["status"] == "complete" and events[-1][1] == {
        "type": "stream_end",
        "session_id": s["id"],
        "message_id": final["id"],
        "status": "complete",
    }


async def test_chat_commands_are_answered_not_stored(client: httpx.AsyncClient) -> None:
    """/help is answered with 200 and stores nothing; /new main echo starts a new session."""
    s = await new_session(client)
    r = await client.post(f"/api/sessions/{s['id']}/chat", json={"content": "/help"})
    assert r.status_code == 200 and r.json()["command"] == "/help" and "/new" in r.json()["reply"]
    assert await messages(client, s["id"]) == []
    r = await client.post(f"/api/sessions/{s['id']}/chat", json={"content": "/new main echo-2"})
    assert r.status_code == 200 and r.json()["session_id"] != s["id"]
    created = (await client.get(f"/api/sessions/{r.json()['session_id']}")).json()
    assert created["agent"] == "main" and created["model"] == "echo-2" and created["provider"] == "echo"


WORDS = " ".join("abcdefghijklmnopqrstuvwxyz")


async def test_second_chat_while_running_is_refused(make_client: ClientFactory) -> None:
    """A chat while the session's turn runs is 409 turn_in_progress (not queued); /stop ends it."""
    settings = make_settings().replace(
        providers={"echo": {"type": "echo", "words_per_chunk": 1, "delay_ms": 100}}
    )
    client = make_client(settings)
    s = await new_session(client)
    first = asyncio.create_task(client.post(f"/api/sessions/{s['id']}/chat", json={"content": WORDS}))

    async def partial_reply() -> dict[str, Any] | None:
        stored = await messages(client, s["id"])
        if stored and stored[-1]["role"] == "assistant" and stored[-1]["content"]:
            return stored[-1]
        return None

    reply = await eventually(partial_reply, what="the streaming reply is persisted with some text")
    assert reply["status"] == "streaming"
    r = await client.post(f"/api/sessions/{s['id']}/chat", json={"content": "again"})
    assert_error(r, 409, "turn_in_progress")
    r = await client.post(f"/api/sessions/{s['id']}/chat", json={"content": "/stop"})
    assert r.status_code == 200 and "Stopped" in r.json()["reply"]
    done = await first
    assert done.status_code == 201 and done.json()["status"] == "interrupted"
    partial = done.json()["content"]
    assert partial and partial != WORDS and WORDS.startswith(partial)
    stored = await messages(client, s["id"])
    assert [m["content"] for m in stored if m["role"] == "user"] == [WORDS]
    assert stored[-1]["status"] == "interrupted" and stored[-1]["content"] == partial


async def test_chat_refusals(client: httpx.AsyncClient) -> None:
    """Archived → 409 session_read_only; unknown session → 404; empty content → 422."""
    s = await new_session(client)
    await client.patch(f"/api/sessions/{s['id']}", json={"archived": True})
    assert_error(
        await client.post(f"/api/sessions/{s['id']}/chat", json={"content": "hi"}), 409, "session_read_only"
    )
    assert await messages(client, s["id"]) == []
    assert_error(await client.post("/api/sessions/ses_nope/chat", json={"content": "hi"}), 404)
    assert_error(await client.post(f"/api/sessions/{s['id']}/chat", json={"content": ""}), 422)
    assert_error(await client.post(f"/api/sessions/{s['id']}/chat", json={"content": "  "}), 422)


async def test_provider_error_is_502_with_partial_saved(client: httpx.AsyncClient) -> None:
    """A provider failing mid-stream: 502 envelope, the partial reply stored with status error."""
    live = client._transport.app.state.live  # type: ignore[attr-defined]
    live.runtime.providers.add(
        "echo",
        ScriptedProvider([[TextDelta("half an "), TextDelta("answer"), ProviderError("upstream broke")]]),
    )
    s = await new_session(client)
    r = await client.post(f"/api/sessions/{s['id']}/chat", json={"content": "hi"})
    assert_error(r, 502, "provider_error")
    stored = await messages(client, s["id"])
    assert stored[-1]["status"] == "error" and stored[-1]["content"] == "half an answer"
    session = (await client.get(f"/api/sessions/{s['id']}")).json()
    assert session["stats"]["errors"] == 1


async def test_tool_round_trip_through_the_server(client: httpx.AsyncClient) -> None:
    """The echo agent's tool call runs the built-in current_time tool and answers with its result."""
    s = await new_session(client)
    r = await client.post(
        f"/api/sessions/{s['id']}/chat",
        json={"content": "what time? [[tool:current_time]]"},
        headers={"Accept": "text/event-stream"},
    )
    kinds = [k for k, _ in parse_sse(r.text)]
    assert "tool_call" in kinds and "tool_result" in kinds and kinds[-1] == "stream_end"
    roles = [m["role"] for m in await messages(client, s["id"])]
    assert roles == ["user", "assistant", "tool", "assistant"]


async def test_openai_provider_through_the_server(make_client: ClientFactory, monkeypatch: Any) -> None:
    """An agent on an OpenAI-compatible endpoint (a loopback fake) streams through the chat API."""
    script = [
        SSE(
            [
                text_chunk("Hello"),
                text_chunk(" from"),
                text_chunk(" upstream"),
                finish_chunk(),
                usage_chunk(7, 3),
            ]
        ),
        Status(400, {"error": {"message": "bad request"}}),
    ]
    async with FakeOpenAI(script) as fake:
        monkeypatch.setenv("FAKE_KEY", "sk-test")
        settings = make_settings().replace(
            agents=(AgentSettings(id="gpt", provider="fake", model="m-1", system_prompt="Be brief."),),
            providers={"fake": {"type": "openai", "base_url": fake.base_url, "api_key_env": "FAKE_KEY"}},
        )
        client = make_client(settings)
        s = await new_session(client, agent="gpt")
        assert s["provider"] == "fake" and s["model"] == "m-1"
        r = await client.post(f"/api/sessions/{s['id']}/chat", json={"content": "hi"})
        assert r.status_code == 201 and r.json()["content"] == "Hello from upstream"
        assert r.json()["usage"] == {"input_tokens": 7, "output_tokens": 3}
        sent = fake.requests[0].body
        assert sent["model"] == "m-1" and sent["messages"][0] == {"role": "system", "content": "Be brief."}
        r = await client.post(f"/api/sessions/{s['id']}/chat", json={"content": "again"})
        assert_error(r, 502)
        assert (await messages(client, s["id"]))[-1]["status"] == "error"


async def test_scripted_done_only_reply(client: httpx.AsyncClient) -> None:
    """A provider that sends nothing but Done still ends the turn with a stored (empty) reply."""
    live = client._transport.app.state.live  # type: ignore[attr-defined]
    live.runtime.providers.add("echo", ScriptedProvider([[Done()]]))
    s = await new_session(client)
    r = await client.post(f"/api/sessions/{s['id']}/chat", json={"content": "hi"})
    assert r.status_code == 201 and r.json()["status"] == "complete"
