"""Message endpoints: append (one or many, idempotent), read pages and text, clear."""

from __future__ import annotations

import asyncio

import httpx

from .util import assert_error, new_session

BAD_ID = "ses_" + "0" * 25


async def test_append_one_and_many(client: httpx.AsyncClient) -> None:
    """One message or {"messages": [...]} gives 201 {"messages"} with seq 1..N."""
    sid = (await new_session(client))["id"]
    r = await client.post(
        f"/api/sessions/{sid}/messages",
        json={"role": "user", "content": "hello there", "metadata": {"a": 1}, "usage": {"input_tokens": 3}},
    )
    assert r.status_code == 201
    (m,) = r.json()["messages"]
    assert m["seq"] == 1 and m["role"] == "user" and m["metadata"] == {"a": 1}
    assert m["usage"] == {"input_tokens": 3, "output_tokens": 0} and m["session_id"] == sid
    parts = [
        {"type": "tool_call", "id": "c1", "name": "search", "arguments": {"q": "x"}},
        {"type": "tool_result", "tool_call_id": "c1", "content": "found"},
    ]
    r = await client.post(
        f"/api/sessions/{sid}/messages",
        json={
            "messages": [
                {"role": "assistant", "content": "", "parts": parts[:1]},
                {"role": "tool", "parts": parts[1:]},
            ]
        },
    )
    assert r.status_code == 201 and [x["seq"] for x in r.json()["messages"]] == [2, 3]
    assert r.json()["messages"][0]["parts"] == parts[:1]
    s = (await client.get(f"/api/sessions/{sid}")).json()
    assert s["message_count"] == 3 and s["title"] == "hello there" and s["title_source"] == "auto"


async def test_append_rejects_bad_messages(client: httpx.AsyncClient) -> None:
    """Bad role, empty content, bad parts or an empty batch are 422; nothing is stored."""
    sid = (await new_session(client))["id"]
    url = f"/api/sessions/{sid}/messages"
    for body in (
        {"role": "robot", "content": "x"},
        {"role": "user", "content": "   "},
        {"role": "user", "content": 5},
        {"role": "user", "content": "x", "parts": [{"type": "image"}]},
        {"role": "user", "content": "x", "usage": {"input_tokens": -1}},
        {"messages": []},
        {"messages": [{"role": "user", "content": "ok"}, {"role": "user", "content": ""}]},
        {"content": "no role"},
    ):
        assert_error(await client.post(url, json=body), 422, "invalid_input")
    assert (await client.get(url)).json() == {"messages": [], "has_more": False}
    assert_error(
        await client.post(f"/api/sessions/{BAD_ID}/messages", json={"role": "user", "content": "x"}), 404
    )


async def test_idempotency_key_stores_once(client: httpx.AsyncClient) -> None:
    """The same Idempotency-Key returns the same 201 result (read back from the database) without storing twice."""
    sid = (await new_session(client))["id"]
    url = f"/api/sessions/{sid}/messages"
    body = {"role": "user", "content": "only once"}
    first = await client.post(url, json=body, headers={"Idempotency-Key": "k-1"})
    again = await client.post(url, json=body, headers={"Idempotency-Key": "k-1"})
    assert first.status_code == again.status_code == 201 and first.json() == again.json()
    assert first.headers["Idempotent-Replayed"] == "false" and again.headers["Idempotent-Replayed"] == "true"
    concurrent = await asyncio.gather(
        *(
            client.post(url, json={"role": "user", "content": "race"}, headers={"Idempotency-Key": "k-2"})
            for _ in range(5)
        )
    )
    assert len({r.text for r in concurrent}) == 1 and all(r.status_code == 201 for r in concurrent)
    assert_error(
        await client.post(url, json={"role": "user", "content": "other"}, headers={"Idempotency-Key": "k-1"}),
        409,
        "idempotency_key_reused",
    )
    msgs = (await client.get(url)).json()["messages"]
    assert [m["content"] for m in msgs] == ["only once", "race"]
    assert_error(await client.post(url, json=body, headers={"Idempotency-Key": "k" * 300}), 422)


async def test_history_pages(client: httpx.AsyncClient) -> None:
    """GET messages gives the latest N oldest first, before_seq/after_seq pages and has_more."""
    sid = (await new_session(client))["id"]
    url = f"/api/sessions/{sid}/messages"
    await client.post(url, json={"messages": [{"role": "user", "content": f"m{i}"} for i in range(1, 8)]})
    page = (await client.get(url, params={"limit": 3})).json()
    assert [m["seq"] for m in page["messages"]] == [5, 6, 7] and page["has_more"] is True
    page = (await client.get(url, params={"limit": 3, "before_seq": 5})).json()
    assert [m["seq"] for m in page["messages"]] == [2, 3, 4] and page["has_more"] is True
    page = (await client.get(url, params={"limit": 10, "after_seq": 5})).json()
    assert [m["seq"] for m in page["messages"]] == [6, 7] and page["has_more"] is False
    for params in ({"limit": 0}, {"limit": 1001}, {"before_seq": -1}, {"format": "html"}, {"after_seq": "x"}):
        assert_error(await client.get(url, params=params), 422)


async def test_history_as_markdown_and_text(client: httpx.AsyncClient) -> None:
    """format=markdown and format=text answer text/markdown and text/plain."""
    sid = (await new_session(client))["id"]
    url = f"/api/sessions/{sid}/messages"
    await client.post(
        url, json={"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]}
    )
    md = await client.get(url, params={"format": "markdown"})
    assert md.status_code == 200 and md.headers["content-type"].startswith("text/markdown")
    assert "### user" in md.text and "yo" in md.text
    txt = await client.get(url, params={"format": "text"})
    assert txt.headers["content-type"].startswith("text/plain") and "assistant: yo" in txt.text


async def test_clear_history_keeps_session(client: httpx.AsyncClient) -> None:
    """DELETE messages answers 204, empties the history and keeps the session."""
    sid = (await new_session(client))["id"]
    url = f"/api/sessions/{sid}/messages"
    await client.post(url, json={"role": "user", "content": "x"})
    r = await client.delete(url)
    assert r.status_code == 204
    assert (await client.get(url)).json()["messages"] == []
    assert (await client.get(f"/api/sessions/{sid}")).status_code == 200
    assert_error(await client.delete(f"/api/sessions/{BAD_ID}/messages"), 404)
