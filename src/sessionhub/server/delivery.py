"""Agent replies to inbound channel messages: in the HTTP answer, or sent back to the platform.

``reply_to_inbound(live, hub, message, result)`` runs after a routed inbound message was
stored: it starts the agent's turn on it and

- for ``telegram`` and ``slack`` answers at once (platforms want a fast 200) and delivers
  the reply in the background: Telegram ``sendMessage`` (``{api_base}/bot{token}/sendMessage``
  with ``chat_id``, ``text`` and the forum topic's ``message_thread_id``), Slack
  ``chat.postMessage`` (``{api_base}/chat.postMessage``, bearer token, ``channel``, ``text``,
  ``thread_ts``). Chat-command answers go back the same way. A reply longer than the
  platform allows (Telegram 4,096 UTF-16 units, Slack 40,000 characters) goes out as several
  messages, cut at paragraph, line or word boundaries;
- for every other channel (``/api/inbound``, the generic webhook …) waits for the turn and
  returns the reply text (the HTTP answer's ``reply``).

Configuration (``[channels.telegram]`` / ``[channels.slack]``): ``api_base`` (defaults
``https://api.telegram.org`` / ``https://slack.com/api``) and ``bot_token_env`` (defaults
``TELEGRAM_BOT_TOKEN`` / ``SLACK_BOT_TOKEN``), the environment variable holding the bot token.
Without a token nothing is sent (logged). A session already answering refuses a second turn:
the message stays stored and is part of the context of the next reply.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import httpx

from ..config import ChannelSettings
from ..errors import SessionhubError
from ..routing.inbound import InboundMessage
from ..text import split_for_limit, utf16_len

if TYPE_CHECKING:
    from ..hub import Hub
    from .live import Live

log = logging.getLogger("sessionhub.delivery")

PUSH_CHANNELS = frozenset({"telegram", "slack"})
# Longest message each platform accepts: Telegram counts UTF-16 code units up to 4,096; Slack
# truncates `text` after 40,000 characters. Longer replies go out as several messages, in order.
LIMITS: dict[str, tuple[int, Callable[[str], int]]] = {
    "telegram": (4096, utf16_len),
    "slack": (40_000, len),
}
DEFAULTS = {
    "telegram": ("https://api.telegram.org", "TELEGRAM_BOT_TOKEN"),
    "slack": ("https://slack.com/api", "SLACK_BOT_TOKEN"),
}
_background: set[asyncio.Task[None]] = set()


async def send_to_platform(
    channel: str, options: ChannelSettings, msg: InboundMessage, text: str, env: Mapping[str, str]
) -> bool:
    """Post ``text`` to the chat (and topic/thread) ``msg`` came from; False if not configured.

    A text over the platform's limit is sent as several messages in order; sending stops at
    the first one the platform refuses.
    """
    base, token_env = DEFAULTS[channel]
    base = (options.api_base or base).rstrip("/")
    token_env = options.bot_token_env or token_env
    token = env.get(token_env)
    if not token:
        log.warning("no %s bot token (%s): the reply was not delivered", channel, token_env)
        return False
    limit, measure = LIMITS[channel]
    async with httpx.AsyncClient(timeout=20) as client:
        for piece in split_for_limit(text, limit, measure):
            if channel == "telegram":
                body: dict[str, Any] = {"chat_id": msg.chat, "text": piece}
                if msg.topic:
                    body["message_thread_id"] = int(msg.topic) if msg.topic.isdigit() else msg.topic
                r = await client.post(f"{base}/bot{token}/sendMessage", json=body)
            else:
                body = {"channel": msg.chat, "text": piece}
                if msg.topic:
                    body["thread_ts"] = msg.topic
                r = await client.post(
                    f"{base}/chat.postMessage", json=body, headers={"Authorization": f"Bearer {token}"}
                )
            if r.status_code >= 400:
                log.warning("%s refused the reply: %s %s", channel, r.status_code, r.text[:200])
                return False
    return True


async def reply_to_inbound(
    live: Live, hub: Hub, msg: InboundMessage, session_id: str, command_reply: str | None, stored: bool
) -> str | None:
    """Answer one routed inbound message; see the module docstring. Returns the HTTP ``reply``."""
    options = live.settings.channel(msg.channel)
    push = msg.channel in PUSH_CHANNELS
    if command_reply is not None:
        if push:
            _spawn(send_to_platform(msg.channel, options, msg, command_reply, os.environ))
        return command_reply
    if not stored:
        return None
    try:
        started = await live.runtime.answer(hub, session_id)
    except SessionhubError as exc:
        log.info("no agent reply for session %s: %s", session_id, exc.message)
        return None

    async def deliver() -> None:
        result = await started.wait()
        if result.message is not None and result.message.content.strip():
            await send_to_platform(msg.channel, options, msg, result.message.content, os.environ)

    if push:
        _spawn(deliver())
        return None
    result = await started.wait()
    return result.message.content if result.message is not None else None


def _spawn(coro: Any) -> None:
    task: asyncio.Task[None] = asyncio.create_task(coro)
    _background.add(task)
    task.add_done_callback(_background.discard)
