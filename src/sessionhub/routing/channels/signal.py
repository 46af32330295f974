"""signal-cli (REST API / JSON-RPC) ``envelope`` → inbound message.

Accepts ``{"envelope": …, "account": …}``, the JSON-RPC ``receive`` notification (its
``params``), or a bare envelope.

- A ``dataMessage`` with text is a message; with ``groupInfo.groupId`` the chat is the
  group (``chat_type`` group), otherwise the sender's phone number (``{phone}``).
- ``editMessage`` is an edit (``is_edit=True``).
- ``sender`` is ``sourceNumber`` (or ``source``, or ``sourceUuid`` for users hiding their
  number); ``event_id`` is ``{sender}:{timestamp}`` (Signal identifies a message by its
  author and timestamp).
- Ignored: receipts, typing, sync messages (what the account itself sent elsewhere),
  reactions, group updates and messages without text.
"""

from __future__ import annotations

from ..inbound import Ignored, InboundMessage, ParseResult
from ._util import Payload, Reader, require_mapping

_R = Reader("signal")


def parse(payload: Payload, *, account: str = "default", bot_id: str | None = None) -> ParseResult:
    """Parse one received envelope."""
    body = require_mapping(payload, "signal")
    if body.get("method") == "receive":
        body = _R.obj(body, "params")
    envelope = _R.obj(body, "envelope") if "envelope" in body else body
    sender = (
        _R.opt_ident(envelope, "sourceNumber", "envelope.")
        or _R.opt_ident(envelope, "source", "envelope.")
        or _R.opt_ident(envelope, "sourceUuid", "envelope.")
    )
    if sender is None:
        raise _R.fail("envelope.source is missing")
    if sender == bot_id or sender == body.get("account"):
        return Ignored("signal message sent by the account itself")

    is_edit = "editMessage" in envelope
    if is_edit:
        data = _R.obj(_R.obj(envelope, "editMessage", "envelope."), "dataMessage", "envelope.editMessage.")
    elif "dataMessage" in envelope:
        data = _R.obj(envelope, "dataMessage", "envelope.")
    else:
        kinds = [
            k for k in ("receiptMessage", "typingMessage", "syncMessage", "callMessage") if k in envelope
        ]
        return Ignored(f"signal {kinds[0] if kinds else 'envelope'} is not a message")
    path = "envelope.dataMessage."
    if data.get("reaction") is not None:
        return Ignored("signal reaction")
    text = _R.opt_str(data, "message", path)
    if not text:
        return Ignored("signal message has no text")
    group = _R.opt_obj(data, "groupInfo", path) or _R.opt_obj(data, "groupV2", path)
    group_id = (
        _R.ident(group, "groupId" if "groupId" in group else "id", f"{path}groupInfo.") if group else None
    )
    timestamp = _R.ident(data, "timestamp", path) if "timestamp" in data else _R.ident(envelope, "timestamp")
    return InboundMessage(
        channel="signal",
        account=account,
        chat=group_id or sender,
        chat_type="group" if group_id else "direct",
        sender=sender,
        sender_name=_R.opt_str(envelope, "sourceName", "envelope.") or None,
        text=text,
        event_id=f"{sender}:{timestamp}",
        time=_R.epoch(envelope, "timestamp", "envelope.", scale=1000),
        is_edit=is_edit,
        raw_ref=timestamp,
    )
