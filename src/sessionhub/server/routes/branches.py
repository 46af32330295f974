"""Regenerate, edit and branches (CONTRACT §11.9): alternatives kept by pointer, never copied.

- ``POST /api/sessions/{id}/regenerate`` ``{"seq"?}``: assistant message ``seq`` (default:
  the last one) and what follows are kept aside as a branch, and the agent answers the
  history before it. ``POST /api/sessions/{id}/edit`` ``{"seq", "content"}``: user message
  ``seq`` and what follows are kept aside, the new text becomes message ``seq`` (never run as
  a chat command) and the agent answers. Both answer like ``/chat``: 201 with the final
  assistant message, or with ``Accept: text/event-stream`` the §7 events, opened by a
  ``branch`` event (``{"session_id", "at_seq", "branch"}``: the branch keeping the replaced
  messages) and, for an edit, the ``message`` event of the new user message.
- ``GET /api/sessions/{id}/branches`` → ``{"branches": [...]}``, oldest first.
- ``POST /api/sessions/{id}/branches/{branch_session_id}/switch`` → the session, now showing
  that branch; its previous continuation is kept as a new branch.

A ``seq`` that is not a message of the session, or a message of the wrong role, is 422; a
turn already running is 409 ``turn_in_progress``; an archived session 409
``session_read_only``; unknown or another user's ids 404.
"""

from __future__ import annotations

import asyncio

from fastapi import Depends, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

from ...agents.events import Event, EventSink
from ...agents.runtime import BranchStarted
from ...hub import Hub
from ..auth import current_hub
from ..schemas import MessageModel, SessionModel
from . import api_router, errors
from .chat import turn_answer

router = api_router("/api/sessions/{session_id}", "branches")

_SEQ = "the message's seq"


class RegenerateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    seq: StrictInt | None = Field(
        None, ge=1, le=2**62, description=f"{_SEQ}: an assistant message (default: the last one)"
    )


class EditIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    seq: StrictInt = Field(ge=1, le=2**62, description=f"{_SEQ}: a user message")
    content: StrictStr = Field(min_length=1, description="the new text of that message")


class BranchModel(BaseModel):
    at_seq: int = Field(description="the first seq where the branch differs from the session")
    session_id: str = Field(description="the (archived) session holding the branch")
    preview: str = Field(description="its message at at_seq, short")
    message_count: int
    created_at: str = Field(description="when its message at at_seq was written")
    message_id: str = Field(description="its message at at_seq")
    role: str = Field(description="that message's role")


class BranchList(BaseModel):
    branches: list[BranchModel] = Field(description="oldest first")


_TURN = {
    **errors(404, 409),
    201: {"model": MessageModel, "description": "the final assistant message"},
    200: {
        "description": "with `Accept: text/event-stream`: a `branch` event, then the §7 events as SSE",
        "content": {"text/event-stream": {"schema": {"type": "string"}}},
    },
    502: {"description": "the provider failed; the partial reply is saved with status error"},
}


async def _answer(request: Request, out: BranchStarted, queue: asyncio.Queue[Event]) -> Response:
    streaming = "text/event-stream" in request.headers.get("accept", "")
    session, branch = out.result.session, out.result.branch
    first: list[Event] = [
        {
            "type": "branch",
            "session_id": session.id,
            "at_seq": out.result.at_seq,
            "branch": branch.to_dict() if branch is not None else None,
        }
    ]
    if out.result.message is not None:
        first.append({"type": "message", "session_id": session.id, "message": out.result.message.to_dict()})
    return await turn_answer(streaming, queue, first, out.wait)


def _sink(request: Request, queue: asyncio.Queue[Event]) -> EventSink | None:
    if "text/event-stream" not in request.headers.get("accept", ""):
        return None

    async def sink(event: Event) -> None:
        queue.put_nowait(event)

    return sink


@router.post("/regenerate", status_code=201, response_model=MessageModel, responses=_TURN)
async def regenerate(
    request: Request, session_id: str, body: RegenerateIn | None = None, hub: Hub = Depends(current_hub)
) -> Response:
    """Run the agent again on the history before an assistant message; the replaced messages
    stay reachable as a branch."""
    queue: asyncio.Queue[Event] = asyncio.Queue()
    seq = body.seq if body is not None else None
    out = await request.app.state.live.runtime.regenerate(hub, session_id, seq, sink=_sink(request, queue))
    return await _answer(request, out, queue)


@router.post("/edit", status_code=201, response_model=MessageModel, responses=_TURN)
async def edit(request: Request, session_id: str, body: EditIn, hub: Hub = Depends(current_hub)) -> Response:
    """Replace a user message by new text and run the agent; what followed the old message
    stays reachable as a branch."""
    queue: asyncio.Queue[Event] = asyncio.Queue()
    out = await request.app.state.live.runtime.edit(
        hub, session_id, body.seq, body.content, sink=_sink(request, queue)
    )
    return await _answer(request, out, queue)


@router.get("/branches", response_model=BranchList, responses=errors(404))
async def list_branches(session_id: str, hub: Hub = Depends(current_hub)) -> Response:
    """The alternatives forking off the session's visible history, oldest first."""
    return JSONResponse({"branches": [b.to_dict() for b in await hub.branches(session_id)]})


@router.post("/branches/{branch_session_id}/switch", response_model=SessionModel, responses=errors(404, 409))
async def switch_branch(session_id: str, branch_session_id: str, hub: Hub = Depends(current_hub)) -> Response:
    """Make the branch the session's visible continuation; the current one is kept as a branch."""
    s = await hub.switch_branch(session_id, branch_session_id)
    return JSONResponse(s.to_dict())
