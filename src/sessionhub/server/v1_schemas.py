"""OpenAPI models of the Conversations API (``/v1``): the answers and OpenAI's error envelope.

The routes build their answers in ``v1_shapes.py``; these models document them in
``/openapi.json`` (and FastAPI checks each answer against them). Items are open objects:
every item type of OpenAI's API is accepted and returned as stored.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field


class OpenAIError(BaseModel):
    message: str
    type: str = Field(description="`invalid_request_error` for what the client sent, else `server_error`")
    param: str | None = Field(description="the request parameter at fault, e.g. `items` or `metadata.k`")
    code: str | None = Field(description="e.g. `array_above_max_length`, `invalid_api_key`, or null")


class OpenAIErrorResponse(BaseModel):
    error: OpenAIError


class Conversation(BaseModel):
    id: str = Field(description="`conv_` + the random part of the session id (`ses_…`)")
    object: Literal["conversation"]
    created_at: int = Field(description="Unix seconds")
    metadata: dict[str, Any]


class ConversationDeleted(BaseModel):
    id: str
    object: Literal["conversation.deleted"]
    deleted: bool


class ItemList(BaseModel):
    object: Literal["list"]
    data: list[dict[str, Any]] = Field(description="items; each has `id` (its message id) and `type`")
    first_id: str | None
    last_id: str | None
    has_more: bool


def json_body_doc(schema: dict[str, Any]) -> dict[str, Any]:
    """``openapi_extra`` of a route that reads its JSON body itself (OpenAI's wording of errors)."""
    return {"requestBody": {"required": False, "content": {"application/json": {"schema": schema}}}}


_ITEMS = {"type": "array", "maxItems": 20, "items": {"type": "object"}, "description": "input items"}
_METADATA = {
    "type": ["object", "null"],
    "maxProperties": 16,
    "additionalProperties": {"type": "string", "maxLength": 512},
    "description": "up to 16 string pairs; keys up to 64 characters",
}
CREATE_BODY = json_body_doc({"type": "object", "properties": {"items": _ITEMS, "metadata": _METADATA}})
UPDATE_BODY = json_body_doc(
    {"type": "object", "required": ["metadata"], "properties": {"metadata": _METADATA}}
)
ITEMS_BODY = json_body_doc({"type": "object", "required": ["items"], "properties": {"items": _ITEMS}})

_DESCRIPTIONS = {
    400: "Invalid request (OpenAI's wording, with `param`)",
    401: "Missing or wrong API key (a configured token)",
    403: "Foreign Origin",
    404: "Unknown conversation or item, or another user's",
    409: "Idempotency-Key reused with other items, or the conversation is archived",
    413: "Request body too large",
    415: "Body is not JSON",
    422: "JSON that is not strict JSON (NaN, lone surrogates)",
}

V1_ERRORS: dict[int | str, dict[str, Any]] = {
    s: {"model": OpenAIErrorResponse, "description": d} for s, d in _DESCRIPTIONS.items()
}

__all__ = [
    "V1_ERRORS",
    "Conversation",
    "ConversationDeleted",
    "ItemList",
    "OpenAIError",
    "OpenAIErrorResponse",
]
