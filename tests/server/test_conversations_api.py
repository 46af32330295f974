"""OpenAI's Conversations API (/v1) through the official `openai` client against `sessionhub serve`.

One real server process (SQLite, two tokens) for the module; every client is built with
``_strict_response_validation=True``, so each answer is checked against the client's own
types. The backend-specific parts (SQLite, PostgreSQL, encryption) are in
tests/core/test_items_store.py; the Agents SDK in tests/integrations/test_v1_agents_sdk.py.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from _env import child_env

openai = pytest.importorskip("openai")

from openai import AsyncOpenAI, AuthenticationError, BadRequestError, NotFoundError, OpenAI  # noqa: E402

from .live_server import free_port  # noqa: E402

SCRIPT = Path(sys.executable).parent / "sessionhub"
ALICE_KEY = "v1-token-alice-0001"
BOB_KEY = "v1-token-bob-00002"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``sessionhub serve`` on a free loopback port with two users; yields its base URL."""
    tmp = tmp_path_factory.mktemp("v1")
    config = tmp / "sessionhub.toml"
    config.write_text(f'[server.tokens]\n"{ALICE_KEY}" = "alice"\n"{BOB_KEY}" = "bob"\n')
    port = free_port()
    env = child_env(SESSIONHUB_CONFIG=str(config))
    proc = subprocess.Popen(
        [
            str(SCRIPT),
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--database",
            f"sqlite:///{tmp}/v1.db",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        cwd=tmp,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90  # a busy CI machine starts a process slowly
    try:
        while True:
            try:
                httpx.get(f"{base}/api/health", timeout=10)
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.05)
        yield base
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=20)


_CLIENTS: list[OpenAI] = []


def client(server: str, key: str = ALICE_KEY) -> OpenAI:
    """An official client of the server's /v1, closed after the test (its pooled sockets would
    otherwise be collected during a later test, which pytest reports as that test's failure)."""
    c = OpenAI(base_url=f"{server}/v1", api_key=key, _strict_response_validation=True, max_retries=0)
    _CLIENTS.append(c)
    return c


@pytest.fixture(autouse=True)
def _close_clients() -> Iterator[None]:
    yield
    while _CLIENTS:
        _CLIENTS.pop().close()


def api(server: str, key: str = ALICE_KEY) -> httpx.Client:
    return httpx.Client(base_url=server, headers={"Authorization": f"Bearer {key}"})


def session_count(server: str) -> int:
    with api(server) as h:
        return len(h.get("/api/sessions", params={"view": "all", "limit": 500}).json()["sessions"])


# -- conversations ---------------------------------------------------------------------------


