"""Matrix client-server ``m.room.message`` events → inbound message.

Accepts one event, or an application-service transaction ``{"events": [...]}``
(``parse_all`` gives every event, ``parse`` the first message).

- ``chat`` is the ``room_id`` (``chat_type`` group: whether a room is a DM is account
  data, not part of the event); ``topic`` is the thread root for ``m.thread`` relations
  (used only with the ``topic`` dimension); ``event_id`` the event id.
- An ``m.replace`` relation is an edit: ``is_edit=True`` with the new body.
- Ignored: the bot's own events (``bot_id`` is its user id), ``m.notice`` (bots' messages
  by convention), non-text msgtypes, and every other event type (membership, reactions,
  redactions, state events, ...).
"""

from __future__ import annotations

from ..inbound import Ignored, InboundMessage, ParseResult
from ._util import Payload, Reader, require_mapping

_R = Reader("matrix")
_TEXT_TYPES = ("m.text", "m.emote")


def parse(payload: Payload, *, account: str = "default", bot_id: str | None = None) -> ParseResult:
    """Parse one event (or the first message of a transaction)."""
    results = parse_all(payload, account=account, bot_id=bot_id)
    for result in results:
        if not isinstance(result, Ignored):
            return result
    return results[0] if results else Ignored("matrix transaction has no events")


def parse_all(payload: Payload, *, account: str = "default", bot_id: str | None = None) -> list[ParseResult]:
    body = require_mapping(payload, "matrix")
    if "events" in body and "type" not in body:
        return [_event(e, f"events[{i}].", account, bot_id) for i, e in enumerate(_R.items(body, "events"))]
    return [_event(body, "", account, bot_id)]


def _event(event: Payload, path: str, account: str, bot_id: str | None) -> ParseResult:
    kind = _R.opt_str(event, "type", path)
    if kind != "m.room.message":
        return Ignored(f"matrix event type {kind!r} is not a message")
    sender = _R.ident(event, "sender", path)
    if sender == bot_id:
        return Ignored("matrix message sent by the bot itself")
    content = _R.obj(event, "content", path)
    relation = _R.opt_obj(content, "m.relates_to", f"{path}content.") or {}
    is_edit = relation.get("rel_type") == "m.replace"
    if is_edit:
        content = _R.opt_obj(content, "m.new_content", f"{path}content.") or content
    msgtype = _R.opt_str(content, "msgtype", f"{path}content.")
    if msgtype not in _TEXT_TYPES:
        return Ignored(f"matrix msgtype {msgtype!r} is not a person's text")
    text = _R.opt_str(content, "body", f"{path}content.")
    if not text:
        return Ignored("matrix message has no text")
    topic = None
    if relation.get("rel_type") == "m.thread":
        topic = _R.ident(relation, "event_id", f"{path}content.m.relates_to.")
    event_id = _R.ident(event, "event_id", path)
    return InboundMessage(
        channel="matrix",
        account=account,
        chat=_R.ident(event, "room_id", path),
        chat_type="group",
        topic=topic,
        sender=sender,
        text=text,
        event_id=event_id,
        time=_R.epoch(event, "origin_server_ts", path, scale=1000),
        is_edit=is_edit,
        raw_ref=event_id,
    )
