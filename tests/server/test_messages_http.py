"""The messages routes as a client sees them: status, headers and body, request by request.

Append (``POST /api/sessions/{id}/messages``) and read (``GET``) for good requests and for every
kind of bad one a client can send, against literal answers: those FastAPI's own request
handling gave when these tests were written, so that a change to how the routes handle
requests (a leaner path than FastAPI's dependency resolution, a cheaper serialiser) is checked
answer for answer. Ids are random and compared by shape; the clock is the fixture's FakeClock.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from typing import Any

import fastapi.routing
import httpx
import pytest

from sessionhub.server import fastlane
from sessionhub.server.jsonbody import StrictJSONRoute
from sessionhub.server.leanroute import LeanRoute
from sessionhub.server.routes import messages
from sessionhub.server.security import SECURITY_HEADERS

from .conftest import ALICE, BOB, TOKENS, ClientFactory, make_settings
from .util import new_session

JSON = {"content-type": "application/json"}
SECURITY = [name.decode() for name, _ in SECURITY_HEADERS]
NOW = "2026-01-15T12:00:00.000Z"  # FakeClock's start
UNKNOWN = "ses_" + "0" * 25
_MSG_ID = re.compile(r'"msg_[0-9a-z]{25}"')


def message(seq: int, role: str, content: str = "", **fields: Any) -> dict[str, Any]:
    """A stored message as the API answers it (the id and session id normalised)."""
    return {
        "id": "msg_*",
        "session_id": "ses_*",
        "seq": seq,
        "role": role,
        "content": content,
        "parts": fields.get("parts", []),
        "status": "complete",
        "usage": fields.get("usage", {"input_tokens": 0, "output_tokens": 0}),
        "metadata": fields.get("metadata", {}),
        "created_at": NOW,
    }


def answer(r: httpx.Response, sid: str = "") -> tuple[int, list[str], Any]:
    """Status, header names in order (checked for their values too) and the body, ids normalised."""
    names = [name.decode().lower() for name, _ in r.headers.raw]
    assert int(r.headers["content-length"]) == len(r.content)
    text = _MSG_ID.sub('"msg_*"', r.text)
    if sid:
        text = text.replace(sid, "ses_*")
    if r.headers.get("content-type") == "application/json":
        return r.status_code, names, json.loads(text)
    return r.status_code, names, text


def error(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


def invalid(message: str) -> dict[str, Any]:
    return error("invalid_input", message)


JSON_HEADERS = ["content-length", "content-type", *SECURITY]
REPLAY_HEADERS = ["idempotent-replayed", *JSON_HEADERS]

# (what, body bytes, extra headers, status, answer): each POSTed to a fresh session's messages.
REFUSED_APPENDS: list[tuple[str, bytes, dict[str, str], int, dict[str, Any]]] = [
    (
        "malformed JSON",
        b'{"role":',
        {},
        422,
        invalid("the JSON body is malformed JSON: Expecting value: line 1 column 9 (char 8)"),
    ),
    (
        "NaN",
        b'{"role":"user","content":NaN}',
        {},
        422,
        invalid("the JSON body: NaN is not valid JSON: numbers must be finite"),
    ),
    (
        "lone surrogate",
        b'{"role":"user","content":"\\ud800"}',
        {},
        422,
        invalid(
            "a string in the JSON body contains a lone surrogate (an unpaired \\ud800-\\udfff escape): "
            "not valid Unicode"
        ),
    ),
    ("not UTF-8", b'{"role":"user","content":"\xff"}', {}, 422, invalid("the JSON body is not valid UTF-8")),
    ("nested too deeply", b"[" * 5000 + b"]" * 5000, {}, 422, invalid("the JSON body is nested too deeply")),
    (
        "null",
        b"null",
        {},
        422,
        invalid(
            "MessageIn: Input should be a valid dictionary or object to extract fields from (and 1 more)"
        ),
    ),
    (
        "a list",
        b"[]",
        {},
        422,
        invalid(
            "MessageIn: Input should be a valid dictionary or object to extract fields from (and 1 more)"
        ),
    ),
    (
        "a string",
        b'"x"',
        {},
        422,
        invalid(
            "MessageIn: Input should be a valid dictionary or object to extract fields from (and 1 more)"
        ),
    ),
    ("empty object", b"{}", {}, 422, invalid("MessageIn.role: Field required (and 1 more)")),
    ("no body", b"", {}, 422, invalid("Field required")),
    (
        "unknown role",
        b'{"role":"robot","content":"x"}',
        {},
        422,
        invalid("MessageIn.role: Input should be 'system', 'user', 'assistant' or 'tool' (and 3 more)"),
    ),
    (
        "content not a string",
        b'{"role":"user","content":5}',
        {},
        422,
        invalid("MessageIn.content: Input should be a valid string (and 3 more)"),
    ),
    (
        "unknown field",
        b'{"role":"user","content":"x","pined":true}',
        {},
        422,
        invalid("MessageIn.pined: Extra inputs are not permitted (and 4 more)"),
    ),
    (
        "missing role",
        b'{"content":"no role"}',
        {},
        422,
        invalid("MessageIn.role: Field required (and 2 more)"),
    ),
    (
        "bad part",
        b'{"role":"user","content":"x","parts":[{"type":"image"}]}',
        {},
        422,
        invalid(
            "MessageIn.parts.0: Input tag 'image' found using 'type' does not match any of the expected "
            "tags: 'tool_call', 'tool_result' (and 4 more)"
        ),
    ),
    (
        "negative usage",
        b'{"role":"user","content":"x","usage":{"input_tokens":-1}}',
        {},
        422,
        invalid("MessageIn.usage.input_tokens: Input should be greater than or equal to 0 (and 4 more)"),
    ),
    (
        "blank content",
        b'{"role":"user","content":"   "}',
        {},
        422,
        invalid("a message needs non-empty content or parts"),
    ),
    ("empty batch", b'{"messages":[]}', {}, 422, invalid("MessageIn.role: Field required (and 2 more)")),
    (
        "a bad message in a batch",
        b'{"messages":[{"role":"user","content":"ok"},{"role":"user","content":""}]}',
        {},
        422,
        invalid("a message needs non-empty content or parts"),
    ),
    (
        "empty Idempotency-Key",
        b'{"role":"user","content":"x"}',
        {"idempotency-key": ""},
        422,
        invalid("header.idempotency-key: String should have at least 1 character"),
    ),
    (
        "Idempotency-Key too long",
        b'{"role":"user","content":"x"}',
        {"idempotency-key": "k" * 256},
        422,
        invalid("header.idempotency-key: String should have at most 255 characters"),
    ),
    (
        "Idempotency-Key too long and a bad body: the header first",
        b'{"role":"robot"}',
        {"idempotency-key": "k" * 300},
        422,
        invalid("header.idempotency-key: String should have at most 255 characters (and 3 more)"),
    ),
    (
        "Idempotency-Key too long and malformed JSON: the JSON first",
        b'{"role"',
        {"idempotency-key": "k" * 300},
        422,
        invalid("the JSON body is malformed JSON: Expecting ':' delimiter: line 1 column 8 (char 7)"),
    ),
    (
        "text/plain",
        b'{"role":"user","content":"x"}',
        {"content-type": "text/plain"},
        415,
        error("unsupported_media_type", "send Content-Type: application/json (got text/plain)"),
    ),
    (
        "a foreign Origin",
        b'{"role":"user","content":"x"}',
        {"origin": "http://evil.example"},
        403,
        error(
            "forbidden", "Origin 'http://evil.example' may not do this: add it to [server] allowed_origins"
        ),
    ),
    (
        "over the body limit",
        b"x" * (2**20 + 1),
        {},
        413,
        error("payload_too_large", "request body is larger than 1048576 bytes"),
    ),
]


@pytest.mark.parametrize(("what", "body", "headers", "status", "expected"), REFUSED_APPENDS)
async def test_refused_append(
    client: httpx.AsyncClient, what: str, body: bytes, headers: dict[str, str], status: int, expected: Any
) -> None:
    """Each bad append gets its status and error body, and nothing is stored."""
    sid = (await new_session(client))["id"]
    url = f"/api/sessions/{sid}/messages"
    r = await client.post(url, content=body, headers={**JSON, **headers})
    assert answer(r, sid) == (status, JSON_HEADERS, expected), what
    assert (await client.get(url)).json() == {"messages": [], "has_more": False}


async def test_no_content_type_and_no_session(client: httpx.AsyncClient) -> None:
    """No Content-Type is a 415; an unknown or malformed session id a 404; PUT a 405; a slash a redirect."""
    sid = (await new_session(client))["id"]
    url = f"/api/sessions/{sid}/messages"
    body = b'{"role":"user","content":"x"}'
    r = await client.post(url, content=body)
    assert answer(r) == (
        415,
        JSON_HEADERS,
        error("unsupported_media_type", "send Content-Type: application/json (got no Content-Type)"),
    )
    for bad, shown in ((UNKNOWN, UNKNOWN), ("nope", "'nope'")):
        r = await client.post(f"/api/sessions/{bad}/messages", content=body, headers=JSON)
        assert answer(r) == (404, JSON_HEADERS, error("not_found", f"session {shown} not found"))
        r = await client.get(f"/api/sessions/{bad}/messages")
        assert answer(r) == (404, JSON_HEADERS, error("not_found", f"session {shown} not found"))
    r = await client.put(url, content=b"{}", headers=JSON)
    assert answer(r) == (405, ["allow", *JSON_HEADERS], error("method_not_allowed", "Method Not Allowed"))
    assert r.headers["allow"] == "GET, POST, DELETE"
    r = await client.post(url + "/", content=body, headers=JSON)
    assert (r.status_code, r.headers["location"]) == (307, f"http://127.0.0.1{url}")


async def test_chunked_body_over_the_limit(client: httpx.AsyncClient) -> None:
    """A chunked body is counted while the route reads it: 413 once it passes the limit."""
    sid = (await new_session(client))["id"]

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(40):
            yield b"x" * 65536

    r = await client.post(f"/api/sessions/{sid}/messages", content=chunks(), headers=JSON)
    assert answer(r) == (
        413,
        JSON_HEADERS,
        error("payload_too_large", "request body is larger than 1048576 bytes"),
    )


async def test_appends(client: httpx.AsyncClient) -> None:
    """One message, a batch, JSON media types with parameters or +json: 201 with the stored messages."""
    sid = (await new_session(client))["id"]
    url = f"/api/sessions/{sid}/messages"
    one = {
        "role": "user",
        "content": "hello",
        "metadata": {"a": 1, "b": [1.5, None, "é"]},
        "usage": {"input_tokens": 3},
    }
    r = await client.post(url, content=json.dumps(one).encode(), headers=JSON)
    expected = message(
        1,
        "user",
        "hello",
        metadata={"a": 1, "b": [1.5, None, "é"]},
        usage={"input_tokens": 3, "output_tokens": 0},
    )
    assert answer(r, sid) == (201, JSON_HEADERS, {"messages": [expected]})
    assert '"b":[1.5,null,"é"]' in r.text  # compact, UTF-8 as it is
    parts = [
        {"type": "tool_call", "id": "c1", "name": "search", "arguments": {"q": "x"}},
        {"type": "tool_result", "tool_call_id": "c1", "content": "found"},
    ]
    batch = {"messages": [{"role": "assistant", "parts": parts[:1]}, {"role": "tool", "parts": parts[1:]}]}
    r = await client.post(url, content=json.dumps(batch).encode(), headers=JSON)
    assert answer(r, sid) == (
        201,
        JSON_HEADERS,
        {"messages": [message(2, "assistant", parts=parts[:1]), message(3, "tool", parts=parts[1:])]},
    )
    for seq, media in enumerate(
        ("application/json; charset=utf-8", "Application/JSON", "application/merge-patch+json"), start=4
    ):
        r = await client.post(url, content=b'{"role":"user","content":"x"}', headers={"content-type": media})
        assert answer(r, sid) == (201, JSON_HEADERS, {"messages": [message(seq, "user", "x")]}), media


async def test_idempotent_appends(client: httpx.AsyncClient) -> None:
    """First call, replay (same answer, replayed true), reuse with another body (409); the first of two keys counts."""
    sid = (await new_session(client))["id"]
    url = f"/api/sessions/{sid}/messages"
    body = b'{"role":"user","content":"once"}'
    first = await client.post(url, content=body, headers={**JSON, "Idempotency-Key": "k-1"})
    assert answer(first, sid) == (201, REPLAY_HEADERS, {"messages": [message(1, "user", "once")]})
    assert first.headers["idempotent-replayed"] == "false"
    again = await client.post(url, content=body, headers={**JSON, "Idempotency-Key": "k-1"})
    assert answer(again, sid) == answer(first, sid) and again.content == first.content
    assert again.headers["idempotent-replayed"] == "true"
    r = await client.post(
        url, content=b'{"role":"user","content":"other"}', headers={**JSON, "Idempotency-Key": "k-1"}
    )
    assert answer(r) == (
        409,
        JSON_HEADERS,
        error(
            "idempotency_key_reused", "this Idempotency-Key was already used with a different request body"
        ),
    )
    two = [("content-type", "application/json"), ("idempotency-key", "a"), ("idempotency-key", "b")]
    r = await client.post(url, content=body, headers=two)
    assert (r.status_code, r.headers["idempotent-replayed"]) == (201, "false")
    r = await client.post(url, content=body, headers={**JSON, "Idempotency-Key": "a"})
    assert (r.status_code, r.headers["idempotent-replayed"]) == (201, "true")
    assert [m["seq"] for m in (await client.get(url)).json()["messages"]] == [1, 2]


async def test_tokens(make_client: ClientFactory) -> None:
    """With tokens: none is a 401 with WWW-Authenticate; another user's session a 404."""
    c = make_client(make_settings(tokens=TOKENS))
    sid = (await c.post("/api/sessions", json={}, headers=ALICE)).json()["id"]
    url = f"/api/sessions/{sid}/messages"
    body = b'{"role":"user","content":"x"}'
    r = await c.post(url, content=body, headers=JSON)
    assert answer(r) == (
        401,
        ["www-authenticate", *JSON_HEADERS],
        error("unauthorized", "missing bearer token"),
    )
    assert r.headers["www-authenticate"] == "Bearer"
    for method in ("POST", "GET"):
        r = await c.request(method, url, content=body if method == "POST" else None, headers={**JSON, **BOB})
        assert answer(r) == (404, JSON_HEADERS, error("not_found", f"session {sid} not found"))
    r = await c.post(url, content=body, headers={**JSON, **ALICE})
    assert answer(r, sid) == (201, JSON_HEADERS, {"messages": [message(1, "user", "x")]})


