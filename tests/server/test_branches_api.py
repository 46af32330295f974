"""Regenerate, edit and branches over HTTP (CONTRACT §11.9): JSON and SSE, owners, refusals."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from _util import eventually

from .conftest import ALICE, BOB, TOKENS, ClientFactory, make_settings
from .test_chat import WORDS, messages, parse_sse
from .util import assert_error, new_session


async def chat(client: httpx.AsyncClient, sid: str, text: str) -> dict[str, Any]:
    r = await client.post(f"/api/sessions/{sid}/chat", json={"content": text})
    assert r.status_code == 201, r.text
    data: dict[str, Any] = r.json()
    return data


async def test_regenerate_edit_list_and_switch(client: httpx.AsyncClient) -> None:
    """Regenerate (JSON) and edit (SSE) run the agent again; the replaced messages are listed
    as branches and switching shows them again in the same session."""
    s = await new_session(client)
    sid = s["id"]
    await chat(client, sid, "first question")
    await chat(client, sid, "second question")
    old = await messages(client, sid)
    r = await client.post(f"/api/sessions/{sid}/regenerate", json={})
    assert r.status_code == 201, r.text
    assert (r.json()["seq"], r.json()["role"], r.json()["content"]) == (4, "assistant", "second question")
    after = await messages(client, sid)
    assert [m["id"] for m in after[:3]] == [m["id"] for m in old[:3]] and after[3]["id"] != old[3]["id"]
    r = await client.get(f"/api/sessions/{sid}/branches")
    assert r.status_code == 200
    (b,) = r.json()["branches"]
    assert set(b) >= {"at_seq", "session_id", "preview", "message_count", "created_at"}
    assert (b["at_seq"], b["message_id"], b["preview"], b["message_count"]) == (
        4,
        old[3]["id"],
        "second question",
        4,
    )

    r = await client.post(
        f"/api/sessions/{sid}/edit",
        json={"seq": 3, "content": "/new is just text here"},
        headers={"Accept": "text/event-stream"},
    )
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
    events = parse_sse(r.text)
    kinds = [k for k, _ in events]
    assert kinds[:2] == ["branch", "message"] and kinds[-1] == "stream_end" and "delta" in kinds
    branch_event, user_event = events[0][1], events[1][1]
    assert branch_event["at_seq"] == 3 and branch_event["branch"]["status"] == "archived"
    assert (user_event["message"]["seq"], user_event["message"]["content"]) == (3, "/new is just text here")
    now = await messages(client, sid)
    assert [(m["seq"], m["role"], m["content"]) for m in now] == [
        (1, "user", "first question"), (2, "assistant", "first question"),
        (3, "user", "/new is just text here"), (4, "assistant", "/new is just text here"),
    ]  # fmt: skip
    listed = (await client.get(f"/api/sessions/{sid}/branches")).json()["branches"]
    assert [(x["at_seq"], x["preview"]) for x in listed] == [(3, "second question")]

    r = await client.post(f"/api/sessions/{sid}/branches/{listed[0]['session_id']}/switch")
    assert r.status_code == 200, r.text
    assert r.json()["id"] == sid and r.json()["message_count"] == 4
    back = await messages(client, sid)
    assert [m["content"] for m in back] == [
        "first question",
        "first question",
        "second question",
        "second question",
    ]
    assert back[3]["id"] == after[3]["id"]  # the regenerated reply, the one shown before the edit
    listed = (await client.get(f"/api/sessions/{sid}/branches")).json()["branches"]
    assert sorted((x["at_seq"], x["preview"]) for x in listed) == [
        (3, "/new is just text here"),
        (4, "second question"),
    ]


async def test_regenerate_sse_opens_with_the_branch(client: httpx.AsyncClient) -> None:
    """Over SSE a regenerate starts with the branch event, then the reply's deltas and stream_end."""
    s = await new_session(client)
    await chat(client, s["id"], "one two three")
    r = await client.post(
        f"/api/sessions/{s['id']}/regenerate", json={"seq": 2}, headers={"Accept": "text/event-stream"}
    )
    events = parse_sse(r.text)
    assert events[0][0] == "branch" and events[0][1]["at_seq"] == 2
    assert [k for k, _ in events][-2:] == ["message", "stream_end"]
    assert events[-2][1]["message"]["seq"] == 2 and events[-2][1]["message"]["content"] == "one two three"


@pytest.mark.parametrize(
    "backend_url", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)
