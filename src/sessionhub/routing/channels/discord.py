"""Discord gateway ``MESSAGE_CREATE`` data and interaction payloads → inbound message.

- ``MESSAGE_CREATE``: the whole dispatch (``{"op": 0, "t": "MESSAGE_CREATE", "d": …}``) or
  just its ``d``. In a guild ``chat`` is ``channel_id`` (a thread is a channel of its own,
  so each thread gets its own chat) and ``space`` the ``guild_id``; a DM (no guild) has
  ``chat = "dm:{user_id}"``. ``MESSAGE_UPDATE`` is an edit.
- Interactions: PING (type 1) → ``Challenge`` answered with ``{"type": 1}``; application
  commands (type 2) become text: a sessionhub chat command (``/session scope main``)
  is rendered as the command, any other command as its option values (the prompt).
- Ignored: bots and webhooks, system messages (joins, boosts, pins, ...: every message
  type other than DEFAULT 0 and REPLY 19), messages without content, other dispatch
  events and interaction types (components, autocomplete, modals).
- ``event_id`` is the message or interaction id (snowflakes are unique).
"""

from __future__ import annotations

from typing import Any

from ..inbound import Challenge, Ignored, InboundMessage, ParseResult
from ._util import Payload, Reader, require_mapping

_R = Reader("discord")
_TEXT_TYPES = {0, 19}
_SESSIONHUB_COMMANDS = {
    "new",
    "reset",
    "session",
    "checkpoint",
    "history",
    "rename",
    "stop",
    "compact",
    "help",
}


def parse(payload: Payload, *, account: str = "default", bot_id: str | None = None) -> ParseResult:
    """Parse a gateway dispatch, its ``d`` data, or an interaction."""
    data = require_mapping(payload, "discord")
    is_edit = False
    if "op" in data or "t" in data:
        event = data.get("t")
        if event not in ("MESSAGE_CREATE", "MESSAGE_UPDATE"):
            return Ignored(f"discord gateway event {event!r} is not a message")
        is_edit = event == "MESSAGE_UPDATE"
        data = _R.obj(data, "d")
    if "application_id" in data and "token" in data and "author" not in data:
        return _interaction(data, account)
    return _message(data, account, bot_id, is_edit)


def _message(data: Payload, account: str, bot_id: str | None, is_edit: bool) -> ParseResult:
    author = _R.obj(data, "author")
    user_id = _R.ident(author, "id", "author.")
    if author.get("bot") is True or data.get("webhook_id") is not None or user_id == bot_id:
        return Ignored("discord message sent by a bot or webhook")
    msg_type = data.get("type", 0)
    if msg_type not in _TEXT_TYPES:
        return Ignored(f"discord message type {msg_type!r} is a system message")
    text = _R.opt_str(data, "content")
    if not text:
        return Ignored("discord message has no text")
    channel_id = _R.ident(data, "channel_id")
    guild = _R.opt_ident(data, "guild_id")
    time = _R.iso(data, "edited_timestamp") if is_edit else None
    return InboundMessage(
        channel="discord",
        account=account,
        chat=channel_id if guild else f"dm:{user_id}",
        chat_type="channel" if guild else "direct",
        space=guild,
        sender=user_id,
        sender_name=_display_name(author),
        text=text,
        event_id=_R.ident(data, "id") + (":edit" if is_edit else ""),
        time=time or _R.iso(data, "timestamp"),
        is_edit=is_edit,
        raw_ref=_R.ident(data, "id"),
    )


def _interaction(data: Payload, account: str) -> ParseResult:
    kind = data.get("type")
    if kind == 1:
        return Challenge("PONG", response={"type": 1})
    if kind != 2:
        return Ignored(f"discord interaction type {kind!r} is not a command")
    guild = _R.opt_ident(data, "guild_id")
    member = _R.opt_obj(data, "member")
    user = _R.obj(member, "user", "member.") if member is not None else _R.obj(data, "user")
    user_id = _R.ident(user, "id", "user.")
    command = _R.obj(data, "data")
    name = _R.opt_str(command, "name", "data.")
    if not name:
        raise _R.fail("data.name is missing")
    words, values = _flatten(_R.items(command, "options", "data."))
    if name in _SESSIONHUB_COMMANDS:
        text = " ".join([f"/{name}", *words, *(_quote(v) for v in values)])
    else:
        text = " ".join(values) or f"/{name}"
    return InboundMessage(
        channel="discord",
        account=account,
        chat=_R.ident(data, "channel_id") if guild else f"dm:{user_id}",
        chat_type="channel" if guild else "direct",
        space=guild,
        sender=user_id,
        sender_name=_display_name(user),
        text=text,
        event_id=_R.ident(data, "id"),
        raw_ref=_R.ident(data, "id"),
    )


def _flatten(options: Any) -> tuple[list[str], list[str]]:
    """Sub-command names (option types 1 and 2) and the values of the other options, in order."""
    words: list[str] = []
    values: list[str] = []
    for option in options:
        if option.get("type") in (1, 2):
            words.append(str(option.get("name", "")))
            sub_words, sub_values = _flatten(_R.items(option, "options", "data.options."))
            words += sub_words
            values += sub_values
        elif option.get("value") is not None:
            values.append(str(option["value"]))
    return words, values


def _quote(value: str) -> str:
    return f'"{value}"' if any(c.isspace() for c in value) and '"' not in value else value


def _display_name(user: Payload) -> str | None:
    for name in ("global_name", "username"):
        value = user.get(name)
        if isinstance(value, str) and value:
            return value
    return None