# (query, status, seqs of the answer's messages and has_more, or the error message)
READS: list[tuple[str, int, Any]] = [
    ("", 200, ([1, 2, 3], False)),
    ("?limit=1", 200, ([3], True)),
    ("?limit=1&limit=2", 200, ([2, 3], True)),  # the last of repeated values
    ("?limit=%201", 200, ([3], True)),
    ("?foo=bar", 200, ([1, 2, 3], False)),
    ("?before_seq=3", 200, ([1, 2], False)),
    ("?after_seq=1&limit=1", 200, ([2], True)),
    ("?before_seq=2&after_seq=1", 200, ([], False)),
    ("?limit=0", 422, "query.limit: Input should be greater than or equal to 1"),
    ("?limit=1001", 422, "query.limit: Input should be less than or equal to 1000"),
    ("?limit=abc", 422, "query.limit: Input should be a valid integer, unable to parse string as an integer"),
    ("?limit=", 422, "query.limit: Input should be a valid integer, unable to parse string as an integer"),
    ("?limit=1.5", 422, "query.limit: Input should be a valid integer, unable to parse string as an integer"),
    ("?before_seq=-1", 422, "query.before_seq: Input should be greater than or equal to 0"),
    (
        "?before_seq=99999999999999999999",
        422,
        "query.before_seq: Input should be less than or equal to 4611686018427387904",
    ),
    (
        "?after_seq=x",
        422,
        "query.after_seq: Input should be a valid integer, unable to parse string as an integer",
    ),
    ("?format=html", 422, "query.format: Input should be 'json', 'markdown' or 'text'"),
    ("?limit=0&format=html", 422, "query.limit: Input should be greater than or equal to 1 (and 1 more)"),
]


