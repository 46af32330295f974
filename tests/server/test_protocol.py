"""The HTTP protocol's one write per answer (server/protocol.py ``JoinedHead``)."""

from __future__ import annotations

import asyncio
from typing import Any

from sessionhub.server.protocol import JoinedHead


class FakeTransport:
    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        assert not self.closed
        self.writes.append(data)

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return ("127.0.0.1", 1) if name == "peername" else default


async def _next_turn() -> None:
    await asyncio.sleep(0)


async def test_a_head_and_its_body_in_one_turn_are_one_write() -> None:
    t = FakeTransport()
    joined = JoinedHead(t, asyncio.get_running_loop())  # type: ignore[arg-type]
    joined.write(b"HTTP/1.1 201 Created\r\n\r\n")
    joined.write(b'{"ok": true}')
    assert t.writes == [b'HTTP/1.1 201 Created\r\n\r\n{"ok": true}']
    await _next_turn()
    joined.write(b"more")
    assert t.writes[1:] == [b"more"]  # the head's scheduled write was cancelled, nothing repeated
    assert joined.get_extra_info("peername") == ("127.0.0.1", 1) and not joined.is_closing()


async def test_a_streamed_head_goes_out_on_the_next_turn_without_its_body() -> None:
    t = FakeTransport()
    joined = JoinedHead(t, asyncio.get_running_loop())  # type: ignore[arg-type]
    joined.write(b"HEAD")
    assert t.writes == []
    await _next_turn()
    assert t.writes == [b"HEAD"]
    joined.write(b"chunk 1")
    joined.write(b"chunk 2")
    assert t.writes == [b"HEAD", b"chunk 1", b"chunk 2"]


async def test_close_writes_a_waiting_head_first() -> None:
    t = FakeTransport()
    joined = JoinedHead(t, asyncio.get_running_loop())  # type: ignore[arg-type]
    joined.write(b"HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n")
    joined.close()
    assert t.writes == [b"HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n"] and t.closed
    await _next_turn()
    assert len(t.writes) == 1
