"""Sessions: list, create, recent, search, stats, one session, PATCH, title, delete."""

from __future__ import annotations

from typing import Literal

from fastapi import Depends, Query, Response
from fastapi.responses import JSONResponse

from ...hub import Hub
from ..auth import current_hub
from ..leanroute import LeanRoute
from ..schemas import (
    SearchResponse,
    SessionCreate,
    SessionList,
    SessionModel,
    SessionPatch,
    SessionRecent,
    StatsResponse,
    TitleUpdate,
)
from . import api_router, errors

router = api_router("/api/sessions", "sessions")

View = Literal["active", "archived", "scheduled", "all"]
ListLimit = Query(50, ge=1, le=500, description="page size, 1..500")
TZ = Query(None, max_length=64, description="IANA timezone for `group` (default: [server] timezone)")
AgentFilter = Query(None, max_length=200, description="only this agent's sessions")
ChannelFilter = Query(None, max_length=64, description="only this channel's sessions")


async def list_sessions(
    view: View = "active",
    limit: int = ListLimit,
    cursor: str | None = Query(None, max_length=512, description="`next_cursor` of the previous page"),
    agent: str | None = AgentFilter,
    channel: str | None = ChannelFilter,
    tz: str | None = TZ,
    hub: Hub = Depends(current_hub),
) -> Response:
    """One keyset page: pinned first, then by last activity, newest first; each with its `group`."""
    page = await hub.list_sessions(view, limit, cursor, tz, agent=agent, channel=channel)
    return JSONResponse(page.to_dict())


# The dashboard's sidebar and every client's list: parameters resolved by LeanRoute (leanroute.py),
# and the request sent past FastAPI's route walk (fastlane.py).
router.add_api_route(
    "",
    list_sessions,
    methods=["GET"],
    response_model=SessionList,
    responses=errors(404),
    route_class_override=LeanRoute,
)


@router.post("", status_code=201, response_model=SessionModel)
async def create_session(body: SessionCreate, hub: Hub = Depends(current_hub)) -> Response:
    """Create a session; agent, provider and model are fixed from here on."""
    s = await hub.create_session(body.agent, body.model, body.title, body.metadata)
    return JSONResponse((await hub.get_session(s.id)).to_dict(), status_code=201)


@router.get("/recent", response_model=SessionRecent)
async def recent_sessions(
    limit: int = Query(10, ge=1, le=500, description="1..500"),
    tz: str | None = TZ,
    hub: Hub = Depends(current_hub),
) -> Response:
    """Sessions with messages by last activity, archived included."""
    sessions = await hub.recent(limit, tz)
    return JSONResponse({"sessions": [s.to_dict() for s in sessions]})


@router.get("/search", response_model=SearchResponse)
async def search_sessions(
    q: str = Query(
        min_length=1,
        max_length=1000,
        description="words (every word must match, the last one also as a prefix); CJK and Thai match as substrings",
    ),
    limit: int = Query(20, ge=1, le=500, description="1..500"),
    view: View = "all",
    agent: str | None = AgentFilter,
    channel: str | None = ChannelFilter,
    mode: Literal["keyword", "semantic", "hybrid"] | None = Query(
        None, description="keyword, semantic or hybrid; default: hybrid when semantic search is installed"
    ),
    group: Literal["message", "session"] = Query(
        "message", description="session: one hit per session (its best), with `count`"
    ),
    hub: Hub = Depends(current_hub),
) -> Response:
    """Search over messages and titles, ranked, with highlighted snippets."""
    hits = await hub.search(q, limit, view=view, agent=agent, channel=channel, mode=mode, group=group)
    return JSONResponse({"results": [h.to_dict() for h in hits]})


@router.get("/stats", response_model=StatsResponse)
async def session_stats(tz: str | None = TZ, hub: Hub = Depends(current_hub)) -> Response:
    """Counts; "today" and "this week" in `tz`."""
    return JSONResponse((await hub.stats(tz)).to_dict())


@router.get("/by-key", response_model=SessionModel, responses=errors(404, 422))
async def session_by_key(
    key: str = Query(
        min_length=1, max_length=2000, description="a session key, canonical or legacy `agent:…`"
    ),
    tz: str | None = TZ,
    hub: Hub = Depends(current_hub),
) -> Response:
    """The current session of a key. PicoClaw/OpenClaw keys (`agent:main:telegram:direct:123`)
    resolve to the same session as their canonical key."""
    s = await hub.session_for_key(key)
    return JSONResponse((await hub.get_session(s.id, tz=tz)).to_dict())


@router.get("/{session_id}", response_model=SessionModel, responses=errors(404))
async def get_session(session_id: str, tz: str | None = TZ, hub: Hub = Depends(current_hub)) -> Response:
    return JSONResponse((await hub.get_session(session_id, tz=tz)).to_dict())


@router.patch("/{session_id}", response_model=SessionModel, responses=errors(404, 409))
async def patch_session(session_id: str, body: SessionPatch, hub: Hub = Depends(current_hub)) -> Response:
    """Apply any of title, pinned, archived, metadata (archiving a pinned session: 409 session_pinned)."""
    s = await hub.update(
        session_id, title=body.title, pinned=body.pinned, archived=body.archived, metadata=body.metadata
    )
    return JSONResponse((await hub.get_session(s.id)).to_dict())


@router.put("/{session_id}/title", response_model=SessionModel, responses=errors(404))
async def set_title(session_id: str, body: TitleUpdate, hub: Hub = Depends(current_hub)) -> Response:
    """Rename: the title becomes a user title, never overwritten by auto titles."""
    s = await hub.rename(session_id, body.title)
    return JSONResponse((await hub.get_session(s.id)).to_dict())


@router.delete("/{session_id}", status_code=204, response_class=Response, responses=errors(404))
async def delete_session(session_id: str, hub: Hub = Depends(current_hub)) -> Response:
    """Delete the session, its messages and checkpoints for good."""
    await hub.delete_session(session_id)
    return Response(status_code=204)