async def test_reads(client: httpx.AsyncClient) -> None:
    """GET messages: pages, repeated and unknown parameters, and every refused value."""
    sid = (await new_session(client))["id"]
    url = f"/api/sessions/{sid}/messages"
    await client.post(url, json={"messages": [{"role": "user", "content": f"m{i}"} for i in (1, 2, 3)]})
    for query, status, expected in READS:
        r = await client.get(url + query)
        if status == 200:
            seqs, has_more = expected
            page = {"messages": [message(s, "user", f"m{s}") for s in seqs], "has_more": has_more}
            assert answer(r, sid) == (200, JSON_HEADERS, page), query
        else:
            assert answer(r) == (status, JSON_HEADERS, invalid(expected)), query
    r = await client.get(url + "?format=markdown&limit=1")
    assert (r.status_code, r.headers["content-type"]) == (200, "text/markdown; charset=utf-8")
    assert "m3" in r.text and "m2" not in r.text
    r = await client.get(url + "?format=text")
    assert r.headers["content-type"] == "text/plain; charset=utf-8" and "user: m1" in r.text


# Beyond the literal answers above: the same requests through FastAPI's own request handling
# (the routes built as plain StrictJSONRoutes, FastAPI's route walk) and through LeanRoute and
# the fast lane, answer for answer.
DIFFERENTIAL: list[tuple[str, str, bytes, dict[str, str]]] = [
    *(("POST", "", body, {**JSON, **headers}) for _, body, headers, _, _ in REFUSED_APPENDS),
    ("POST", "", b'{"role":"user","content":"x"}', {}),
    ("POST", "", b'{"role":"user","content":"x"}', {"content-type": "application/x-www-form-urlencoded"}),
    ("POST", "", b'{"role":"user","content":"x"}', {"content-type": "application/json, text/plain"}),
    ("POST", "", b'{"role":"user","content":"x"}', {"content-type": 'application/"json"'}),
    ("POST", "", b'{"role":"user","content":"x"}', {"content-type": "application/vnd.api+json; q=1"}),
    ("POST", "", b'{"role":"user","content":"x"}', {"content-type": "application/json;charset=latin-1"}),
    (
        "POST",
        "",
        b'{"role":"user","content":"hi","metadata":{"f":1e-05,"n":123456789012345678901234567890}}',
        JSON,
    ),
    ("POST", "", b'{"role":"user","content":"hi","usage":{"input_tokens":1,"output_tokens":2}}', JSON),
    ("POST", "", b'{"messages":[{"role":"user","content":"a"}],"role":"user"}', JSON),
    ("POST", "", b'{"messages":"no"}', JSON),
    ("POST", "", b'{"role":"user","content":"keyed"}', {**JSON, "idempotency-key": "k"}),
    ("POST", "", b'{"role":"user","content":"keyed"}', {**JSON, "idempotency-key": "k"}),
    ("POST", "", b'{"role":"user","content":"other"}', {**JSON, "idempotency-key": "k"}),
    ("POST", "", b'{"role":"user","content":"x"}', {**JSON, "idempotency-key": " "}),
    ("POST", "?limit=1", b'{"role":"user","content":"query ignored"}', JSON),
    ("POST", "/", b'{"role":"user","content":"x"}', JSON),
    ("PATCH", "", b"{}", JSON),
    *(("GET", query, b"", {}) for query, _, _ in READS),
    ("GET", "?format=markdown", b"", {}),
    ("GET", "?format=text&limit=2", b"", {}),
    ("GET", "?format=JSON", b"", {}),
    ("GET", "?limit=-0", b"", {}),
    ("GET", "?limit=1_0", b"", {}),
    ("GET", "?limit=%EF%BC%91", b"", {}),  # a full-width digit one
    ("GET", "", b'{"ignored":true}', JSON),
    ("DELETE", "", b"", {}),
    ("GET", "", b"", {}),
]


