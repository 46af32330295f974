"""``/v1/conversations``: OpenAI's Conversations API, conversations themselves.

Create (with up to 20 initial items and metadata), retrieve, update (metadata, replaced
whole), delete. A conversation is a session (``conv_X`` ↔ ``ses_X``): it shows in the
dashboard, search, exports and every ``/api`` route, and any session is a conversation.
Shapes and errors: ``v1_shapes.py`` and ``openai_errors.py``.
"""

from __future__ import annotations

from typing import Any

from fastapi import Depends, Request

from ...errors import InvalidInput
from ...hub import Hub
from ..auth import current_hub
from ..openai_errors import InvalidParam
from ..v1_schemas import CREATE_BODY, UPDATE_BODY, V1_ERRORS, Conversation, ConversationDeleted
from ..v1_shapes import (
    as_param,
    check_items,
    check_metadata,
    conversation_errors,
    conversation_object,
    deleted_object,
    json_body,
    session_id_of,
)
from . import api_router

router = api_router("/v1/conversations", "conversations (OpenAI)")
router.responses.update(V1_ERRORS)


@router.post("", response_model=Conversation, openapi_extra=CREATE_BODY)
async def create_conversation(request: Request, hub: Hub = Depends(current_hub)) -> dict[str, Any]:
    """Create a conversation: `{"items"?: [≤ 20 items], "metadata"?: {≤ 16 string pairs}}`."""
    body = await json_body(request)
    metadata = check_metadata(body.get("metadata"))
    items = check_items(body.get("items"))
    session = await hub.create_session(metadata=metadata)
    if items:
        try:
            await hub.add_items(session.id, items)
        except InvalidInput as exc:  # nothing of a refused request stays
            await hub.delete_session(session.id)
            raise as_param(exc, "items") from None
        except BaseException:
            await hub.delete_session(session.id)
            raise
    return conversation_object(session)


@router.get("/{conversation_id}", response_model=Conversation)
async def get_conversation(conversation_id: str, hub: Hub = Depends(current_hub)) -> dict[str, Any]:
    """Retrieve a conversation."""
    async with conversation_errors(conversation_id):
        return conversation_object(await hub.get_session(session_id_of(conversation_id)))


@router.post("/{conversation_id}", response_model=Conversation, openapi_extra=UPDATE_BODY)
async def update_conversation(
    conversation_id: str, request: Request, hub: Hub = Depends(current_hub)
) -> dict[str, Any]:
    """Update a conversation: `{"metadata": {...}}` replaces its metadata (no merge)."""
    body = await json_body(request)
    if "metadata" not in body:
        raise InvalidParam(
            "Missing required parameter: 'metadata'.", "metadata", "missing_required_parameter"
        )
    metadata = check_metadata(body["metadata"])
    async with conversation_errors(conversation_id):
        return conversation_object(await hub.set_metadata(session_id_of(conversation_id), metadata))


@router.delete("/{conversation_id}", response_model=ConversationDeleted)
async def delete_conversation(conversation_id: str, hub: Hub = Depends(current_hub)) -> dict[str, Any]:
    """Delete a conversation and its items for good."""
    async with conversation_errors(conversation_id):
        await hub.delete_session(session_id_of(conversation_id))
    return deleted_object(conversation_id)
