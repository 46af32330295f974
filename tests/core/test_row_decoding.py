"""The store's fast row decoding builds the same frozen values as the normal constructors."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

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


@pytest.mark.parametrize("archived", [False, True])
def test_sessions_decoded_by_position_and_by_name_equal_the_constructor(archived: bool) -> None:
    """Search reads sessions by position (``SESSION_FIELDS``), the other paths by name: both
    build the value the dataclass's own constructor builds from the same columns."""
    from sessionhub.model import Session, SessionStats
    from sessionhub.store._rows import SESSION_FIELDS, session_from_columns, session_from_row

    us = 1_700_000_000_000_000
    values: dict[str, Any] = {
        "id": "ses_1", "key": "telegram:1", "title": "t", "title_source": "auto", "agent": "a",
        "provider": "openai", "model": "m", "source": "channel", "source_ref": "r", "channel": "c",
        "status": "archived" if archived else "active", "pinned": 1, "created_at": us + 1,
        "updated_at": us + 2, "last_message_at": None if archived else us + 3,
        "message_count": 5, "preview": "p", "user_messages": 2, "assistant_messages": 3,
        "tool_messages": 1, "errors": 4, "input_tokens": 10, "output_tokens": 20,
        "metadata": '{"k": [1]}' if archived else None, "owner": "o",
        "activity_at": us + 4 if archived else None,
    }  # fmt: skip

    def at(v: int | None) -> Any:
        return None if v is None else datetime(2023, 11, 14, 22, 13, 20, v - us, tzinfo=UTC)

    expected = Session(
        id="ses_1", key="telegram:1", title="t", title_source="auto", agent="a", provider="openai",
        model="m", source="channel", source_ref="r", channel="c", status=values["status"],
        pinned=True, read_only=archived, created_at=at(us + 1), updated_at=at(us + 2),
        last_message_at=at(values["last_message_at"]), message_count=5, preview="p",
        stats=SessionStats(user_messages=2, assistant_messages=3, tool_messages=1, errors=4,
                           input_tokens=10, output_tokens=20),
        metadata={"k": [1]} if archived else {}, owner="o", activity_at=at(values["activity_at"]),
    )  # fmt: skip
    row = (*(values[name] for name in SESSION_FIELDS), "extra columns after them")
    assert session_from_columns(row) == expected
    assert session_from_row(values) == expected
    del values["activity_at"]  # an older row shape: activity_at absent reads as None
    assert session_from_row(values).activity_at is None


def test_regrouped_equals_dataclasses_replace() -> None:
    from sessionhub.hub._core import _regrouped
    from sessionhub.store._rows import session_from_row

    row = {
        "id": "ses_1", "key": None, "title": "t", "title_source": None, "agent": None, "provider": None,
        "model": None, "source": "api", "source_ref": None, "channel": None, "status": "active",
        "pinned": 0, "created_at": 1, "updated_at": 2, "last_message_at": 3, "message_count": 1,
        "preview": "", "user_messages": 1, "assistant_messages": 0, "tool_messages": 0, "errors": 0,
        "input_tokens": 0, "output_tokens": 0, "metadata": None, "owner": "o", "activity_at": 3,
    }  # fmt: skip
    s = session_from_row(row)
    assert _regrouped(s, "today") == dataclasses.replace(s, group="today")
