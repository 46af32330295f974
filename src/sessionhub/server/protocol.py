"""uvicorn's HTTP protocol with a deadline for each request's headers (slowloris).

uvicorn arms no timer while a connection sends its request line and headers: its only
timer (keep-alive, 5 s) starts after an answer and is cancelled by the first byte of the
next request. A client that opens connections and sends nothing, or half a header line,
holds each of them forever. Here every request has ``header_timeout`` seconds
(``[server] request_timeout_seconds``) from the connection, or from its first byte after
the previous answer, to complete its headers; then the connection is closed. The body is
timed in the ASGI layer (``limits.py``, 408); a WebSocket, once upgraded, is not timed here.
"""

from __future__ import annotations

import asyncio

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


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
