"""Assembling OpenAI chat completion chunks into provider events.

Text arrives as ``choices[0].delta.content`` pieces; tool calls arrive as
``delta.tool_calls[i]`` fragments keyed by ``index`` (id and name usually once, the JSON
``arguments`` in many pieces); usage comes in a final chunk with empty ``choices`` when the
request asked for ``stream_options.include_usage``.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from .base import ProviderError, ProviderEvent, TextDelta, ToolCallEvent, UsageEvent


@dataclass(slots=True)
class _PendingCall:
    id: str = ""
    name: str = ""
    arguments: list[str] = field(default_factory=list)


def _error_text(error: object) -> str:
    if isinstance(error, Mapping):
        return str(error.get("message") or error.get("error") or json.dumps(dict(error))[:300])
    return str(error)[:300]


class ChunkAssembler:
    """Feed parsed chunks with :meth:`feed` (yields text deltas at once); :meth:`finish` gives the rest."""

    def __init__(self) -> None:
        self._calls: dict[int, _PendingCall] = {}
        self.usage: UsageEvent | None = None
        self.finish_reason: str | None = None

    def feed(self, chunk: Mapping[str, Any]) -> Iterator[ProviderEvent]:
        if chunk.get("error"):
            raise ProviderError(f"the provider reported an error mid-stream: {_error_text(chunk['error'])}")
        usage = chunk.get("usage")
        if isinstance(usage, Mapping):
            self.usage = UsageEvent(
                input_tokens=int(usage.get("prompt_tokens") or 0),
                output_tokens=int(usage.get("completion_tokens") or 0),
            )
        for choice in chunk.get("choices") or ():
            if not isinstance(choice, Mapping) or choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta") or choice.get("message") or {}
            content = delta.get("content")
            if isinstance(content, str) and content:
                yield TextDelta(content)
            for position, fragment in enumerate(delta.get("tool_calls") or ()):
                self._add_fragment(position, fragment)
            if choice.get("finish_reason"):
                self.finish_reason = str(choice["finish_reason"])

    def _add_fragment(self, position: int, fragment: Mapping[str, Any]) -> None:
        index = fragment.get("index")
        key = index if isinstance(index, int) else position
        call = self._calls.setdefault(key, _PendingCall())
        if fragment.get("id"):
            call.id = str(fragment["id"])
        function = fragment.get("function") or {}
        if function.get("name"):
            name = str(function["name"])
            call.name = name if not call.name or name.startswith(call.name) else call.name + name
        arguments = function.get("arguments")
        if isinstance(arguments, str):
            call.arguments.append(arguments)
        elif isinstance(arguments, Mapping):  # some servers send an object, not a JSON string
            call.arguments.append(json.dumps(dict(arguments)))

    def finish(self) -> Iterator[ProviderEvent]:
        """The assembled tool calls (in index order) and the usage, if any."""
        for index in sorted(self._calls):
            call = self._calls[index]
            if not call.name:
                raise ProviderError(f"the provider streamed tool call #{index} without a function name")
            raw = "".join(call.arguments).strip()
            call_id = call.id or f"call_{secrets.token_hex(8)}"
            try:
                arguments = json.loads(raw) if raw else {}
            except json.JSONDecodeError as exc:
                yield ToolCallEvent(call_id, call.name, {}, arguments_error=f"invalid JSON arguments: {exc}")
                continue
            if not isinstance(arguments, dict):
                yield ToolCallEvent(call_id, call.name, {}, arguments_error="arguments must be a JSON object")
                continue
            yield ToolCallEvent(call_id, call.name, arguments)
        if self.usage is not None:
            yield self.usage
