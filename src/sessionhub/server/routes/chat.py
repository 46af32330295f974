"""``POST /api/sessions/{id}/chat``: a chat command answered, or a user message and an agent turn.

- A chat command (``/help``, ``/new``, ``/stop`` …) is answered directly and stores nothing:
  200 ``{"command", "reply", "session_id"}`` (``session_id`` is the chat's session afterwards,
  a new one after ``/new``). Over SSE the answer is one ``command`` event with the same fields.
- Otherwise the user message is stored and the agent answers. With ``Accept:
  text/event-stream`` the response (200) streams the CONTRACT §7 events as SSE (``event:`` = the
  type, ``data:`` = its JSON): first ``message`` (the stored user message), then ``delta``…,
  ``tool_call`` / ``tool_result``, ``message`` (each persisted reply), and last
  ``stream_end``; a client that goes away does not stop the turn. Without it the request
  waits for the turn and answers **201** with the final assistant message (``status``
  ``complete``, or ``interrupted`` when someone stopped it); a provider error answers **502**
  with the error envelope, the partial reply being saved with status ``error``; a session
  deleted under the turn (or whose reply another process removed) answers 404 ``not_found``.
- A second chat while the session's turn runs is refused: 409 ``turn_in_progress`` (not
  queued). An archived session: 409 ``session_read_only``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

from fastapi import Depends, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, StrictStr

from ...agents.events import Event
from ...agents.runner import TurnResult
from ...agents.runtime import CommandAnswer
from ...errors import Conflict, NotFound
from ...hub import Hub
from ..auth import current_hub
from ..errors import error_response
from ..schemas import MessageModel
from . import api_router, errors

router = api_router("/api/sessions/{session_id}", "chat")


class ChatIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    content: StrictStr = Field(min_length=1, description="the user's message, or a chat command")


class CommandOut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    command: str
    reply: str
    session_id: str = Field(description="the chat's session after the command (a new one after /new)")


def sse(event: Event) -> str:
    """One SSE frame: ``event:`` the type, ``data:`` the JSON."""
    data = json.dumps(event, ensure_ascii=False, separators=(",", ":"))
    return f"event: {event.get('type', 'message')}\ndata: {data}\n\n"


@router.post(
    "/chat",
    status_code=201,
    response_model=MessageModel,
    responses={
        **errors(404, 409),
        200: {
            "model": CommandOut,
            "description": "a chat command's answer (nothing stored); with `Accept: text/event-stream`, "
            "the §7 events as SSE",
            "content": {"text/event-stream": {"schema": {"type": "string"}}},
        },
        201: {"model": MessageModel, "description": "the final assistant message"},
        502: {"description": "the provider failed; the partial reply is saved with status error"},
    },
)
async def chat(request: Request, session_id: str, body: ChatIn, hub: Hub = Depends(current_hub)) -> Response:
    """Send a message to the session's agent (or run a chat command); see the module docstring."""
    live = request.app.state.live
    streaming = "text/event-stream" in request.headers.get("accept", "")
    queue: asyncio.Queue[Event] = asyncio.Queue()

    async def sink(event: Event) -> None:
        queue.put_nowait(event)

    out = await live.runtime.chat(hub, session_id, body.content, sink=sink if streaming else None)
    if isinstance(out, CommandAnswer):
        answer = {
            "command": out.command,
            "reply": out.text,
            "session_id": out.session.id if out.session is not None else session_id,
        }
        if not streaming:
            return JSONResponse(answer, status_code=200)

        async def one() -> AsyncIterator[str]:
            yield sse({"type": "command", **answer})

        return StreamingResponse(one(), media_type="text/event-stream", headers=_SSE_HEADERS)
    first: Event = {"type": "message", "session_id": out.session.id, "message": out.user_message.to_dict()}
    return await turn_answer(streaming, queue, [first], out.wait)


async def turn_answer(
    streaming: bool,
    queue: asyncio.Queue[Event],
    first: Sequence[Event],
    wait: Callable[[], Awaitable[TurnResult]],
) -> Response:
    """The answer to a request that started a turn (chat, regenerate, edit): SSE of ``first``
    then the turn's events up to ``stream_end``; or 201 with the final assistant message (502
    when the provider failed, 404/409 when the session changed under the turn).

    Call it before anything else awaits: ``first`` must be queued before the turn's events."""
    if streaming:
        for event in first:
            queue.put_nowait(event)

        async def events() -> AsyncIterator[str]:
            while True:
                event = await queue.get()
                yield sse(event)
                if event.get("type") == "stream_end":
                    return

        return StreamingResponse(events(), media_type="text/event-stream", headers=_SSE_HEADERS)
    result = await wait()
    problem = result.error
    if problem is not None and isinstance(problem, (NotFound, Conflict)):
        # The session was deleted under the turn, or its reply removed by another process:
        # the session's state is the problem, not the server.
        return error_response(problem.status_code, problem.code, problem.message)
    if result.status == "error":
        code = problem.code if problem is not None else "provider_error"
        message = problem.message if problem is not None else "the agent's turn failed"
        return error_response(502 if problem is None else max(problem.status_code, 500), code, message)
    payload: dict[str, Any] = result.message.to_dict() if result.message is not None else {}
    return JSONResponse(payload, status_code=201)


_SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
