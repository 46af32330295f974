"""OpenAI items (Responses / Conversations / Agents SDK) ↔ sessionhub messages: the one mapping.

Used by ``integrations/openai_agents.py`` (``HubSession``) and by the server's ``/v1``
Conversations API, so an item written by either is the same row and reads back the same.

One item is one message. The item's JSON is kept whole in ``metadata["openai_item"]``;
the message also gets a readable role, content and parts for the dashboard, search and
exports (``item_to_message``):

- a message (``role`` user/assistant/system/developer): that role (developer → system)
  and the text of its content (text parts joined; images and files as ``[image]`` /
  ``[file]``; a refusal as its text);
- ``function_call``: an assistant message with a ``tool_call`` part (id = ``call_id``,
  arguments parsed from JSON; a non-object is kept under ``{"_raw": …}``);
- ``function_call_output``: a tool message with a ``tool_result`` part and the output text;
- ``reasoning``: an assistant message with the summary text (``[reasoning]`` if none);
- other ``*_call`` / ``*_call_output`` items (computer, shell, MCP, custom tools, …):
  a ``tool_call`` / ``tool_result`` part named after the item, ``[type]`` otherwise;
- anything else (compaction, images, …): an assistant message ``[type]``.

Reading back: ``message_to_items`` gives the Agents SDK form (the kept item as it was, or
items derived from role/content/parts for messages written by other clients);
``conversation_items`` gives the Conversations API form (message items normalised:
``type: "message"``, ``status``, typed content parts). A kept item is one item with the
message's id; a message written elsewhere is one item per piece (its text, each tool call,
each tool result), the first with the message's id and the k-th with ``{message id}~{k}``
(``split_item_id``), so an assistant turn with three tool calls is four items, as the
Responses API would have produced.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, cast

from .model import Message, ToolCall, ToolResult

ITEM_KEY = "openai_item"
MESSAGE_ROLES = ("user", "assistant", "system", "developer")
ITEM_STATUSES = ("in_progress", "completed", "incomplete")

__all__ = [
    "ITEM_KEY",
    "MESSAGE_ROLES",
    "SUB_ITEM",
    "conversation_item",
    "conversation_items",
    "is_message_item",
    "item_to_message",
    "message_to_items",
    "split_item_id",
]


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: max(limit - 1, 0)] + "…"


def _content_text(content: object) -> str:
    """Readable text of a message's content: a string, or a list of content parts."""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return ""
    out: list[str] = []
    for part in content:
        if isinstance(part, str):
            out.append(part)
        elif isinstance(part, Mapping):
            kind = str(part.get("type", ""))
            if isinstance(part.get("text"), str):
                out.append(part["text"])
            elif isinstance(part.get("refusal"), str):
                out.append(part["refusal"])
            elif "image" in kind:
                out.append("[image]")
            elif "file" in kind:
                name = part.get("filename")
                out.append(f"[file {name}]" if isinstance(name, str) and name else "[file]")
            elif "audio" in kind:
                out.append("[audio]")
            elif kind:
                out.append(f"[{kind}]")
    return "\n".join(s for s in out if s)


def _arguments(raw: object) -> dict[str, Any]:
    if isinstance(raw, Mapping):
        return dict(raw)
    if isinstance(raw, str):
        try:
            parsed = json.loads(raw) if raw.strip() else {}
        except ValueError:
            return {"_raw": raw}
        return dict(parsed) if isinstance(parsed, dict) else {"_raw": raw}
    return {} if raw is None else {"_raw": raw}


def _call_id(item: Mapping[str, Any]) -> str:
    for name in ("call_id", "id"):
        value = item.get(name)
        if isinstance(value, str) and value:
            return value
    return "unknown"


def is_message_item(item: Mapping[str, Any]) -> bool:
    """A message item: ``type`` "message" or absent, with a ``role``."""
    return item.get("type") in (None, "message") and isinstance(item.get("role"), str)


