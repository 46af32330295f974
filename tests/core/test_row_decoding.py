"""The store's fast row decoding builds the same frozen values as the normal constructors."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

from sessionhub.model import Message, ToolCall, Usage
from sessionhub.store._rows import message_from_columns


def test_fast_decoding_equals_the_constructor() -> None:
    row = (
        "msg_1",
        7,
        "assistant",
        "hi",
        '[{"type":"tool_call","id":"c1","name":"t","arguments":{"a":1}}]',
        "complete",
        3,
        4,
        '{"k":"v"}',
        1_700_000_000_123_456,
    )
    built = message_from_columns(row, "ses_x")
    expected = Message(
        id="msg_1",
        session_id="ses_x",
        seq=7,
        role="assistant",
        content="hi",
        parts=(ToolCall(id="c1", name="t", arguments={"a": 1}),),
        status="complete",
        usage=Usage(3, 4),
        metadata={"k": "v"},
        created_at=datetime(2023, 11, 14, 22, 13, 20, 123456, tzinfo=UTC),
    )
    assert built == expected and hash(built.usage) == hash(expected.usage)
    bare = message_from_columns(("msg_2", 1, "user", "x", None, "complete", 0, 0, None, 0), "ses_x")
    assert bare.parts == () and bare.usage == Usage() and bare.metadata == {}
    with pytest.raises(dataclasses.FrozenInstanceError):
        bare.content = "changed"  # type: ignore[misc]
