"""Request body limits: 413 before a too-large body is read whole, 408 for one that never arrives.

A pure ASGI middleware. A ``Content-Length`` over the limit is refused at once, without
reading anything; a body without one (chunked) is counted as it streams and refused as soon
as the count passes the limit. At most ``limit`` bytes are ever buffered by the app.

The whole body must also arrive within ``timeout`` seconds of the request's headers
(``[server] request_timeout_seconds``): a client that announces a body and then sends it a
byte at a time, or not at all (slowloris), gets 408 and the connection is closed, instead
of holding a connection and a task forever. Once the body is complete, ``receive`` is not
timed: a streaming answer (SSE) waits on it for the client's disconnect. Slow headers are
cut off earlier, by the protocol (``protocol.py``).
"""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import error_response

CLOSE = {"Connection": "close"}


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` when a streamed body passes the limit (FastAPI lets it through)."""

    code = "payload_too_large"

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body is larger than {limit} bytes")


class BodyTimeout(HTTPException):
    """Raised from ``receive`` when the body is not complete in time (FastAPI lets it through)."""

    code = "request_timeout"

    def __init__(self, timeout: float) -> None:
        super().__init__(408, f"the request body did not arrive within {timeout:g} seconds", CLOSE)


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, max_body_bytes: int, timeout: float) -> None:
        self.app = app
        self.limit = max_body_bytes
        self.timeout = timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit
        has_body = False
        for name, value in scope.get("headers", ()):
            if name == b"transfer-encoding":
                has_body = True
            elif name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = -1
                if declared < 0:
                    await error_response(400, "bad_request", "invalid Content-Length", path=scope["path"])(
                        scope, receive, send
                    )
                    return
                if declared > limit:
                    too_large = BodyTooLarge(limit)
                    await error_response(413, too_large.code, too_large.detail, path=scope["path"])(
                        scope, receive, send
                    )
                    return
                has_body = declared > 0
        if not has_body:  # neither Content-Length nor chunked: nothing to count or to wait for
            await self.app(scope, receive, send)
            return
        seen = 0
        started = False
        body_done = False
        deadline = BodyDeadline(self.timeout)

        async def counting_receive() -> Message:
            nonlocal seen, body_done
            if body_done:
                return await receive()
            message = await deadline.receive(receive)
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge(limit)
                body_done = not message.get("more_body", False)
            else:
                body_done = True
            if body_done:
                deadline.cancel()
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except (BodyTooLarge, BodyTimeout) as exc:
            if started:
                raise
            headers = dict(exc.headers or {})
            response = error_response(exc.status_code, exc.code, str(exc.detail), headers, path=scope["path"])
            await response(scope, receive, send)
        finally:
            deadline.cancel()


class BodyDeadline:
    """One timer per request body that cancels a ``receive`` still waiting when it fires.

    What ``asyncio.timeout`` does, armed once per request rather than once per ``receive``:
    it costs a fraction as much on every POST, where the body is usually there already.
    """

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.expired = False
        self._waiting: asyncio.Task[Any] | None = None
        self._timer = asyncio.get_running_loop().call_later(timeout, self._expire)

    def _expire(self) -> None:
        self.expired = True
        if self._waiting is not None:
            self._waiting.cancel()

    async def receive(self, receive: Receive) -> Message:
        """``receive()``, or ``BodyTimeout`` once the deadline has passed."""
        if self.expired:
            raise BodyTimeout(self.timeout)
        task = self._waiting = asyncio.current_task()
        try:
            return await receive()
        except asyncio.CancelledError:
            if not self.expired or task is None:
                raise
            task.uncancel()  # our cancellation, not the server's: it becomes the 408
            raise BodyTimeout(self.timeout) from None
        finally:
            self._waiting = None

    def cancel(self) -> None:
        self._timer.cancel()
