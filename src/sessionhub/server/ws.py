"""The WebSocket ``/ws`` of CONTRACT §7: one connection = one dashboard tab.

Connect with ``?resume_session=<id>`` (the server sends ``session`` and ``history``) and,
when the server has tokens, ``?token=<token>`` (or an ``Authorization: Bearer`` header). A
missing or wrong token: the server accepts, sends ``error {code: "unauthorized"}`` and closes
with code 4401. Tokens are checked in constant time by the HTTP auth's ``TokenTable``.

Actions (client → server, JSON ``{"action": …}``):

- ``new_session {agent?, model?}``: create a session and switch to it (``session`` + ``history``);
- ``switch_session {session_id}``: watch that session (``session`` + its latest 50 messages);
- ``chat {content}``: a chat command is answered as a ``message`` event whose message is
  **not stored**: ``id`` and ``seq`` null, ``role`` ``assistant``, ``metadata`` ``{"command":
  "/name", "ephemeral": true}``; a command that changes the chat's session (``/new``,
  ``/reset``, ``/checkpoint restore``) then switches the connection (``session`` +
  ``history``). Anything else is stored as the user's message (sent back as ``message``)
  and the agent's turn streams: ``delta``…, ``tool_call`` / ``tool_result``, ``message``
  (persisted), ``stream_end``. Without a session yet, ``chat`` creates one first;
- ``stop``: stop the current session's turn (the partial reply is saved ``interrupted``).

Every event of the session being watched reaches every connection watching it (two tabs
on one session both stream). ``sessions_changed {session_id}`` reaches every connection of
the user on every replica (the event bus). Bad JSON, an unknown action or a refused one
(``turn_in_progress``, ``session_read_only``, ``not_found`` …) get ``error {code, message}``;
the connection stays open. A client that disconnects does not stop the turn.

Each connection has a bounded send queue drained by its own task, so a slow client never
slows a turn: when the queue overflows the connection is closed (1013, try again) and the
client resumes with ``resume_session``.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import json
import logging
from typing import TYPE_CHECKING, Any

from starlette.websockets import WebSocket, WebSocketDisconnect

from ..agents.events import Event
from ..agents.runtime import CommandAnswer
from ..errors import InvalidInput, SessionhubError
from ..hub import Hub
from ..validation import loads
from .auth import DEFAULT_USER, TokenTable

if TYPE_CHECKING:
    from .live import Live

log = logging.getLogger("sessionhub.ws")

SEND_QUEUE = 1000
HISTORY_LIMIT = 50
CLOSE_UNAUTHORIZED = 4401
CLOSE_TOO_SLOW = 1013


class WSState(enum.Enum):
    CONNECTING = 0
    OPEN = 1
    CLOSING = 2
    CLOSED = 3


def command_message(session_id: str | None, command: str, text: str) -> dict[str, Any]:
    """A command's answer in the shape of a message (never stored: no id, no seq)."""
    return {
        "id": None,
        "session_id": session_id,
        "seq": None,
        "role": "assistant",
        "content": text,
        "parts": [],
        "status": "complete",
        "usage": {"input_tokens": 0, "output_tokens": 0},
        "metadata": {"command": command, "ephemeral": True},
        "created_at": None,
    }


