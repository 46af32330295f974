"""Forks, export/import, context windows and cleanup."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import Body, Depends, Query, Response
from fastapi.responses import JSONResponse, StreamingResponse

from ...hub import Hub
from ..auth import current_hub
from ..schemas import CleanupRequest, CleanupResponse, ContextResponse, ForkRequest, SessionModel
from . import api_router, errors

router = api_router("/api", "history")

_EXPORT_TYPES = {
    "json": ("application/json", "json"),
    "jsonl": ("application/x-ndjson", "jsonl"),
    "markdown": ("text/markdown; charset=utf-8", "md"),
    "text": ("text/plain; charset=utf-8", "txt"),
}


@router.post("/sessions/import", status_code=201, response_model=SessionModel, responses=errors(409))
async def import_session(
    document: dict[str, Any] = Body(description="a `json` export of GET /api/sessions/{id}/export"),
    hub: Hub = Depends(current_hub),
) -> Response:
    """Create a new session from a `json` export (lossless round trip)."""
    s = await hub.import_session(document)
    return JSONResponse((await hub.get_session(s.id)).to_dict(), status_code=201)


@router.post(
    "/sessions/{session_id}/fork", status_code=201, response_model=SessionModel, responses=errors(404)
)
async def fork_session(
    session_id: str, body: ForkRequest | None = None, hub: Hub = Depends(current_hub)
) -> Response:
    """A new session sharing the history up to `at_seq` or a checkpoint (default: all of it)."""
    body = body or ForkRequest()
    s = await hub.fork(session_id, body.at_seq, body.checkpoint_id, title=body.title)
    return JSONResponse((await hub.get_session(s.id)).to_dict(), status_code=201)


@router.get(
    "/sessions/{session_id}/export",
    response_class=Response,
    responses={
        **errors(404),
        200: {
            "description": "the export file (streamed)",
            "content": {
                "application/json": {"schema": {"type": "object"}},
                "application/x-ndjson": {"schema": {"type": "string"}},
                "text/markdown": {"schema": {"type": "string"}},
                "text/plain": {"schema": {"type": "string"}},
            },
        },
    },
)
async def export_session(
    session_id: str,
    format: Literal["markdown", "json", "jsonl", "text"] = "json",
    include_metadata: bool = True,
    hub: Hub = Depends(current_hub),
) -> Response:
    """The session as a file, streamed page by page (constant memory for long histories)."""
    await hub.get_session(session_id)  # 404 before the first byte is sent
    media, ext = _EXPORT_TYPES[format]
    return StreamingResponse(
        hub.export_stream(session_id, format, include_metadata),
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{session_id}.{ext}"'},
    )


@router.get("/sessions/{session_id}/context", response_model=ContextResponse, responses=errors(404))
async def context_window(
    session_id: str,
    max_tokens: int = Query(100_000, ge=1, le=10_000_000),
    strategy: Literal["recent", "smart", "summarize"] = "smart",
    hub: Hub = Depends(current_hub),
) -> Response:
    """The messages to send the model within `max_tokens`, by `strategy`."""
    window = await hub.get_context_history(session_id, max_tokens=max_tokens, strategy=strategy)
    return JSONResponse(window.to_dict())


@router.post("/maintenance/cleanup", response_model=CleanupResponse)
async def cleanup(body: CleanupRequest | None = None, hub: Hub = Depends(current_hub)) -> Response:
    """Delete the caller's sessions idle for longer than `older_than`; pinned ones never."""
    body = body or CleanupRequest()
    report = await hub.cleanup(body.older_than, body.keep_checkpoints, body.dry_run)
    return JSONResponse(report.to_dict())
