"""The routing half of ``Hub``: inbound messages, keys, resets, dedup, chat commands.

``Hub`` inherits ``RoutingOps``; the rules live in ``router.py`` (storage side) and
``commands.py`` (the one command layer), the pure parts in ``routing/``.

    s = await hub.get_or_create_session(channel="telegram", chat="123", sender="u1")
    s, route = await hub.route_inbound(msg)           # session + how the key was made
    s, m = await hub.record_inbound(msg)              # m is None for a duplicate event id
    res = await hub.handle_inbound(msg)               # a chat command is executed, else stored
    s2 = await hub.reset(channel="telegram", chat="123", sender="u1")
    hub.on_before_reset(lambda old, reason: ...)      # sync or async, before every reset
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from .. import ids
from ..errors import InvalidInput
from ..model import Message, NewMessage, Session
from ..routing.commands import Command
from ..routing.inbound import ChatType, InboundMessage
from ..routing.overrides import KeyOverrides
from ..routing.policy import Route, route
from ..store.base import NewSession
from ..store.routing_sql import InboundEvent, RouteState, RoutingStore
from .router import ResetHook, ResetReason, Routed, inbound_metadata, make_message, stale_reason
from .sessions import SessionOps


@dataclass(frozen=True, slots=True)
class InboundResult:
    """What ``handle_inbound`` did with one message.

    ``reply`` is the command's answer (send it back to the chat; it is not stored), or
    None for an ordinary message (``message`` is the stored user message, None for a
    duplicate event id: then ``duplicate`` is true and nothing was done).
    """

    session: Session
    route: Route | None
    message: Message | None = None
    reply: str | None = None
    command: Command | None = None
    duplicate: bool = False


class RoutingOps(SessionOps):
    """The routing half of ``Hub`` (see the module docstring)."""

    def routing_store(self) -> RoutingStore:
        """The store's routing side (route keys, seen event ids), for integrations keyed the same way."""
        return self.store

    def _inbound(self, msg: object) -> InboundMessage:
        if isinstance(msg, InboundMessage):
            return msg
        if isinstance(msg, Mapping):
            return InboundMessage.from_dict(msg)
        raise InvalidInput("expected an InboundMessage or its JSON form")

    async def get_or_create_session(
        self,
        channel: str,
        chat: str,
        sender: str,
        account: str | None = None,
        topic: str | None = None,
        space: str | None = None,
        chat_type: ChatType | None = None,
    ) -> Session:
        """The current session of the key these fields route to (created on first use; a
        stale session under a reset policy is replaced by a new one, CONTRACT §4)."""
        msg = make_message(channel, chat, sender, account, topic, space, chat_type)
        routed = await self._route(msg, store_message=False)
        return routed.session

    async def route_inbound(self, msg: InboundMessage | Mapping[str, Any]) -> tuple[Session, Route]:
        """The session ``msg`` belongs to (lazy reset included) and its route; stores nothing."""
        routed = await self._route(self._inbound(msg), store_message=False)
        return routed.session, routed.route

    async def record_inbound(self, msg: InboundMessage | Mapping[str, Any]) -> tuple[Session, Message | None]:
        """Store ``msg`` as a user message in its key's session, once per event id.

        A resent event (same owner, channel, account and ``event_id``) stores nothing and
        gives the session its first delivery went to, and None.
        """
        routed = await self._route(self._inbound(msg), store_message=True)
        return routed.session, routed.message

    async def reset(
        self,
        channel: str,
        chat: str,
        sender: str,
        account: str | None = None,
        topic: str | None = None,
        space: str | None = None,
        chat_type: ChatType | None = None,
        *,
        agent: str | None = None,
        model: str | None = None,
    ) -> Session:
        """Start a new session under the key now; the old one stays browsable, overrides stay."""
        msg = make_message(channel, chat, sender, account, topic, space, chat_type)
        routed = await self._reset_key(msg, agent=agent, model=model)
        return routed.session

    def on_before_reset(self, callback: ResetHook) -> ResetHook:
        """Register ``callback(old_session, reason)`` (sync or async), run before every reset.

        ``reason`` is ``daily`` or ``idle`` (automatic), ``reset`` (``/reset``,
        ``hub.reset``) or ``new`` (``/new``). An exception in a hook stops the reset and
        reaches the caller (nothing is stored; a platform resend will try again).
        Usable as a decorator; hooks are shared by ``as_user`` views.
        """
        return self.router.add_hook(callback)

    async def prune_seen_events(self) -> int:
        """Drop remembered event ids beyond ``[retention] seen_events_days`` / ``seen_events_max``."""
        return await self.routing_store().prune_seen_events(self.router.limits)

    async def _resolve(self, msg: InboundMessage, event: InboundEvent | None) -> tuple[Route, RouteState]:
        """The final route of ``msg`` (overrides applied) and the state of its key."""
        store = self.routing_store()
        base = route(self.router.policy, msg)
        state = await store.route_state(self.owner, base.key, base.key, event, self.router.limits)
        overrides = KeyOverrides.from_dict(state.overrides)
        if overrides == KeyOverrides():
            return base, state
        final = route(self.router.policy, msg, overrides)
        if final.key != base.key:
            state = await store.route_state(self.owner, final.key, base.key, event, self.router.limits)
        return final, state

    def _channel_session(
        self, msg: InboundMessage, r: Route, agent: str | None = None, model: str | None = None
    ) -> NewSession:
        spec = self._agent(agent or r.agent)
        session_id = ids.new_id("ses")
        origin = {
            k: v for k, v in inbound_metadata(msg)["inbound"].items() if k not in ("event_id", "raw_ref")
        }
        origin["chat_type"] = msg.chat_type
        return NewSession(
            id=session_id,
            owner=self.owner,
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

    async def _route(self, msg: InboundMessage, *, store_message: bool) -> Routed:
        """Route ``msg`` (lazy reset included) and, if ``store_message``, append it with dedup."""
        item: NewMessage | None = None
        if store_message:
            item = self._new_message({"role": "user", "content": msg.text, "metadata": inbound_metadata(msg)})
        event = None
        if store_message and msg.event_id is not None:
            event = InboundEvent(self.owner, msg.channel, msg.account, msg.event_id)
        store = self.routing_store()
        r, state = await self._resolve(msg, event)
        if state.seen:
            original = state.seen_session or state.session
            if original is not None:
                return Routed(original, r, None, False, True)
        lock = self.router.lock(self.owner, r.key)
        waited = lock.locked()
        async with lock:
            if waited:  # another message for this key went first: read what it left
                state = await store.route_state(self.owner, r.key, r.base_key, event, self.router.limits)
            current = state.session
            replace_id: str | None = None
            reason: str | None = None
            if current is not None and current.status == "active":
                reason = stale_reason(r.reset, current, self.clock.now())
                if reason is not None:
                    await self.router.run_hooks(current, reason)
                    replace_id = current.id
            bound = await store.bind_route(
                self.owner,
                r.key,
                replace_id,
                self._channel_session(msg, r),
                item,
                self._auto([item]) if item is not None else None,
                event,
                self.router.limits,
            )
        if bound.session is None:  # a duplicate whose session is gone
            return replace(await self._route(msg, store_message=False), duplicate=True)
        return Routed(
            bound.session,
            r,
            bound.message,
            bound.created,
            bound.duplicate,
            reason if bound.created else None,
        )

    async def _reset_key(
        self,
        msg: InboundMessage,
        *,
        agent: str | None = None,
        model: str | None = None,
        reason: ResetReason = "reset",
    ) -> Routed:
        """Start a new session under ``msg``'s key now (``/new``, ``/reset``, ``hub.reset``)."""
        if agent is not None:
            self._agent(agent)
        store = self.routing_store()
        r, state = await self._resolve(msg, None)
        async with self.router.lock(self.owner, r.key):
            state = await store.route_state(self.owner, r.key, r.base_key, None)
            current = state.session
            if current is not None and current.status == "active":
                await self.router.run_hooks(current, reason)
            new = self._channel_session(msg, r, agent, model)
            bound = await store.bind_route(
                self.owner,
                r.key,
                current.id if current is not None else None,
                new,
                None,
                None,
                None,
                self.router.limits,
            )
        assert bound.session is not None
        return Routed(bound.session, r, None, bound.created, False, reason)

    async def _set_overrides(self, msg: InboundMessage, **changes: Any) -> tuple[KeyOverrides, Route]:
        """Change the per-key overrides of ``msg``'s base key; gives them and the new route."""
        base = route(self.router.policy, msg)

        def change(current: Mapping[str, Any]) -> Mapping[str, Any]:
            data = dict(KeyOverrides.from_dict(current).to_dict())
            for name, value in changes.items():
                if value is None:
                    data.pop(name, None)
                else:
                    data[name] = value
            return KeyOverrides.from_dict(data).to_dict()  # a bad value raises: nothing is written

        stored = await self.routing_store().update_route_overrides(self.owner, base.key, change)
        overrides = KeyOverrides.from_dict(stored)
        return overrides, route(self.router.policy, msg, overrides)

    async def route_overrides(self, msg: InboundMessage) -> KeyOverrides:
        base = route(self.router.policy, msg)
        state = await self.routing_store().route_state(self.owner, base.key, base.key, None)
        return KeyOverrides.from_dict(state.overrides)

    async def _mark_seen(self, msg: InboundMessage, session_id: str | None = None) -> bool:
        """Remember ``msg``'s event id (commands); False if it was seen before."""
        if msg.event_id is None:
            return True
        event = InboundEvent(self.owner, msg.channel, msg.account, msg.event_id)
        return await self.routing_store().mark_seen(event, session_id, self.router.limits)


__all__ = ["InboundResult", "RoutingOps"]
