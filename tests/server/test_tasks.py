"""Scheduled tasks (cron on a fake clock, FIFO runs, sticky sessions, the API) and inbound replies."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

import sessionhub
from _util import eventually
from sessionhub.agents.runtime import AgentRuntime
from sessionhub.config import Settings
from sessionhub.errors import ConfigError
from sessionhub.hub import Hub
from sessionhub.scheduler import Scheduler
from sessionhub.server.app import create_app
from sessionhub.testing import FakeClock

from .conftest import ClientFactory, make_settings
from .util import assert_error

TASKS = (
    {"name": "brief", "cron": "0 7 * * *", "prompt": "morning brief please"},
    {"name": "pulse", "cron": "*/30 * * * *", "prompt": "pulse check", "sticky_session": True},
    {"name": "off", "cron": "0 0 * * *", "prompt": "never", "enabled": False},
)


def task_settings() -> Settings:
    return Settings().replace(tasks=TASKS)


def test_invalid_cron_names_the_key() -> None:
    """A wrong cron expression stops start-up with a ConfigError naming tasks[i].cron."""
    bad = (
        {"name": "a", "cron": "0 7 * * *", "prompt": "x"},
        {"name": "b", "cron": "61 * * *", "prompt": "x"},
    )
    with pytest.raises(ConfigError, match=r"tasks\[1\]\.cron"):
        Settings(tasks=bad)
    with pytest.raises(ConfigError, match=r"tasks\[0\]\.agent"):
        Settings(tasks=({"name": "a", "cron": "* * * * *", "prompt": "x", "agent": "nope"},))


async def test_cron_runs_on_the_fake_clock(tmp_path: Path) -> None:
    """Due tasks run once per due time (FIFO), create scheduled sessions; sticky appends to one pinned."""
    clock = FakeClock(datetime(2026, 3, 2, 6, 59, tzinfo=UTC))
    settings = task_settings()
    async with sessionhub.open(f"sqlite:///{tmp_path}/t.db", settings=settings, clock=clock) as hub:
        runtime = AgentRuntime(settings)
        sched = Scheduler(hub, runtime, clock=clock, retention=False)
        assert await sched.tick() == []
        clock.advance(minutes=1)  # 07:00: brief and pulse are due
        queued = await sched.tick()
        assert [r.task for r in queued] == ["brief", "pulse"]
        assert await sched.tick() == []  # not twice for the same time
        await sched.drain()
        clock.advance(minutes=30)  # 07:30: pulse again
        assert [r.task for r in await sched.tick()] == ["pulse"]
        await sched.drain()
        page = await hub.list_sessions(view="scheduled")
        by_ref: dict[str, list[Any]] = {}
        for s in page.sessions:
            by_ref.setdefault(s.source_ref or "", []).append(s)
        assert set(by_ref) == {"brief", "pulse"} and len(by_ref["pulse"]) == 1
        pulse = by_ref["pulse"][0]
        assert pulse.pinned and pulse.source == "scheduled" and pulse.message_count == 4
        history = await hub.get_history(by_ref["brief"][0].id)
        assert [(m.role, m.content) for m in history] == [
            ("user", "morning brief please"),
            ("assistant", "morning brief please"),
        ]
        described = {t["name"]: t for t in await sched.describe()}
        assert described["brief"]["last_status"] == "complete"
        assert described["brief"]["next_run"] == "2026-03-03T07:00:00.000Z"
        assert described["pulse"]["last_session_id"] == pulse.id and described["off"]["next_run"] is None
        # another replica (same database) does not run an already-claimed due time
        other = Scheduler(hub, runtime, clock=clock, retention=False)
        clock.advance(minutes=30)
        await sched.tick()
        await other.tick()
        await sched.drain()
        await other.drain()
        runs = await hub.store.task_runs("pulse")  # type: ignore[attr-defined]
        assert len(runs) == 3 and len({r.scheduled_at_us for r in runs}) == 3
        await runtime.aclose()


async def test_tasks_api(hub: Hub, make_client: ClientFactory) -> None:
    """GET /api/tasks lists config, next run and last result; POST run is 202 (404 if unknown)."""
    client = make_client(make_settings().replace(tasks=TASKS))
    tasks = (await client.get("/api/tasks")).json()["tasks"]
    assert [t["name"] for t in tasks] == ["brief", "pulse", "off"]
    assert set(tasks[0]) >= {"name", "cron", "agent", "model", "enabled", "next_run", "last_run",
                             "last_status", "last_session_id"}  # fmt: skip
    r = await client.post("/api/tasks/brief/run")
    assert r.status_code == 202 and r.json()["trigger"] == "manual" and r.json()["status"] == "queued"
    assert_error(await client.post("/api/tasks/nope/run"), 404)

    async def brief_done() -> dict[str, Any] | None:
        brief = (await client.get("/api/tasks")).json()["tasks"][0]
        return brief if brief["last_status"] == "complete" else None

    brief = await eventually(brief_done, what="the manual run of brief completes")
    assert brief["last_session_id"]
    s = (await client.get(f"/api/sessions/{brief['last_session_id']}")).json()
    assert s["source"] == "scheduled" and s["source_ref"] == "brief" and s["message_count"] == 2


class FakePlatform:
    """A loopback HTTP server recording POSTs (Telegram Bot API / Slack Web API stand-in)."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str], Any]] = []
        self.got = asyncio.Event()
        self.base = ""

    async def __aenter__(self) -> FakePlatform:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.base = f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.server.close()
        await self.server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode()
        line, *rest = head.split("\r\n")
        headers = {k.lower(): v.strip() for k, _, v in (h.partition(":") for h in rest if h)}
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        self.requests.append((line.split()[1], headers, json.loads(body or b"null")))
        self.got.set()
        payload = b'{"ok":true}'
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: "
                     + str(len(payload)).encode() + b"\r\nconnection: close\r\n\r\n" + payload)  # fmt: skip
        await writer.drain()
        writer.close()


