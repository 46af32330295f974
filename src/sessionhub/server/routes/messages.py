"""A session's messages: read a page (JSON, markdown or text), append, clear."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import Depends, Header, Query, Response
from fastapi.responses import JSONResponse, PlainTextResponse

from ...hub import Hub
from ...hub.sessions import MAX_HISTORY_LIMIT
from ...render import render_messages
from ...store.base import MAX_IDEMPOTENCY_KEY
from ..auth import current_hub
from ..leanroute import LeanRoute
from ..schemas import MessageIn, MessageList, MessagesCreated, MessagesIn
from . import api_router, errors

# The calls an assistant makes every turn: their parameters resolved by LeanRoute rather than
# by FastAPI (the event loop's CPU per append 228 -> 139 us in-process: see leanroute.py).
router = api_router("/api/sessions/{session_id}/messages", "messages", route_class=LeanRoute)

_TEXT_TYPES = {"markdown": "text/markdown; charset=utf-8", "text": "text/plain; charset=utf-8"}


@router.get(
    "",
    response_model=MessageList,
    responses={
        **errors(404),
        200: {
            "description": "`format=json`: a page of messages; `markdown` / `text`: the same page as text",
            "content": {
                "text/markdown": {"schema": {"type": "string"}},
                "text/plain": {"schema": {"type": "string"}},
            },
        },
    },
)
async def get_messages(
    session_id: str,
    limit: int = Query(50, ge=1, le=MAX_HISTORY_LIMIT, description=f"1..{MAX_HISTORY_LIMIT}"),
    before_seq: int | None = Query(None, ge=0, le=2**62, description="only messages with a smaller seq"),
    after_seq: int | None = Query(None, ge=0, le=2**62, description="only messages with a larger seq"),
    format: Literal["json", "markdown", "text"] = "json",
    hub: Hub = Depends(current_hub),
) -> Response:
    """The latest `limit` messages (or the first after `after_seq`), oldest first."""
    msgs, has_more = await hub.history_page(session_id, limit, before_seq, after_seq)
    if format == "json":
        return JSONResponse({"messages": [m.to_dict() for m in msgs], "has_more": has_more})
    return PlainTextResponse(render_messages(msgs, format), media_type=_TEXT_TYPES[format])


def _as_items(body: MessageIn | MessagesIn) -> list[dict[str, Any]]:
    items = body.messages if isinstance(body, MessagesIn) else [body]
    return [m.model_dump(exclude_none=True) for m in items]


@router.post("", status_code=201, response_model=MessagesCreated, responses=errors(404, 409))
async def post_messages(
    session_id: str,
    body: MessageIn | MessagesIn,
    idempotency_key: str | None = Header(
        None,
        min_length=1,
        max_length=MAX_IDEMPOTENCY_KEY,
        description=(
            "a retry with the same key and body within 24 hours returns the first result "
            "(header `Idempotent-Replayed: true`) without storing twice; the same key with "
            "another body is a 409 `idempotency_key_reused`. Keys are per user and session and "
            "kept in the database, so they hold across restarts and replicas"
        ),
    ),
    hub: Hub = Depends(current_hub),
) -> Response:
    """Append one message, or `{"messages": [...]}` in one transaction (all or nothing)."""
    items = _as_items(body)
    if idempotency_key is None:
        msgs = await hub.add_messages(session_id, items)
        return JSONResponse({"messages": [m.to_dict() for m in msgs]}, status_code=201)
    done = await hub.append_once(session_id, items, idempotency_key)
    return JSONResponse(
        {"messages": [m.to_dict() for m in done.messages]},
        status_code=201,
        headers={"Idempotent-Replayed": str(done.replayed).lower()},
    )


@router.delete("", status_code=204, response_class=Response, responses=errors(404, 409))
async def clear_messages(session_id: str, hub: Hub = Depends(current_hub)) -> Response:
    """Delete every message (and checkpoint) but keep the session."""
    await hub.clear_history(session_id)
    return Response(status_code=204)
