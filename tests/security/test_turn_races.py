"""A chat turn racing clear, delete, checkpoint restore or archive ends cleanly (issue 14, point 7).

Each test runs a real uvicorn server (in a thread) on SQLite and on PostgreSQL with a slow echo
agent, streams one turn over the WebSocket and one over SSE, fires the racing call mid-stream,
then checks the events each client got, the racing call's answer, the stored messages (none
left ``streaming``) and the server's log (no traceback, nothing at ERROR).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

import sessionhub
from _util import eventually
from server.live_server import running_server
from sessionhub.agents import TurnManager
from sessionhub.config import settings_from_mapping
from sessionhub.errors import TurnInProgress

SLOW = {"providers": {"echo": {"type": "echo", "words_per_chunk": 1, "delay_ms": 80}}}
WORDS = " ".join(f"w{i}" for i in range(60))
Event = dict[str, Any]
Race = Callable[[httpx.AsyncClient, str, str], Awaitable[httpx.Response]]


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/races.db"
    url: str = request.getfixturevalue("pg_url")
    return url


@pytest.fixture
def server(database: str) -> Iterator[str]:
    with running_server(settings_from_mapping(SLOW, {}), database) as (addr, _app):
        yield addr


@pytest.fixture
def server_log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO, logger="sessionhub")
    return caplog


def assert_clean_log(caplog: pytest.LogCaptureFixture) -> None:
    bad = [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    assert not bad, [f"{r.name}: {r.getMessage()}" for r in bad]


def rows(url: str) -> list[tuple[str, int, str, str, str]]:
    """Every stored message as (session id, seq, role, status, content)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as conn:
            found = conn.execute(
                text(
                    "SELECT s.id, m.seq, m.role, m.status, m.content FROM messages m"
                    " JOIN sessions s ON s.pk = m.session_pk ORDER BY s.id, m.seq"
                )
            ).all()
    finally:
        engine.dispose()
    return [(r[0], r[1], r[2], r[3], r[4]) for r in found]


async def ws_turn(addr: str, sid: str, started: asyncio.Event) -> list[Event]:
    """Chat on ``sid`` over /ws; the events after the chat up to ``stream_end``."""
    events: list[Event] = []
    async with websockets.connect(f"ws://{addr}/ws?resume_session={sid}") as ws:
        await ws.send(json.dumps({"action": "chat", "content": WORDS}))
        while True:
            event = json.loads(await asyncio.wait_for(ws.recv(), 8))
            if event["type"] in ("session", "history", "sessions_changed"):
                continue
            events.append(event)
            if sum(e["type"] == "delta" for e in events) == 3:
                started.set()
            if event["type"] == "stream_end":
                return events


async def sse_turn(client: httpx.AsyncClient, sid: str, started: asyncio.Event) -> list[Event]:
    """Chat on ``sid`` over SSE; its events up to ``stream_end``."""
    events: list[Event] = []
    headers = {"Accept": "text/event-stream"}
    async with client.stream(
        "POST", f"/api/sessions/{sid}/chat", json={"content": WORDS}, headers=headers
    ) as r:
        assert r.status_code == 200
        async for line in r.aiter_lines():
            if line.startswith("data: "):
                event = json.loads(line[6:])
                events.append(event)
                if sum(e["type"] == "delta" for e in events) == 3:
                    started.set()
                if event["type"] == "stream_end":
                    return events
    raise AssertionError(f"the SSE stream ended without stream_end: {events[-3:]}")


async def partial_saved(client: httpx.AsyncClient, sid: str) -> bool:
    """Whether the session's streaming reply has been saved with some text."""
    msgs = (await client.get(f"/api/sessions/{sid}/messages")).json()["messages"]
    return (
        bool(msgs)
        and msgs[-1]["role"] == "assistant"
        and msgs[-1]["status"] == "streaming"
        and bool(msgs[-1]["content"])
    )


