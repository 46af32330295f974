"""The Conversations API's objects and request checks (``/v1``), in OpenAI's shapes and wording.

A conversation is a session: ``conv_<suffix>`` ↔ ``ses_<suffix>`` (the same random part).
Objects as the official clients validate them: ``created_at`` in Unix seconds (an
integer), ``object`` naming the kind, lists with ``first_id`` / ``last_id`` / ``has_more``.
Refused values raise ``InvalidParam`` (400 ``invalid_request_error`` with ``param`` and a
``code`` such as ``array_above_max_length``), worded as OpenAI words them.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Request

from ..errors import InvalidInput, NotFound
from ..hub.items import ITEM_ID
from ..model import Session
from ..openai_items import MESSAGE_ROLES, split_item_id
from ..store.schema import MAX_MESSAGE_ID
from .openai_errors import PARSE_ERROR, InvalidParam

CONV_PREFIX = "conv_"
SES_PREFIX = "ses_"
MAX_METADATA_PAIRS = 16
MAX_METADATA_KEY = 64
MAX_METADATA_VALUE = 512


def session_id_of(conversation_id: str) -> str:
    """``conv_abc`` → ``ses_abc``; anything else (``ses_…`` included) is no conversation id:
    an empty string, which the hub answers 404."""
    if conversation_id.startswith(CONV_PREFIX):
        return SES_PREFIX + conversation_id.removeprefix(CONV_PREFIX)
    return ""


def conversation_id_of(session_id: str) -> str:
    return CONV_PREFIX + session_id.removeprefix(SES_PREFIX)


@asynccontextmanager
async def conversation_errors(conversation_id: str) -> AsyncIterator[None]:
    """A missing session is answered as OpenAI words a missing conversation."""
    try:
        yield
    except NotFound as exc:
        if exc.message.startswith("session "):
            raise NotFound(f"Conversation with id '{conversation_id[:80]}' not found.") from None
        raise


def conversation_object(s: Session) -> dict[str, Any]:
    return {
        "id": conversation_id_of(s.id),
        "object": "conversation",
        "created_at": int(s.created_at.timestamp()),
        "metadata": dict(s.metadata),
    }


def deleted_object(conversation_id: str) -> dict[str, Any]:
    return {"id": conversation_id, "object": "conversation.deleted", "deleted": True}


def item_list(data: Sequence[dict[str, Any]], has_more: bool) -> dict[str, Any]:
    """A list object of items; ``first_id`` / ``last_id`` are null for an empty page."""
    return {
        "object": "list",
        "data": list(data),
        "first_id": data[0]["id"] if data else None,
        "last_id": data[-1]["id"] if data else None,
        "has_more": has_more,
    }


async def json_body(request: Request) -> dict[str, Any]:
    """The request's JSON object (an empty body is ``{}``): not JSON at all is OpenAI's 400;
    JSON that is not strict JSON (NaN, lone surrogates) is 422 as on every route."""
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        json.loads(raw)
    except ValueError:
        raise InvalidParam(PARSE_ERROR, None, None) from None
    body = await request.json()
    if not isinstance(body, dict):
        raise InvalidParam("The request body must be a JSON object.", None, "invalid_type")
    return body


def includes(request: Request) -> list[str]:
    """``include`` (``include[]=…`` as the clients send it, or repeated ``include=…``): accepted;
    stored items are always returned whole."""
    return request.query_params.getlist("include[]") + request.query_params.getlist("include")


def check_metadata(value: object, param: str = "metadata") -> dict[str, str]:
    """OpenAI's metadata: at most 16 string pairs, keys up to 64, values up to 512 characters."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidParam(
            f"Invalid type for '{param}': expected an object, but got {_json_type(value)} instead.",
            param,
            "invalid_type",
        )
    if len(value) > MAX_METADATA_PAIRS:
        raise InvalidParam(
            f"Invalid '{param}': too many properties. Expected an object with at most "
            f"{MAX_METADATA_PAIRS} properties, but got an object with {len(value)} properties instead.",
            param,
            "object_above_max_properties",
        )
    for key, item in value.items():
        if len(key) > MAX_METADATA_KEY:
            raise InvalidParam(
                f"Invalid '{param}': string too long. Expected a string with maximum length "
                f"{MAX_METADATA_KEY}, but got a string with length {len(key)} instead.",
                param,
                "string_above_max_length",
            )
        if not isinstance(item, str):
            raise InvalidParam(
                f"Invalid type for '{param}.{key}': expected a string, but got {_json_type(item)} instead.",
                f"{param}.{key}",
                "invalid_type",
            )
        if len(item) > MAX_METADATA_VALUE:
            raise InvalidParam(
                f"Invalid '{param}.{key}': string too long. Expected a string with maximum length "
                f"{MAX_METADATA_VALUE}, but got a string with length {len(item)} instead.",
                f"{param}.{key}",
                "string_above_max_length",
            )
    return dict(value)


