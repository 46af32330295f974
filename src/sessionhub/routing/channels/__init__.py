"""Platform payload parsers: one module per platform, each with ``parse(payload)``.

``PARSERS[channel](payload, account=…, bot_id=…)`` gives an ``InboundMessage``, an
``Ignored`` or a ``Challenge`` and raises ``InvalidInput`` for a malformed payload.
``account`` is the configured bot/workspace account; ``bot_id`` the assistant's own user id
on the platform (its messages are ignored). ``parse_all`` gives every message of payloads
that batch several (WhatsApp notifications, Matrix transactions).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from ...errors import InvalidInput
from ..inbound import ParseResult
from . import discord, google_chat, matrix, signal, slack, teams, telegram, webhook, whatsapp
from ._util import Payload


class Parser(Protocol):
    def __call__(
        self, payload: Payload, /, *, account: str = "default", bot_id: str | None = None
    ) -> ParseResult: ...


PARSERS: dict[str, Parser] = {
    "telegram": telegram.parse,
    "slack": slack.parse,
    "discord": discord.parse,
    "whatsapp": whatsapp.parse,
    "signal": signal.parse,
    "matrix": matrix.parse,
    "teams": teams.parse,
    "google_chat": google_chat.parse,
    "webhook": webhook.parse,
}

_BATCH_PARSERS: dict[str, Callable[..., list[ParseResult]]] = {
    "whatsapp": whatsapp.parse_all,
    "matrix": matrix.parse_all,
}


def parse_all(
    channel: str, payload: Any, *, account: str = "default", bot_id: str | None = None
) -> list[ParseResult]:
    """Every result in one webhook payload of ``channel`` (most platforms send one)."""
    if channel in _BATCH_PARSERS:
        return _BATCH_PARSERS[channel](payload, account=account, bot_id=bot_id)
    parser = PARSERS.get(channel)
    if parser is None:
        raise InvalidInput(
            f"no webhook parser for channel {channel!r} (expected one of {', '.join(PARSERS)})"
        )
    return [parser(payload, account=account, bot_id=bot_id)]


__all__ = ["PARSERS", "Parser", "parse_all"]
