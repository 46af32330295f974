"""Microsoft Teams (Bot Framework ``Activity``) → inbound message.

- ``type: message`` is a message, ``messageUpdate`` an edit. ``chat`` is
  ``conversation.id`` (a reply thread in a Teams channel has its own id, ending in
  ``;messageid=…``); ``chat_type`` from ``conversation.conversationType``: personal →
  direct, groupChat → group, channel → channel; ``space`` the team id (or the tenant).
- ``sender`` is ``from.id``; ``event_id`` the activity id. ``<at>…</at>`` mentions of the
  bot are removed from the text.
- Ignored: the bot's own activities (``from.id`` equal to ``recipient.id`` or ``bot_id``),
  and every other activity type (conversationUpdate, messageReaction, typing, invoke, ...).
"""

from __future__ import annotations

import re

from ..inbound import ChatType, Ignored, InboundMessage, ParseResult
from ._util import Payload, Reader, require_mapping

_R = Reader("teams")
_CHAT_TYPES: dict[str, ChatType] = {"personal": "direct", "groupChat": "group", "channel": "channel"}
_MENTION = re.compile(r"<at>[^<]*</at>")


def parse(payload: Payload, *, account: str = "default", bot_id: str | None = None) -> ParseResult:
    """Parse one Bot Framework activity."""
    activity = require_mapping(payload, "teams")
    kind = _R.opt_str(activity, "type")
    if kind not in ("message", "messageUpdate"):
        return Ignored(f"teams activity type {kind!r} is not a message")
    author = _R.obj(activity, "from")
    sender = _R.ident(author, "id", "from.")
    recipient = _R.opt_obj(activity, "recipient") or {}
    if sender in (bot_id, recipient.get("id")) or author.get("role") == "bot":
        return Ignored("teams message sent by a bot")
    conversation = _R.obj(activity, "conversation")
    conv_type = _R.opt_str(conversation, "conversationType", "conversation.")
    if conv_type is None:
        conv_type = "groupChat" if conversation.get("isGroup") is True else "personal"
    chat_type = _CHAT_TYPES.get(conv_type)
    if chat_type is None:
        raise _R.fail(f"conversation.conversationType {conv_type!r} is not personal, groupChat or channel")
    text = _MENTION.sub("", _R.opt_str(activity, "text") or "").strip()
    if not text:
        return Ignored("teams message has no text")
    channel_data = _R.opt_obj(activity, "channelData") or {}
    team = _R.opt_obj(channel_data, "team", "channelData.") or {}
    space = _R.opt_ident(team, "id", "channelData.team.") or _R.opt_ident(
        conversation, "tenantId", "conversation."
    )
    activity_id = _R.ident(activity, "id")
    return InboundMessage(
        channel="teams",
        account=account,
        chat=_R.ident(conversation, "id", "conversation."),
        chat_type=chat_type,
        space=space,
        sender=sender,
        sender_name=_R.opt_str(author, "name", "from.") or None,
        text=text,
        event_id=activity_id + (":edit" if kind == "messageUpdate" else ""),
        time=_R.iso(activity, "timestamp"),
        is_edit=kind == "messageUpdate",
        raw_ref=activity_id,
    )