async def race(addr: str, racing: Race) -> tuple[list[Event], list[Event], list[int], dict[str, str]]:
    """A WS turn on one session and an SSE turn on another, each raced by ``racing`` mid-stream.

    Returns the WS events, the SSE events, the racing calls' status codes, and the ids
    (``ws``/``sse`` sessions, their checkpoints ``ws_cp``/``sse_cp`` taken before the chat).
    """
    async with httpx.AsyncClient(base_url=f"http://{addr}", timeout=10) as client:
        ids: dict[str, str] = {}
        for side in ("ws", "sse"):
            ids[side] = (await client.post("/api/sessions", json={})).json()["id"]
            cp = await client.post(f"/api/sessions/{ids[side]}/checkpoints", json={"name": "empty"})
            ids[f"{side}_cp"] = cp.json()["id"]
        ws_started, sse_started = asyncio.Event(), asyncio.Event()
        ws_task = asyncio.create_task(ws_turn(addr, ids["ws"], ws_started))
        sse_task = asyncio.create_task(sse_turn(client, ids["sse"], sse_started))
        await asyncio.wait_for(asyncio.gather(ws_started.wait(), sse_started.wait()), 8)
        for sid in (ids["ws"], ids["sse"]):
            await eventually(lambda sid=sid: partial_saved(client, sid), what="the partial reply is saved")
        answers = await asyncio.gather(
            racing(client, ids["ws"], ids["ws_cp"]), racing(client, ids["sse"], ids["sse_cp"])
        )
        ws_events, sse_events = await asyncio.wait_for(asyncio.gather(ws_task, sse_task), 8)
    return ws_events, sse_events, [a.status_code for a in answers], ids


def ending(events: list[Event]) -> list[tuple[str, Any]]:
    """The events after the last delta, as (type, status or error code)."""
    last = max(i for i, e in enumerate(events) if e["type"] == "delta")
    return [
        (e["type"], e.get("status") or e.get("code") or e["message"]["status"]) for e in events[last + 1 :]
    ]


async def _clear(c: httpx.AsyncClient, sid: str, _cp: str) -> httpx.Response:
    return await c.delete(f"/api/sessions/{sid}/messages")


async def _history_clear(c: httpx.AsyncClient, sid: str, _cp: str) -> httpx.Response:
    answer = await c.post(f"/api/sessions/{sid}/chat", json={"content": "/history clear"})
    assert answer.json()["reply"].startswith("History cleared"), answer.text
    return answer


async def _delete(c: httpx.AsyncClient, sid: str, _cp: str) -> httpx.Response:
    return await c.delete(f"/api/sessions/{sid}")


async def _restore(c: httpx.AsyncClient, _sid: str, cp: str) -> httpx.Response:
    return await c.post(f"/api/checkpoints/{cp}/restore")


async def _archive(c: httpx.AsyncClient, sid: str, _cp: str) -> httpx.Response:
    return await c.patch(f"/api/sessions/{sid}", json={"archived": True})


@pytest.mark.parametrize("racing", [_clear, _history_clear], ids=["DELETE-messages", "history-clear"])
def test_clear_stops_the_turn_and_drops_its_reply(
    server: str, database: str, server_log: pytest.LogCaptureFixture, racing: Race
) -> None:
    """Clearing mid-stream stops the turn (stream_end interrupted) and leaves the history empty."""
    ws, sse, codes, ids = asyncio.run(race(server, racing))
    assert codes == ([204, 204] if racing is _clear else [200, 200])
    for events in (ws, sse):
        assert ending(events) == [("message", "interrupted"), ("stream_end", "interrupted")]
    assert [r for r in rows(database) if r[0] in (ids["ws"], ids["sse"])] == []
    assert_clean_log(server_log)


def test_delete_stops_the_turn_with_not_found(
    server: str, database: str, server_log: pytest.LogCaptureFixture
) -> None:
    """Deleting mid-stream stops the turn: error not_found, then stream_end interrupted; nothing left."""
    ws, sse, codes, _ids = asyncio.run(race(server, _delete))
    assert codes == [204, 204]
    for events in (ws, sse):
        assert ending(events) == [
            ("message", "interrupted"),
            ("error", "not_found"),
            ("stream_end", "interrupted"),
        ]
    assert rows(database) == []
    assert_clean_log(server_log)


