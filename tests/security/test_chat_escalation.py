"""Chat users cannot widen what the operator set (CONTRACT 11.1), and import/PATCH/pin keep the rules.

A real ``sessionhub serve`` runs two agents, ``admin`` (the default) and ``public``; a dispatch
rule pins Telegram to ``public``, whose chat users may pick the model ``echo-small`` and nothing
else; ``telegram:42`` is an admin. Messages arrive through ``POST /api/inbound`` and the Telegram
webhook, as an outsider's would. The library rules run on every backend.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import subprocess
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import sessionhub
from sessionhub.config import AgentSettings, CommandSettings, Settings
from sessionhub.errors import InvalidInput, SessionReadOnly
from sessionhub.hub import Hub
from sessionhub.server.app import create_app

from .conftest import serve

AGENTS = """
[[agents]]
id = "admin"
provider = "echo"
model = "echo"

[[agents]]
id = "public"
provider = "echo"
model = "echo"
models = ["echo-small"]

[[dispatch.rules]]
agent = "public"
when = { channel = "telegram" }
"""
CONFIG = AGENTS + '\n[commands]\nadmins = ["telegram:42"]\n'
OPEN_SCOPE = AGENTS + "\n[commands]\nallow_scope_change = true\n"
ADMIN = "42"
_ids = itertools.count(1)


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One server for the module (SQLite file), configured as in the module docstring."""
    tmp = tmp_path_factory.mktemp("escalation")
    with serve(tmp, f"sqlite:///{tmp}/hub.db", CONFIG) as (url, _proc):
        yield url


def inbound(base: str, chat: str, text: str, sender: str | None = None, channel: str = "telegram") -> str:
    """Send ``text`` through POST /api/inbound; the reply."""
    body = {"channel": channel, "chat": chat, "sender": sender or chat, "text": text}
    r = httpx.post(f"{base}/api/inbound", json=body, timeout=30)
    assert r.status_code == 200, r.text
    return str(r.json()["reply"])


def webhook(base: str, chat: str, text: str, sender: str | None = None) -> str:
    """Send ``text`` as a Telegram Update to the Telegram webhook; the reply."""
    n = next(_ids)
    who = int(sender or chat)
    update = {
        "update_id": 50_000 + n,
        "message": {
            "message_id": n,
            "from": {"id": who, "is_bot": False, "first_name": "U"},
            "chat": {"id": int(chat), "type": "private"},
            "date": 1_700_000_000,
            "text": text,
        },
    }
    r = httpx.post(f"{base}/api/channels/telegram/webhook", json=update, timeout=30)
    assert r.status_code == 200, r.text
    [result] = r.json()["results"]
    return str(result["reply"])


def session_ids(base: str) -> set[str]:
    r = httpx.get(f"{base}/api/sessions", params={"view": "all", "limit": 500}, timeout=30)
    assert r.status_code == 200, r.text
    return {s["id"] for s in r.json()["sessions"]}


def test_scope_change_refused_for_chat_users_allowed_for_admin(base: str) -> None:
    """/session scope main from a normal sender changes nothing and cannot read the shared session; the admin may."""
    assert "Scope set to main" in webhook(base, ADMIN, "/session scope main")
    webhook(base, ADMIN, "secret plan for the launch")
    for send in (inbound, webhook):
        reply = send(base, "7", "/session scope main")
        assert "not allowed" in reply and "Scope set" not in reply
    info = inbound(base, "7", "/session")
    assert "key public:telegram:default:7" in info and "scope per chat" in info
    assert "secret plan" not in inbound(base, "7", "/history")
    assert "secret plan" in webhook(base, ADMIN, "/history")


