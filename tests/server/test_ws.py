"""/ws against a real uvicorn server with real WebSocket clients (the ``websockets`` package)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from _util import eventually
from sessionhub.config import ServerSettings, Settings

from .conftest import ALICE, BOB, TOKENS
from .live_server import running_server

SLOW = {"echo": {"type": "echo", "words_per_chunk": 1, "delay_ms": 120}}


def settings(tokens: dict[str, str] | None = None, providers: Any = None) -> Settings:
    return Settings().replace(server=ServerSettings(tokens=tokens or {}), providers=providers or {})


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    with running_server(settings(providers=SLOW), f"sqlite:///{tmp_path}/ws.db") as (addr, _app):
        yield addr


@pytest.fixture
def auth_server(tmp_path: Path) -> Iterator[str]:
    with running_server(settings(TOKENS), f"sqlite:///{tmp_path}/wsauth.db") as (addr, _app):
        yield addr


async def recv(ws: Any, timeout: float = 5.0) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), timeout))
    return data


async def until(ws: Any, kind: str, *, skip_changes: bool = True) -> list[dict[str, Any]]:
    """Events up to and including the first of type ``kind`` (sessions_changed left out)."""
    seen: list[dict[str, Any]] = []
    while True:
        event = await recv(ws)
        if skip_changes and event["type"] == "sessions_changed" and kind != "sessions_changed":
            continue
        seen.append(event)
        if event["type"] == kind:
            return seen


async def send(ws: Any, **action: Any) -> None:
    await ws.send(json.dumps(action))


async def test_streaming_order_and_history(server: str) -> None:
    """new_session then chat: session, history, the user message, deltas, the reply, stream_end."""
    async with websockets.connect(f"ws://{server}/ws") as ws:
        await send(ws, action="new_session")
        first = await until(ws, "history")
        assert [e["type"] for e in first] == ["session", "history"] and first[1]["messages"] == []
        sid = first[0]["session"]["id"]
        await send(ws, action="chat", content="alpha beta gamma")
        events = await until(ws, "stream_end")
        kinds = [e["type"] for e in events]
        assert kinds == ["message", "delta", "delta", "delta", "message", "stream_end"]
        assert events[0]["message"]["role"] == "user" and events[0]["message"]["seq"] == 1
        assert "".join(e["text"] for e in events if e["type"] == "delta") == "alpha beta gamma"
        reply = events[-2]["message"]
        assert reply["status"] == "complete" and reply["content"] == "alpha beta gamma"
        assert events[-1] == {
            "type": "stream_end",
            "session_id": sid,
            "message_id": reply["id"],
            "status": "complete",
        }


async def test_stop_keeps_the_partial_reply(server: str) -> None:
    """stop mid-stream: stream_end interrupted, the partial text persisted as interrupted."""
    async with websockets.connect(f"ws://{server}/ws") as ws:
        await send(ws, action="new_session")
        sid = (await until(ws, "history"))[-1]["session_id"]
        await send(ws, action="chat", content="one two three four five six seven eight nine ten")
        await until(ws, "delta")
        await until(ws, "delta")
        await send(ws, action="stop")
        events = await until(ws, "stream_end")
        assert events[-1]["status"] == "interrupted"
    msgs = httpx.get(f"http://{server}/api/sessions/{sid}/messages").json()["messages"]
    reply = msgs[-1]
    assert reply["status"] == "interrupted" and reply["content"].startswith("one two")
    assert reply["content"] != "one two three four five six seven eight nine ten"


async def test_disconnect_does_not_stop_the_turn(server: str) -> None:
    """A client that leaves mid-stream: the turn finishes; resume_session shows the whole reply."""
    async with websockets.connect(f"ws://{server}/ws") as ws:
        await send(ws, action="new_session")
        sid = (await until(ws, "history"))[0]["session"]["id"]
        await send(ws, action="chat", content="red green blue yellow")
        await until(ws, "delta")

    def reply_status() -> str | None:
        msgs = httpx.get(f"http://{server}/api/sessions/{sid}/messages").json()["messages"]
        return msgs[-1]["status"] if msgs and msgs[-1]["role"] == "assistant" else None

    await eventually(lambda: reply_status() == "complete", what="the reply completes without a client")
    async with websockets.connect(f"ws://{server}/ws?resume_session={sid}") as ws:
        events = await until(ws, "history")
        assert events[0]["type"] == "session" and events[0]["session"]["id"] == sid
        last = events[1]["messages"][-1]
        assert last["role"] == "assistant" and last["status"] == "complete"
        assert last["content"] == "red green blue yellow"


async def test_second_chat_refused_and_bad_input_keeps_connection(server: str) -> None:
    """Bad JSON, unknown actions and a chat during a turn get error events; the socket stays open."""
    async with websockets.connect(f"ws://{server}/ws") as ws:
        await ws.send("{not json")
        assert (await recv(ws))["code"] == "invalid_json"
        await send(ws, action="dance")
        assert (await recv(ws))["code"] == "unknown_action"
        await send(ws, action="switch_session", session_id="ses_missing")
        assert (await recv(ws))["code"] == "not_found"
        await send(ws, action="chat", content="a b c d e f")
        await until(ws, "delta")
        await send(ws, action="chat", content="again")
        events = await until(ws, "error")
        assert events[-1]["code"] == "turn_in_progress"
        assert (await until(ws, "stream_end"))[-1]["status"] == "complete"


async def test_commands_over_ws(server: str) -> None:
    """/help is answered as an unstored message; /new switches the connection to a new session."""
    async with websockets.connect(f"ws://{server}/ws") as ws:
        await send(ws, action="new_session")
        sid = (await until(ws, "history"))[0]["session"]["id"]
        await send(ws, action="chat", content="/help")
        answer = (await until(ws, "message"))[-1]["message"]
        assert answer["seq"] is None and answer["metadata"] == {"command": "/help", "ephemeral": True}
        await send(ws, action="chat", content="/new")
        events = await until(ws, "history")
        assert events[-2]["type"] == "session" and events[-2]["session"]["id"] != sid
    assert httpx.get(f"http://{server}/api/sessions/{sid}/messages").json()["messages"] == []


async def test_sessions_changed_reaches_every_tab_of_the_user_only(auth_server: str) -> None:
    """Two tabs of alice see sessions_changed for her REST append; bob's tab does not."""
    alice_token = ALICE["Authorization"].split()[1]
    bob_token = BOB["Authorization"].split()[1]
    base = f"ws://{auth_server}/ws?token="
    async with (
        websockets.connect(base + alice_token) as tab1,
        websockets.connect(base + alice_token) as tab2,
        websockets.connect(base + bob_token) as bob,
    ):
        for tab in (tab1, tab2, bob):  # one answered frame: the connection's bus subscription exists
            await send(tab, action="ping")
            assert (await until(tab, "error"))[-1]["code"] == "unknown_action"
        s = httpx.post(f"http://{auth_server}/api/sessions", json={}, headers=ALICE).json()
        for tab in (tab1, tab2):
            assert (await until(tab, "sessions_changed"))[-1]["session_id"] == s["id"]
        r = httpx.post(
            f"http://{auth_server}/api/sessions/{s['id']}/messages",
            json={"role": "user", "content": "hi"},
            headers=ALICE,
        )
        assert r.status_code == 201
        for tab in (tab1, tab2):
            assert (await until(tab, "sessions_changed"))[-1]["session_id"] == s["id"]
        with pytest.raises(TimeoutError):
            await recv(bob, timeout=0.5)


async def test_ws_auth(auth_server: str) -> None:
    """With tokens: no or a wrong token gets error unauthorized and close 4401; a good one works."""
    for query in ("", "?token=wrong-token-123"):
        async with websockets.connect(f"ws://{auth_server}/ws{query}") as ws:
            event = await recv(ws)
            assert event["type"] == "error" and event["code"] == "unauthorized"
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await recv(ws)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401
    token = ALICE["Authorization"].split()[1]
    async with websockets.connect(f"ws://{auth_server}/ws?token={token}") as ws:
        await send(ws, action="new_session")
        session = (await until(ws, "session"))[-1]["session"]
    # alice's session is not bob's: bob cannot resume it
    bob = BOB["Authorization"].split()[1]
    async with websockets.connect(f"ws://{auth_server}/ws?token={bob}&resume_session={session['id']}") as ws:
        assert (await recv(ws))["code"] == "not_found"
