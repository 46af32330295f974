"""The normalised inbound message: validation and the JSON round trip."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sessionhub.errors import InvalidInput
from sessionhub.routing.inbound import InboundMessage


def test_round_trip_and_numeric_ids() -> None:
    """from_dict accepts numeric ids as text, and to_dict/from_dict is lossless."""
    m = InboundMessage.from_dict(
        {"channel": "telegram", "chat": -100123, "sender": 42, "text": "hi", "time": "2024-01-01T00:00:00Z"}
    )
    assert (m.chat, m.sender, m.account, m.time) == (
        "-100123",
        "42",
        "default",
        datetime(2024, 1, 1, tzinfo=UTC),
    )
    assert InboundMessage.from_dict(m.to_dict()) == m


@pytest.mark.parametrize(
    "data",
    [
        {"channel": "fax", "chat": "c", "sender": "s", "text": "t"},
        {"channel": "slack", "chat": "", "sender": "s", "text": "t"},
        {"channel": "slack", "chat": "c", "sender": "s", "text": "t", "chat_type": "room"},
        {"channel": "slack", "chat": "c", "sender": "s", "text": "t", "time": "yesterday"},
        {"channel": "slack", "chat": "c", "sender": "s", "text": 5},
        {"channel": "slack", "chat": "c", "sender": "s", "text": "t", "is_edit": "no"},
        {"chat": "c", "sender": "s", "text": "t"},
    ],
)
def test_invalid_inbound_refused(data: dict[str, object]) -> None:
    """Bad channels, empty ids, unknown chat types, bad times and types raise InvalidInput."""
    with pytest.raises(InvalidInput):
        InboundMessage.from_dict(data)


def test_naive_time_refused() -> None:
    """A message time must be timezone-aware."""
    with pytest.raises(InvalidInput):
        InboundMessage(channel="web", chat="c", sender="s", text="t", time=datetime(2024, 1, 1))
