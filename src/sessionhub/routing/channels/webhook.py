"""The generic JSON webhook: a payload already in the normalised form.

The fields are those of ``POST /api/inbound`` (``chat``, ``sender``, ``text`` required;
``channel`` defaults to ``webhook``; ``account``, ``chat_type``, ``topic``, ``space``,
``sender_name``, ``event_id``, ``time``, ``is_edit``, ``raw_ref`` optional). Unknown
fields are refused, so a typo is an error rather than a silently different session.
"""

from __future__ import annotations

from ..inbound import Ignored, InboundMessage, ParseResult
from ._util import Payload, require_mapping


def parse(payload: Payload, *, account: str = "default", bot_id: str | None = None) -> ParseResult:
    """Validate a normalised inbound payload."""
    body = dict(require_mapping(payload, "webhook"))
    body.setdefault("account", account)
    message = InboundMessage.from_dict(body, default_channel="webhook")
    if bot_id is not None and message.sender == bot_id:
        return Ignored("webhook message sent by the bot itself")
    return message