def test_conversation_lifecycle(server: str) -> None:
    """Create with items and metadata, retrieve, update (replace), delete; then 404 everywhere."""
    c = client(server)
    conv = c.conversations.create(
        items=[
            {"type": "message", "role": "developer", "content": "be brief"},
            {"type": "message", "role": "user", "content": "hello there"},
            {"role": "assistant", "content": [{"type": "output_text", "text": "hi!"}]},
        ],
        metadata={"topic": "demo", "owner": "alice"},
    )
    assert conv.id.startswith("conv_") and conv.object == "conversation"
    assert isinstance(conv.created_at, int) and abs(conv.created_at - time.time()) < 60
    assert conv.metadata == {"topic": "demo", "owner": "alice"}
    got = c.conversations.retrieve(conv.id)
    assert (got.id, got.created_at, got.metadata) == (conv.id, conv.created_at, conv.metadata)

    page = c.conversations.items.list(conv.id, order="asc")
    items = [i.model_dump(exclude_none=True) for i in page.data]
    assert [i["type"] for i in items] == ["message"] * 3
    assert all(i["status"] == "completed" and i["id"].startswith("msg_") for i in items)
    assert [(i["role"], i["content"]) for i in items] == [
        ("developer", [{"type": "input_text", "text": "be brief"}]),
        ("user", [{"type": "input_text", "text": "hello there"}]),
        ("assistant", [{"type": "output_text", "text": "hi!", "annotations": []}]),
    ]
    assert page.first_id == items[0]["id"] and page.last_id == items[-1]["id"] and page.has_more is False

    updated = c.conversations.update(conv.id, metadata={"only": "this"})
    assert updated.metadata == {"only": "this"}  # replaced, not merged
    assert c.conversations.retrieve(conv.id).metadata == {"only": "this"}

    # The same conversation is a session of every other API, titled from its first user text.
    with api(server) as h:
        sid = "ses_" + conv.id.removeprefix("conv_")
        session = h.get(f"/api/sessions/{sid}").json()
        assert session["title"] == "hello there" and session["message_count"] == 3
        assert session["metadata"] == {"only": "this"}
        roles = [m["role"] for m in h.get(f"/api/sessions/{sid}/messages").json()["messages"]]
        assert roles == ["system", "user", "assistant"]
        hits = h.get("/api/sessions/search", params={"q": "hello there"}).json()["results"]
        assert sid in [hit["session"]["id"] for hit in hits]
        exported = h.get(f"/api/sessions/{sid}/export", params={"format": "json"}).text
        assert "be brief" in exported and "hello there" in exported

    deleted = c.conversations.delete(conv.id)
    assert (deleted.id, deleted.object, deleted.deleted) == (conv.id, "conversation.deleted", True)
    with pytest.raises(NotFoundError):
        c.conversations.retrieve(conv.id)
    with pytest.raises(NotFoundError):
        c.conversations.items.list(conv.id)
    with pytest.raises(NotFoundError):
        c.conversations.items.retrieve(items[0]["id"], conversation_id=conv.id)
    with pytest.raises(NotFoundError):
        c.conversations.delete(conv.id)


def test_items_create_retrieve_delete(server: str) -> None:
    """Item ids, function calls, lossless other types, item_reference, delete in the middle."""
    c = client(server)
    conv = c.conversations.create()
    reasoning = {
        "type": "reasoning",
        "id": "rs_0123456789abcdef0123456789abcdef0123456789abcdef",
        "summary": [{"type": "summary_text", "text": "thinking about weather"}],
        "encrypted_content": "gAAAAB-opaque",
    }
    created = c.conversations.items.create(
        conv.id,
        items=[
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "weather?"}]},
            reasoning,  # type: ignore[list-item]
            {
                "type": "function_call",
                "call_id": "call_1",
                "name": "weather",
                "arguments": '{"city": "Oslo"}',
            },
            {"type": "function_call_output", "call_id": "call_1", "output": "rain"},
            {"type": "message", "role": "assistant", "content": "It rains.", "id": "msg_given_by_client"},
        ],
        include=["message.output_text.logprobs"],
    )
    data = [i.model_dump(exclude_none=True) for i in created.data]
    assert [i["type"] for i in data] == [
        "message",
        "reasoning",
        "function_call",
        "function_call_output",
        "message",
    ]
    assert created.first_id == data[0]["id"] and created.last_id == "msg_given_by_client"
    assert created.has_more is False
    assert data[1] == reasoning  # stored as it came, returned equal
    assert data[2]["status"] == "completed" and data[2]["arguments"] == '{"city": "Oslo"}'
    assert data[3]["output"] == "rain"

    raw = c.conversations.items.retrieve(reasoning["id"], conversation_id=conv.id)
    assert raw.model_dump(exclude_none=True) == reasoning
    got = c.conversations.items.retrieve("msg_given_by_client", conversation_id=conv.id)
    assert got.type == "message" and got.content[0].type == "output_text"

    with pytest.raises(BadRequestError) as dup:
        c.conversations.items.create(
            conv.id, items=[{"role": "user", "content": "x", "id": "msg_given_by_client"}]
        )  # type: ignore[list-item]
    assert dup.value.message.startswith("Error code: 400") and "Duplicate item found with id" in str(
        dup.value
    )
    body: Any = dup.value.body
    assert body["message"].startswith("Duplicate item found with id") and body["param"] == "items"

    ref = c.conversations.items.create(conv.id, items=[{"type": "item_reference", "id": data[0]["id"]}])
    assert ref.data[0].type == "message" and ref.data[0].id != data[0]["id"]
    other = c.conversations.create(items=[{"role": "user", "content": "elsewhere"}])
    other_item = c.conversations.items.list(other.id).data[0].id
    with pytest.raises(NotFoundError):
        c.conversations.items.create(conv.id, items=[{"type": "item_reference", "id": other_item}])
    with pytest.raises(NotFoundError):
        c.conversations.items.retrieve(other_item, conversation_id=conv.id)

    # Delete in the middle: the conversation comes back, the item is gone, the rest keep order.
    after = c.conversations.items.delete(data[2]["id"], conversation_id=conv.id)
    assert after.id == conv.id and after.object == "conversation"
    with pytest.raises(NotFoundError):
        c.conversations.items.retrieve(data[2]["id"], conversation_id=conv.id)
    ids = [i.id for i in c.conversations.items.list(conv.id, order="asc")]
    assert ids == [data[0]["id"], data[1]["id"], data[3]["id"], data[4]["id"], ref.data[0].id]
    # ... and the last one (what the Agents SDK's pop_item does).
    c.conversations.items.delete(ref.data[0].id, conversation_id=conv.id)
    assert [i.id for i in c.conversations.items.list(conv.id, order="asc")] == ids[:-1]
    with pytest.raises(NotFoundError):
        c.conversations.items.delete("msg_never_was", conversation_id=conv.id)
    with api(server) as h:
        sid = "ses_" + conv.id.removeprefix("conv_")
        msgs = h.get(f"/api/sessions/{sid}/messages").json()["messages"]
        assert [m["seq"] for m in msgs] == [1, 2, 3, 4] and [m["id"] for m in msgs] == ids[:-1]
        assert msgs[2]["role"] == "tool" and msgs[2]["parts"][0]["tool_call_id"] == "call_1"


