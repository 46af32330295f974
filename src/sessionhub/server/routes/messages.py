"""A session's messages: read a page (JSON, markdown or text), append, clear."""

from __future__ import annotations

import hashlib
import json
from typing import Any, Literal

from fastapi import Depends, Header, Query, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse

from ...hub import MAX_HISTORY_LIMIT, Hub
from ...render import render_messages
from ..auth import current_hub
from ..idempotency import MAX_KEY_LENGTH, IdempotencyCache
from ..schemas import MessageIn, MessageList, MessagesCreated, MessagesIn
from . import api_router, errors

router = api_router("/api/sessions/{session_id}/messages", "messages")

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
    request: Request,
    session_id: str,
    body: MessageIn | MessagesIn,
    idempotency_key: str | None = Header(
        None,
        min_length=1,
        max_length=MAX_KEY_LENGTH,
        description="a retry with the same key and body returns the first result without storing twice",
    ),
    hub: Hub = Depends(current_hub),
) -> Response:
    """Append one message, or `{"messages": [...]}` in one transaction (all or nothing)."""
    items = _as_items(body)

    async def append() -> dict[str, Any]:
        msgs = await hub.add_messages(session_id, items)
        return {"messages": [m.to_dict() for m in msgs]}

    if idempotency_key is None:
        return JSONResponse(await append(), status_code=201)
    cache: IdempotencyCache = request.app.state.idempotency
    fingerprint = hashlib.sha256(json.dumps(items, sort_keys=True, default=str).encode()).hexdigest()
    replayed, result = await cache.run((hub.owner, session_id, idempotency_key), fingerprint, append)
    return JSONResponse(result, status_code=201, headers={"Idempotent-Replayed": str(replayed).lower()})


@router.delete("", status_code=204, response_class=Response, responses=errors(404, 409))
async def clear_messages(session_id: str, hub: Hub = Depends(current_hub)) -> Response:
    """Delete every message (and checkpoint) but keep the session."""
    await hub.clear_history(session_id)
    return Response(status_code=204)