def test_new_limited_to_the_rule_agents_and_models(base: str) -> None:
    """/new admin and /new public gpt-expensive are refused (nothing created); /new public echo-small works."""
    inbound(base, "8", "hello")
    before = session_ids(base)
    for send in (inbound, webhook):
        reply = send(base, "8", "/new admin")
        assert reply == "Agent 'admin' is not available in this chat (available: public)."
        reply = send(base, "8", "/new public gpt-expensive")
        assert (
            reply == "Model 'gpt-expensive' is not available for agent public (available: echo, echo-small)."
        )
    assert session_ids(base) == before
    assert "agent public, provider echo, model echo" in inbound(base, "8", "/session")
    assert "(agent public, model echo-small)" in webhook(base, "8", "/new public echo-small")
    assert "(agent public, model echo)" in inbound(base, "8", "/new")


def test_no_rule_gives_only_the_default_agent(base: str) -> None:
    """A chat no rule matches may only have the default agent (admin here), not pick public."""
    reply = inbound(base, "9", "/new public", channel="signal")
    assert reply == "Agent 'public' is not available in this chat (available: admin)."
    assert "(agent admin, model echo)" in inbound(base, "9", "/new admin", channel="signal")


def test_admin_may_pick_any_agent_and_model(base: str) -> None:
    """The admin sender may start any configured agent with any model, through either entry."""
    assert "(agent admin, model echo)" in webhook(base, ADMIN, "/new admin")
    assert "(agent public, model gpt-expensive)" in inbound(base, ADMIN, "/new public gpt-expensive")
    assert "unknown agent 'nobody'" in webhook(base, ADMIN, "/new nobody")


def test_allow_scope_change_opens_scope_to_every_chat(tmp_path: Path) -> None:
    """With [commands] allow_scope_change = true any chat user may change the scope."""
    with serve(tmp_path, f"sqlite:///{tmp_path}/open.db", OPEN_SCOPE) as (url, _proc):
        assert "Scope set to main" in webhook(url, "7", "/session scope main")
        assert "Key public:main" in inbound(url, "8", "/session scope main")
        assert "Agent 'admin' is not available" in inbound(url, "8", "/new admin")


# -- the library rules on every backend --------------------------------------------------------


SETTINGS = Settings(
    agents=(AgentSettings(id="admin"), AgentSettings(id="public", models=("echo-small",))),
    dispatch={"rules": [{"agent": "public", "agents": ["admin"], "when": {"chat": "100"}}]},
    commands=CommandSettings(admins=("ops",)),
    session={"identity_links": {"ops": ["slack:U1"]}},
)


@pytest.fixture
async def hub(backend_url: str, encryption_key: str | None) -> AsyncIterator[Hub]:
    """A hub with the two agents on the test's backend."""
    async with sessionhub.open(backend_url, settings=SETTINGS, encryption_key=encryption_key) as h:
        yield h


async def say(hub: Hub, text: str, chat: str = "100", sender: str = "u1", channel: str = "telegram") -> str:
    res = await hub.handle_inbound({"channel": channel, "chat": chat, "sender": sender, "text": text})
    assert res.reply is not None
    return res.reply


async def test_rule_agents_list_and_linked_admin(hub: Hub) -> None:
    """A rule's ``agents`` opens those agents to its chat users; an admin named by canonical identity may scope."""
    assert "(agent admin, model echo)" in await say(hub, "/new admin")
    assert "not available" in await say(hub, "/new public gpt-x")
    assert "not allowed" in await say(hub, "/session scope peer")
    assert "Scope set to peer" in await say(hub, "/session scope peer", sender="U1", channel="slack")


def export_doc(**session: Any) -> dict[str, Any]:
    base = {
        "id": "ses_00000000000000000000000000",
        "title": "imported",
        "agent": "public",
        "provider": "echo",
        "model": "echo",
        "status": "active",
        "pinned": False,
    }
    doc = {"format": "sessionhub", "version": 1, "session": {**base, **session}, "messages": []}
    doc["messages"] = [{"role": "user", "content": "hi", "seq": 1}]
    return doc


BAD_IMPORTS = [
    ({"agent": "root"}, "unknown agent 'root'"),
    ({"provider": "openai"}, "provider 'openai' is not the provider of agent 'public'"),
    ({"status": "archived", "pinned": True}, "an archived session cannot be pinned"),
]


