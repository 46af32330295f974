"""Google Chat interaction event → inbound message.

Accepts the Chat API event (``{"type": "MESSAGE", "space", "message", "user", ...}``) and
the Workspace add-on form (``{"chat": {"messagePayload": {"space", "message"}, "user"}}``).

- ``chat`` is the space's resource name (``spaces/AAAA…``); ``chat_type`` from
  ``spaceType`` (DIRECT_MESSAGE → direct, GROUP_CHAT → group, SPACE → channel) or the
  legacy ``type`` (DM → direct, ROOM → channel); ``topic`` the thread name (used only with
  the ``topic`` dimension); ``sender`` the user's resource name; ``event_id`` the
  message's resource name.
- The text is ``argumentText`` (the message without the app's @mention) when present.
- Ignored: messages from bots, and other event types (ADDED_TO_SPACE,
  REMOVED_FROM_SPACE, CARD_CLICKED, ...).
"""

from __future__ import annotations

from ..inbound import ChatType, Ignored, InboundMessage, ParseResult
from ._util import Payload, Reader, require_mapping

_R = Reader("google_chat")
_SPACE_TYPES: dict[str, ChatType] = {
    "DIRECT_MESSAGE": "direct",
    "GROUP_CHAT": "group",
    "SPACE": "channel",
    "DM": "direct",
    "ROOM": "channel",
}


def parse(payload: Payload, *, account: str = "default", bot_id: str | None = None) -> ParseResult:
    """Parse one Google Chat event."""
    event = require_mapping(payload, "google_chat")
    chat = _R.opt_obj(event, "chat")
    if chat is not None:  # Workspace add-on event
        message_payload = _R.opt_obj(chat, "messagePayload", "chat.")
        if message_payload is None:
            return Ignored("google_chat add-on event is not a message")
        message = _R.obj(message_payload, "message", "chat.messagePayload.")
        space = _R.opt_obj(message_payload, "space", "chat.messagePayload.") or _R.obj(message, "space")
        event_time = _R.iso(chat, "eventTime", "chat.")
    else:
        kind = _R.opt_str(event, "type")
        if kind != "MESSAGE":
            return Ignored(f"google_chat event type {kind!r} is not a message")
        message = _R.obj(event, "message")
        space = _R.opt_obj(event, "space") or _R.obj(message, "space", "message.")
        event_time = _R.iso(event, "eventTime")

    sender = _R.obj(message, "sender", "message.")
    sender_id = _R.ident(sender, "name", "message.sender.")
    if sender.get("type") == "BOT" or sender_id == bot_id:
        return Ignored("google_chat message sent by a bot")
    text = _R.opt_str(message, "argumentText", "message.")
    if text is None or not text.strip():
        text = _R.opt_str(message, "text", "message.")
    text = (text or "").strip()
    if not text:
        return Ignored("google_chat message has no text")
    space_type = _R.opt_str(space, "spaceType", "space.") or _R.opt_str(space, "type", "space.") or ""
    chat_type = _SPACE_TYPES.get(space_type, "channel")
    if space.get("singleUserBotDm") is True:
        chat_type = "direct"
    thread = _R.opt_obj(message, "thread", "message.") or {}
    name = _R.ident(message, "name", "message.")
    return InboundMessage(
        channel="google_chat",
        account=account,
        chat=_R.ident(space, "name", "space."),
        chat_type=chat_type,
        topic=_R.opt_ident(thread, "name", "message.thread.") if chat_type != "direct" else None,
        sender=sender_id,
        sender_name=_R.opt_str(sender, "displayName", "message.sender.") or None,
        text=text,
        event_id=name,
        time=_R.iso(message, "createTime", "message.") or event_time,
        raw_ref=name,
    )
