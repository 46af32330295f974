"""Triggers: ``POST /api/triggers/{name}`` turns any JSON payload into a new session.

The body is strict JSON (``application/json``, or no content type) or plain text
(``text/plain``: the payload is that string, for platforms that post text); an empty body
is the payload ``null``. Any other content type is 415, malformed or non-strict JSON 422.

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

from fastapi import Depends, HTTPException, Path, Request, Response
from fastapi.responses import JSONResponse

from ...errors import InvalidInput, NotFound
from ...hub import Hub
from ...validation import check_text, loads
from ..auth import current_hub
from ..schemas import SessionModel
from . import api_router, errors

router = api_router("/api/triggers", "triggers")

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


def _payload(content_type: str, body: bytes) -> Any:
    """The trigger's payload: strict JSON, or the text of a ``text/plain`` body (see above)."""
    media = content_type.partition(";")[0].strip().lower()
    if not body:
        return None
    if media in ("", "application/json") or media.endswith("+json"):
        return loads(body)
    if media == "text/plain":
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidInput("the text/plain body is not valid UTF-8") from None
        return check_text(text, "the text/plain body")
    raise HTTPException(415, "a trigger takes a JSON (application/json) or a text/plain body")


@router.post(
    "/{name}",
    status_code=201,
    response_model=SessionModel,
    responses=errors(404, 409, 415),
    openapi_extra={
        "requestBody": {
            "content": {
                "application/json": {"schema": {"description": "any JSON value"}},
                "text/plain": {"schema": {"type": "string"}},
            }
        }
    },
)
async def fire_trigger(
    request: Request, name: str = Path(max_length=200), hub: Hub = Depends(current_hub)
) -> Response:
    """Create a `source=trigger` session whose first message is the trigger's prompt.

    The payload is a JSON body, or the text of a `text/plain` body."""
    spec = request.app.state.settings.triggers.get(name)
    if spec is None:
        raise NotFound(f"trigger {name[:80]!r} not found")
    payload = _payload(request.headers.get("content-type", ""), await request.body())
    text = render_prompt(spec.prompt or "{{payload}}", payload)
    if not text.strip():
        text = _text(payload) or "(empty payload)"
    session = await hub.create_session(
        spec.agent, spec.model, source="trigger", source_ref=name, channel="webhook"
    )
    try:
        await hub.add_message(session.id, "user", text, metadata={"trigger": name})
    except BaseException:
        await hub.delete_session(session.id)  # nothing half-written stays behind
        raise
    return JSONResponse((await hub.get_session(session.id)).to_dict(), status_code=201)
