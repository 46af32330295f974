"""Body size limit (413 before reading the body whole), malformed JSON, content limits."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx

from .conftest import ClientFactory, make_settings
from .util import assert_error, new_session


async def test_declared_big_body_is_413(client: httpx.AsyncClient) -> None:
    """A Content-Length over max_body_bytes (default 1 MiB) is refused with 413."""
    r = await client.post(
        "/api/sessions",
        content=b"{" + b" " * (1024 * 1024 + 10) + b"}",
        headers={"content-type": "application/json"},
    )
    assert_error(r, 413, "payload_too_large")


async def test_streamed_big_body_is_413_before_reading_it_all(make_client: ClientFactory) -> None:
    """A chunked body without Content-Length is cut off as soon as it passes the limit."""
    c = make_client(make_settings(max_body_bytes=4096))
    sent = 0

    async def chunks() -> AsyncIterator[bytes]:
        nonlocal sent
        yield b'{"title": "'
        for _ in range(1000):
            sent += 1024
            yield b"x" * 1024
        yield b'"}'

    sid = (await new_session(c))["id"]
    r = await c.post(
        f"/api/sessions/{sid}/messages", content=chunks(), headers={"content-type": "application/json"}
    )
    assert_error(r, 413, "payload_too_large")
    assert sent < 100 * 1024  # stopped early, not after 1 MB
    assert (await c.get(f"/api/sessions/{sid}/messages")).json()["messages"] == []


async def test_body_under_the_limit_passes(make_client: ClientFactory) -> None:
    """A body just under the configured limit is accepted."""
    c = make_client(make_settings(max_body_bytes=2048))
    sid = (await new_session(c))["id"]
    r = await c.post(f"/api/sessions/{sid}/messages", json={"role": "user", "content": "y" * 1900})
    assert r.status_code == 201


async def test_message_content_over_the_limit_is_413(make_client: ClientFactory) -> None:
    """A message longer than max_message_chars is 413 and nothing is stored."""
    c = make_client(make_settings().replace(limits={"max_message_chars": 100}))
    sid = (await new_session(c))["id"]
    r = await c.post(f"/api/sessions/{sid}/messages", json={"role": "user", "content": "z" * 101})
    assert_error(r, 413, "payload_too_large")
    assert (await c.get(f"/api/sessions/{sid}")).json()["message_count"] == 0


async def test_malformed_json_and_wrong_shapes_are_422(client: httpx.AsyncClient) -> None:
    """Broken JSON, a non-object body and an invalid Content-Length never reach a 500."""
    sid = (await new_session(client))["id"]
    for content in (b"{", b"nul", b'{"role": "user", "content": "x"', b"\xff\xfe", b""):
        r = await client.post(
            f"/api/sessions/{sid}/messages", content=content, headers={"content-type": "application/json"}
        )
        assert_error(r, 422, "invalid_input")
    r = await client.post(f"/api/sessions/{sid}/messages", json="just a string")
    assert_error(r, 422)
    r = await client.patch(
        f"/api/sessions/{sid}", content=b"[]", headers={"content-type": "application/json"}
    )
    assert_error(r, 422)
