"""The offline ``echo`` provider: streams the user's words back, for demos and tests.

Behaviour, decided by the last message sent:

- a ``tool`` message (a tool result): the reply is ``NAME returned: CONTENT`` (streamed), so a
  tool round trip completes;
- a ``user`` message asking for a tool, either starting with ``/tool NAME {json}`` or
  containing the marker ``[[tool:NAME {json}]]`` anywhere (the marker passes through chat
  command parsing untouched): one ``ToolCallEvent`` and ``Done("tool_calls")``;
- otherwise the last user message's words, ``words_per_chunk`` at a time (default 3) with
  ``delay_ms`` between chunks (default 30); whitespace is collapsed to single spaces.

Usage counts words: input = words of every message sent, output = words streamed.
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

from .base import Done, ProviderEvent, TextDelta, ToolCallEvent, UsageEvent

DEFAULT_WORDS_PER_CHUNK = 3
DEFAULT_DELAY_MS = 30
EMPTY_REPLY = "(echo: nothing to repeat)"

_SLASH = re.compile(r"^\s*/tool\s+(?P<name>[A-Za-z0-9_.-]+)(?:\s+(?P<args>\{.*\}))?\s*$", re.DOTALL)
_MARKER = re.compile(r"\[\[tool:(?P<name>[A-Za-z0-9_.-]+)(?:\s+(?P<args>\{.*?\}))?\]\]", re.DOTALL)


def _text(message: Mapping[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # OpenAI content parts
        return " ".join(str(p.get("text", "")) for p in content if isinstance(p, Mapping))
    return ""


def _tool_name(messages: Sequence[Mapping[str, Any]], call_id: object) -> str:
    """The name of the tool call ``call_id`` answered, from the assistant message that made it."""
    for message in reversed(messages):
        for call in message.get("tool_calls") or ():
            if isinstance(call, Mapping) and call.get("id") == call_id:
                return str((call.get("function") or {}).get("name") or "tool")
    return "tool"


def requested_tool(text: str) -> tuple[str, dict[str, Any]] | None:
    """The ``(name, arguments)`` a user message asks the echo provider to call, if any."""
    match = _SLASH.match(text) or _MARKER.search(text)
    if match is None:
        return None
    raw = match.group("args")
    try:
        args = json.loads(raw) if raw else {}
    except json.JSONDecodeError:
        args = {"input": raw}
    return match.group("name"), args if isinstance(args, dict) else {"input": args}


class EchoProvider:
    """Streams the last user message back; see the module docstring."""

    def __init__(
        self, *, words_per_chunk: int = DEFAULT_WORDS_PER_CHUNK, delay_ms: int = DEFAULT_DELAY_MS
    ) -> None:
        if words_per_chunk < 1:
            raise ValueError("words_per_chunk must be at least 1")
        if delay_ms < 0:
            raise ValueError("delay_ms must not be negative")
        self.words_per_chunk = words_per_chunk
        self.delay_ms = delay_ms

    async def stream(
        self,
        model: str,
        messages: Sequence[Mapping[str, Any]],
        tools: Sequence[Mapping[str, Any]] | None = None,
    ) -> AsyncIterator[ProviderEvent]:
        input_tokens = sum(len(_text(m).split()) for m in messages)
        last = messages[-1] if messages else {}
        if last.get("role") == "tool":
            name = _tool_name(messages, last.get("tool_call_id"))
            reply = f"{name} returned: {_text(last)}"
        else:
            user = next((m for m in reversed(messages) if m.get("role") == "user"), None)
            reply = _text(user) if user is not None else ""
            wanted = requested_tool(reply) if last.get("role") == "user" else None
            if wanted is not None:
                yield ToolCallEvent(
                    id=f"call_echo_{secrets.token_hex(6)}", name=wanted[0], arguments=wanted[1]
                )
                yield UsageEvent(input_tokens=input_tokens, output_tokens=1)
                yield Done("tool_calls")
                return
        words = reply.split() or EMPTY_REPLY.split()
        step = self.words_per_chunk
        for start in range(0, len(words), step):
            if start and self.delay_ms:
                await asyncio.sleep(self.delay_ms / 1000)
            chunk = " ".join(words[start : start + step])
            yield TextDelta(chunk if start == 0 else " " + chunk)
        yield UsageEvent(input_tokens=input_tokens, output_tokens=len(words))
        yield Done("stop")

    async def aclose(self) -> None:
        return None
