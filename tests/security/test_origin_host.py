"""Cross-site pages and DNS rebinding (CONTRACT 11.1): Origin, Host and Content-Type rules.

The attacks run against one real ``sessionhub serve`` process without tokens (the ``make
serve`` default) that lists one extra origin and one extra host name; the finer rules
(tokens, default ports, ``+json`` types) are a table on the in-process app.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import AsyncIterator, Iterator
from urllib.parse import urlsplit

import httpx
import pytest
import websockets
from websockets.sync.client import connect

import sessionhub
from sessionhub.config import ServerSettings, Settings
from sessionhub.hub import Hub
from sessionhub.server.app import create_app

from .conftest import serve

ALLOWED_ORIGIN = "https://app.example.com"
ALLOWED_HOST = "sessions.internal"
CONFIG = f"""
[server]
allowed_origins = ["{ALLOWED_ORIGIN}"]
allowed_hosts = ["{ALLOWED_HOST}"]
"""
EVIL = "http://evil.example"
JSON = {"content-type": "application/json"}
TELEGRAM_UPDATE = {
    "update_id": 7001,
    "message": {
        "message_id": 11,
        "date": 1700000000,
        "chat": {"id": 4242, "type": "private"},
        "from": {"id": 4242, "is_bot": False, "first_name": "Ann"},
        "text": "hello bot",
    },
}


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real server without tokens, on SQLite, allowing one extra origin and host."""
    tmp = tmp_path_factory.mktemp("origin-host")
    with serve(tmp, f"sqlite:///{tmp / 'db.sqlite'}", CONFIG) as (url, _proc):
        yield url


def new_session(base: str, title: str) -> str:
    r = httpx.post(f"{base}/api/sessions", json={"title": title})
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def ws_url(base: str) -> str:
    return base.replace("http://", "ws://") + "/ws"


