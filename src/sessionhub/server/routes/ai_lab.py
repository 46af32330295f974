"""AI-Lab's session endpoints, as its frontend calls them (a compatibility layer, CONTRACT 11.2).

AI-Lab (``scripts/api_server.py``) posts JSON to ``/api/sessions/{start,load,list,save,delete,
export}``. Each route here is a thin adapter over the hub; sessions are ordinary sessionhub
sessions (dashboard, search, export all see them):

- ``start {user_name?, metadata?}`` → ``{session_id, started_at}`` (a new web session);
- ``load {session_id}`` → the session in AI-Lab's file shape (``messages`` with ``timestamp``,
  ``stats``, ``errors``);
- ``list {limit?, offset?}`` → ``{sessions, total_sessions, sessions_today, sessions_this_week,
  total_messages, limit, offset}``, newest activity first, each with a first-message
  ``preview`` and its user/assistant counts;
- ``save {session_id, messages, ...}`` (the whole session JSON) → appends only the messages
  beyond those stored (saving the same JSON again stores nothing); an AI-Lab id not known yet
  starts a session under it;
- ``delete {session_id}`` → ``{success: true}``;
- ``export {session_id?, format?}`` → training data: one ``{"messages": [{role, content}]}``
  per session (user and assistant turns), as AI-Lab's ``export_for_training`` writes it.

``session_id`` is the sessionhub id, or the id AI-Lab gave a session (imported with
``sessionhub import --from ai-lab``, or first saved here), resolved through the key
``{agent}:ai-lab:{id}``.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from fastapi import Depends
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from ... import ids
from ...errors import NotFound
from ...hub import Hub
from ...hub.router import seen_limits
from ...model import Message, Session
from ...store.base import NewSession
from ...validation import check_json
from ..auth import current_hub
from . import api_router, errors

router = api_router("/api/sessions", "ai-lab")

PAGE = 500
MAX_OFFSET = 100_000


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore")


class StartIn(_Body):
    user_name: str = Field("User", min_length=1, max_length=200)
    metadata: dict[str, Any] | None = None


class IdIn(_Body):
    session_id: str = Field(min_length=1, max_length=200)


class ListIn(_Body):
    limit: int = Field(50, ge=1, le=500)
    offset: int = Field(0, ge=0, le=MAX_OFFSET)


class AiLabMessage(_Body):
    role: Literal["system", "user", "assistant", "tool"]
    content: str = ""
    timestamp: str | None = None
    metadata: dict[str, Any] | None = None


class SaveIn(_Body):
    session_id: str = Field(min_length=1, max_length=200)
    user_name: str | None = Field(None, max_length=200)
    messages: list[AiLabMessage] = Field(default_factory=list, max_length=10_000)
    metadata: dict[str, Any] | None = None


class ExportIn(_Body):
    session_id: str | None = Field(None, min_length=1, max_length=200)
    format: Literal["jsonl", "json"] = "jsonl"


def _key(hub: Hub, ai_lab_id: str) -> str:
    return f"{hub.settings.default_agent.id}:ai-lab:{ai_lab_id}"


async def _find(hub: Hub, session_id: str) -> Session:
    """The session an AI-Lab ``session_id`` names (``NotFound`` if none)."""
    if ids.is_valid(session_id, "ses"):
        return await hub.get_session(session_id)
    key = _key(hub, session_id)
    state = await hub.routing_store().route_state(hub.owner, key, key, None)
    if state.session is None:
        raise NotFound(f"session {session_id[:80]!r} not found")
    return state.session


async def _bind(hub: Hub, ai_lab_id: str, user_name: str | None, metadata: dict[str, Any] | None) -> Session:
    """A new session under the AI-Lab id (``save`` of a session this server never started)."""
    spec = hub.settings.default_agent
    key = _key(hub, ai_lab_id)
    meta = {**(metadata or {}), "ai_lab": {"session_id": ai_lab_id, "user_name": user_name or "User"}}
    check_json(meta, "metadata")
    new = NewSession(
        id=ids.new_id("ses"), owner=hub.owner, key=key, title="", title_source="auto", agent=spec.id,
        provider=spec.provider, model=spec.model, source="manual", source_ref=None, channel="web",
        metadata=meta,
    )  # fmt: skip
    bound = await hub.routing_store().bind_route(
        hub.owner, key, None, new, None, None, None, seen_limits(hub.settings)
    )
    assert bound.session is not None
    return bound.session


async def _all_messages(hub: Hub, session_id: str) -> list[Message]:
    out: list[Message] = []
    while True:
        page, more = await hub.history_page(session_id, limit=1000, after_seq=out[-1].seq if out else 0)
        out.extend(page)
        if not more or not page:
            return out


def _user_name(s: Session) -> str:
    ai_lab = s.metadata.get("ai_lab")
    name = ai_lab.get("user_name") if isinstance(ai_lab, dict) else None
    return name if isinstance(name, str) else "User"


def _ai_lab_id(s: Session) -> str:
    ai_lab = s.metadata.get("ai_lab")
    sid = ai_lab.get("session_id") if isinstance(ai_lab, dict) else None
    return s.id if not isinstance(sid, str) or s.key == s.id else sid


def _summary(s: Session) -> dict[str, Any]:
    d = s.to_dict()
    return {
        "session_id": _ai_lab_id(s),
        "id": s.id,
        "title": s.title,
        "user_name": _user_name(s),
        "started_at": d["created_at"],
        "last_updated": d["updated_at"],
        "message_count": s.message_count,
        "user_messages": s.stats.user_messages,
        "assistant_messages": s.stats.assistant_messages,
        "preview": s.preview,
        "metadata": {k: v for k, v in s.metadata.items() if k != "ai_lab"},
    }


@router.post("/start", responses=errors(422))
async def start(body: StartIn, hub: Hub = Depends(current_hub)) -> Response:
    """AI-Lab: start a session → `{session_id, started_at}`."""
    meta = {**(body.metadata or {}), "ai_lab": {"user_name": body.user_name}}
    s = await hub.create_session(metadata=meta)
    return JSONResponse(
        {
            "session_id": s.id,
            "started_at": s.to_dict()["created_at"],
            "user_name": body.user_name,
            "model": s.model,
        }
    )


@router.post("/load", responses=errors(404, 422))
async def load(body: IdIn, hub: Hub = Depends(current_hub)) -> Response:
    """AI-Lab: one session in AI-Lab's file shape."""
    s = await _find(hub, body.session_id)
    msgs = await _all_messages(hub, s.id)
    meta = {k: v for k, v in s.metadata.items() if k != "ai_lab"}
    errors_ = (
        s.metadata.get("ai_lab", {}).get("errors", []) if isinstance(s.metadata.get("ai_lab"), dict) else []
    )
    d = s.to_dict()
    return JSONResponse(
        {
            "session_id": _ai_lab_id(s),
            "id": s.id,
            "user_name": _user_name(s),
            "title": s.title,
            "started_at": d["created_at"],
            "last_updated": d["updated_at"],
            "messages": [
                {
                    "role": m.role,
                    "content": m.content,
                    "timestamp": m.to_dict()["created_at"],
                    "metadata": m.metadata,
                }
                for m in msgs
            ],
            "metadata": meta,
            "stats": {
                "total_messages": s.message_count,
                "user_messages": s.stats.user_messages,
                "assistant_messages": s.stats.assistant_messages,
                "errors": s.stats.errors,
            },
            "errors": errors_,
        }
    )