async def test_refusals_are_4xx_and_change_nothing(make_client: ClientFactory) -> None:
    """Bad seqs, wrong roles, bad bodies, unknown or another user's ids: 4xx with the error
    envelope, never 500, and the history is unchanged (SQLite and PostgreSQL)."""
    settings = make_settings(tokens=TOKENS)
    alice, bob = make_client(settings, ALICE), make_client(settings, BOB)
    s = await new_session(alice)
    sid = s["id"]
    await chat(alice, sid, "hello there")
    before = await messages(alice, sid)
    cases: list[tuple[str, Any, int]] = [
        ("regenerate", {"seq": 1}, 422),  # a user message
        ("regenerate", {"seq": 3}, 422),  # no such message
        ("regenerate", {"seq": 0}, 422),
        ("regenerate", {"seq": "2"}, 422),
        ("regenerate", {"seq": 2**63}, 422),
        ("regenerate", {"seq": 2, "extra": 1}, 422),
        ("regenerate", [1], 422),
        ("edit", {"seq": 2, "content": "x"}, 422),  # an assistant message
        ("edit", {"seq": 1}, 422),
        ("edit", {"seq": 1, "content": ""}, 422),
        ("edit", {"seq": 1, "content": "   "}, 422),
        ("edit", {"seq": 99, "content": "x"}, 422),
        ("edit", {"seq": 1.5, "content": "x"}, 422),
    ]
    for path, body, status in cases:
        r = await alice.post(f"/api/sessions/{sid}/{path}", json=body)
        assert_error(r, status)
    r = await alice.post(f"/api/sessions/{sid}/edit", content=b'{"seq": 1, "content": NaN}',
                         headers={"Content-Type": "application/json"})  # fmt: skip
    assert_error(r, 422)
    r = await alice.post(
        f"/api/sessions/{sid}/regenerate", content=b"seq=2", headers={"Content-Type": "text/plain"}
    )
    assert r.status_code == 415
    for path, body in (("regenerate", {"seq": 2}), ("edit", {"seq": 1, "content": "x"})):
        assert_error(await bob.post(f"/api/sessions/{sid}/{path}", json=body), 404)
        assert_error(await alice.post(f"/api/sessions/ses_nope/{path}", json=body), 404)
    assert_error(await bob.get(f"/api/sessions/{sid}/branches"), 404)
    assert_error(await alice.get("/api/sessions/ses_%2e%2e/branches"), 404)
    assert await messages(alice, sid) == before

    r = await alice.post(f"/api/sessions/{sid}/regenerate")  # no body: the last assistant message
    assert r.status_code == 201, r.text
    (b,) = (await alice.get(f"/api/sessions/{sid}/branches")).json()["branches"]
    bid = b["session_id"]
    assert_error(await bob.post(f"/api/sessions/{sid}/branches/{bid}/switch"), 404)
    assert_error(await alice.post(f"/api/sessions/{sid}/branches/ses_unknown/switch"), 404)
    assert_error(await alice.post(f"/api/sessions/{sid}/branches/{sid}/switch"), 404)  # not its branch
    assert_error(await alice.post(f"/api/sessions/{bid}/regenerate", json={}), 409, "session_read_only")
    other = await new_session(alice)
    assert_error(await alice.post(f"/api/sessions/{other['id']}/branches/{bid}/switch"), 404)
    assert_error(await alice.post(f"/api/sessions/{other['id']}/regenerate", json={}), 422)  # no reply yet
    await alice.patch(f"/api/sessions/{sid}", json={"archived": True})
    assert_error(await alice.post(f"/api/sessions/{sid}/branches/{bid}/switch"), 409, "session_read_only")
    assert_error(await alice.post(f"/api/sessions/{sid}/edit", json={"seq": 1, "content": "x"}), 409)


async def test_regenerate_while_a_turn_runs_is_refused(make_client: ClientFactory) -> None:
    """A regenerate or an edit while the session's agent is answering is 409 turn_in_progress
    (nothing is cut); once the turn ends, regenerate works."""
    settings = make_settings().replace(
        providers={"echo": {"type": "echo", "words_per_chunk": 1, "delay_ms": 60}}
    )
    client = make_client(settings)
    s = await new_session(client)
    await chat(client, s["id"], "a b")
    running = asyncio.create_task(client.post(f"/api/sessions/{s['id']}/chat", json={"content": WORDS}))

    async def streaming() -> bool:
        stored = await messages(client, s["id"])
        return len(stored) == 4 and stored[-1]["status"] == "streaming"

    await eventually(streaming, what="the second reply is streaming")
    assert_error(
        await client.post(f"/api/sessions/{s['id']}/regenerate", json={"seq": 2}), 409, "turn_in_progress"
    )
    assert_error(await client.post(f"/api/sessions/{s['id']}/edit", json={"seq": 1, "content": "x"}), 409)
    assert (await client.get(f"/api/sessions/{s['id']}/branches")).json()["branches"] == []
    assert (await client.post(f"/api/sessions/{s['id']}/chat", json={"content": "/stop"})).status_code == 200
    assert (await running).json()["status"] == "interrupted"
    r = await client.post(f"/api/sessions/{s['id']}/regenerate", json={})
    assert r.status_code == 201 and r.json()["seq"] == 4 and r.json()["content"] == WORDS
