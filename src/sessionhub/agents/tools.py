"""Tools an agent may call: a registry, argument checks, the OpenAI ``tools`` export, built-ins.

    registry = ToolRegistry()
    registry.register("add", "Add two numbers",
                      {"type": "object", "properties": {"a": {"type": "number"}, "b": {"type": "number"}},
                       "required": ["a", "b"]},
                      lambda a, b: a + b)          # sync or async; called with the arguments as keywords

A tool never breaks a turn: an unknown tool, bad arguments, an exception or a timeout become
an error result the model reads (``ToolOutcome.is_error``). Sync functions run in a worker
thread so they cannot stall the event loop. Results that are not strings are sent as JSON.

Built-ins (harmless, read-only): ``current_time`` and ``search_sessions``; see
:func:`builtin_tools`.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import re
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..clock import Clock, SystemClock, isoformat
from ..errors import InvalidInput
from ..model import SearchHit

ToolFn = Callable[..., Any]
SearchFn = Callable[[str, int], Awaitable[Sequence[SearchHit]]]
_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")  # the OpenAI function-name rule
_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "object": (dict,),
    "array": (list,),
    "null": (type(None),),
}


@dataclass(frozen=True, slots=True)
class Tool:
    name: str
    description: str
    parameters: Mapping[str, Any]
    fn: ToolFn

    def schema(self) -> dict[str, Any]:
        """This tool in the OpenAI chat completions ``tools`` format."""
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": dict(self.parameters),
            },
        }


@dataclass(frozen=True, slots=True)
class ToolOutcome:
    content: str
    is_error: bool = False


def check_arguments(schema: Mapping[str, Any], arguments: Mapping[str, Any]) -> str | None:
    """A light JSON-schema check (required keys, top-level types, no extras when forbidden)."""
    properties: Mapping[str, Any] = schema.get("properties") or {}
    for key in schema.get("required") or ():
        if key not in arguments:
            return f"missing required argument {key!r}"
    for key, value in arguments.items():
        spec = properties.get(key)
        if spec is None:
            if schema.get("additionalProperties") is False:
                return f"unknown argument {key!r}"
            continue
        wanted = spec.get("type")
        names = wanted if isinstance(wanted, list) else [wanted] if isinstance(wanted, str) else []
        types = tuple(t for n in names for t in _JSON_TYPES.get(n, (object,)))
        is_bool = isinstance(value, bool)
        if types and (not isinstance(value, types) or (is_bool and bool not in types)):
            return f"argument {key!r} must be of type {' or '.join(names)}"
        if "enum" in spec and value not in spec["enum"]:
            return f"argument {key!r} must be one of {spec['enum']}"
    return None


def _render(result: Any) -> str:
    return result if isinstance(result, str) else json.dumps(result, ensure_ascii=False, default=str)


class ToolRegistry:
    """Named tools; see the module docstring."""

    def __init__(self, *, timeout: float = 30.0) -> None:
        self.timeout = timeout
        self._tools: dict[str, Tool] = {}

    def register(
        self, name: str, description: str, json_schema: Mapping[str, Any] | None, fn: ToolFn
    ) -> Tool:
        """Add a tool; ``json_schema`` describes its keyword arguments (an ``object`` schema)."""
        if not isinstance(name, str) or not _NAME.match(name):
            raise InvalidInput("a tool name is 1 to 64 letters, digits, '_' or '-'")
        if name in self._tools:
            raise InvalidInput(f"a tool named {name!r} is already registered")
        if not callable(fn):
            raise InvalidInput(f"tool {name!r}: fn must be callable")
        schema = dict(json_schema or {"type": "object", "properties": {}})
        if schema.get("type", "object") != "object":
            raise InvalidInput(f"tool {name!r}: the JSON schema must describe an object")
        schema.setdefault("type", "object")
        tool = Tool(name=name, description=description, parameters=schema, fn=fn)
        self._tools[name] = tool
        return tool

    def unregister(self, name: str) -> None:
        self._tools.pop(name, None)

    def get(self, name: str) -> Tool | None:
        return self._tools.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self._tools

    def __iter__(self) -> Iterator[Tool]:
        return iter(self._tools.values())

    def __len__(self) -> int:
        return len(self._tools)

    def merged(self, other: ToolRegistry) -> ToolRegistry:
        """A new registry with this one's tools and ``other``'s (``other`` wins on a name clash)."""
        out = ToolRegistry(timeout=self.timeout)
        out._tools = {**self._tools, **other._tools}
        return out

    def openai_tools(self) -> list[dict[str, Any]]:
        """Every tool in the OpenAI ``tools`` request format."""
        return [tool.schema() for tool in self._tools.values()]

    async def call(self, name: str, arguments: Mapping[str, Any]) -> ToolOutcome:
        """Run a tool; failures come back as an error outcome, never as an exception."""
        tool = self._tools.get(name)
        if tool is None:
            known = ", ".join(sorted(self._tools)) or "none"
            return ToolOutcome(f"error: unknown tool {name!r} (available: {known})", True)
        problem = check_arguments(tool.parameters, arguments)
        if problem:
            return ToolOutcome(f"error: {problem}", True)
        try:
            if inspect.iscoroutinefunction(tool.fn):
                result = await asyncio.wait_for(tool.fn(**arguments), self.timeout)
            else:
                result = await asyncio.wait_for(asyncio.to_thread(tool.fn, **arguments), self.timeout)
                if inspect.isawaitable(result):
                    result = await asyncio.wait_for(result, self.timeout)
        except TimeoutError:
            return ToolOutcome(f"error: tool {name!r} took longer than {self.timeout:g} s", True)
        except Exception as exc:
            message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
            return ToolOutcome(f"error: {message}", True)
        return ToolOutcome(_render(result))


def current_time_tool(clock: Clock | None = None) -> Callable[..., dict[str, str]]:
    """``current_time(timezone=None)``: the time in UTC and, if asked, in an IANA timezone."""
    source = clock or SystemClock()

    def current_time(timezone: str | None = None) -> dict[str, str]:
        now = source.now().astimezone(UTC)
        out = {"utc": isoformat(now) or ""}
        if timezone:
            try:
                zone = ZoneInfo(timezone)
            except (ZoneInfoNotFoundError, ValueError, OSError):
                raise InvalidInput(
                    f"unknown timezone {timezone!r} (use an IANA name like Europe/Paris)"
                ) from None
            out["timezone"] = timezone
            out["local"] = now.astimezone(zone).isoformat(timespec="seconds")
        return out

    return current_time


def search_sessions_tool(search: SearchFn) -> Callable[..., Awaitable[list[dict[str, Any]]]]:
    """``search_sessions(query, limit=5)`` over the caller's own sessions through ``search``."""

    async def search_sessions(query: str, limit: int = 5) -> list[dict[str, Any]]:
        hits = await search(query, max(1, min(int(limit), 20)))
        return [
            {
                "session_id": hit.session.id,
                "title": hit.session.title,
                "seq": hit.seq,
                "snippet": hit.snippet,
                "last_message_at": isoformat(hit.session.last_message_at),
            }
            for hit in hits
        ]

    return search_sessions


def builtin_tools(search: SearchFn | None = None, *, clock: Clock | None = None) -> ToolRegistry:
    """A registry with ``current_time`` and, given a search callable (e.g. ``hub.search``, which
    only sees the hub owner's sessions), ``search_sessions``."""
    registry = ToolRegistry()
    registry.register(
        "current_time",
        "The current date and time (UTC, and in an IANA timezone if given).",
        {
            "type": "object",
            "properties": {"timezone": {"type": "string", "description": "IANA name, e.g. Europe/Paris"}},
            "additionalProperties": False,
        },
        current_time_tool(clock),
    )
    if search is not None:
        registry.register(
            "search_sessions",
            "Full-text search over the user's own past conversations; returns matching sessions and snippets.",
            {
                "type": "object",
                "properties": {
                    "query": {"type": "string", "description": "words to look for"},
                    "limit": {"type": "integer", "description": "at most this many results (1-20)"},
                },
                "required": ["query"],
                "additionalProperties": False,
            },
            search_sessions_tool(search),
        )
    return registry
