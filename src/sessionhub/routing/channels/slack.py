"""Slack Events API → inbound message.

- ``url_verification`` → ``Challenge(challenge)`` (answer it as plain text).
- ``event_callback`` with ``message`` or ``app_mention``: ``chat`` is the channel id,
  ``topic`` the ``thread_ts`` (messages outside a thread have no topic and share the
  channel's session), ``space`` the workspace (team) id. A leading mention of the app is
  removed from ``app_mention`` text.
- ``event_id`` is ``{channel}:{ts}``, not the envelope's ``event_id``: Slack sends one
  message twice (as ``message`` and as ``app_mention``, with different envelope ids) when
  the app is subscribed to both, and the message's own ``ts`` makes both one event.
- Ignored: messages from bots (``bot_id``, ``bot_message``, the app's own user), every
  other subtype (joins, leaves, topic changes, deletions, ...) except ``thread_broadcast``,
  ``file_share`` and ``me_message``; ``message_changed`` is an edit (``is_edit=True``);
  every other event type (reactions, member events, ...) and envelope type.
"""

from __future__ import annotations

import re

from ..inbound import Challenge, ChatType, Ignored, InboundMessage, ParseResult
from ._util import Payload, Reader, require_mapping

_R = Reader("slack")
_TEXT_SUBTYPES = {None, "thread_broadcast", "file_share", "me_message"}
_CHAT_TYPES: dict[str, ChatType] = {"im": "direct", "mpim": "group", "channel": "channel", "group": "channel"}
_LEADING_MENTION = re.compile(r"^\s*<@[A-Z0-9]+(?:\|[^>]*)?>\s*")


def parse(payload: Payload, *, account: str = "default", bot_id: str | None = None) -> ParseResult:
    """Parse one Slack Events API request body."""
    body = require_mapping(payload, "slack")
    kind = _R.opt_str(body, "type")
    if kind == "url_verification":
        challenge = _R.opt_str(body, "challenge")
        if not challenge:
            raise _R.fail("url_verification without a challenge")
        return Challenge(challenge)
    if kind != "event_callback":
        return Ignored(f"slack envelope type {kind!r} is not an event")
    event = _R.obj(body, "event")
    event_type = _R.opt_str(event, "type", "event.")
    if event_type not in ("message", "app_mention"):
        return Ignored(f"slack event type {event_type!r} is not a message")

    team = _R.opt_ident(event, "team", "event.") or _R.opt_ident(body, "team_id")
    channel = _R.ident(event, "channel", "event.")
    subtype = _R.opt_str(event, "subtype", "event.")
    is_edit = subtype == "message_changed"
    if is_edit:
        msg = _R.obj(event, "message", "event.")
        path = "event.message."
        event_ts = _R.ident(event, "ts", "event.")
    elif subtype in _TEXT_SUBTYPES:
        msg, path = event, "event."
        event_ts = _R.ident(event, "ts", path)
    else:
        return Ignored(f"slack message subtype {subtype!r} is not a person's message")

    own_ids = _own_ids(body, bot_id)
    user = _R.opt_ident(msg, "user", path)
    if msg.get("bot_id") is not None or msg.get("subtype") == "bot_message" or user in own_ids:
        return Ignored("slack message sent by a bot")
    if user is None:
        raise _R.fail(f"{path}user is missing")
    text = _R.opt_str(msg, "text", path) or ""
    if event_type == "app_mention":
        text = _LEADING_MENTION.sub("", text, count=1)
    if not text.strip():
        return Ignored("slack message has no text")

    channel_type = _R.opt_str(event, "channel_type", "event.")
    chat_type = _CHAT_TYPES.get(channel_type or "") or ("direct" if channel.startswith("D") else "channel")
    ts = _R.ident(msg, "ts", path)
    thread_ts = _R.opt_ident(msg, "thread_ts", path)
    return InboundMessage(
        channel="slack",
        account=account,
        chat=channel,
        chat_type=chat_type,
        topic=thread_ts,
        space=team,
        sender=user,
        text=text,
        event_id=f"{channel}:{event_ts}",
        time=_R.epoch(event, "ts", "event."),
        is_edit=is_edit,
        raw_ref=ts,
    )


def _own_ids(body: Payload, bot_id: str | None) -> set[str | None]:
    """The app's own user ids: the ``bot_id`` argument and the envelope's bot authorizations."""
    ids: set[str | None] = {bot_id} if bot_id else set()
    for auth in _R.items(body, "authorizations"):
        if auth.get("is_bot") is True and isinstance(auth.get("user_id"), str):
            ids.add(auth["user_id"])
    return ids
