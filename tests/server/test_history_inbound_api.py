"""Checkpoints, fork, export/import, context, cleanup, inbound and platform webhooks over HTTP."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from pathlib import Path

import httpx

from .conftest import ALICE, BOB, TOKENS, ClientFactory, make_settings
from .util import assert_error, new_session

FIXTURES = Path(__file__).parent.parent / "routing" / "fixtures"
CHK = "chk_" + "0" * 25


def _fixture(channel: str, name: str) -> bytes:
    """The platform payload of a routing fixture, as the platform sends it."""
    data = json.loads((FIXTURES / channel / f"{name}.json").read_text())
    return json.dumps(data["payload"]).encode()


async def _seeded(client: httpx.AsyncClient, n: int = 4) -> str:
    sid = (await new_session(client))["id"]
    msgs = [
        {"role": "user" if i % 2 == 0 else "assistant", "content": f"message {i}"} for i in range(1, n + 1)
    ]
    assert (await client.post(f"/api/sessions/{sid}/messages", json={"messages": msgs})).status_code == 201
    return sid


async def test_checkpoints_save_list_restore_delete(client: httpx.AsyncClient) -> None:
    """A checkpoint is 201, listed, restorable (later messages kept aside) and deletable (204)."""
    sid = await _seeded(client, 2)
    r = await client.post(f"/api/sessions/{sid}/checkpoints", json={"name": "before"})
    assert r.status_code == 201 and r.json()["at_seq"] == 2
    cid = r.json()["id"]
    await client.post(f"/api/sessions/{sid}/messages", json={"role": "user", "content": "later"})
    listed = (await client.get(f"/api/sessions/{sid}/checkpoints")).json()["checkpoints"]
    assert [c["id"] for c in listed] == [cid]
    r = await client.post(f"/api/checkpoints/{cid}/restore")
    assert r.status_code == 200 and r.json()["id"] == sid
    assert [m["content"] for m in (await client.get(f"/api/sessions/{sid}/messages")).json()["messages"]] == [
        "message 1", "message 2",
    ]  # fmt: skip
    assert (await client.delete(f"/api/checkpoints/{cid}")).status_code == 204
    assert_error(await client.delete(f"/api/checkpoints/{cid}"), 404)
    assert_error(await client.post(f"/api/checkpoints/{CHK}/restore"), 404)
    assert_error(await client.post("/api/checkpoints/../restore"), 404)
    assert_error(await client.post(f"/api/sessions/{sid}/checkpoints", json={"name": ""}), 422)


async def test_fork_export_import_roundtrip(client: httpx.AsyncClient) -> None:
    """fork is 201 with the shared history; a json export imports back as a 201 session."""
    sid = await _seeded(client, 4)
    r = await client.post(f"/api/sessions/{sid}/fork", json={"at_seq": 2})
    assert r.status_code == 201 and r.json()["id"] != sid
    fork_msgs = (await client.get(f"/api/sessions/{r.json()['id']}/messages")).json()["messages"]
    assert [m["content"] for m in fork_msgs] == ["message 1", "message 2"]
    assert (await client.post(f"/api/sessions/{sid}/fork")).status_code == 201
    exp = await client.get(f"/api/sessions/{sid}/export", params={"format": "json"})
    assert exp.status_code == 200 and exp.headers["content-type"].startswith("application/json")
    assert "attachment" in exp.headers["content-disposition"]
    r = await client.post("/api/sessions/import", json=exp.json())
    assert r.status_code == 201 and r.json()["message_count"] == 4
    for fmt, ctype in (
        ("markdown", "text/markdown"),
        ("text", "text/plain"),
        ("jsonl", "application/x-ndjson"),
    ):
        e = await client.get(f"/api/sessions/{sid}/export", params={"format": fmt})
        assert e.status_code == 200 and e.headers["content-type"].startswith(ctype) and "message 3" in e.text
    assert_error(await client.get(f"/api/sessions/{sid}/export", params={"format": "pdf"}), 422)
    assert_error(await client.get("/api/sessions/ses_nope/export"), 404)
    assert_error(await client.post("/api/sessions/import", json={"not": "an export"}), 422)


async def test_context_and_cleanup(client: httpx.AsyncClient) -> None:
    """context answers its shape and refuses unknown strategies; cleanup dry-runs and deletes."""
    sid = await _seeded(client, 4)
    r = await client.get(f"/api/sessions/{sid}/context", params={"max_tokens": 1000, "strategy": "recent"})
    assert r.status_code == 200 and set(r.json()) == {
        "messages",
        "token_count",
        "strategy",
        "summary",
        "dropped",
    }
    assert_error(await client.get(f"/api/sessions/{sid}/context", params={"strategy": "magic"}), 422)
    assert_error(await client.get(f"/api/sessions/{sid}/context", params={"max_tokens": 0}), 422)
    r = await client.post("/api/maintenance/cleanup", json={"older_than": "30d", "dry_run": True})
    assert r.status_code == 200 and r.json()["deleted"] == 0
    assert_error(await client.post("/api/maintenance/cleanup", json={"older_than": "soon"}), 422)


async def test_inbound_routes_and_dedups(client: httpx.AsyncClient) -> None:
    """POST /api/inbound records once per event id and answers chat commands in reply."""
    body = {"channel": "telegram", "chat": 123, "sender": "u1", "text": "hello", "event_id": "e1"}
    first = (await client.post("/api/inbound", json=body)).json()
    again = (await client.post("/api/inbound", json=body)).json()
    assert first["session_id"] == again["session_id"] and first["message_id"] and again["duplicate"] is True
    msgs = (await client.get(f"/api/sessions/{first['session_id']}/messages")).json()["messages"]
    assert [m["content"] for m in msgs if m["role"] == "user"] == ["hello"]  # the agent answers too
    r = (await client.post("/api/inbound", json={**body, "text": "/help", "event_id": "e2"})).json()
    assert r["reply"] and r["message_id"] is None
    assert_error(
        await client.post("/api/inbound", json={"channel": "fax", "chat": "1", "sender": "u", "text": "x"}),
        422,
    )
    assert_error(await client.post("/api/inbound", json={"channel": "telegram", "text": "x"}), 422)


def _slack_headers(secret: str, body: bytes, ts: int | None = None) -> dict[str, str]:
    stamp = str(ts if ts is not None else int(time.time()))
    sig = "v0=" + hmac.new(secret.encode(), f"v0:{stamp}:".encode() + body, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": sig, "content-type": "application/json"}


async def test_slack_webhook_signature_and_challenge(make_client: ClientFactory) -> None:
    """Slack webhooks need a valid signature when a secret is set; url_verification is answered."""
    settings = make_settings(tokens=TOKENS).replace(
        channels={"slack": {"signing_secret": "shh-secret", "user": "alice"}}
    )
    c = make_client(settings)
    verification = _fixture("slack", "url_verification")
    r = await c.post(
        "/api/channels/slack/webhook",
        content=verification,
        headers=_slack_headers("shh-secret", verification),
    )
    assert r.status_code == 200 and json.loads(verification)["challenge"] in r.text
    message = _fixture("slack", "channel_message")
    assert_error(await c.post("/api/channels/slack/webhook", content=message), 401)
    bad = _slack_headers("wrong", message)
    assert_error(await c.post("/api/channels/slack/webhook", content=message, headers=bad), 401)
    stale = _slack_headers("shh-secret", message, ts=int(time.time()) - 3600)
    assert_error(await c.post("/api/channels/slack/webhook", content=message, headers=stale), 401)
    for _ in range(3):  # resent three times, stored once
        r = await c.post(
            "/api/channels/slack/webhook", content=message, headers=_slack_headers("shh-secret", message)
        )
        assert r.status_code == 200, r.text
    sid = r.json()["results"][0]["session_id"]
    alice = make_client(settings, ALICE)
    stats = (await alice.get(f"/api/sessions/{sid}")).json()["stats"]
    assert stats["user_messages"] == 1  # stored once; the agent's reply comes on top
    assert_error(await make_client(settings, BOB).get(f"/api/sessions/{sid}"), 404)


async def test_telegram_webhook_secret_token(make_client: ClientFactory) -> None:
    """Telegram webhooks check X-Telegram-Bot-Api-Secret-Token; ignored events store nothing."""
    settings = make_settings().replace(channels={"telegram": {"secret_token": "tg-secret-1"}})
    c = make_client(settings)
    update = _fixture("telegram", "private_message")
    headers = {"content-type": "application/json"}
    assert_error(await c.post("/api/channels/telegram/webhook", content=update, headers=headers), 401)
    ok = {**headers, "X-Telegram-Bot-Api-Secret-Token": "tg-secret-1"}
    r = await c.post("/api/channels/telegram/webhook", content=update, headers=ok)
    assert r.status_code == 200 and len(r.json()["results"]) == 1
    bot = _fixture("telegram", "from_bot")
    r = await c.post("/api/channels/telegram/webhook", content=bot, headers=ok)
    assert r.json() == {"results": [], "ignored": 1}
    assert_error(await c.post("/api/channels/telegram/webhook", content=b"{", headers=ok), 422)
    assert_error(await c.post("/api/channels/fax/webhook", content=b"{}", headers=ok), 422)


async def test_webhook_needs_bearer_without_secret(make_client: ClientFactory) -> None:
    """With tokens on and no channel secret, a webhook needs the bearer token."""
    c = make_client(make_settings(tokens=TOKENS))
    update = _fixture("telegram", "private_message")
    assert_error(await c.post("/api/channels/telegram/webhook", content=update), 401)
    r = await c.post("/api/channels/telegram/webhook", content=update, headers=ALICE)
    assert r.status_code == 200 and r.json()["results"]
