"""The tool registry, the built-in tools and the conversion of stored messages to the OpenAI format."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from sessionhub.agents import ToolRegistry, builtin_tools, to_openai_messages
from sessionhub.errors import InvalidInput
from sessionhub.model import Message, SearchHit, ToolCall, ToolResult
from sessionhub.testing import FakeClock

SCHEMA = {
    "type": "object",
    "properties": {"a": {"type": "number"}, "b": {"type": "number"}},
    "required": ["a", "b"],
}


async def test_sync_and_async_tools_run() -> None:
    """Sync (in a thread) and async tools are called with keyword arguments; non-strings come back as JSON."""
    registry = ToolRegistry()
    registry.register("add", "Add", SCHEMA, lambda a, b: {"sum": a + b})

    async def shout(text: str) -> str:
        return text.upper()

    registry.register("shout", "Shout", {"type": "object", "properties": {"text": {"type": "string"}}}, shout)
    assert (await registry.call("add", {"a": 1, "b": 2})).content == '{"sum": 3}'
    assert (await registry.call("shout", {"text": "hi"})).content == "HI"


async def test_tool_failures_become_error_outcomes() -> None:
    """Unknown tools, bad arguments, exceptions and timeouts are error results, never exceptions."""
    registry = ToolRegistry(timeout=0.2)
    registry.register("add", "Add", SCHEMA, lambda a, b: a + b)
    registry.register("boom", "Fails", None, lambda: 1 / 0)

    async def slow() -> str:
        await asyncio.sleep(5)
        return "late"

    registry.register("slow", "Slow", None, slow)
    outcomes = [
        await registry.call("nope", {}),
        await registry.call("add", {"a": 1}),
        await registry.call("add", {"a": "1", "b": 2}),
        await registry.call("add", {"a": True, "b": 2}),
        await registry.call("boom", {}),
        await registry.call("slow", {}),
    ]
    assert all(o.is_error and o.content.startswith("error:") for o in outcomes)
    assert "unknown tool 'nope'" in outcomes[0].content
    assert "missing required argument 'b'" in outcomes[1].content
    assert "division by zero" in outcomes[4].content
    assert "longer than" in outcomes[5].content


def test_register_validates_and_exports_openai_schema() -> None:
    """Names follow the OpenAI rule, duplicates are refused, and openai_tools() is the request format."""
    registry = ToolRegistry()
    registry.register("add", "Add two numbers", SCHEMA, lambda a, b: a + b)
    with pytest.raises(InvalidInput):
        registry.register("add", "again", SCHEMA, lambda a, b: a)
    with pytest.raises(InvalidInput):
        registry.register("bad name!", "x", SCHEMA, lambda: 0)
    assert registry.openai_tools() == [
        {
            "type": "function",
            "function": {"name": "add", "description": "Add two numbers", "parameters": SCHEMA},
        }
    ]


async def test_current_time_in_utc_and_a_timezone() -> None:
    """current_time gives UTC with Z, the local time in an IANA zone, and an error for an unknown zone."""
    clock = FakeClock(datetime(2026, 7, 1, 12, 0, tzinfo=UTC))
    tools = builtin_tools(clock=clock)
    assert "search_sessions" not in tools
    plain = json.loads((await tools.call("current_time", {})).content)
    assert plain == {"utc": "2026-07-01T12:00:00.000Z"}
    paris = json.loads((await tools.call("current_time", {"timezone": "Europe/Paris"})).content)
    assert paris["local"] == "2026-07-01T14:00:00+02:00"
    bad = await tools.call("current_time", {"timezone": "Mars/Olympus"})
    assert bad.is_error and "unknown timezone" in bad.content


async def test_search_sessions_uses_the_given_search() -> None:
    """search_sessions calls the passed-in search (the caller's own hub) and returns ids, titles, snippets."""
    from sessionhub.testing import open_memory

    async with open_memory() as hub:
        session = await hub.create_session(title="Trip planning")
        await hub.add_message(session.id, "user", "book a train to Paris")
        other = await hub.create_session()
        await hub.add_message(other.id, "user", "nothing relevant")
        seen: list[tuple[str, int]] = []

        async def search(query: str, limit: int) -> list[SearchHit]:
            seen.append((query, limit))
            return await hub.search(query, limit)

        tools = builtin_tools(search)
        outcome = await tools.call("search_sessions", {"query": "paris", "limit": 50})
    results = json.loads(outcome.content)
    assert seen == [("paris", 20)]
    assert [r["session_id"] for r in results] == [session.id]
    assert results[0]["title"] == "Trip planning" and "Paris" in results[0]["snippet"]


def _msg(seq: int, role: Any, content: str, parts: tuple[Any, ...] = ()) -> Message:
    return Message(id=f"msg_{seq}", session_id="ses_1", seq=seq, role=role, content=content, parts=parts)


def test_convert_pairs_tool_calls_and_drops_orphans() -> None:
    """Answered tool calls become tool_calls + tool messages; an unanswered call and empty replies are dropped."""
    context = [
        _msg(1, "user", "what time is it"),
        _msg(2, "assistant", "", (ToolCall("c1", "current_time", {}),)),
        _msg(3, "tool", "noon", (ToolResult("c1", "noon"),)),
        _msg(4, "assistant", "It is noon."),
        _msg(5, "assistant", "", (ToolCall("c2", "current_time", {}),)),  # crashed before its result
        _msg(6, "tool", "stray", (ToolResult("zz", "stray"),)),
        _msg(7, "user", "thanks"),
    ]
    out = to_openai_messages(context, "Be brief.")
    assert out == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "what time is it"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "current_time", "arguments": "{}"}}
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": "noon"},
        {"role": "assistant", "content": "It is noon."},
        {"role": "user", "content": "thanks"},
    ]