def item_to_message(item: Mapping[str, Any], max_chars: int = 200_000) -> dict[str, Any]:
    """One item as the ``hub.add_messages`` dict that keeps it whole."""
    if not isinstance(item, Mapping):
        raise TypeError(f"an item must be a dict, not {type(item).__name__}")
    kind = item.get("type")
    role = item.get("role")
    meta = {ITEM_KEY: dict(item)}
    parts: list[dict[str, Any]] = []
    if is_message_item(item):
        hub_role = {"developer": "system"}.get(cast(str, role), cast(str, role))
        if hub_role not in ("user", "assistant", "system"):
            hub_role = "user"
        text = _content_text(item.get("content"))
    elif kind == "function_call":
        hub_role, text = "assistant", ""
        name = item.get("name") if isinstance(item.get("name"), str) and item.get("name") else "function"
        parts.append(ToolCall(_call_id(item), cast(str, name), _arguments(item.get("arguments"))).to_dict())
    elif kind == "function_call_output":
        hub_role = "tool"
        output = item.get("output")
        text = output if isinstance(output, str) else _content_text(output)
        parts.append(ToolResult(_call_id(item), _cut(text, max_chars)).to_dict())
    elif kind == "reasoning":
        hub_role = "assistant"
        text = _content_text(item.get("summary")) or _content_text(item.get("content")) or "[reasoning]"
    elif isinstance(kind, str) and kind.endswith("_output"):
        hub_role = "tool"
        output = item.get("output")
        text = output if isinstance(output, str) else _content_text(output) or f"[{kind}]"
        parts.append(ToolResult(_call_id(item), _cut(text, max_chars)).to_dict())
    elif isinstance(kind, str) and kind.endswith("_call"):
        hub_role, text = "assistant", ""
        name = item.get("name")
        args: dict[str, Any] = {}
        if isinstance(item.get("arguments"), str | Mapping):
            args = _arguments(item.get("arguments"))
        elif isinstance(item.get("input"), str):
            args = {"input": item["input"]}
        label = name if isinstance(name, str) and name else kind
        parts.append(ToolCall(_call_id(item), label, args).to_dict())
    else:
        hub_role = "assistant"
        text = f"[{kind if isinstance(kind, str) and kind else 'item'}]"
    text = _cut(text, max_chars)
    if not text.strip() and not parts:
        text = f"[{kind if isinstance(kind, str) and kind else 'empty ' + str(role or 'message')}]"
    return {"role": hub_role, "content": text, "parts": parts, "metadata": meta}


def _piece(p: ToolCall | ToolResult) -> dict[str, Any]:
    """A tool call or a tool result as its item (no id, no status)."""
    if isinstance(p, ToolCall):
        return {
            "type": "function_call",
            "call_id": p.id,
            "name": p.name,
            "arguments": json.dumps(dict(p.arguments)),
        }
    return {"type": "function_call_output", "call_id": p.tool_call_id, "output": p.content}


def message_to_items(m: Message) -> list[dict[str, Any]]:
    """A stored message as Agents SDK items: its kept item, or items derived from role/content/parts."""
    kept = m.metadata.get(ITEM_KEY)
    if isinstance(kept, Mapping):
        return [dict(kept)]
    if m.role == "tool":
        out = [_piece(p) for p in m.parts if isinstance(p, ToolResult)]
        return out or ([{"role": "user", "content": m.content}] if m.content else [])
    text = [{"role": m.role, "content": m.content}] if m.content else []
    return text + [_piece(p) for p in m.parts]


# -- the Conversations API form --------------------------------------------------------------


def _text_part(role: str, text: str) -> dict[str, Any]:
    if role == "assistant":
        return {"type": "output_text", "text": text, "annotations": []}
    return {"type": "input_text", "text": text}


def _content_parts(role: str, content: object) -> list[Any]:
    """Content as typed parts: a string becomes one text part; ``output_text`` gets ``annotations``."""
    if isinstance(content, str):
        return [_text_part(role, content)]
    if not isinstance(content, list):
        return []
    out: list[Any] = []
    for part in content:
        if isinstance(part, str):
            out.append(_text_part(role, part))
        elif isinstance(part, Mapping) and part.get("type") == "output_text" and "annotations" not in part:
            out.append({**part, "annotations": []})
        else:
            out.append(part)
    return out


