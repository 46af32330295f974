"""``/v1/conversations/{id}/items``: OpenAI's Conversations API, a conversation's items.

Create (≤ 20 per call, one transaction), list (``after``, ``limit`` 1..100 default 20,
``order`` asc|desc default desc, ``include``), retrieve, delete (answers the
conversation). Item ids are message ids; items map onto messages through
``sessionhub.openai_items`` (the rows ``HubSession`` writes). Shapes: ``v1_shapes.py``.
"""

from __future__ import annotations

from typing import Any, Literal, cast

from fastapi import Depends, Header, Request
from fastapi.responses import JSONResponse

from ...errors import IdempotencyKeyReused, InvalidInput
from ...hub import Hub
from ...hub.items import MAX_ITEMS_PAGE
from ...openai_items import conversation_items
from ...store.base import MAX_IDEMPOTENCY_KEY
from ..auth import current_hub
from ..openai_errors import InvalidParam
from ..v1_schemas import ITEMS_BODY, V1_ERRORS, Conversation, ItemList
from ..v1_shapes import (
    as_param,
    check_items,
    conversation_errors,
    conversation_object,
    includes,
    item_list,
    json_body,
    session_id_of,
)
from . import api_router

router = api_router("/v1/conversations/{conversation_id}/items", "conversations (OpenAI)")
router.responses.update(V1_ERRORS)


@router.post("", response_model=ItemList, openapi_extra=ITEMS_BODY)
async def create_items(
    conversation_id: str,
    request: Request,
    idempotency_key: str | None = Header(
        None,
        min_length=1,
        max_length=MAX_IDEMPOTENCY_KEY,
        description="a retry with the same key and items within 24 hours returns the first result "
        "(header `Idempotent-Replayed: true`) without storing twice",
    ),
    hub: Hub = Depends(current_hub),
) -> JSONResponse:
    """Add up to 20 items in one transaction → the list of the items created, in the order given."""
    includes(request)
    body = await json_body(request)
    if "items" not in body:
        raise InvalidParam("Missing required parameter: 'items'.", "items", "missing_required_parameter")
    items = check_items(body["items"])
    if not items:
        raise InvalidParam(
            "Invalid 'items': empty array. Expected an array with minimum length 1, but got an empty array instead.",
            "items",
            "empty_array",
        )
    async with conversation_errors(conversation_id):
        try:
            done = await hub.add_items_once(session_id_of(conversation_id), items, idempotency_key)
        except IdempotencyKeyReused:
            raise
        except InvalidInput as exc:
            raise as_param(exc, "items") from None
    headers = None if idempotency_key is None else {"Idempotent-Replayed": str(done.replayed).lower()}
    return JSONResponse(
        item_list([i for m in done.messages for i in conversation_items(m)], False), headers=headers
    )


def _limit(raw: str | None) -> int:
    if raw is None:
        return 20
    try:
        value = int(raw)
    except ValueError:
        raise InvalidParam(
            f"Invalid 'limit': expected an integer, but got '{raw[:40]}' instead.", "limit", "invalid_type"
        ) from None
    if value < 1:
        raise InvalidParam(
            f"Invalid 'limit': integer below minimum value. Expected a value >= 1, but got {value} instead.",
            "limit",
            "integer_below_min_value",
        )
    if value > MAX_ITEMS_PAGE:
        raise InvalidParam(
            f"Invalid 'limit': integer above maximum value. Expected a value <= {MAX_ITEMS_PAGE}, "
            f"but got {value} instead.",
            "limit",
            "integer_above_max_value",
        )
    return value


@router.get("", response_model=ItemList)
async def list_items(
    conversation_id: str, request: Request, hub: Hub = Depends(current_hub)
) -> dict[str, Any]:
    """A page of items: `after` (an item id, exclusive), `limit` 1..100 (default 20), `order`
    `asc` or `desc` (default: newest first), `include` (accepted)."""
    query = request.query_params
    limit = _limit(query.get("limit"))
    order = query.get("order", "desc")
    if order not in ("asc", "desc"):
        raise InvalidParam(
            f"Invalid value: '{order[:40]}'. Supported values are: 'asc' and 'desc'.",
            "order",
            "invalid_value",
        )
    after = query.get("after") or None
    includes(request)
    async with conversation_errors(conversation_id):
        data, has_more = await hub.list_items(
            session_id_of(conversation_id), after, limit, cast(Literal["asc", "desc"], order)
        )
    return item_list(data, has_more)


@router.get("/{item_id}", response_model=dict[str, Any])
async def get_item(
    conversation_id: str, item_id: str, request: Request, hub: Hub = Depends(current_hub)
) -> dict[str, Any]:
    """One item by id."""
    includes(request)
    async with conversation_errors(conversation_id):
        return await hub.read_item(session_id_of(conversation_id), item_id)


@router.delete("/{item_id}", response_model=Conversation)
async def delete_item(conversation_id: str, item_id: str, hub: Hub = Depends(current_hub)) -> dict[str, Any]:
    """Delete an item → the conversation."""
    sid = session_id_of(conversation_id)
    async with conversation_errors(conversation_id):
        await hub.delete_item(sid, item_id)
        return conversation_object(await hub.get_session(sid))