@pytest.mark.parametrize(("change", "message"), BAD_IMPORTS)
async def test_import_refuses_what_create_refuses(hub: Hub, change: dict[str, Any], message: str) -> None:
    """hub.import_session refuses an unknown agent, a provider not the agent's, or archived+pinned; stores nothing."""
    with pytest.raises(InvalidInput, match=message):
        await hub.import_session(export_doc(**change))
    assert not (await hub.list_sessions(view="all")).sessions
    good = await hub.import_session(export_doc(model="echo-large"))
    assert (good.agent, good.provider, good.model) == ("public", "echo", "echo-large")


async def test_import_and_patch_over_http(hub: Hub) -> None:
    """POST /api/sessions/import answers 422 for an unknown agent; PATCH keeps pin and archive apart (409, nothing written)."""
    app = create_app(SETTINGS, hub)
    transport = httpx.ASGITransport(app=app)
    async with contextlib.AsyncExitStack() as stack:
        stack.push_async_callback(app.state.live.aclose)  # no lifespan under ASGITransport
        client = await stack.enter_async_context(
            httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1")
        )
        r = await client.post("/api/sessions/import", json=export_doc(agent="root"))
        assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_input"
        r = await client.post("/api/sessions", json={"agent": "root"})
        assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_input"
        sid = (await client.post("/api/sessions", json={"title": "t"})).json()["id"]
        r = await client.patch(f"/api/sessions/{sid}", json={"archived": True, "pinned": True})
        assert r.status_code == 409 and r.json()["error"]["code"] == "session_read_only"
        s = await hub.get_session(sid)
        assert (s.status, s.pinned) == ("active", False)
        assert (await client.patch(f"/api/sessions/{sid}", json={"archived": True})).status_code == 200
        r = await client.patch(f"/api/sessions/{sid}", json={"title": "changed", "pinned": True})
        assert r.status_code == 409 and r.json()["error"]["code"] == "session_read_only"
        s = await hub.get_session(sid)
        assert (s.title, s.status, s.pinned) == ("t", "archived", False)
        r = await client.patch(f"/api/sessions/{sid}", json={"archived": False, "pinned": True})
        assert r.status_code == 200 and (r.json()["status"], r.json()["pinned"]) == ("active", True)
        r = await client.patch(f"/api/sessions/{sid}", json={"archived": True})
        assert r.status_code == 409 and r.json()["error"]["code"] == "session_pinned"


async def test_pin_refuses_an_archived_session(hub: Hub) -> None:
    """hub.pin on an archived session raises SessionReadOnly and leaves it unpinned."""
    s = await hub.create_session(title="old")
    await hub.archive(s.id)
    with pytest.raises(SessionReadOnly):
        await hub.pin(s.id)
    assert (await hub.get_session(s.id)).pinned is False


def test_cli_pin_and_import_refuse(
    tmp_path: Path, cli: Callable[..., subprocess.CompletedProcess[str]]
) -> None:
    """`sessionhub sessions pin` of an archived session and `sessionhub import` of an unknown agent fail in one line."""
    db = f"sqlite:///{tmp_path}/cli.db"

    def sh(*args: str) -> subprocess.CompletedProcess[str]:
        return cli(*args, "--database", db)

    sid = sh("sessions", "new").stdout.strip()
    assert sh("sessions", "archive", sid).returncode == 0
    pinned = sh("sessions", "pin", sid)
    assert pinned.returncode == 4 and "archived" in pinned.stderr
    assert len(pinned.stderr.strip().splitlines()) == 1
    path = tmp_path / "export.json"
    path.write_text(json.dumps(export_doc(agent="root")))
    imported = sh("import", str(path))
    assert imported.returncode == 1 and "unknown agent 'root'" in imported.stdout
    assert sh("sessions", "list", "--view", "all", "--json").stdout.count('"id"') == 1
