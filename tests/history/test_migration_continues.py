"""Moving from PocketPaw / PicoClaw / OpenClaw / AI-Lab: `sessionhub import --from ...`, then the
next inbound message of the chat continues the imported session (CONTRACT 11.2), through the
real app (`POST /api/inbound`) and the library (`hub.handle_inbound`), on SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import subprocess
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest

import sessionhub
from _util import eventually
from sessionhub.hub import Hub
from sessionhub.server.app import create_app

FIXTURES = Path(__file__).parent / "fixtures"
Cli = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/migrate.db"
    return str(request.getfixturevalue("pg_url"))


FAST_ECHO = '[providers.echo]\ntype = "echo"\ndelay_ms = 0\n'


def write_config(tmp_path: Path, text: str = "") -> Path:
    path = tmp_path / "sessionhub.toml"
    path.write_text(FAST_ECHO + text, encoding="utf-8")
    return path


async def run_import(
    cli: Cli, fmt: str, path: Path, url: str, config: Path
) -> dict[str, list[dict[str, str]]]:
    args = ("import", str(path), "--from", fmt, "--json", "--database", url, "--config", str(config))
    out = await asyncio.to_thread(cli, *args)  # the CLI runs its own event loop
    assert out.returncode == 0, out.stderr
    report: dict[str, list[dict[str, str]]] = json.loads(out.stdout)
    return report


@contextlib.asynccontextmanager
async def serve(url: str, config: Path) -> AsyncIterator[tuple[Hub, httpx.AsyncClient]]:
    """The real app over a hub opened as `sessionhub serve` would, closed properly afterwards."""
    async with sessionhub.open(url, config=str(config)) as hub:
        app = create_app(hub.settings, hub)
        transport = httpx.ASGITransport(app=app)
        async with (
            app.router.lifespan_context(app),  # the live side (event bus, scheduler) starts and stops
            httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client,
        ):
            yield hub, client


async def inbound(client: httpx.AsyncClient, **body: str) -> dict[str, str]:
    r = await client.post("/api/inbound", json={"text": "hello again", **body})
    assert r.status_code == 200, r.text
    data: dict[str, str] = r.json()
    return data


async def test_every_source_continues(cli: Cli, db_url: str, tmp_path: Path) -> None:
    """PocketPaw, PicoClaw (JSONL, legacy .json, agent: keys) and OpenClaw (main key, reset archive,
    crash-cut line) sessions continue on their chat; AI-Lab and web sessions stay web sessions."""
    config = write_config(tmp_path)
    reports = {
        path: await run_import(cli, fmt, FIXTURES / path, db_url, config)
        for fmt, path in [
            ("pocketpaw", "pocketpaw/memory"),
            ("picoclaw", "picoclaw/workspace"),
            ("picoclaw", "picoclaw-legacy/workspace"),
            ("openclaw", "openclaw-reset"),
            ("ai-lab", "ai-lab/memory"),
        ]
    }
    # nothing skipped silently: the cut line, the migrated copy and the deleted transcript are named
    whys = " | ".join(s["what"] + ": " + s["why"] for r in reports.values() for s in r["skipped"])
    assert "line 4: the last line is cut off" in whys
    assert "discord_42.json.migrated: PicoClaw already moved" in whys
    assert ".jsonl.deleted." in whys and "deleted in OpenClaw" in whys
    assert all(not r["failed"] for r in reports.values())

    async with serve(db_url, config) as (hub, client):
        cases = [  # (inbound fields, the imported session's source key, messages before)
            ({"channel": "telegram", "chat": "99887766", "sender": "99887766"}, "telegram:99887766", 2),
            ({"channel": "telegram", "chat": "123456", "sender": "123456"}, "telegram:123456", 6),
            ({"channel": "telegram", "chat": "555", "sender": "555"}, "telegram:555", 2),
            ({"channel": "telegram", "chat": "777", "sender": "777"}, "agent:main:telegram:direct:777", 3),
            (
                {"channel": "telegram", "chat": "-100200", "chat_type": "group", "sender": "9"},
                "agent:main:telegram:group:-100200",
                3,
            ),
            ({"channel": "telegram", "chat": "4242", "sender": "4242"}, "agent:main:main", 2),
        ]
        for fields, source_key, before in cases:
            if fields["chat"] == "555":  # this one arrives as Telegram posts it (a webhook Update)
                update = {
                    "update_id": 1,
                    "message": {
                        "message_id": 7, "date": 1767600000, "text": "hello again",
                        "chat": {"id": 555, "type": "private"}, "from": {"id": 555, "is_bot": False, "first_name": "A"},
                    },
                }  # fmt: skip
                r = await client.post("/api/channels/telegram/webhook", json=update)
                assert r.status_code == 200, r.text
                data = r.json()["results"][0]
            else:
                data = await inbound(client, **fields)
            sid = data["session_id"]

            async def answered(sid: str = sid) -> bool:  # Telegram replies are sent in the background
                msgs = (await client.get(f"/api/sessions/{sid}/messages")).json()["messages"]
                return msgs[-1]["role"] == "assistant" and msgs[-1]["status"] == "complete"

            await eventually(answered, what=f"the agent's reply in {source_key}")
            s = (await client.get(f"/api/sessions/{sid}")).json()
            assert s["metadata"]["source_key"] == source_key, (fields, s)
            assert s["message_count"] == before + 2 and s["status"] == "active"  # + message + reply
            assert s["channel"] == "telegram" and s["source"] == "channel"
            assert s["metadata"]["origin"]["chat"] == fields["chat"]
            assert s["key"] == f"main:telegram:default:{fields['chat']}"
        # OpenClaw's reset archive is an archived session of the same key
        page = (await client.get("/api/sessions", params={"view": "archived"})).json()["sessions"]
        [archive] = [s for s in page if s["metadata"].get("source_key") == "agent:main:main"]
        assert archive["key"] == "main:telegram:default:4242" and archive["title"] == "what's on my calendar"
        # sessions without a chat stay web sessions keyed by their id
        every = (await client.get("/api/sessions", params={"view": "all", "limit": 100})).json()["sessions"]
        web = {s["metadata"]["source_key"]: s for s in every if s["channel"] == "web"}
        assert {"websocket:5f1c2a9e", "abc123def456", "xyz789abc012", "cli_default"} <= set(web)
        for source_key, s in web.items():  # AI-Lab ids stay usable on the AI-Lab endpoints
            ai_lab = source_key in ("abc123def456", "xyz789abc012")
            assert s["key"] == (f"main:ai-lab:{source_key}" if ai_lab else s["id"]), s
        # a legacy key is accepted wherever a key is: REST, library, CLI
        r = await client.get("/api/sessions/by-key", params={"key": "agent:main:telegram:direct:777"})
        assert r.status_code == 200 and r.json()["key"] == "main:telegram:default:777"
        assert (await hub.session_for_key("agent:main:telegram:direct:777")).id == r.json()["id"]
        assert (await hub.session_for_key("main:telegram:default:777")).id == r.json()["id"]
        bad = await client.get("/api/sessions/by-key", params={"key": "agent:"})
        assert bad.status_code == 422 and bad.json()["error"]["message"]
        missing = await client.get("/api/sessions/by-key", params={"key": "agent:main:slack:direct:u9"})
        assert missing.status_code == 404
    shown = await asyncio.to_thread(cli, "sessions", "show", "agent:main:telegram:direct:777", "--json", "--database", db_url,
                "--config", str(config))  # fmt: skip
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["session"]["metadata"]["source_key"] == "agent:main:telegram:direct:777"


async def test_dimensions_at_import_time_and_newest_is_live(cli: Cli, tmp_path: Path) -> None:
    """Under `per-channel-peer` the imported DM gets the key the next DM will have; of several
    PocketPaw sessions of one chat (a /new alias) the newest is live, the older archived, and a
    re-import changes nothing."""
    url = f"sqlite:///{tmp_path}/dims.db"
    config = write_config(tmp_path, '[session]\nscope = "per-channel-peer"\n')
    src = tmp_path / "memory"
    shutil.copytree(FIXTURES / "pocketpaw/memory", src)
    sessions = src / "sessions"
    newer = [
        {"id": "c1", "role": "user", "content": "second chat", "timestamp": "2026-02-12T08:00:00+00:00"},
        {"id": "c2", "role": "assistant", "content": "sure", "timestamp": "2026-02-12T08:00:02+00:00"},
    ]
    (sessions / "telegram_99887766_a1b2c3d4.json").write_text(json.dumps(newer), encoding="utf-8")
    (sessions / "_aliases.json").write_text(
        json.dumps({"telegram:99887766": "telegram:99887766:a1b2c3d4"}), encoding="utf-8"
    )
    first = await run_import(cli, "pocketpaw", src, url, config)
    assert len(first["imported"]) == 3
    again = await run_import(cli, "pocketpaw", src, url, config)
    assert not again["imported"] and [s["why"] for s in again["skipped"]].count("already imported") == 3
    async with sessionhub.open(url, config=str(config)) as hub:
        result = await hub.handle_inbound(
            {"channel": "telegram", "chat": "99887766", "sender": "99887766", "text": "third"}
        )
        assert result.session.key == "main:telegram:default:99887766:sender:99887766"
        assert result.session.metadata["source_key"] == "telegram:99887766:a1b2c3d4"
        assert result.session.message_count == 3
        old = await hub.list_sessions(view="archived")
        assert [s.metadata["source_key"] for s in old.sessions] == ["telegram:99887766"]
        assert old.sessions[0].key == result.session.key
