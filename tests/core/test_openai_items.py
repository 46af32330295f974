"""The one OpenAI item mapping (sessionhub.openai_items): items to messages and back, as the
Conversations API returns them, checked against the official client's own item types."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from sessionhub.model import Message, ToolCall, ToolResult
from sessionhub.openai_items import conversation_item, conversation_items, item_to_message, split_item_id

openai_types = pytest.importorskip("openai.types.conversations")
pydantic = pytest.importorskip("pydantic")
ITEM = pydantic.TypeAdapter(openai_types.ConversationItem)


def stored(item: dict[str, Any], mid: str = "msg_x", status: str = "complete") -> Message:
    """The message ``item_to_message`` makes of ``item``, as the store gives it back."""
    data = item_to_message(item)
    parts = tuple(
        ToolCall(p["id"], p["name"], p["arguments"])
        if p["type"] == "tool_call"
        else ToolResult(p["tool_call_id"], p["content"])
        for p in data["parts"]
    )
    return Message(
        mid,
        "ses_x",
        1,
        data["role"],
        data["content"],
        parts,
        status,
        metadata=data["metadata"],  # type: ignore[arg-type]
        created_at=datetime.now(UTC),
    )


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        (
            {"role": "user", "content": "hi"},
            {
                "type": "message",
                "id": "msg_x",
                "role": "user",
                "status": "completed",
                "content": [{"type": "input_text", "text": "hi"}],
            },
        ),
        (
            {"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "rules"}]},
            {
                "type": "message",
                "id": "msg_x",
                "role": "developer",
                "status": "completed",
                "content": [{"type": "input_text", "text": "rules"}],
            },
        ),
        (
            {
                "type": "message",
                "role": "assistant",
                "content": [{"type": "output_text", "text": "ok"}],
                "phase": "final_answer",
            },
            {
                "type": "message",
                "id": "msg_x",
                "role": "assistant",
                "status": "completed",
                "phase": "final_answer",
                "content": [{"type": "output_text", "text": "ok", "annotations": []}],
            },
        ),
        (
            {"type": "function_call", "call_id": "c1", "name": "f", "arguments": '{"a": 1}'},
            {
                "type": "function_call",
                "id": "msg_x",
                "call_id": "c1",
                "name": "f",
                "arguments": '{"a": 1}',
                "status": "completed",
            },
        ),
        (
            {"type": "function_call_output", "call_id": "c1", "output": "done"},
            {
                "type": "function_call_output",
                "id": "msg_x",
                "call_id": "c1",
                "output": "done",
                "status": "completed",
            },
        ),
        (
            {"type": "reasoning", "id": "msg_x", "summary": [{"type": "summary_text", "text": "hmm"}]},
            {"type": "reasoning", "id": "msg_x", "summary": [{"type": "summary_text", "text": "hmm"}]},
        ),
    ],
)
def test_items_come_back_normalised_and_valid(item: dict[str, Any], expected: dict[str, Any]) -> None:
    out = conversation_item(stored(item))
    assert out == expected
    ITEM.validate_python(out, strict=False)


def test_messages_written_elsewhere_read_as_valid_items() -> None:
    now = datetime.now(UTC)
    msgs = [
        Message("msg_1", "ses_x", 1, "system", "be brief", created_at=now),
        Message("msg_2", "ses_x", 2, "assistant", "", (ToolCall("c9", "lookup", {"q": 1}),), created_at=now),
        Message("msg_3", "ses_x", 3, "tool", "found", (ToolResult("c9", "found"),), created_at=now),
        Message("msg_4", "ses_x", 4, "assistant", "partial", status="streaming", created_at=now),
        Message("msg_5", "ses_x", 5, "assistant", "cut", status="interrupted", created_at=now),
    ]
    items = [conversation_item(m) for m in msgs]
    for i in items:
        ITEM.validate_python(i)
    assert [i["type"] for i in items] == [
        "message",
        "function_call",
        "function_call_output",
        "message",
        "message",
    ]
    assert items[1]["arguments"] == '{"q": 1}' and items[2]["output"] == "found"
    assert [i["status"] for i in items] == [
        "completed",
        "completed",
        "completed",
        "in_progress",
        "incomplete",
    ]
    assert items[0]["content"] == [{"type": "input_text", "text": "be brief"}]
    assert items[3]["content"] == [{"type": "output_text", "text": "partial", "annotations": []}]


def test_a_message_with_several_pieces_is_one_item_each() -> None:
    """An assistant turn written elsewhere with text and two calls is three items; a tool
    message with two results two; ids ``msg``, ``msg~1``, ``msg~2`` split back."""
    now = datetime.now(UTC)
    turn = Message(
        "msg_7",
        "ses_x",
        7,
        "assistant",
        "Let me check both.",
        (ToolCall("a", "weather", {"city": "Oslo"}), ToolCall("b", "time", {})),
        created_at=now,
    )
    results = Message(
        "msg_8", "ses_x", 8, "tool", "sun\n12:00", (ToolResult("a", "sun"), ToolResult("b", "12:00"))
    )
    items = conversation_items(turn) + conversation_items(results)
    for i in items:
        ITEM.validate_python(i)
    assert [(i["id"], i["type"]) for i in items] == [
        ("msg_7", "message"),
        ("msg_7~1", "function_call"),
        ("msg_7~2", "function_call"),
        ("msg_8", "function_call_output"),
        ("msg_8~1", "function_call_output"),
    ]
    assert [i.get("call_id") for i in items] == [None, "a", "b", "a", "b"]
    assert items[1]["arguments"] == '{"city": "Oslo"}' and items[4]["output"] == "12:00"
    assert conversation_item(turn) == items[0]
    assert [split_item_id(i["id"]) for i in items] == [
        ("msg_7", 0),
        ("msg_7", 1),
        ("msg_7", 2),
        ("msg_8", 0),
        ("msg_8", 1),
    ]
    assert (
        split_item_id("msg_7~0") == ("", 0)
        and split_item_id("msg_7~x") == ("", 0)
        and split_item_id("~1") == ("", 0)
    )
