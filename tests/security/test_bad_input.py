"""No 5xx for what a client sent (issue 14 point 6), on SQLite and PostgreSQL alike.

NaN / Infinity, lone surrogates, NUL, strings longer than their column and token counts past
a 32-bit integer are refused with 422 (a non-JSON trigger body with 415) by a real
``sessionhub serve``, through REST, /api/inbound, a platform webhook, a trigger and import;
afterwards the user's list, search and session still answer 200 and nothing was stored.
The Python API raises ``InvalidInput`` for the same values on every backend, and ``/ws``
answers bad frames with an ``error`` event on a connection that stays open.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

import sessionhub
from sessionhub.config import Settings
from sessionhub.errors import InvalidInput
from sessionhub.hub import Hub
from sessionhub.server.app import create_app

from .conftest import serve

CONFIG = '[triggers.deploy]\nprompt = "Deploy finished: {{payload}}"\n'
JSON = {"Content-Type": "application/json"}
NAN = float("nan")
DEEP = 5000  # past the JSON parser's recursion limit
NESTED = 100  # parses, but deeper than metadata may nest


def raw(value: Any) -> bytes:
    """``value`` as Python's lenient JSON: NaN/Infinity tokens, ``\\ud800`` and ``\\u0000`` escapes."""
    return json.dumps(value, allow_nan=True).encode()


def deep(levels: int) -> str:
    return "[" * levels + "]" * levels


def msg(**fields: Any) -> dict[str, Any]:
    return {"role": "user", "content": "hello", **fields}


# (what, method, path, body bytes, extra headers); {sid} is the seeded session.
BAD: list[tuple[str, str, str, bytes, dict[str, str]]] = [
    ("NaN in metadata", "POST", "/api/sessions/{sid}/messages", raw(msg(metadata={"x": NAN})), {}),
    ("Infinity in metadata", "POST", "/api/sessions/{sid}/messages", raw(msg(metadata={"x": math.inf})), {}),
    ("-Infinity in metadata", "POST", "/api/sessions", raw({"metadata": {"x": -math.inf}}), {}),
    ("1e999 in metadata", "POST", "/api/sessions/{sid}/messages",
     b'{"role": "user", "content": "hello", "metadata": {"x": 1e999}}', {}),
    ("NaN in a PATCH", "PATCH", "/api/sessions/{sid}", raw({"metadata": {"x": NAN}}), {}),
    ("NaN in tool arguments", "POST", "/api/sessions/{sid}/messages",
     raw(msg(role="assistant", parts=[{"type": "tool_call", "id": "c1", "name": "f", "arguments": {"a": NAN}}])),
     {}),
    ("lone surrogate in content", "POST", "/api/sessions/{sid}/messages", raw(msg(content="hi \ud800")), {}),
    ("lone surrogate in a metadata key", "POST", "/api/sessions/{sid}/messages",
     raw(msg(metadata={"\ud800": 1})), {}),
    ("lone surrogate in a metadata value", "POST", "/api/sessions/{sid}/messages",
     raw(msg(metadata={"k": "\udfff"})), {}),
    ("lone surrogate in a title", "PUT", "/api/sessions/{sid}/title", raw({"title": "t\ud800"}), {}),
    ("NUL in content", "POST", "/api/sessions/{sid}/messages", raw(msg(content="a\x00b")), {}),
    ("NUL in a title", "POST", "/api/sessions", raw({"title": "a\x00b"}), {}),
    ("NUL in metadata", "POST", "/api/sessions/{sid}/messages", raw(msg(metadata={"k": "a\x00b"})), {}),
    ("NUL in a checkpoint name", "POST", "/api/sessions/{sid}/checkpoints", raw({"name": "a\x00b"}), {}),
    ("300-char model", "POST", "/api/sessions", raw({"model": "m" * 300}), {}),
    ("300-char agent", "POST", "/api/sessions", raw({"agent": "a" * 300}), {}),
    ("input_tokens 2**31", "POST", "/api/sessions/{sid}/messages",
     raw(msg(role="assistant", usage={"input_tokens": 2**31})), {}),
    ("output_tokens 2**63", "POST", "/api/sessions/{sid}/messages",
     raw(msg(role="assistant", usage={"output_tokens": 2**63})), {}),
    ("negative tokens", "POST", "/api/sessions/{sid}/messages",
     raw(msg(role="assistant", usage={"input_tokens": -1})), {}),
    ("deep nesting", "POST", "/api/sessions/{sid}/messages",
     b'{"role": "user", "content": "hello", "metadata": {"x": ' + deep(DEEP).encode() + b"}}", {}),
    ("metadata nested 100 deep", "POST", "/api/sessions/{sid}/messages",
     raw(msg(metadata={"x": json.loads(deep(NESTED))})), {}),
    ("NaN in a batch", "POST", "/api/sessions/{sid}/messages",
     raw({"messages": [msg(), msg(metadata={"x": NAN})]}), {}),
    ("inbound lone surrogate", "POST", "/api/inbound",
     raw({"channel": "telegram", "chat": "c1", "sender": "u1", "text": "hi \ud800"}), {}),
    ("inbound NaN", "POST", "/api/inbound",
     b'{"channel": "telegram", "chat": NaN, "sender": "u1", "text": "hi"}', {}),
    ("inbound 300-char account", "POST", "/api/inbound",
     raw({"channel": "telegram", "account": "a" * 300, "chat": "c1", "sender": "u1", "text": "hi"}), {}),
    ("webhook NaN", "POST", "/api/channels/telegram/webhook",
     b'{"update_id": NaN, "message": {"message_id": 1, "text": "hi"}}', {}),
    ("webhook lone surrogate", "POST", "/api/channels/telegram/webhook",
     raw({"update_id": 1, "message": {"message_id": 1, "date": 1, "chat": {"id": 5, "type": "private"},
                                      "from": {"id": 5, "first_name": "A"}, "text": "hi \ud800"}}), {}),
    ("trigger payload NaN", "POST", "/api/triggers/deploy", raw({"service": NAN}), {}),
    ("trigger payload lone surrogate", "POST", "/api/triggers/deploy", raw({"service": "\ud800"}), {}),
    ("trigger payload key lone surrogate", "POST", "/api/triggers/deploy", raw({"\ud800": "api"}), {}),
    ("trigger text/plain NUL", "POST", "/api/triggers/deploy", b"a\x00b", {"Content-Type": "text/plain"}),
    ("trigger form body", "POST", "/api/triggers/deploy", b"a=b",
     {"Content-Type": "application/x-www-form-urlencoded"}),
]  # fmt: skip


