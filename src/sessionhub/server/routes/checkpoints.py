"""Checkpoints: pointers into a session's history; restore keeps later messages aside."""

from __future__ import annotations

from fastapi import Depends, Response
from fastapi.responses import JSONResponse

from ...hub import Hub
from ..auth import current_hub
from ..schemas import CheckpointCreate, CheckpointList, CheckpointModel, SessionModel
from . import api_router, errors

router = api_router("/api", "checkpoints")


@router.post(
    "/sessions/{session_id}/checkpoints",
    status_code=201,
    response_model=CheckpointModel,
    responses=errors(404, 409),
)
async def save_checkpoint(
    session_id: str, body: CheckpointCreate, hub: Hub = Depends(current_hub)
) -> Response:
    """Record a checkpoint at the session's current last message (a pointer, no copy)."""
    cp = await hub.save_checkpoint(session_id, body.name, body.description)
    return JSONResponse(cp.to_dict(), status_code=201)


@router.get("/sessions/{session_id}/checkpoints", response_model=CheckpointList, responses=errors(404))
async def list_checkpoints(session_id: str, hub: Hub = Depends(current_hub)) -> Response:
    return JSONResponse({"checkpoints": [c.to_dict() for c in await hub.list_checkpoints(session_id)]})


@router.post("/checkpoints/{checkpoint_id}/restore", response_model=SessionModel, responses=errors(404, 409))
async def restore_checkpoint(checkpoint_id: str, hub: Hub = Depends(current_hub)) -> Response:
    """The history returns to the checkpoint; later messages move to a branch session, not lost."""
    s = await hub.restore_checkpoint(checkpoint_id)
    return JSONResponse((await hub.get_session(s.id)).to_dict())


@router.delete(
    "/checkpoints/{checkpoint_id}", status_code=204, response_class=Response, responses=errors(404, 409)
)
async def delete_checkpoint(checkpoint_id: str, hub: Hub = Depends(current_hub)) -> Response:
    await hub.delete_checkpoint(checkpoint_id)
    return Response(status_code=204)