def handshake_status(base: str, host: str) -> bytes:
    """The status line of a raw WebSocket handshake sent with ``Host: host``."""
    parts = urlsplit(base)
    assert parts.hostname and parts.port
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as s:
        s.sendall(
            f"GET /ws HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        return s.recv(64).split(b"\r\n", 1)[0]


def test_ws_refuses_a_foreign_origin_before_accept(base: str) -> None:
    """/ws from another site (or an opaque ``null`` origin) fails the handshake with 403."""
    for origin in (EVIL, "null", base.replace("127.0.0.1", "127.0.0.1.evil.example")):
        with pytest.raises(websockets.InvalidStatus) as refused:
            connect(ws_url(base), origin=origin, proxy=None, open_timeout=10)  # type: ignore[arg-type]
        assert refused.value.response.status_code == 403, origin


def test_ws_accepts_own_allowed_and_absent_origin(base: str) -> None:
    """The dashboard's own origin, a configured origin and a client without Origin get a socket."""
    for origin in (base, ALLOWED_ORIGIN, None):
        with connect(ws_url(base), origin=origin, proxy=None, open_timeout=10) as ws:  # type: ignore[arg-type]
            ws.send(json.dumps({"action": "new_session"}))
            event = json.loads(ws.recv(timeout=10))
            assert event["type"] == "session", (origin, event)


def test_foreign_origin_rest_writes_nothing(base: str) -> None:
    """DELETE, PATCH and POST with a foreign Origin get 403 and leave the session as it was."""
    sid = new_session(base, "keep me")
    for origin in (EVIL, "null"):
        headers = {"Origin": origin, **JSON}
        r = httpx.delete(f"{base}/api/sessions/{sid}", headers=headers)
        assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
        r = httpx.patch(f"{base}/api/sessions/{sid}", json={"title": "pwned"}, headers=headers)
        assert r.status_code == 403
        r = httpx.post(
            f"{base}/api/sessions/{sid}/messages", json={"role": "user", "content": "x"}, headers=headers
        )
        assert r.status_code == 403
    s = httpx.get(f"{base}/api/sessions/{sid}").json()
    assert (s["title"], s["message_count"]) == ("keep me", 0)
    # The same request from the server's own page (the dashboard) goes through.
    assert httpx.delete(f"{base}/api/sessions/{sid}", headers={"Origin": base}).status_code == 204


def test_allowed_origin_passes(base: str) -> None:
    """An origin listed in [server] allowed_origins may write."""
    r = httpx.post(f"{base}/api/sessions", json={"title": "from the app"}, headers={"Origin": ALLOWED_ORIGIN})
    assert r.status_code == 201, r.text


def test_no_cors_cleanup_deletes_nothing(base: str) -> None:
    """A no-cors style cleanup (text/plain, or a Blob body without type) is refused; nothing is deleted."""
    sid = new_session(base, "old enough")
    time.sleep(1.1)
    attack = json.dumps({"older_than": "1s"})
    cleanup = f"{base}/api/maintenance/cleanup"
    r = httpx.post(cleanup, content=attack, headers={"content-type": "text/plain;charset=UTF-8"})
    assert r.status_code == 415 and r.json()["error"]["code"] == "unsupported_media_type"
    assert httpx.post(cleanup, content=attack).status_code == 415  # no Content-Type at all
    headers = {"content-type": "text/plain", "Origin": EVIL}
    assert httpx.post(cleanup, content=attack, headers=headers).status_code == 403
    assert httpx.get(f"{base}/api/sessions/{sid}").status_code == 200
    # The attack would have deleted it: the same cleanup as JSON (a dry run) selects it.
    r = httpx.post(cleanup, json={"older_than": "1s", "dry_run": True})
    assert r.status_code == 200 and sid in r.json()["session_ids"]


def test_webhook_takes_platform_bodies_but_not_cross_site_ones(base: str) -> None:
    """The Telegram webhook answers a text/plain update from the platform, not one from a page."""
    hook = f"{base}/api/channels/telegram/webhook"
    body = json.dumps(TELEGRAM_UPDATE)
    before = httpx.get(f"{base}/api/sessions", params={"channel": "telegram"}).json()["sessions"]
    r = httpx.post(hook, content=body, headers={"content-type": "text/plain", "Origin": EVIL})
    assert r.status_code == 403
    assert httpx.get(f"{base}/api/sessions", params={"channel": "telegram"}).json()["sessions"] == before
    r = httpx.post(hook, content=body, headers={"content-type": "text/plain"}, timeout=30)
    assert r.status_code == 200 and len(r.json()["results"]) == 1, r.text


def test_dns_rebinding_host_is_refused(base: str) -> None:
    """Without tokens a foreign Host gets 400 (REST) or a failed handshake (/ws); loopback names pass."""
    port = urlsplit(base).port
    r = httpx.get(f"{base}/api/sessions", headers={"Host": f"evil.example:{port}"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "bad_request"
    assert handshake_status(base, f"evil.example:{port}") == b"HTTP/1.1 403 Forbidden"
    for host in (
        f"localhost:{port}",
        f"127.0.0.2:{port}",
        f"[::1]:{port}",
        ALLOWED_HOST,
        f"{ALLOWED_HOST}:{port}",
    ):
        assert httpx.get(f"{base}/api/sessions", headers={"Host": host}).status_code == 200, host
    assert handshake_status(base, f"localhost:{port}") == b"HTTP/1.1 101 Switching Protocols"


# ---- the rules table, in process -------------------------------------------------------------

TOKEN = "token-alice-000001"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
async def memory_hub() -> AsyncIterator[Hub]:
    async with sessionhub.open("sqlite://") as hub:
        yield hub


def client(hub: Hub, host: str = "127.0.0.1:8765", **server: object) -> httpx.AsyncClient:
    settings = Settings(server=ServerSettings(**server))  # type: ignore[arg-type]
    app = create_app(settings, Hub(hub.store, settings))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=f"http://{host}")


@pytest.mark.parametrize(
    ("server", "host", "headers", "status"),
    [
        ({}, "127.0.0.1:8765", {}, 201),
        ({}, "localhost", {"Origin": "http://localhost:80"}, 201),  # default port on either side
        ({}, "127.0.0.1:8765", {"Origin": "http://127.0.0.1:8766"}, 403),  # another port
        ({}, "127.0.0.1:8765", {"Origin": "https://127.0.0.1:8765"}, 403),  # another scheme
        ({}, "evil.example", {}, 400),
        ({"allowed_hosts": ("Evil.Example",)}, "evil.example:8765", {}, 201),
        ({"tokens": {TOKEN: "alice"}}, "evil.example", AUTH, 201),  # tokens: no Host check...
        (
            {"tokens": {TOKEN: "alice"}, "allowed_hosts": ("a.example",)},
            "evil.example",
            AUTH,
            400,
        ),  # ...unless set
        ({"tokens": {TOKEN: "alice"}}, "evil.example", {**AUTH, "Origin": "http://evil.example"}, 201),
        ({"tokens": {TOKEN: "alice"}}, "api.example", {**AUTH, "Origin": "http://evil.example"}, 403),
        (
            {"allowed_origins": ("https://app.example",)},
            "localhost",
            {"Origin": "https://APP.example:443"},
            201,
        ),
    ],
)
async def test_host_and_origin_rules(
    memory_hub: Hub, server: dict[str, object], host: str, headers: dict[str, str], status: int
) -> None:
    """Host and Origin decisions for POST /api/sessions across settings (ports, case, tokens)."""
    async with client(memory_hub, host, **server) as c:
        r = await c.post("/api/sessions", json={}, headers=headers)
        assert r.status_code == status, r.text


@pytest.mark.parametrize(
    ("method", "path", "content_type", "status"),
    [
        ("POST", "/api/sessions", "application/json; charset=utf-8", 201),
        ("PATCH", "/api/sessions/{sid}", "application/merge-patch+json", 200),
        ("PUT", "/api/sessions/{sid}/title", "text/plain", 415),
        ("PATCH", "/api/sessions/{sid}", "application/x-www-form-urlencoded", 415),
        ("POST", "/api/sessions/{sid}/messages", "multipart/form-data; boundary=x", 415),
        ("POST", "/api/inbound", "text/plain", 415),
        ("POST", "/api/triggers/deploy", "text/plain", None),  # the trigger route decides
    ],
)
async def test_content_type_rules(
    memory_hub: Hub, method: str, path: str, content_type: str, status: int | None
) -> None:
    """JSON endpoints take JSON types (parameters and +json included); webhooks and triggers decide themselves."""
    async with client(memory_hub) as c:
        sid = (await c.post("/api/sessions", json={})).json()["id"]
        body = json.dumps({"title": "t"}) if "sessions" in path else "{}"
        r = await c.request(
            method, path.format(sid=sid), content=body, headers={"content-type": content_type}
        )
        if status is None:
            assert r.status_code != 415
        else:
            assert r.status_code == status, r.text