# What some answers must name, so a client knows what to fix.
EXPECT = {
    "NaN in metadata": "NaN",
    "1e999 in metadata": "1e999",
    "lone surrogate in content": "surrogate",
    "NUL in content": "NUL",
    "300-char model": "200",
    "input_tokens 2**31": "2147483647",
    "deep nesting": "nested",
    "metadata nested 100 deep": "nested",
    "trigger payload lone surrogate": "surrogate",
    "import 300-char channel": "channel must be at most 32 characters",
}


def imports(export: dict[str, Any]) -> list[tuple[str, str, str, bytes, dict[str, str]]]:
    """Import bodies built from a real export with one bad value each."""

    def variant(**session: Any) -> bytes:
        doc = json.loads(json.dumps(export))
        doc["session"].update(session)
        return raw(doc)

    return [
        (f"import {what}", "POST", "/api/sessions/import", body, {})
        for what, body in [
            ("NaN metadata", variant(metadata={"x": NAN})),
            ("300-char model", variant(model="m" * 300)),
            ("300-char channel", variant(channel="c" * 300)),
            ("lone surrogate title", variant(title="t\ud800")),
        ]
    ]


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A real ``sessionhub serve`` with a trigger, on SQLite or PostgreSQL."""
    database = (
        f"sqlite:///{tmp_path}/bad.db" if request.param == "sqlite" else request.getfixturevalue("pg_url")
    )
    with serve(tmp_path, database, CONFIG) as (base, _proc):
        yield base


def test_bad_bodies_get_4xx_and_store_nothing(server: str) -> None:
    """Every bad body of the table gets a 4xx with a message (naming the problem where EXPECT
    says), nothing is stored, and the user's list, search and session answer 200 afterwards."""
    with httpx.Client(base_url=server, timeout=30) as http:
        sid = http.post("/api/sessions", json={"title": "seed"}).json()["id"]
        assert http.post(f"/api/sessions/{sid}/messages", json=msg(content="hello world")).status_code == 201
        export = http.get(f"/api/sessions/{sid}/export").json()
        before = http.get("/api/sessions", params={"view": "all"}).json()["sessions"]
        wrong: list[str] = []
        for what, method, path, body, headers in BAD + imports(export):
            r = http.request(method, path.format(sid=sid), content=body, headers={**JSON, **headers})
            error = r.json().get("error", {}) if r.headers.get("content-type") == "application/json" else {}
            message = str(error.get("message", ""))
            if not 400 <= r.status_code < 500 or not message or EXPECT.get(what, "") not in message:
                wrong.append(f"{what}: {r.status_code} {r.text[:200]}")
        assert not wrong, "\n".join(wrong)

        listing = http.get("/api/sessions", params={"view": "all"})
        assert listing.status_code == 200, listing.text
        assert [s["id"] for s in listing.json()["sessions"]] == [s["id"] for s in before]
        found = http.get("/api/sessions/search", params={"q": "hello"})
        assert found.status_code == 200, found.text
        session = http.get(f"/api/sessions/{sid}")
        assert session.status_code == 200 and session.json()["message_count"] == 1
        history = http.get(f"/api/sessions/{sid}/messages")
        assert history.status_code == 200 and len(history.json()["messages"]) == 1