async def test_same_answers_as_fastapi(make_client: ClientFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every request above gets the same status, headers and body from both handlings."""
    endpoints = {messages.get_messages, messages.post_messages, messages.clear_messages}
    solved: list[object] = []  # the messages endpoints FastAPI resolved parameters for
    solve = fastapi.routing.solve_dependencies

    async def counting_solve(**kwargs: Any) -> Any:
        if kwargs["dependant"].call in endpoints:
            solved.append(kwargs["dependant"].call)
        return await solve(**kwargs)

    monkeypatch.setattr(fastapi.routing, "solve_dependencies", counting_solve)
    walked: list[str] = []  # requests FastAPI's walk handed to the messages router
    handle_selected = fastapi.routing._IncludedRouter._handle_selected

    async def counting_walk(self: Any, scope: Any, receive: Any, send: Any) -> None:
        if scope["path"].endswith("/messages"):
            walked.append(scope["method"])
        await handle_selected(self, scope, receive, send)

    monkeypatch.setattr(fastapi.routing._IncludedRouter, "_handle_selected", counting_walk)
    urls = []

    async def start(c: httpx.AsyncClient) -> httpx.AsyncClient:
        """A session with one message (FastAPI builds an included router's handlers on its first request)."""
        sid = (await new_session(c))["id"]
        await c.post(f"/api/sessions/{sid}/messages", json={"role": "user", "content": "first"})
        urls.append((sid, f"/api/sessions/{sid}/messages"))
        return c

    with monkeypatch.context() as patch:
        patch.setattr(LeanRoute, "get_route_handler", StrictJSONRoute.get_route_handler)
        patch.setattr(fastlane, "install", lambda router: None)
        plain = await start(make_client())
    lean = await start(make_client())
    resolved_by_fastapi = plain_walks = 0
    for method, tail, body, headers in DIFFERENTIAL:
        answers = []
        walks: list[list[str]] = []  # what FastAPI's walk saw of the request: plain app, lean app
        for c, (sid, url) in zip((plain, lean), urls, strict=True):
            resolved_by_fastapi += len(solved)  # the plain app's request, on the second turn
            solved.clear()
            walked.clear()
            r = await c.request(method, url + tail, content=body or None, headers=headers)
            walks.append(list(walked))
            text = r.text.replace(sid, "ses_*")
            if r.headers.get("content-type") == "application/json":
                text = _MSG_ID.sub('"msg_*"', text)
            raw = [(k, v.replace(sid.encode(), b"ses_*")) for k, v in r.headers.raw if k != b"content-length"]
            answers.append((r.status_code, raw, text))
        assert not solved, (method, tail)  # the lean app's request: FastAPI resolved nothing
        if method == "PATCH":  # no lane takes another method: FastAPI's walk answers 405
            assert walks == [["PATCH"], ["PATCH"]]
        elif not tail.startswith("/"):  # ... and FastAPI's walk never saw the lean app's request
            assert walks[1] == [], (method, tail)
            plain_walks += len(walks[0])  # (the plain app's, unless a middleware answered first)
        assert answers[0] == answers[1], (method, tail, body[:80], headers)
    assert resolved_by_fastapi > len(DIFFERENTIAL) // 2  # ... and the plain app's requests it did
    assert plain_walks > len(DIFFERENTIAL) // 2