async def test_inbound_reply_in_http_answer(client: httpx.AsyncClient) -> None:
    """POST /api/inbound (a generic channel) answers with the agent's reply."""
    body = {"channel": "webhook", "chat": "c1", "sender": "u1", "text": "ping pong"}
    r = await client.post("/api/inbound", json=body)
    assert r.status_code == 200 and r.json()["reply"] == "ping pong"


async def test_telegram_and_slack_replies_are_delivered(hub: Hub, monkeypatch: pytest.MonkeyPatch) -> None:
    """Telegram sendMessage and Slack chat.postMessage get the agent reply via their api_base."""
    monkeypatch.setenv("TG_TOKEN", "123:abc")
    monkeypatch.setenv("SLACK_TOKEN", "xoxb-1")
    async with FakePlatform() as fake:
        settings = make_settings().replace(
            channels={
                "telegram": {"api_base": fake.base, "bot_token_env": "TG_TOKEN"},
                "slack": {"api_base": fake.base, "bot_token_env": "SLACK_TOKEN"},
            },
        )
        app = create_app(settings, Hub(hub.store, settings, clock=hub.clock))
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1"
        ) as c:
            update = {"update_id": 1, "message": {"message_id": 5, "date": 1700000000,
                      "chat": {"id": 42, "type": "private"}, "from": {"id": 7, "first_name": "A"},
                      "text": "hello telegram"}}  # fmt: skip
            r = await c.post("/api/channels/telegram/webhook", json=update)
            assert r.status_code == 200, r.text
            await asyncio.wait_for(fake.got.wait(), 5)
            path, _headers, sent = fake.requests[0]
            assert path == "/bot123:abc/sendMessage" and sent == {"chat_id": "42", "text": "hello telegram"}
            fake.got.clear()
            r = await c.post(
                "/api/inbound",
                json={"channel": "slack", "chat": "C1", "topic": "171.1", "sender": "U1", "text": "hi slack"},
            )
            await asyncio.wait_for(fake.got.wait(), 5)
            path, headers, sent = fake.requests[1]
            assert path == "/chat.postMessage" and headers["authorization"] == "Bearer xoxb-1"
            assert sent == {"channel": "C1", "text": "hi slack", "thread_ts": "171.1"}


async def test_long_telegram_reply_is_sent_in_pieces(hub: Hub, monkeypatch: pytest.MonkeyPatch) -> None:
    """A reply over Telegram's 4,096 limit goes out as several sendMessage calls, in order, whole."""
    monkeypatch.setenv("TG_TOKEN", "123:abc")
    words = " ".join(f"w{i:03d}" + "x" * 90 for i in range(100))  # 9,599 characters, few echo chunks
    async with FakePlatform() as fake:
        settings = make_settings().replace(
            channels={"telegram": {"api_base": fake.base, "bot_token_env": "TG_TOKEN"}}
        )
        app = create_app(settings, Hub(hub.store, settings, clock=hub.clock))
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1"
        ) as c:
            update = {"update_id": 9, "message": {"message_id": 6, "date": 1700000000,
                      "chat": {"id": 42, "type": "private"}, "from": {"id": 7, "first_name": "A"},
                      "text": words}}  # fmt: skip
            r = await c.post("/api/channels/telegram/webhook", json=update)
            assert r.status_code == 200, r.text
            await eventually(lambda: len(fake.requests) >= 3, what="three sendMessage calls")
    texts = [body["text"] for _path, _headers, body in fake.requests]
    assert len(texts) == 3 and all(len(t) <= 4096 for t in texts)
    assert "".join(texts) == words
    assert all(body["chat_id"] == "42" for _p, _h, body in fake.requests)
