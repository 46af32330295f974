"""WhatsApp Cloud API webhook → inbound messages.

- One notification can carry several messages (``entry[].changes[].value.messages[]``);
  ``parse_all`` gives every one, ``parse`` the first message (or ``Ignored`` when there
  is none, e.g. a delivery ``statuses`` notification).
- ``chat`` and ``sender`` are the customer's phone (``from``, the WhatsApp id); ``space``
  is the business ``phone_number_id``; ``event_id`` the ``wamid``.
- Text comes from ``text.body``, a media caption, a button or an interactive reply.
- Ignored: statuses, reactions, messages without text (stickers, locations, ...),
  ``unsupported`` and system messages.
- The subscription check (the ``hub.mode`` / ``hub.challenge`` query parameters, passed as
  a mapping) → ``Challenge(hub.challenge)``; checking ``hub.verify_token`` is the server's job.
"""

from __future__ import annotations

from ..inbound import Challenge, Ignored, InboundMessage, ParseResult
from ._util import Payload, Reader, require_mapping

_R = Reader("whatsapp")
_CAPTIONED = ("image", "video", "document")


def parse(payload: Payload, *, account: str = "default", bot_id: str | None = None) -> ParseResult:
    """The first message of a notification (see ``parse_all``)."""
    results = parse_all(payload, account=account, bot_id=bot_id)
    for result in results:
        if not isinstance(result, Ignored):
            return result
    return results[0] if results else Ignored("whatsapp notification has no messages")


def parse_all(payload: Payload, *, account: str = "default", bot_id: str | None = None) -> list[ParseResult]:
    """Every message of a notification, in order."""
    body = require_mapping(payload, "whatsapp")
    if body.get("hub.mode") == "subscribe":
        challenge = body.get("hub.challenge")
        if not isinstance(challenge, str) or not challenge:
            raise _R.fail("hub.challenge is missing")
        return [Challenge(challenge)]
    if body.get("object") != "whatsapp_business_account":
        raise _R.fail("object must be 'whatsapp_business_account'")
    results: list[ParseResult] = []
    for i, entry in enumerate(_R.items(body, "entry")):
        for j, change in enumerate(_R.items(entry, "changes", f"entry[{i}].")):
            path = f"entry[{i}].changes[{j}].value."
            value = _R.obj(change, "value", f"entry[{i}].changes[{j}].")
            if change.get("field") != "messages":
                results.append(Ignored(f"whatsapp change field {change.get('field')!r} is not messages"))
                continue
            metadata = _R.opt_obj(value, "metadata", path) or {}
            business = _R.opt_ident(metadata, "phone_number_id", f"{path}metadata.")
            names = {
                str(c.get("wa_id")): c.get("profile", {}).get("name")
                for c in _R.items(value, "contacts", path)
                if isinstance(c.get("profile"), dict)
            }
            if value.get("statuses") and not value.get("messages"):
                results.append(Ignored("whatsapp status update"))
            for k, message in enumerate(_R.items(value, "messages", path)):
                results.append(_message(message, f"{path}messages[{k}].", business, names, account, bot_id))
    return results


def _message(
    msg: Payload,
    path: str,
    business: str | None,
    names: dict[str, object],
    account: str,
    bot_id: str | None,
) -> ParseResult:
    phone = _R.ident(msg, "from", path)
    if phone == bot_id:
        return Ignored("whatsapp message sent by the business itself")
    kind = _R.opt_str(msg, "type", path)
    text: str | None = None
    if kind == "text":
        text = _R.opt_str(_R.obj(msg, "text", path), "body", f"{path}text.")
    elif kind in _CAPTIONED:
        media = _R.opt_obj(msg, kind, path) or {}
        text = _R.opt_str(media, "caption", f"{path}{kind}.")
    elif kind == "button":
        text = _R.opt_str(_R.obj(msg, "button", path), "text", f"{path}button.")
    elif kind == "interactive":
        interactive = _R.obj(msg, "interactive", path)
        reply = _R.opt_obj(interactive, "button_reply") or _R.opt_obj(interactive, "list_reply") or {}
        text = _R.opt_str(reply, "title", f"{path}interactive.")
    if not text:
        return Ignored(f"whatsapp message of type {kind!r} has no text")
    name = names.get(phone)
    return InboundMessage(
        channel="whatsapp",
        account=account,
        chat=phone,
        chat_type="direct",
        space=business,
        sender=phone,
        sender_name=name if isinstance(name, str) and name else None,
        text=text,
        event_id=_R.ident(msg, "id", path),
        time=_R.epoch(msg, "timestamp", path),
        raw_ref=_R.ident(msg, "id", path),
    )