class Connection:
    """One ``/ws`` connection; see the module docstring."""

    def __init__(self, websocket: WebSocket, live: Live, hub: Hub) -> None:
        self.ws = websocket
        self.live = live
        self.hub = hub
        self.state = WSState.CONNECTING
        self.session_id: str | None = None
        self.outbox: asyncio.Queue[Event | None] = asyncio.Queue(SEND_QUEUE)
        self._unwatch: Any = None

    # -- sending ----------------------------------------------------------------------------

    def send(self, event: Event) -> None:
        """Queue ``event``; never waits (an overflowing client is disconnected)."""
        if self.state is not WSState.OPEN:
            return
        try:
            self.outbox.put_nowait(event)
        except asyncio.QueueFull:
            log.info("closing a /ws connection that does not keep up")
            self.state = WSState.CLOSING
            with contextlib.suppress(asyncio.QueueEmpty):
                self.outbox.get_nowait()
            self.outbox.put_nowait(None)

    async def sink(self, event: Event) -> None:
        self.send(event)

    def error(self, code: str, message: str) -> None:
        self.send({"type": "error", "code": code, "message": message})

    async def _sender(self) -> None:
        while True:
            event = await self.outbox.get()
            if event is None:
                await self.ws.close(CLOSE_TOO_SLOW)
                return
            await self.ws.send_text(json.dumps(event, ensure_ascii=False, separators=(",", ":")))

    async def _forward_bus(self) -> None:
        sub = self.live.bus.subscribe(self.hub.owner)
        try:
            async for event in sub:
                self.send(event)
        finally:
            sub.close()

    # -- the session being watched -----------------------------------------------------------

    async def switch(self, session_id: str) -> None:
        session = await self.hub.get_session(session_id)
        history: list[Any] = await self.hub.get_history(session.id, limit=HISTORY_LIMIT)
        if self._unwatch is not None:
            self._unwatch()
        self.session_id = session.id
        self._unwatch = self.live.runtime.watch(session.id, self.sink)
        self.send({"type": "session", "session": session.to_dict()})
        self.send({"type": "history", "session_id": session.id, "messages": [m.to_dict() for m in history]})

    # -- actions ----------------------------------------------------------------------------

    async def handle(self, raw: str) -> None:
        """Run one text frame's action. Anything but strict JSON (malformed, NaN, a lone
        surrogate, NUL, nesting past the parser's limit) is an ``invalid_json`` error event."""
        try:
            data = loads(raw, "the message")
        except InvalidInput as exc:  # malformed, NaN, a lone surrogate, NUL, nested too deeply
            self.error("invalid_json", exc.message)
            return
        if not isinstance(data, dict) or not isinstance(data.get("action"), str):
            self.error("invalid_input", 'expected an object with an "action"')
            return
        action = data["action"]
        try:
            if action == "new_session":
                await self.new_session(data.get("agent"), data.get("model"))
            elif action == "switch_session":
                sid = data.get("session_id")
                if not isinstance(sid, str):
                    raise InvalidInput("switch_session needs a session_id")
                await self.switch(sid)
            elif action == "chat":
                await self.chat(data.get("content"))
            elif action == "stop":
                if self.session_id is not None:
                    await self.live.runtime.stop(self.session_id)
            else:
                self.error(
                    "unknown_action",
                    f"unknown action {str(action)[:40]!r} (expected new_session, switch_session, chat or stop)",
                )
        except SessionhubError as exc:
            self.error(exc.code, exc.message)

    async def new_session(self, agent: object, model: object) -> None:
        if agent is not None and not isinstance(agent, str):
            raise InvalidInput("agent must be a string")
        if model is not None and not isinstance(model, str):
            raise InvalidInput("model must be a string")
        session = await self.hub.create_session(agent=agent, model=model)
        await self.switch(session.id)
        await self.live.notify(self.hub.owner, session.id)

    async def chat(self, content: object) -> None:
        if self.session_id is None:
            await self.new_session(None, None)
        assert self.session_id is not None
        out = await self.live.runtime.chat(self.hub, self.session_id, content)
        if isinstance(out, CommandAnswer):
            self.send({"type": "message", "session_id": self.session_id,
                       "message": command_message(self.session_id, out.command, out.text)})  # fmt: skip
            if out.session is not None and out.session.id != self.session_id:
                await self.switch(out.session.id)
            return
        self.send({"type": "message", "session_id": out.session.id, "message": out.user_message.to_dict()})

    # -- the connection's life ---------------------------------------------------------------

    async def run(self) -> None:
        """Serve the connection until the client leaves; a binary frame gets an error event."""
        self.state = WSState.OPEN
        sender = asyncio.create_task(self._sender())
        forward = asyncio.create_task(self._forward_bus())
        try:
            resume = self.ws.query_params.get("resume_session")
            if resume:
                try:
                    await self.switch(resume)
                except SessionhubError as exc:
                    self.error(exc.code, exc.message)
            while self.state is WSState.OPEN:
                receive = asyncio.ensure_future(self.ws.receive())
                done, _ = await asyncio.wait({receive, sender}, return_when=asyncio.FIRST_COMPLETED)
                if receive not in done:
                    receive.cancel()
                    with contextlib.suppress(BaseException):
                        await receive
                    break
                frame = receive.result()
                if frame["type"] == "websocket.disconnect":
                    break
                if frame.get("text") is not None:
                    await self.handle(frame["text"])
                else:  # a binary frame: answered, the connection stays open
                    self.error("invalid_json", "binary frames are not supported: send JSON as a text frame")
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            self.state = WSState.CLOSED
            if self._unwatch is not None:
                self._unwatch()
            for task in (sender, forward):
                task.cancel()
                with contextlib.suppress(BaseException):
                    await task


async def websocket_endpoint(websocket: WebSocket) -> None:
    """``/ws``: authenticate, then run the connection (see the module docstring)."""
    live: Live = websocket.app.state.live
    root: Hub = websocket.app.state.hub
    table = TokenTable(live.settings.server.tokens)
    await websocket.accept()
    user: str | None = DEFAULT_USER
    if table:
        token = websocket.query_params.get("token")
        if not token:
            auth = websocket.headers.get("authorization", "")
            scheme, _, rest = auth.partition(" ")
            token = rest.strip() if scheme.lower() == "bearer" else None
        user = table.user_for(token) if token else None
        if user is None:
            message = "missing token (?token=)" if not token else "invalid token"
            await websocket.send_text(
                json.dumps({"type": "error", "code": "unauthorized", "message": message})
            )
            await websocket.close(CLOSE_UNAUTHORIZED)
            return
    assert user is not None
    hub = root if root.owner == user else root.as_user(user)
    await Connection(websocket, live, live.runtime.bind(hub)).run()