async def test_trigger_takes_text_plain_as_a_string_payload(tmp_path: Path) -> None:
    """A trigger posted as text/plain (as some platforms do) is a string payload, not a 500."""
    settings = Settings(triggers={"deploy": {"prompt": "Deploy finished: {{payload}}"}})
    async with sessionhub.open(f"sqlite:///{tmp_path}/t.db", settings=settings) as hub:
        transport = httpx.ASGITransport(app=create_app(settings, hub))
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
            r = await http.post(
                "/api/triggers/deploy", content=b"build 42 ok", headers={"Content-Type": "text/plain"}
            )
            assert r.status_code == 201, r.text
            history = (await http.get(f"/api/sessions/{r.json()['id']}/messages")).json()["messages"]
    assert history[0]["content"] == "Deploy finished: build 42 ok"


async def test_ws_bad_frames_get_an_error_event_and_the_connection_stays_open(tmp_path: Path) -> None:
    """/ws: a binary frame, deep JSON, a lone surrogate, NaN and NUL each get an ``error``
    event, and the same connection then still creates a session."""
    with serve(tmp_path, f"sqlite:///{tmp_path}/ws.db") as (base, _proc):
        async with websockets.connect(base.replace("http", "ws", 1) + "/ws") as ws:
            frames: list[str | bytes] = [
                b"\x00\x01binary",
                '{"action": "chat", "content": ' + deep(DEEP) + "}",
                '{"action": "chat", "content": "hi \\ud800"}',
                '{"action": "chat", "content": NaN}',
                '{"action": "chat", "content": "a\\u0000b"}',
            ]
            for frame in frames:
                await ws.send(frame)
                event = json.loads(await asyncio.wait_for(ws.recv(), 10))
                assert event["type"] == "error" and event["message"], (frame[:40], event)
            await ws.send(json.dumps({"action": "new_session"}))
            event = json.loads(await asyncio.wait_for(ws.recv(), 10))
            assert event["type"] == "session", event
        listing = httpx.get(f"{base}/api/sessions").json()["sessions"]
        assert [s["message_count"] for s in listing] == [0]