@router.post("/list", responses=errors(422))
async def list_(body: ListIn | None = None, hub: Hub = Depends(current_hub)) -> Response:
    """AI-Lab: a page of sessions (`limit`, `offset`) with the aggregate counts."""
    body = body or ListIn()
    wanted = body.offset + body.limit
    found: list[Session] = []
    cursor: str | None = None
    while len(found) < wanted:
        page = await hub.list_sessions("all", min(PAGE, wanted - len(found)), cursor)
        found.extend(page.sessions)
        cursor = page.next_cursor
        if cursor is None:
            break
    st = await hub.stats()
    return JSONResponse(
        {
            "sessions": [_summary(s) for s in found[body.offset : wanted]],
            "total_sessions": st.total_sessions,
            "sessions_today": st.sessions_today,
            "sessions_this_week": st.sessions_this_week,
            "total_messages": st.total_messages,
            "limit": body.limit,
            "offset": body.offset,
        }
    )


@router.post("/save", responses=errors(404, 409, 422))
async def save(body: SaveIn, hub: Hub = Depends(current_hub)) -> Response:
    """AI-Lab: the whole session JSON; only the messages beyond those stored are appended."""
    try:
        s = await _find(hub, body.session_id)
    except NotFound:
        if ids.is_valid(body.session_id, "ses"):
            raise
        s = await _bind(hub, body.session_id, body.user_name, body.metadata)
    new = body.messages[s.message_count :]
    if new:
        await hub.add_messages(
            s.id, [{"role": m.role, "content": m.content, "metadata": m.metadata or {}} for m in new]
        )
    return JSONResponse({"success": True, "session_id": _ai_lab_id(s), "id": s.id, "saved": len(new)})


@router.post("/delete", responses=errors(404, 422))
async def delete(body: IdIn, hub: Hub = Depends(current_hub)) -> Response:
    """AI-Lab: delete a session for good."""
    s = await _find(hub, body.session_id)
    await hub.delete_session(s.id)
    return JSONResponse({"success": True, "session_id": body.session_id})


def _example(msgs: list[Message]) -> dict[str, Any] | None:
    turns = [{"role": m.role, "content": m.content} for m in msgs if m.role in ("user", "assistant")]
    return {"messages": turns} if turns else None


@router.post("/export", responses=errors(404, 422))
async def export(body: ExportIn | None = None, hub: Hub = Depends(current_hub)) -> Response:
    """AI-Lab: training data, one `{"messages": [...]}` per session (user and assistant turns)."""
    body = body or ExportIn()
    if body.session_id is not None:
        sessions = [await _find(hub, body.session_id)]
    else:
        sessions, cursor = [], None
        while True:
            page = await hub.list_sessions("all", PAGE, cursor)
            sessions.extend(page.sessions)
            cursor = page.next_cursor
            if cursor is None:
                break
    examples = [e for s in sessions if (e := _example(await _all_messages(hub, s.id))) is not None]
    data = "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in examples)
    return JSONResponse(
        {
            "success": True,
            "format": body.format,
            "sessions": len(examples),
            "training_data": examples,
            "data": data if body.format == "jsonl" else json.dumps(examples, ensure_ascii=False),
            "export_path": None,
        }
    )
