"""uvicorn's HTTP protocol: a deadline for each request's headers, and one write per answer.

Deadline (slowloris).

uvicorn arms no timer while a connection sends its request line and headers: its only
timer (keep-alive, 5 s) starts after an answer and is cancelled by the first byte of the
next request. A client that opens connections and sends nothing, or half a header line,
holds each of them forever. Here every request has ``header_timeout`` seconds
(``[server] request_timeout_seconds``) from the connection, or from its first byte after
the previous answer, to complete its headers; then the connection is closed. The body is
timed in the ASGI layer (``limits.py``, 408); a WebSocket, once upgraded, is not timed here.

One write. uvicorn writes an answer's status line and headers, then its body, with two
``transport.write`` calls: two ``send()`` system calls for every small JSON answer (17% of the
server's GIL-holding samples under the REST append load, bench/HISTORY.md). Each request's
cycle writes through ``JoinedHead``, which keeps the head until the body's first write in the
same turn of the event loop and sends both at once; a head with no body write in that turn
(a streamed answer) goes out at the start of the next turn, so nothing waits for the stream's
first chunk.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class JoinedHead:
    """A request cycle's transport whose first write (the head) joins the second (the body)."""

    __slots__ = ("_flush", "_head", "_loop", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._head: bytes | None = None
        self._flush: asyncio.Handle | None = None  # the head's own write, scheduled at the first write

    def write(self, data: bytes) -> None:
        if self._flush is None and self._head is None:  # the cycle's first write: its head
            self._head = data
            self._flush = self._loop.call_soon(self._write_head)
            return
        if self._head is not None:
            assert self._flush is not None
            self._flush.cancel()
            data = self._head + data
            self._head = None
        self._transport.write(data)

    def _write_head(self) -> None:
        if self._head is not None:
            head, self._head = self._head, None
            if not self._transport.is_closing():
                self._transport.write(head)

    def close(self) -> None:
        self._write_head()
        self._transport.close()

    def __getattr__(self, name: str) -> Any:  # is_closing, get_extra_info, ...: the transport's
        return getattr(self._transport, name)


class HeaderDeadlineProtocol(HttpToolsProtocol):
    header_timeout: float = 30.0
    _deadline: asyncio.TimerHandle | None = None
    _deadline_cycle: object = None  # the request cycle current when the deadline was armed

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        waiting_for_headers = self.cycle is None or self.cycle.response_complete
        if self._deadline is None and waiting_for_headers:
            self._arm()
        super().data_received(data)
        if self.cycle is not self._deadline_cycle:  # the headers are complete: a new cycle runs
            self._disarm()

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        cycle = self.cycle
        if cycle is not None and cycle.transport is self.transport:  # a new request's cycle
            cycle.transport = JoinedHead(self.transport, self.loop)  # type: ignore[assignment]

    def handle_websocket_upgrade(self) -> None:
        self._disarm()
        super().handle_websocket_upgrade()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._deadline_cycle = self.cycle
        self._deadline = self.loop.call_later(self.header_timeout, self._expire)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expire(self) -> None:
        self._deadline = None
        if not self.transport.is_closing():
            self.transport.close()


def protocol_class(header_timeout: float) -> type[asyncio.Protocol]:
    """The protocol class to give ``uvicorn.Config(http=...)``."""
    return type("SessionhubHTTPProtocol", (HeaderDeadlineProtocol,), {"header_timeout": header_timeout})