async def test_python_api_raises_invalid_input(hub: Hub) -> None:
    """The Python API refuses the same values with InvalidInput on every backend, storing nothing."""
    s = await hub.create_session(title="seed")
    await hub.add_message(s.id, "user", "hello world")
    export = json.loads(await hub.export(s.id))
    export["session"]["metadata"] = {"x": NAN}
    poisoned = json.dumps(export)
    calls = {
        "NaN metadata": lambda: hub.add_message(s.id, "user", "hi", metadata={"x": NAN}),
        "Infinity in session metadata": lambda: hub.create_session(metadata={"x": math.inf}),
        "NaN in set_metadata": lambda: hub.set_metadata(s.id, {"x": [1, NAN]}),
        "lone surrogate content": lambda: hub.add_message(s.id, "user", "hi \ud800"),
        "lone surrogate metadata key": lambda: hub.add_message(s.id, "user", "hi", metadata={"\ud800": 1}),
        "lone surrogate metadata value": lambda: hub.add_message(
            s.id, "user", "hi", metadata={"k": "\udfff"}
        ),
        "NUL metadata": lambda: hub.add_message(s.id, "user", "hi", metadata={"k": "\x00"}),
        "NUL content": lambda: hub.add_message(s.id, "user", "a\x00b"),
        "NUL title": lambda: hub.rename(s.id, "a\x00b"),
        "NaN tool arguments": lambda: hub.add_message(
            s.id,
            "assistant",
            "",
            parts=[{"type": "tool_call", "id": "c", "name": "f", "arguments": {"a": NAN}}],
        ),
        "non-string metadata key": lambda: hub.add_message(s.id, "user", "hi", metadata={1: "x"}),
        "metadata nested too deeply": lambda: hub.add_message(
            s.id, "user", "hi", metadata={"x": json.loads(deep(NESTED))}
        ),
        "300-char model": lambda: hub.create_session(model="m" * 300),
        "300-char channel": lambda: hub.create_session(channel="c" * 300),
        "unknown source": lambda: hub.create_session(source="s" * 300),
        "input_tokens 2**31": lambda: hub.add_message(s.id, "assistant", "x", usage={"input_tokens": 2**31}),
        "output_tokens 2**63": lambda: hub.add_message(
            s.id, "assistant", "x", usage={"output_tokens": 2**63}
        ),
        "negative tokens": lambda: hub.add_message(s.id, "assistant", "x", usage={"input_tokens": -5}),
        "NUL checkpoint name": lambda: hub.save_checkpoint(s.id, "a\x00b"),
        "lone surrogate fork title": lambda: hub.fork(s.id, title="f\ud800"),
        "inbound lone surrogate": lambda: hub.handle_inbound(
            {"channel": "telegram", "chat": "c\ud800", "sender": "u", "text": "hi"}
        ),
        "inbound 300-char event id": lambda: hub.handle_inbound(
            {"channel": "telegram", "chat": "c", "sender": "u", "text": "hi", "event_id": "e" * 300}
        ),
        "import NaN": lambda: hub.import_session(poisoned),
    }
    wrong = []
    for what, call in calls.items():
        try:
            await call()
        except InvalidInput:
            continue
        except Exception as exc:
            wrong.append(f"{what}: {type(exc).__name__}: {exc}")
        else:
            wrong.append(f"{what}: accepted")
    assert not wrong, "\n".join(wrong)
    with pytest.raises(InvalidInput):
        hub.as_user("u" * 300)
    page = await hub.list_sessions("all")
    assert [x.id for x in page.sessions] == [s.id]
    assert (await hub.get_session(s.id)).message_count == 1
    assert len(await hub.search("hello")) == 1


async def test_every_body_is_parsed_strictly(tmp_path: Path) -> None:
    """Every operation that takes a JSON body refuses a NaN body at the edge, before any endpoint
    code (so no router, present or future, reads a body leniently)."""
    settings = Settings(triggers={"deploy": {"prompt": "{{payload}}"}})
    async with sessionhub.open(f"sqlite:///{tmp_path}/r.db", settings=settings) as hub:
        app = create_app(settings, hub)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
            spec = (await http.get("/openapi.json")).json()
            values = {"session_id": "ses_x", "channel": "telegram", "name": "deploy"}
            checked, wrong = 0, []
            for path, item in spec["paths"].items():
                for method, op in item.items():
                    if "application/json" not in op.get("requestBody", {}).get("content", {}):
                        continue
                    url = re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1), "x"), path)
                    r = await http.request(method, url, content=b'{"x": NaN}', headers=JSON)
                    checked += 1
                    if r.status_code != 422 or "NaN is not valid JSON" not in r.text:
                        wrong.append(f"{method.upper()} {path}: {r.status_code} {r.text[:120]}")
    assert checked >= 10 and not wrong, "\n".join(wrong)
