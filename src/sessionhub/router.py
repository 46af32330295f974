"""The storage side of routing (CONTRACT §4): inbound message → the key's current session.

``Router`` is built once per hub from the settings (so a bad ``[session]``,
``[session.reset]``, ``[[dispatch.rules]]`` or ``[retention]`` value fails at start with
``ConfigError``) and shared by the hub's per-user views. The hub's routing methods
(``route_inbound``, ``record_inbound``, ``get_or_create_session``, ``reset``,
``on_before_reset``) delegate here.

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
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

from . import ids
from .config import Settings
from .errors import ConfigError, DatabaseError
from .model import Message, NewMessage, Session
from .routing.inbound import ChatType, InboundMessage
from .routing.overrides import KeyOverrides
from .routing.policy import Route, RoutingPolicy, route
from .routing.reset import ResetPolicy, is_stale
from .store.base import NewSession
from .store.routing_sql import InboundEvent, RouteState, RoutingStore, SeenLimits

if TYPE_CHECKING:
    from .hub import Hub

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
    """The routing policy of ``settings``; ``ConfigError`` names a wrong value."""
    config = {
        "session": settings.session,
        "dispatch": settings.dispatch,
        "server": {"timezone": settings.server.timezone},
    }
    policy = RoutingPolicy.from_config(config, default_agent=settings.default_agent.id)
    known = [a.id for a in settings.agents]
    for i, rule in enumerate(policy.rules):
        for name, agent in (("agent", rule.agent), *(("agents", a) for a in rule.agents)):
            if agent not in known:
                raise ConfigError(
                    f"dispatch.rules[{i}].{name}: unknown agent {agent!r} (known: {', '.join(known)})"
                )
    return policy


def seen_limits(settings: Settings) -> SeenLimits:
    """``[retention] seen_events_days`` (default 7) and ``seen_events_max`` (default 100000)."""
    values: dict[str, int] = {}
    for name, field, default, hi in (
        ("seen_events_days", "max_age_days", 7, 3650),
        ("seen_events_max", "max_rows", 100_000, 10**9),
    ):
        raw = settings.retention.get(name, default)
        if isinstance(raw, bool) or not isinstance(raw, int) or not 1 <= raw <= hi:
            raise ConfigError(f"retention.{name}: must be an integer between 1 and {hi}")
        values[field] = raw
    return SeenLimits(**values)


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

    # -- plumbing ---------------------------------------------------------------------------

    @staticmethod
    def store(hub: Hub) -> RoutingStore:
        store = hub.store
        if not isinstance(store, RoutingStore):
            raise DatabaseError("this store does not support routing inbound messages")
        return store

    def _lock(self, owner: str, key: str) -> asyncio.Lock:
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

    async def resolve(
        self, hub: Hub, msg: InboundMessage, event: InboundEvent | None
    ) -> tuple[Route, RouteState]:
        """The final route of ``msg`` (overrides applied) and the state of its key."""
        store = self.store(hub)
        base = route(self.policy, msg)
        state = await store.route_state(hub.owner, base.key, base.key, event, self.limits)
        overrides = KeyOverrides.from_dict(state.overrides)
        if overrides == KeyOverrides():
            return base, state
        final = route(self.policy, msg, overrides)
        if final.key != base.key:
            state = await store.route_state(hub.owner, final.key, base.key, event, self.limits)
        return final, state

    def _new_session(
        self, hub: Hub, msg: InboundMessage, r: Route, agent: str | None = None, model: str | None = None
    ) -> NewSession:
        spec = hub._agent(agent or r.agent)
        session_id = ids.new_id("ses")
        origin = {
            k: v for k, v in inbound_metadata(msg)["inbound"].items() if k not in ("event_id", "raw_ref")
        }
        origin["chat_type"] = msg.chat_type
        return NewSession(
            id=session_id,
            owner=hub.owner,
            key=r.key,
            title="",
            title_source="auto",
            agent=spec.id,
            provider=spec.provider,
            model=model or spec.model,
            source="channel",
            source_ref=None,
            channel=msg.channel,
            metadata={"origin": origin},
        )

    # -- the operations ---------------------------------------------------------------------

    async def handle(self, hub: Hub, msg: InboundMessage, *, store_message: bool) -> Routed:
        """Route ``msg`` (lazy reset included) and, if ``store_message``, append it with dedup."""
        item: NewMessage | None = None
        if store_message:
            item = hub._new_message({"role": "user", "content": msg.text, "metadata": inbound_metadata(msg)})
        event = None
        if store_message and msg.event_id is not None:
            event = InboundEvent(hub.owner, msg.channel, msg.account, msg.event_id)
        store = self.store(hub)
        r, state = await self.resolve(hub, msg, event)
        if state.seen:
            original = state.seen_session or state.session
            if original is not None:
                return Routed(original, r, None, False, True)
        lock = self._lock(hub.owner, r.key)
        waited = lock.locked()
        async with lock:
            if waited:  # another message for this key went first: read what it left
                state = await store.route_state(hub.owner, r.key, r.base_key, event, self.limits)
            current = state.session
            replace_id: str | None = None
            reason: str | None = None
            if current is not None and current.status == "active":
                reason = stale_reason(r.reset, current, hub.clock.now())
                if reason is not None:
                    await self.run_hooks(current, reason)
                    replace_id = current.id
            bound = await store.bind_route(
                hub.owner,
                r.key,
                replace_id,
                self._new_session(hub, msg, r),
                item,
                hub._auto([item]) if item is not None else None,
                event,
                self.limits,
            )
        if bound.session is None:  # a duplicate whose session is gone
            return replace(await self.handle(hub, msg, store_message=False), duplicate=True)
        return Routed(
            bound.session,
            r,
            bound.message,
            bound.created,
            bound.duplicate,
            reason if bound.created else None,
        )

    async def reset(
        self,
        hub: Hub,
        msg: InboundMessage,
        *,
        agent: str | None = None,
        model: str | None = None,
        reason: ResetReason = "reset",
    ) -> Routed:
        """Start a new session under ``msg``'s key now (``/new``, ``/reset``, ``hub.reset``)."""
        if agent is not None:
            hub._agent(agent)
        store = self.store(hub)
        r, state = await self.resolve(hub, msg, None)
        async with self._lock(hub.owner, r.key):
            state = await store.route_state(hub.owner, r.key, r.base_key, None)
            current = state.session
            if current is not None and current.status == "active":
                await self.run_hooks(current, reason)
            new = self._new_session(hub, msg, r, agent, model)
            bound = await store.bind_route(
                hub.owner,
                r.key,
                current.id if current is not None else None,
                new,
                None,
                None,
                None,
                self.limits,
            )
        assert bound.session is not None
        return Routed(bound.session, r, None, bound.created, False, reason)

    async def set_overrides(
        self, hub: Hub, msg: InboundMessage, **changes: Any
    ) -> tuple[KeyOverrides, Route]:
        """Change the per-key overrides of ``msg``'s base key; gives them and the new route."""
        base = route(self.policy, msg)

        def change(current: Mapping[str, Any]) -> Mapping[str, Any]:
            data = dict(KeyOverrides.from_dict(current).to_dict())
            for name, value in changes.items():
                if value is None:
                    data.pop(name, None)
                else:
                    data[name] = value
            return KeyOverrides.from_dict(data).to_dict()  # a bad value raises: nothing is written

        stored = await self.store(hub).update_route_overrides(hub.owner, base.key, change)
        overrides = KeyOverrides.from_dict(stored)
        return overrides, route(self.policy, msg, overrides)

    async def overrides(self, hub: Hub, msg: InboundMessage) -> KeyOverrides:
        base = route(self.policy, msg)
        state = await self.store(hub).route_state(hub.owner, base.key, base.key, None)
        return KeyOverrides.from_dict(state.overrides)

    async def mark_seen(self, hub: Hub, msg: InboundMessage, session_id: str | None = None) -> bool:
        """Remember ``msg``'s event id (commands); False if it was seen before."""
        if msg.event_id is None:
            return True
        event = InboundEvent(hub.owner, msg.channel, msg.account, msg.event_id)
        return await self.store(hub).mark_seen(event, session_id, self.limits)


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