def test_auto_paging_walks_every_item_once(server: str) -> None:
    """105 items: the client's auto-pager in both orders and page sizes sees each exactly once."""
    c = client(server)
    conv = c.conversations.create()
    texts = [f"item {n}" for n in range(105)]
    for start in range(0, len(texts), 20):
        c.conversations.items.create(
            conv.id, items=[{"role": "user", "content": t} for t in texts[start : start + 20]]
        )

    def walk(**params: Any) -> list[str]:
        return [i.content[0].text for i in c.conversations.items.list(conv.id, **params)]  # type: ignore[union-attr]

    assert walk(order="asc", limit=10) == texts
    assert walk(order="desc", limit=7) == texts[::-1]
    assert walk(order="asc", limit=100) == texts
    assert walk() == texts[::-1]  # default: desc, pages of 20
    first = c.conversations.items.list(conv.id)
    assert len(first.data) == 20 and first.has_more is True  # the newest 20
    assert [i.content[0].text for i in first.data] == texts[:-21:-1]  # type: ignore[union-attr]
    last = c.conversations.items.list(conv.id, order="asc", after=first.data[0].id)
    assert last.data == [] and last.has_more is False and last.first_id is None
    tail = c.conversations.items.list(conv.id, order="desc", after=first.data[-1].id, limit=100)
    assert len(tail.data) == 85 and tail.has_more is False
    with pytest.raises(NotFoundError):
        c.conversations.items.list(conv.id, after="msg_not_here")