def test_restore_stops_the_turn_and_keeps_the_partial_reply_aside(
    server: str, database: str, server_log: pytest.LogCaptureFixture
) -> None:
    """Restoring a checkpoint mid-stream stops the turn first: the partial reply, saved
    interrupted, moves with the user message to the kept-aside branch; nothing streaming."""
    ws, sse, codes, ids = asyncio.run(race(server, _restore))
    assert codes == [200, 200]
    for events in (ws, sse):
        assert ending(events) == [("message", "interrupted"), ("stream_end", "interrupted")]
    stored = rows(database)
    assert [r for r in stored if r[0] in (ids["ws"], ids["sse"])] == []  # back at the empty checkpoint
    assert sorted((r[1], r[2], r[3]) for r in stored) == [
        (1, "user", "complete"),
        (1, "user", "complete"),
        (2, "assistant", "interrupted"),
        (2, "assistant", "interrupted"),
    ]
    assert all(WORDS.startswith(r[4]) and r[4] != WORDS for r in stored if r[2] == "assistant")
    assert_clean_log(server_log)


def test_archive_stops_the_turn_before_the_session_becomes_read_only(
    server: str, database: str, server_log: pytest.LogCaptureFixture
) -> None:
    """Archiving mid-stream stops the turn; the archived session keeps the reply interrupted."""
    ws, sse, codes, _ids = asyncio.run(race(server, _archive))
    assert codes == [200, 200]
    for events in (ws, sse):
        assert ending(events) == [("message", "interrupted"), ("stream_end", "interrupted")]
    replies = [r for r in rows(database) if r[2] == "assistant"]
    assert [r[3] for r in replies] == ["interrupted", "interrupted"]
    assert all(r[4] and WORDS.startswith(r[4]) and r[4] != WORDS for r in replies)
    assert_clean_log(server_log)


def _other_process(database: str, change: str) -> Race:
    """A change made by another process (a replica, the CLI): this server's turns cannot be stopped."""

    async def racing(_c: httpx.AsyncClient, sid: str, cp: str) -> httpx.Response:
        async with sessionhub.open(database) as other:
            if change == "clear":
                await other.clear_history(sid)
            elif change == "delete":
                await other.delete_session(sid)
            else:
                await other.restore_checkpoint(cp)
        return httpx.Response(204)

    return racing


@pytest.mark.parametrize("change", ["clear", "delete", "restore"])
def test_a_change_from_another_process_ends_the_turn_with_not_found(
    server: str, database: str, server_log: pytest.LogCaptureFixture, change: str
) -> None:
    """A turn whose reply another process removed ends at once with error not_found and
    stream_end error; no reply is left streaming (a restored one is kept aside interrupted)."""
    ws, sse, _codes, _ids = asyncio.run(race(server, _other_process(database, change)))
    for events in (ws, sse):
        assert ending(events) == [("error", "not_found"), ("stream_end", "error")]
    assert all(r[3] != "streaming" for r in rows(database))
    if change == "restore":
        assert sorted(r[3] for r in rows(database) if r[2] == "assistant") == ["interrupted", "interrupted"]
    assert_clean_log(server_log)


def test_rest_chat_answers_404_when_its_session_is_deleted_mid_turn(
    server: str, server_log: pytest.LogCaptureFixture
) -> None:
    """A non-streaming REST chat whose session is deleted mid-turn answers 404 not_found, not 201 or 500."""

    async def go() -> httpx.Response:
        async with httpx.AsyncClient(base_url=f"http://{server}", timeout=10) as client:
            sid = (await client.post("/api/sessions", json={})).json()["id"]
            chat = asyncio.create_task(client.post(f"/api/sessions/{sid}/chat", json={"content": WORDS}))
            await eventually(lambda: partial_saved(client, sid), what="the partial reply is saved")
            assert (await client.delete(f"/api/sessions/{sid}")).status_code == 204
            return await chat

    answer = asyncio.run(go())
    assert answer.status_code == 404 and answer.json()["error"]["code"] == "not_found"
    assert_clean_log(server_log)


async def test_a_held_session_refuses_new_turns() -> None:
    """While a destructive change holds a session, a new turn is refused (409), not started."""
    turns = TurnManager()
    async with turns.hold("ses_x"):
        assert turns.busy("ses_x")
        with pytest.raises(TurnInProgress, match="being changed"):
            await turns.start("ses_x", store=None, provider=None, sink=None, options=None, context=[])  # type: ignore[arg-type]
    assert not turns.busy("ses_x")
