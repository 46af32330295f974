"""Stored messages to the OpenAI chat format a provider reads.

Rules that keep every OpenAI-compatible server happy:

- the agent's system prompt goes first; stored ``system`` messages (e.g. a context summary)
  keep their place;
- an assistant message's ``tool_call`` parts become ``tool_calls``, but only calls answered
  by a later ``tool`` message in the window (a call cut off by a crash or a context limit
  would make the request invalid); an assistant message left with neither text nor calls
  is dropped;
- each ``tool_result`` part of a ``tool`` message becomes one ``role: tool`` message, only if
  its call is in the window;
- items that are already mappings are taken as OpenAI messages and passed through.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, TypeAlias

from ..model import Message, ToolCall, ToolResult

ContextItem: TypeAlias = Message | Mapping[str, Any]


def tool_call_dict(call: ToolCall) -> dict[str, Any]:
    """One ``tool_calls`` entry of an assistant message."""
    return {
        "id": call.id,
        "type": "function",
        "function": {"name": call.name, "arguments": json.dumps(dict(call.arguments), ensure_ascii=False)},
    }


def to_openai_messages(context: Sequence[ContextItem], system_prompt: str = "") -> list[dict[str, Any]]:
    """The provider request's ``messages`` for ``context`` (oldest first); see the module docstring."""
    answered = {
        part.tool_call_id
        for item in context
        if isinstance(item, Message) and item.role == "tool"
        for part in item.parts
        if isinstance(part, ToolResult)
    }
    called: set[str] = set()
    out: list[dict[str, Any]] = (
        [{"role": "system", "content": system_prompt}] if system_prompt.strip() else []
    )
    for item in context:
        if not isinstance(item, Message):
            out.append(dict(item))
            continue
        if item.role in ("system", "user"):
            out.append({"role": item.role, "content": item.content})
        elif item.role == "assistant":
            calls = [p for p in item.parts if isinstance(p, ToolCall) and p.id in answered]
            if not calls and not item.content:
                continue
            message: dict[str, Any] = {"role": "assistant", "content": item.content or None}
            if calls:
                message["tool_calls"] = [tool_call_dict(c) for c in calls]
                called.update(c.id for c in calls)
            out.append(message)
        else:
            out.extend(
                {"role": "tool", "tool_call_id": p.tool_call_id, "content": p.content}
                for p in item.parts
                if isinstance(p, ToolResult) and p.tool_call_id in called
            )
    return out