def test_limits_are_400_with_param_and_write_nothing(server: str) -> None:
    """OpenAI's limits and wording; a refused request changes nothing."""
    c = client(server)
    before = session_count(server)

    def refused(param: str, call: Any, *args: Any, **kwargs: Any) -> str:
        with pytest.raises(BadRequestError) as exc:
            call(*args, **kwargs)
        body: Any = exc.value.body
        assert body["type"] == "invalid_request_error" and body["param"] == param, body
        assert isinstance(body["message"], str) and "code" in body
        return str(body["message"])

    many = [{"role": "user", "content": f"m{n}"} for n in range(21)]
    assert "maximum length 20" in refused("items", c.conversations.create, items=many)
    assert "at most 16" in refused(
        "metadata", c.conversations.create, metadata={f"k{n}": "v" for n in range(17)}
    )
    assert "maximum length 64" in refused("metadata", c.conversations.create, metadata={"k" * 65: "v"})
    assert "maximum length 512" in refused("metadata.k", c.conversations.create, metadata={"k": "v" * 513})
    refused("items[0].role", c.conversations.create, items=[{"role": "robot", "content": "x"}])
    assert session_count(server) == before

    conv = c.conversations.create(metadata={"keep": "me"})
    refused("items", c.conversations.items.create, conv.id, items=many)
    refused("metadata", c.conversations.update, conv.id, metadata={f"k{n}": "v" for n in range(17)})
    with httpx.Client(base_url=server, headers={"Authorization": f"Bearer {ALICE_KEY}"}) as h:
        missing = h.post(f"/v1/conversations/{conv.id}", json={})
    assert missing.status_code == 400 and missing.json()["error"]["param"] == "metadata"
    assert c.conversations.retrieve(conv.id).metadata == {"keep": "me"}
    assert "<= 100" in refused("limit", c.conversations.items.list, conv.id, limit=101)
    assert ">= 1" in refused("limit", c.conversations.items.list, conv.id, limit=0)
    refused("order", c.conversations.items.list, conv.id, extra_query={"order": "sideways"})
    refused(
        "items[1].id",
        c.conversations.items.create,
        conv.id,
        items=[{"role": "user", "content": "a"}, {"role": "user", "content": "b", "id": "bad id/"}],
    )  # type: ignore[list-item]
    assert c.conversations.items.list(conv.id).data == []


def test_auth_isolation_and_error_shape(server: str) -> None:
    """Bearer tokens as /api: wrong key 401, another user's ids 404; OpenAI's error body everywhere."""
    alice, bob = client(server), client(server, BOB_KEY)
    conv = alice.conversations.create(items=[{"role": "user", "content": "private"}])
    item = alice.conversations.items.list(conv.id).data[0].id
    with pytest.raises(AuthenticationError):
        client(server, "wrong-key-000000000").conversations.retrieve(conv.id)
    for call in (
        lambda: bob.conversations.retrieve(conv.id),
        lambda: bob.conversations.items.list(conv.id),
        lambda: bob.conversations.items.retrieve(item, conversation_id=conv.id),
        lambda: bob.conversations.items.delete(item, conversation_id=conv.id),
        lambda: bob.conversations.delete(conv.id),
        lambda: bob.conversations.update(conv.id, metadata={}),
        lambda: alice.conversations.retrieve("conv_malformed"),
        lambda: alice.conversations.retrieve("ses_" + conv.id.removeprefix("conv_")),
    ):
        with pytest.raises(NotFoundError) as exc:
            call()
        assert set(exc.value.body) == {"message", "type", "param", "code"}  # type: ignore[arg-type]
    assert alice.conversations.items.retrieve(item, conversation_id=conv.id).id == item

    with httpx.Client(base_url=server) as h:
        cases = [
            h.get(f"/v1/conversations/{conv.id}"),  # no key: 401
            h.post(
                "/v1/conversations", content=b"{}", headers={"Authorization": f"Bearer {ALICE_KEY}"}
            ),  # 415
            h.post(
                "/v1/conversations",
                json={},
                headers={"Authorization": f"Bearer {ALICE_KEY}", "Origin": "http://evil.example"},
            ),  # 403
            h.post(
                "/v1/conversations",
                content=b"{nope",
                headers={"Authorization": f"Bearer {ALICE_KEY}", "Content-Type": "application/json"},
            ),  # 400
            h.get("/v1/nothing-here", headers={"Authorization": f"Bearer {ALICE_KEY}"}),  # 404
        ]
    assert [r.status_code for r in cases] == [401, 415, 403, 400, 404]
    for r in cases:
        error = r.json()["error"]
        assert set(error) == {"message", "type", "param", "code"} and isinstance(error["message"], str)
        assert error["type"] == "invalid_request_error"
    assert cases[0].json()["error"]["code"] == "invalid_api_key"