def _status(item: Mapping[str, Any]) -> str:
    status = item.get("status")
    return status if isinstance(status, str) and status in ITEM_STATUSES else "completed"


def _message_item(item_id: str, role: str, content: object, kept: Mapping[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in kept.items() if k not in ("type", "id", "role", "content", "status")}
    out.update(
        {
            "type": "message",
            "id": item_id,
            "role": role,
            "status": _status(kept),
            "content": _content_parts(role, content),
        }
    )
    return out


SUB_ITEM = "~"
"""Joins a message id and the index of one of its items: ``msg_…~2``. Client-given item ids
cannot contain it (``hub.items.ITEM_ID``), so a derived id never collides with a given one."""


def split_item_id(item_id: str) -> tuple[str, int]:
    """``(message id, index)`` of an item id: ``msg_1`` → ``("msg_1", 0)``, ``msg_1~2`` →
    ``("msg_1", 2)``; an index that is not a plain positive number gives ``("", 0)``."""
    mid, sep, k = item_id.rpartition(SUB_ITEM)
    if not sep:
        return item_id, 0
    if not (k.isdecimal() and k.isascii() and k[0] != "0" and len(k) <= 4) or not mid:
        return "", 0
    return mid, int(k)


def _derived(m: Message) -> list[dict[str, Any]]:
    """The items of a message written without an item (``/api``, the agent runtime, imports):
    its text as a message item (when it has text, or nothing else; a tool message's text is
    its results' output), then one ``function_call`` per tool call and one
    ``function_call_output`` per tool result."""
    status = {"complete": "completed", "streaming": "in_progress"}.get(m.status, "incomplete")
    out: list[dict[str, Any]] = []
    pieces = [p for p in m.parts if isinstance(p, ToolCall | ToolResult)]
    # A tool message's text is its results' output; any other message's text is its own item.
    results = any(isinstance(p, ToolResult) for p in pieces)
    if not pieces or (m.content.strip() and not (m.role == "tool" and results)):
        role = m.role if m.role in MESSAGE_ROLES else "user"
        out.append(
            {"type": "message", "role": role, "status": status, "content": [_text_part(role, m.content)]}
        )
    out += [{**_piece(p), "status": status} for p in pieces]
    return [
        {"type": item["type"], "id": m.id if k == 0 else f"{m.id}{SUB_ITEM}{k}", **item}
        for k, item in enumerate(out)
    ]


def conversation_items(m: Message) -> list[dict[str, Any]]:
    """The message as Conversations API items, in order: its kept item (one), or the items
    derived from a message written elsewhere (``_derived``: text, then each tool call or
    result). The first item's id is the message id, the k-th ``{message id}~{k}``."""
    kept = m.metadata.get(ITEM_KEY)
    if not isinstance(kept, Mapping):
        return _derived(m)
    return [conversation_item(m)]


def conversation_item(m: Message) -> dict[str, Any]:
    """The message's first Conversations API item (``conversation_items``), its ``id`` the message id.

    A kept item comes back as it was given, with the message id as ``id``; message items are
    normalised (``type: "message"``, ``status``, content as typed parts: user, system and
    developer text as ``input_text``, assistant text as ``output_text`` with
    ``annotations: []``); ``function_call`` / ``function_call_output`` get ``status:
    "completed"`` when they had none (the API always states one).
    """
    kept = m.metadata.get(ITEM_KEY)
    if not isinstance(kept, Mapping):
        return _derived(m)[0]
    if is_message_item(kept):
        return _message_item(m.id, cast(str, kept["role"]), kept.get("content"), kept)
    out = dict(kept)
    out["id"] = m.id
    if out.get("type") in ("function_call", "function_call_output") and "status" not in out:
        out["status"] = "completed"
    return out
