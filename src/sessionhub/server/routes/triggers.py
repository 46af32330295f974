"""Triggers: ``POST /api/triggers/{name}`` turns any JSON payload into a new session.

``[triggers.NAME] agent prompt``: the prompt is a template where ``{{payload}}`` is the
whole payload (a string as is, anything else as indented JSON) and ``{{payload.a.b}}`` a
field of it (empty when absent). The session gets ``source=trigger``,
``source_ref=NAME``, channel ``webhook``, and the rendered prompt as its first user message.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Body, Depends, Path, Request, Response
from fastapi.responses import JSONResponse

from ...errors import NotFound
from ...hub import Hub
from ..auth import current_hub
from ..schemas import SessionModel
from . import errors

router = APIRouter(prefix="/api/triggers", tags=["triggers"])

_PLACEHOLDER = re.compile(r"\{\{\s*payload((?:\.[A-Za-z0-9_\-]+)*)\s*\}\}")


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    return json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True)


def render_prompt(template: str, payload: Any) -> str:
    """Fill ``{{payload}}`` and ``{{payload.field.sub}}`` placeholders."""

    def fill(match: re.Match[str]) -> str:
        value = payload
        for name in match.group(1).split(".")[1:]:
            if isinstance(value, Mapping):
                value = value.get(name)
            elif isinstance(value, list) and name.isdigit() and int(name) < len(value):
                value = value[int(name)]
            else:
                value = None
        return _text(value)

    return _PLACEHOLDER.sub(fill, template)


@router.post("/{name}", status_code=201, response_model=SessionModel, responses=errors(404, 409))
async def fire_trigger(
    request: Request,
    name: str = Path(max_length=200),
    payload: Any = Body(None, description="any JSON value"),
    hub: Hub = Depends(current_hub),
) -> Response:
    """Create a `source=trigger` session whose first message is the trigger's prompt."""
    spec = request.app.state.settings.triggers.get(name)
    if spec is None:
        raise NotFound(f"trigger {name[:80]!r} not found")
    template = spec.get("prompt") or "{{payload}}"
    text = render_prompt(str(template), payload)
    if not text.strip():
        text = _text(payload) or "(empty payload)"
    session = await hub.create_session(
        spec.get("agent"), spec.get("model"), source="trigger", source_ref=name, channel="webhook"
    )
    try:
        await hub.add_message(session.id, "user", text, metadata={"trigger": name})
    except BaseException:
        await hub.delete_session(session.id)  # nothing half-written stays behind
        raise
    return JSONResponse((await hub.get_session(session.id)).to_dict(), status_code=201)
