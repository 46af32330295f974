"""Telegram Bot API ``Update`` → inbound message.

- ``message`` and ``channel_post`` are messages; ``edited_message`` and
  ``edited_channel_post`` are messages with ``is_edit=True``.
- Forum topics: ``topic`` is ``message_thread_id`` only when ``is_topic_message`` is true.
  A reply in a group without topics also carries ``message_thread_id`` (the replied-to
  message), so it stays in the group's session.
- Ignored: messages from bots, service messages (joins, leaves, pins, title changes, ...),
  media without a caption, and every other update kind (callback queries, reactions,
  member updates, polls, ...).
- ``event_id`` is the ``update_id``; ``raw_ref`` the ``message_id``.
"""

from __future__ import annotations

from typing import Any

from ..inbound import ChatType, Ignored, InboundMessage, ParseResult
from ._util import Payload, Reader, require_mapping

_R = Reader("telegram")
_CHAT_TYPES: dict[str, ChatType] = {
    "private": "direct",
    "group": "group",
    "supergroup": "group",
    "channel": "channel",
}
_KINDS = (
    ("message", False),
    ("edited_message", True),
    ("channel_post", False),
    ("edited_channel_post", True),
)
_SERVICE_FIELDS = (
    "new_chat_members", "left_chat_member", "new_chat_title", "new_chat_photo", "delete_chat_photo",
    "group_chat_created", "supergroup_chat_created", "channel_chat_created", "pinned_message",
    "migrate_to_chat_id", "migrate_from_chat_id", "forum_topic_created", "forum_topic_edited",
    "forum_topic_closed", "forum_topic_reopened", "video_chat_started", "video_chat_ended",
    "message_auto_delete_timer_changed", "successful_payment", "users_shared", "chat_shared",
)  # fmt: skip


def parse(payload: Payload, *, account: str = "default", bot_id: str | None = None) -> ParseResult:
    """Parse one Telegram ``Update``."""
    update = require_mapping(payload, "telegram")
    update_id = _R.ident(update, "update_id")
    for kind, is_edit in _KINDS:
        if kind in update:
            return _message(_R.obj(update, kind), kind, is_edit, update_id, account, bot_id)
    other = next((k for k in update if k != "update_id"), "nothing")
    return Ignored(f"telegram update kind {other!r} is not a message")


def _message(
    msg: Payload, kind: str, is_edit: bool, update_id: str, account: str, bot_id: str | None
) -> ParseResult:
    path = f"{kind}."
    chat = _R.obj(msg, "chat", path)
    chat_id = _R.ident(chat, "id", f"{path}chat.")
    chat_type = _CHAT_TYPES.get(_R.opt_str(chat, "type", f"{path}chat.") or "")
    if chat_type is None:
        raise _R.fail(f"{path}chat.type must be private, group, supergroup or channel")
    message_id = _R.ident(msg, "message_id", path)

    sender_chat = _R.opt_obj(msg, "sender_chat", path)
    author = _R.opt_obj(msg, "from", path)
    if sender_chat is not None:  # a channel post, or an anonymous admin writing as the group
        sender = _R.ident(sender_chat, "id", f"{path}sender_chat.")
        sender_name = _R.opt_str(sender_chat, "title", f"{path}sender_chat.")
    elif author is not None:
        sender = _R.ident(author, "id", f"{path}from.")
        if author.get("is_bot") is True or sender == bot_id:
            return Ignored("telegram message sent by a bot")
        sender_name = _name(author)
    else:
        raise _R.fail(f"{path}from is missing")

    if any(field in msg for field in _SERVICE_FIELDS):
        return Ignored("telegram service message")
    text = _R.opt_str(msg, "text", path)
    if text is None:
        text = _R.opt_str(msg, "caption", path)
    if not text:
        return Ignored("telegram message has no text")

    topic = None
    if msg.get("is_topic_message") is True:
        topic = _R.ident(msg, "message_thread_id", path)
    time = _R.epoch(msg, "edit_date", path) if is_edit else None
    return InboundMessage(
        channel="telegram",
        account=account,
        chat=chat_id,
        chat_type=chat_type,
        topic=topic,
        sender=sender,
        sender_name=sender_name,
        text=text,
        event_id=update_id,
        time=time or _R.epoch(msg, "date", path),
        is_edit=is_edit,
        raw_ref=message_id,
    )


def _name(user: Payload) -> str | None:
    parts: list[Any] = [user.get("first_name"), user.get("last_name")]
    full = " ".join(p for p in parts if isinstance(p, str) and p)
    if full:
        return full
    username = user.get("username")
    return username if isinstance(username, str) and username else None