def test_sessions_from_other_apis_are_conversations(server: str) -> None:
    """A session written through /api (text, tool calls, results) reads and writes as a conversation."""
    c = client(server)
    with api(server) as h:
        sid = h.post("/api/sessions", json={"title": "made in /api"}).json()["id"]
        h.post(
            f"/api/sessions/{sid}/messages",
            json={
                "messages": [
                    {"role": "system", "content": "rules"},
                    {"role": "user", "content": "look it up"},
                    {
                        "role": "assistant",
                        "content": "",
                        "parts": [{"type": "tool_call", "id": "c9", "name": "lookup", "arguments": {"q": 1}}],
                    },
                    {
                        "role": "tool",
                        "content": "found",
                        "parts": [{"type": "tool_result", "tool_call_id": "c9", "content": "found"}],
                    },
                    {"role": "assistant", "content": "Here it is."},
                ]
            },
        )
    conv_id = "conv_" + sid.removeprefix("ses_")
    items = [i.model_dump(exclude_none=True) for i in c.conversations.items.list(conv_id, order="asc")]
    assert [i["type"] for i in items] == [
        "message",
        "message",
        "function_call",
        "function_call_output",
        "message",
    ]
    assert items[0]["content"] == [{"type": "input_text", "text": "rules"}] and items[0]["role"] == "system"
    assert (
        items[2]["call_id"] == "c9" and items[2]["name"] == "lookup" and items[2]["arguments"] == '{"q": 1}'
    )
    assert items[3]["output"] == "found"
    assert items[4]["content"] == [{"type": "output_text", "text": "Here it is.", "annotations": []}]
    c.conversations.items.create(conv_id, items=[{"role": "user", "content": "thanks"}])
    with api(server) as h:
        assert h.get(f"/api/sessions/{sid}").json()["message_count"] == 6


