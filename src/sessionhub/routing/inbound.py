"""The normalised inbound message and the other results a channel parser can give.

Every platform payload becomes exactly one of:

- ``InboundMessage``: a message for the assistant (``is_edit`` marks an edit of an
  earlier message; parsers report edits instead of dropping them, and the hub decides
  whether an edit starts an agent turn: by default it should not),
- ``Ignored``: an event the assistant must not answer (its own or another bot's messages,
  joins and leaves, reactions, receipts, typing, deletions, media without text, ...),
- ``Challenge``: a platform handshake the server answers at once (Slack
  ``url_verification``, the WhatsApp subscription check, the Discord interaction PING).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, TypeAlias

from ..clock import parse_iso
from ..errors import InvalidInput
from ..model import CHANNELS
from ..validation import check_text

ChatType: TypeAlias = Literal["direct", "group", "channel"]
CHAT_TYPES: tuple[str, ...] = ("direct", "group", "channel")


@dataclass(frozen=True, slots=True, kw_only=True)
class InboundMessage:
    """One message from a person on a channel, in the platform-neutral form of CONTRACT §4.

    ``chat_type`` is ``direct`` for one-to-one chats, ``group`` for group chats (Telegram
    groups, Slack group DMs, Signal groups, Matrix rooms, Teams group chats) and
    ``channel`` for channels of a workspace or broadcast channels (Telegram channels,
    Slack and Discord guild channels, Teams channels, Google Chat spaces).
    ``topic`` is the thread or forum topic inside the chat, ``space`` the guild, workspace
    or team. ``raw_ref`` is the platform's own id of the message (for replying to it).
    """

    channel: str
    account: str = "default"
    chat: str
    chat_type: ChatType = "direct"
    topic: str | None = None
    space: str | None = None
    sender: str
    sender_name: str | None = None
    text: str
    event_id: str | None = None
    time: datetime | None = None
    is_edit: bool = False
    raw_ref: str | None = None

    def __post_init__(self) -> None:
        if self.channel not in CHANNELS:
            raise InvalidInput(f"unknown channel {self.channel!r} (expected one of {', '.join(CHANNELS)})")
        for name in ("account", "chat", "sender"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value:
                raise InvalidInput(f"inbound message needs a non-empty string {name!r}")
        for name in ("topic", "space", "sender_name", "event_id", "raw_ref"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, str) or not value):
                raise InvalidInput(f"inbound message field {name!r} must be a non-empty string or null")
        if self.chat_type not in CHAT_TYPES:
            raise InvalidInput(f"chat_type must be one of direct, group, channel, not {self.chat_type!r}")
        if not isinstance(self.text, str):
            raise InvalidInput("inbound message 'text' must be a string")
        for name in (
            "account",
            "chat",
            "topic",
            "space",
            "sender",
            "sender_name",
            "text",
            "event_id",
            "raw_ref",
        ):
            value = getattr(self, name)
            if value is not None:  # account and event_id are keys of seen_events: String(200)
                check_text(value, f"inbound {name!r}", 200 if name in ("account", "event_id") else None)
        if self.time is not None and (self.time.tzinfo is None or self.time.utcoffset() is None):
            raise InvalidInput("inbound message 'time' must be timezone-aware")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, default_channel: str | None = None) -> InboundMessage:
        """Validate the normalised JSON form (``POST /api/inbound`` and the generic webhook)."""
        if not isinstance(data, Mapping):
            raise InvalidInput("inbound message must be a JSON object")
        known = {
            "channel", "account", "chat", "chat_type", "topic", "space", "sender",
            "sender_name", "text", "event_id", "time", "is_edit", "raw_ref",
        }  # fmt: skip
        unknown = sorted(set(data) - known)
        if unknown:
            raise InvalidInput(f"unknown inbound field {unknown[0]!r}")
        channel = data.get("channel", default_channel)
        if channel is None:
            raise InvalidInput("inbound message needs 'channel'")
        values: dict[str, Any] = {"channel": channel}
        for name in ("account", "chat", "sender"):
            if name in data:
                values[name] = _id_string(data, name)
        for name in ("text", "chat_type"):
            if name in data:
                values[name] = _string(data, name)
        for name in ("chat", "sender", "text"):
            if name not in values:
                raise InvalidInput(f"inbound message needs {name!r}")
        for name in ("topic", "space", "sender_name", "event_id", "raw_ref"):
            if data.get(name) is not None:
                values[name] = _id_string(data, name)
        if data.get("time") is not None:
            raw_time = data["time"]
            try:
                values["time"] = parse_iso(raw_time) if isinstance(raw_time, str) else None
            except ValueError:
                values["time"] = None
            if values["time"] is None:
                raise InvalidInput("inbound 'time' must be an ISO 8601 timestamp")
        if "is_edit" in data:
            if not isinstance(data["is_edit"], bool):
                raise InvalidInput("inbound 'is_edit' must be a boolean")
            values["is_edit"] = data["is_edit"]
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        """The normalised JSON form (inverse of ``from_dict``)."""
        return {
            "channel": self.channel,
            "account": self.account,
            "chat": self.chat,
            "chat_type": self.chat_type,
            "topic": self.topic,
            "space": self.space,
            "sender": self.sender,
            "sender_name": self.sender_name,
            "text": self.text,
            "event_id": self.event_id,
            "time": None if self.time is None else self.time.isoformat(),
            "is_edit": self.is_edit,
            "raw_ref": self.raw_ref,
        }


def _string(data: Mapping[str, Any], name: str) -> str:
    value = data[name]
    if not isinstance(value, str):
        raise InvalidInput(f"inbound {name!r} must be a string")
    return value


def _id_string(data: Mapping[str, Any], name: str) -> str:
    """Ids may arrive as JSON numbers (Telegram chat ids); they are kept as text."""
    value = data[name]
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise InvalidInput(f"inbound {name!r} must be a string")
    return str(value)


@dataclass(frozen=True, slots=True)
class Ignored:
    """An event the assistant must not answer; ``reason`` says why (for logs and tests)."""

    reason: str


@dataclass(frozen=True, slots=True)
class Challenge:
    """A platform handshake: the server answers ``value`` as plain text, or ``response`` as JSON."""

    value: str
    response: Mapping[str, Any] | None = field(default=None)


ParseResult: TypeAlias = InboundMessage | Ignored | Challenge

__all__ = ["CHAT_TYPES", "Challenge", "ChatType", "Ignored", "InboundMessage", "ParseResult"]