def check_items(value: object, param: str = "items", max_items: int = 20) -> list[dict[str, Any]]:
    """A list of at most 20 input items, each an object the mapping can store."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidParam(
            f"Invalid type for '{param}': expected an array, but got {_json_type(value)} instead.",
            param,
            "invalid_type",
        )
    if len(value) > max_items:
        raise InvalidParam(
            f"Invalid '{param}': array too long. Expected an array with maximum length {max_items}, "
            f"but got an array with length {len(value)} instead.",
            param,
            "array_above_max_length",
        )
    for i, item in enumerate(value):
        _check_item(item, f"{param}[{i}]")
    return value


def _check_item(item: object, where: str) -> None:
    if not isinstance(item, dict):
        raise InvalidParam(
            f"Invalid type for '{where}': expected an object, but got {_json_type(item)} instead.",
            where,
            "invalid_type",
        )
    kind = item.get("type")
    if kind is not None and (not isinstance(kind, str) or not kind):
        raise InvalidParam(
            f"Invalid '{where}.type': expected a non-empty string.", f"{where}.type", "invalid_type"
        )
    if kind is None and "role" not in item:
        raise InvalidParam(
            f"Missing required parameter: '{where}.type'.", f"{where}.type", "missing_required_parameter"
        )
    given = None if item.get("id") is None else str(item["id"])
    if kind == "item_reference" and given is not None:  # may name one piece of a message: msg~k
        given = split_item_id(given)[0]
    if given is not None and not ITEM_ID.match(given):
        raise InvalidParam(
            f"Invalid '{where}.id': expected 1 to {MAX_MESSAGE_ID} characters of letters, digits, "
            "'_', '.', ':' or '-'.",
            f"{where}.id",
            "invalid_value",
        )
    if kind in (None, "message"):
        role = item.get("role")
        if role not in MESSAGE_ROLES:
            raise InvalidParam(
                f"Invalid value: '{role}'. Supported values are: 'user', 'assistant', 'system', and 'developer'.",
                f"{where}.role",
                "invalid_value",
            )
        content = item.get("content")
        if not isinstance(content, str) and not (
            isinstance(content, list)
            and all(isinstance(p, dict) and isinstance(p.get("type"), str) for p in content)
        ):
            raise InvalidParam(
                f"Invalid '{where}.content': expected a string or an array of content parts.",
                f"{where}.content",
                "invalid_type",
            )
    elif kind == "function_call":
        for name in ("call_id", "name", "arguments"):
            if not isinstance(item.get(name), str):
                raise InvalidParam(
                    f"Missing required parameter: '{where}.{name}'.",
                    f"{where}.{name}",
                    "missing_required_parameter",
                )
    elif kind == "function_call_output":
        if not isinstance(item.get("call_id"), str):
            raise InvalidParam(
                f"Missing required parameter: '{where}.call_id'.",
                f"{where}.call_id",
                "missing_required_parameter",
            )
        if not isinstance(item.get("output"), str | list):
            raise InvalidParam(
                f"Missing required parameter: '{where}.output'.",
                f"{where}.output",
                "missing_required_parameter",
            )
    elif kind == "item_reference" and not isinstance(item.get("id"), str):
        raise InvalidParam(
            f"Missing required parameter: '{where}.id'.", f"{where}.id", "missing_required_parameter"
        )


def as_param(exc: InvalidInput, param: str) -> InvalidParam:
    """A hub refusal of the items, with the request parameter it concerns."""
    return InvalidParam(exc.message, param)


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


__all__ = [
    "as_param",
    "check_items",
    "check_metadata",
    "conversation_errors",
    "conversation_id_of",
    "conversation_object",
    "deleted_object",
    "includes",
    "item_list",
    "json_body",
    "session_id_of",
]
