"""Inbound messages: the normalised form and each platform's own webhook payload.

``POST /api/inbound`` takes the normalised form (CONTRACT section 4). ``POST
/api/channels/{channel}/webhook`` takes the platform's payload, parses it with the routing
parsers, answers handshakes at once (Slack ``url_verification``), and routes and records
each message (a resent event id is stored once per user; chat commands are answered in ``reply``).

Webhook authentication: platforms cannot send our bearer token, so a webhook request is
accepted with either a valid bearer token or, when ``[channels.NAME]`` configures one, the
platform's own proof: Slack's signature (``signing_secret``: HMAC-SHA256 of
``v0:{timestamp}:{body}``, timestamp within 5 minutes) or Telegram's
``X-Telegram-Bot-Api-Secret-Token`` (``secret_token``). A configured secret is always
checked. Such requests act for ``[channels.NAME] user`` (default ``default``). With tokens
on and no secret for the channel, a webhook needs the bearer token like every call.

The agent's answer to a routed message comes with the agent-turn issue; until then
``reply`` carries only chat-command answers.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping
from typing import Any

from fastapi import Depends, Path, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse

from ...errors import InvalidInput, Unauthorized
from ...hub import Hub
from ...routing.channels import PARSERS, parse_all
from ...routing.inbound import Challenge, Ignored, InboundMessage
from ...validation import loads
from ..auth import bearer_token, current_hub
from ..schemas import InboundIn, InboundResponse, WebhookResponse
from . import api_router, errors

router = api_router("/api", "inbound")

WEBHOOK_PREFIX = "/api/channels/"
SLACK_MAX_SKEW = 300


async def _handle(hub: Hub, msg: InboundMessage | Mapping[str, Any], live: Any = None) -> dict[str, Any]:
    if live is not None:
        live.runtime.bind(hub)  # /stop from a channel stops the turn
    res = await hub.handle_inbound(msg)
    reply = res.reply
    if live is not None and not res.duplicate:  # the agent's answer (server/delivery.py)
        from ..delivery import reply_to_inbound

        inbound: InboundMessage = msg if isinstance(msg, InboundMessage) else hub._inbound(msg)
        reply = await reply_to_inbound(live, hub, inbound, res.session.id, res.reply, res.message is not None)
    return {
        "session_id": res.session.id,
        "reply": reply,
        "message_id": res.message.id if res.message is not None else None,
        "duplicate": res.duplicate,
    }


@router.post("/inbound", response_model=InboundResponse, responses=errors(409))
async def inbound(request: Request, body: InboundIn, hub: Hub = Depends(current_hub)) -> Response:
    """Route a normalised inbound message to its key's session and record it once per user and
    `event_id` (`duplicate`: this user sent this event before; nothing was stored)."""
    data = {
        k: (str(v) if isinstance(v, int) and not isinstance(v, bool) else v)
        for k, v in body.model_dump(exclude_none=True).items()
    }
    return JSONResponse(await _handle(hub, data, request.app.state.live))


def verify_slack(secret: str, headers: Mapping[str, str], body: bytes, now: float | None = None) -> None:
    ts = headers.get("x-slack-request-timestamp", "")
    sig = headers.get("x-slack-signature", "")
    if not ts.isdigit() or not sig:
        raise Unauthorized("missing Slack signature")
    if abs((now if now is not None else time.time()) - int(ts)) > SLACK_MAX_SKEW:
        raise Unauthorized("stale Slack request timestamp")
    expected = "v0=" + hmac.new(secret.encode(), f"v0:{ts}:".encode() + body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected.encode(), sig.encode("utf-8", "surrogateescape")):
        raise Unauthorized("invalid Slack signature")


def verify_telegram(secret: str, headers: Mapping[str, str]) -> None:
    given = headers.get("x-telegram-bot-api-secret-token", "")
    if not hmac.compare_digest(secret.encode(), given.encode("utf-8", "surrogateescape")):
        raise Unauthorized("invalid Telegram secret token")


def _webhook_hub(request: Request, channel: str, body: bytes) -> Hub:
    """The hub to act on: verify the platform secret when configured, else require a bearer user."""
    options = request.app.state.settings.channel(channel)
    hub: Hub = request.app.state.hub
    verified = False
    if channel == "slack" and options.signing_secret:
        verify_slack(options.signing_secret, request.headers, body)
        verified = True
    elif channel == "telegram" and options.secret_token:
        verify_telegram(options.secret_token, request.headers)
        verified = True
    user = getattr(request.state, "user", None)
    if isinstance(user, str) and (bearer_token(request.scope["headers"]) is not None or not verified):
        return hub.as_user(user)
    if verified:
        return hub.as_user(options.user)
    raise Unauthorized("missing bearer token")


@router.post(
    "/channels/{channel}/webhook",
    response_model=WebhookResponse,
    responses={
        **errors(404, 409),
        200: {
            "description": "the routed messages; a handshake (Slack url_verification) gets its answer instead",
            "content": {"text/plain": {"schema": {"type": "string"}}},
        },
    },
    openapi_extra={"requestBody": {"content": {"application/json": {"schema": {}}}, "required": True}},
)
async def channel_webhook(request: Request, channel: str = Path(max_length=32)) -> Response:
    """The platform's own webhook payload (Telegram Update, Slack Events API, …)."""
    if channel not in PARSERS:
        raise InvalidInput(
            f"no webhook parser for channel {channel[:40]!r} (expected one of {', '.join(PARSERS)})"
        )
    body = await request.body()
    hub = _webhook_hub(request, channel, body)
    payload = loads(body)
    options = request.app.state.settings.channel(channel)
    parsed = parse_all(channel, payload, account=options.account, bot_id=options.bot_id)
    results: list[dict[str, Any]] = []
    ignored = 0
    for item in parsed:
        if isinstance(item, Challenge):
            if item.response is not None:
                return JSONResponse(dict(item.response))
            return PlainTextResponse(item.value)
        if isinstance(item, Ignored):
            ignored += 1
            continue
        results.append(await _handle(hub, item, getattr(request.app.state, "live", None)))
    return JSONResponse({"results": results, "ignored": ignored})
