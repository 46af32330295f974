"""The routing state of a hub and the pure helpers of routing (CONTRACT §4).

``Router`` is built once per hub from the (already checked) settings and shared by the
hub's per-user views: the policy, the seen-id limits, the pre-reset hooks and the per-key
locks. The operations that use it
(``route_inbound``, ``record_inbound``, ``get_or_create_session``, ``reset``) are the
hub's, in ``routing.py``; they follow these steps for one message:

Steps for one message:

1. ``route(policy, msg)`` gives the base key; the per-key overrides stored under it
   (``/session scope|reset-time|idle-reset``) give the final route (agent, key, reset policy).
2. The key's current session is read. An event id seen before (per owner, channel and
   account) stops here: the original session is returned and nothing is stored.
3. Resets are lazy: a session that is stale under the key's reset policy (only
   conversation messages count as activity: ``last_message_at``, else ``created_at``) is
   left as it is and the pre-reset hooks run with ``(old_session, reason)``.
4. One write transaction (``RoutingStore.bind_route``) records the event id, maps the key
   to its session (creating it on first use or after a reset, compare-and-swap on the
   ``route_keys`` row) and appends the message. Concurrent first messages end in one
   session; a crash stores both the message and its event id or neither.

Within one process, messages for one key are routed one at a time (an ``asyncio.Lock``
per key), so a reset's hooks run once; across processes the database still guarantees one
new session, and hooks run at least once.

Decisions: an archived (read-only) or deleted session under a key is replaced by a new
one without calling the hooks (it was not a reset; the user put it away). An edited
message (``is_edit``) is stored as a new user message with ``metadata.edited = true``.
Every inbound message keeps where it came from in ``metadata.inbound`` (channel, account,
chat, sender, sender name, event id, platform message id).
"""

from __future__ import annotations

import asyncio
import inspect
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal, TypeAlias

from ..config import Settings
from ..model import Message, Session
from ..routing.inbound import ChatType, InboundMessage
from ..routing.policy import Route, RoutingPolicy
from ..routing.reset import ResetPolicy, is_stale
from ..store.routing_sql import SeenLimits

ResetReason: TypeAlias = Literal["daily", "idle", "reset", "new"]
ResetHook: TypeAlias = Callable[[Session, str], Awaitable[None] | None]


@dataclass(frozen=True, slots=True)
class Routed:
    """One routed inbound message: its session, route, the stored message (None for a
    duplicate or when nothing was stored), and whether a new session was started."""

    session: Session
    route: Route
    message: Message | None = None
    created: bool = False
    duplicate: bool = False
    reset_reason: str | None = None


def build_policy(settings: Settings) -> RoutingPolicy:
    """The routing policy of ``settings`` (already checked by ``config.py``)."""
    return RoutingPolicy.from_settings(
        settings.session,
        settings.dispatch,
        default_agent=settings.default_agent.id,
        timezone=settings.server.timezone,
    )


def seen_limits(settings: Settings) -> SeenLimits:
    """``[retention] seen_events_days`` (default 7) and ``seen_events_max`` (default 100000)."""
    retention = settings.retention
    return SeenLimits(max_age_days=retention.seen_events_days, max_rows=retention.seen_events_max)


def stale_reason(policy: ResetPolicy, session: Session, now: Any) -> ResetReason | None:
    """Why ``session`` must be replaced before the next message (None: it need not)."""
    if not is_stale(policy, session.last_message_at, session.created_at, now):
        return None
    since = session.last_message_at or session.created_at
    if policy.idle and now - since >= timedelta(minutes=policy.idle_minutes):
        return "idle"
    return "daily"


def inbound_metadata(msg: InboundMessage) -> dict[str, Any]:
    """The metadata an inbound message is stored with."""
    origin: dict[str, Any] = {"channel": msg.channel, "account": msg.account, "chat": msg.chat}
    for name in ("topic", "space"):
        if getattr(msg, name) is not None:
            origin[name] = getattr(msg, name)
    origin["sender"] = msg.sender
    for name in ("sender_name", "event_id", "raw_ref"):
        if getattr(msg, name) is not None:
            origin[name] = getattr(msg, name)
    data: dict[str, Any] = {"inbound": origin}
    if msg.is_edit:
        data["edited"] = True
    return data


def make_message(
    channel: str,
    chat: str,
    sender: str,
    account: str | None = None,
    topic: str | None = None,
    space: str | None = None,
    chat_type: ChatType | None = None,
) -> InboundMessage:
    """An ``InboundMessage`` without text, for the keyword API of CONTRACT §9."""
    return InboundMessage(
        channel=channel,
        account=account or "default",
        chat=str(chat),
        chat_type=chat_type or "direct",
        topic=None if topic is None else str(topic),
        space=None if space is None else str(space),
        sender=str(sender),
        text="",
    )


class Router:
    """Routing state of a hub: the policy, the seen-id limits, the pre-reset hooks."""

    def __init__(self, settings: Settings) -> None:
        self.policy = build_policy(settings)
        self.limits = seen_limits(settings)
        self.hooks: list[ResetHook] = []
        self._locks: weakref.WeakValueDictionary[tuple[str, str], asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )

    def lock(self, owner: str, key: str) -> asyncio.Lock:
        """The lock that routes messages of ``owner``'s ``key`` one at a time (this process)."""
        lock = self._locks.get((owner, key))
        if lock is None:
            lock = asyncio.Lock()
            self._locks[(owner, key)] = lock
        return lock

    def add_hook(self, callback: ResetHook) -> ResetHook:
        if not callable(callback):
            raise TypeError("the pre-reset hook must be callable")
        self.hooks.append(callback)
        return callback

    async def run_hooks(self, old: Session, reason: str) -> None:
        for hook in list(self.hooks):
            result = hook(old, reason)
            if inspect.isawaitable(result):
                await result


__all__ = [
    "ResetHook",
    "ResetReason",
    "Routed",
    "Router",
    "build_policy",
    "inbound_metadata",
    "make_message",
    "seen_limits",
    "stale_reason",
]