def test_a_message_with_several_tool_calls_is_several_items(server: str) -> None:
    """A turn written through /api with text and three tool calls, and a tool message with
    three results, read as 4 + 3 items: listed in both orders by the client's auto-pager
    (page size 2, so pages start and end inside a message), retrieved and referenced one by
    one; a piece cannot be deleted alone, its message can."""
    c = client(server)
    calls = [
        {"type": "tool_call", "id": f"c{n}", "name": f"tool{n}", "arguments": {"n": n}} for n in range(3)
    ]
    results = [{"type": "tool_result", "tool_call_id": f"c{n}", "content": f"out{n}"} for n in range(3)]
    with api(server) as h:
        sid = h.post("/api/sessions", json={"title": "several calls"}).json()["id"]
        written = h.post(
            f"/api/sessions/{sid}/messages",
            json={
                "messages": [
                    {"role": "user", "content": "do three things"},
                    {"role": "assistant", "content": "On it.", "parts": calls},
                    {"role": "tool", "content": "out0 out1 out2", "parts": results},
                    {"role": "assistant", "content": "Done."},
                ]
            },
        ).json()["messages"]
    turn, tool = written[1]["id"], written[2]["id"]
    conv_id = "conv_" + sid.removeprefix("ses_")
    asc = [i.model_dump(exclude_none=True) for i in c.conversations.items.list(conv_id, order="asc", limit=2)]
    assert [(i["id"], i["type"]) for i in asc[1:8]] == [
        (turn, "message"),
        (f"{turn}~1", "function_call"),
        (f"{turn}~2", "function_call"),
        (f"{turn}~3", "function_call"),
        (tool, "function_call_output"),
        (f"{tool}~1", "function_call_output"),
        (f"{tool}~2", "function_call_output"),
    ]
    assert len(asc) == 9 and [i.get("call_id") for i in asc[2:5]] == ["c0", "c1", "c2"]
    assert [i["output"] for i in asc[5:8]] == ["out0", "out1", "out2"]
    assert asc[3]["arguments"] == '{"n": 1}' and asc[3]["name"] == "tool1"
    desc = [i.id for i in c.conversations.items.list(conv_id, limit=2)]
    assert desc == [i["id"] for i in reversed(asc)]
    for n in (1, 2, 3):  # pages after an item inside a message
        page = c.conversations.items.list(conv_id, after=f"{turn}~{n}", order="asc", limit=100)
        assert [i.id for i in page.data] == [i["id"] for i in asc[2 + n :]]
    assert (
        c.conversations.items.retrieve(f"{tool}~2", conversation_id=conv_id).model_dump(exclude_none=True)
        == asc[7]
    )
    with pytest.raises(NotFoundError):
        c.conversations.items.retrieve(f"{turn}~4", conversation_id=conv_id)
    with pytest.raises(NotFoundError):
        c.conversations.items.retrieve(f"{turn}~01", conversation_id=conv_id)
    copied = c.conversations.items.create(conv_id, items=[{"type": "item_reference", "id": f"{turn}~2"}])
    assert copied.data[0].type == "function_call" and copied.data[0].call_id == "c1"  # type: ignore[union-attr]
    with pytest.raises(BadRequestError, match="delete"):
        c.conversations.items.delete(f"{turn}~1", conversation_id=conv_id)
    c.conversations.items.delete(turn, conversation_id=conv_id)
    left = [i.id for i in c.conversations.items.list(conv_id, order="asc")]
    assert turn not in left and f"{turn}~1" not in left and len(left) == 6


async def test_async_client(server: str) -> None:
    """The async client: create, add, auto-page, delete."""
    c = AsyncOpenAI(
        base_url=f"{server}/v1", api_key=ALICE_KEY, _strict_response_validation=True, max_retries=0
    )
    conv = await c.conversations.create(items=[{"role": "user", "content": f"a{n}"} for n in range(20)])
    await c.conversations.items.create(
        conv.id, items=[{"role": "assistant", "content": f"b{n}"} for n in range(20)]
    )
    seen = [i.id async for i in c.conversations.items.list(conv.id, limit=15)]
    assert len(seen) == len(set(seen)) == 40
    newest = await c.conversations.items.retrieve(seen[0], conversation_id=conv.id)
    assert newest.content[0].text == "b19"  # type: ignore[union-attr]
    assert (await c.conversations.delete(conv.id)).deleted is True
    with pytest.raises(NotFoundError):
        await c.conversations.items.list(conv.id)
    await c.close()


def test_idempotency_key_on_items_create(server: str) -> None:
    """A retried items.create with the same Idempotency-Key stores once and answers the same items."""
    c = client(server)
    conv = c.conversations.create()
    items: Any = [{"role": "user", "content": "once"}, {"role": "assistant", "content": "only once"}]
    first = c.conversations.items.with_raw_response.create(
        conv.id, items=items, extra_headers={"Idempotency-Key": "retry-1"}
    )
    again = c.conversations.items.with_raw_response.create(
        conv.id, items=items, extra_headers={"Idempotency-Key": "retry-1"}
    )
    assert first.headers["idempotent-replayed"] == "false" and again.headers["idempotent-replayed"] == "true"
    assert [i.id for i in again.parse().data] == [i.id for i in first.parse().data]
    assert len(c.conversations.items.list(conv.id).data) == 2
    with pytest.raises(openai.ConflictError):
        c.conversations.items.create(conv.id, items=items[:1], extra_headers={"Idempotency-Key": "retry-1"})
