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
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from .errors import InvalidInput
from .model import Message, NewMessage, Session
from .router import ResetHook, Router, make_message
from .routing.commands import Command, parse_command
from .routing.inbound import ChatType, InboundMessage
from .routing.policy import Route

if TYPE_CHECKING:
    from .clock import Clock
    from .commands import CommandResult
    from .config import AgentSettings, Settings
    from .hub import Hub
    from .store.base import AutoText, Store


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


class RoutingOps:
    """The routing half of ``Hub`` (see the module docstring)."""

    if TYPE_CHECKING:
        store: Store
        settings: Settings
        clock: Clock
        owner: str
        router: Router

        def _agent(self, agent: str | None) -> AgentSettings: ...
        def _new_message(self, data: Mapping[str, Any] | NewMessage) -> NewMessage: ...
        def _auto(self, items: Any) -> AutoText | None: ...
        async def get_session(self, session_id: str, *, tz: str | None = None) -> Session: ...

    @property
    def _hub(self) -> Hub:
        return cast("Hub", self)

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
        routed = await self.router.handle(self._hub, msg, store_message=False)
        return routed.session

    async def route_inbound(self, msg: InboundMessage | Mapping[str, Any]) -> tuple[Session, Route]:
        """The session ``msg`` belongs to (lazy reset included) and its route; stores nothing."""
        routed = await self.router.handle(self._hub, self._inbound(msg), store_message=False)
        return routed.session, routed.route

    async def record_inbound(self, msg: InboundMessage | Mapping[str, Any]) -> tuple[Session, Message | None]:
        """Store ``msg`` as a user message in its key's session, once per event id.

        A resent event (same owner, channel, account and ``event_id``) stores nothing and
        gives the session its first delivery went to, and None.
        """
        routed = await self.router.handle(self._hub, self._inbound(msg), store_message=True)
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
        routed = await self.router.reset(self._hub, msg, agent=agent, model=model)
        return routed.session

    def on_before_reset(self, callback: ResetHook) -> ResetHook:
        """Register ``callback(old_session, reason)`` (sync or async), run before every reset.

        ``reason`` is ``daily`` or ``idle`` (automatic), ``reset`` (``/reset``,
        ``hub.reset``) or ``new`` (``/new``). An exception in a hook stops the reset and
        reaches the caller (nothing is stored; a platform resend will try again).
        Usable as a decorator; hooks are shared by ``as_user`` views.
        """
        return self.router.add_hook(callback)

    async def handle_inbound(
        self, msg: InboundMessage | Mapping[str, Any], *, bot_username: str | None = None
    ) -> InboundResult:
        """One entry for every channel: a chat command is executed and answered (not
        stored), anything else is recorded (``record_inbound``)."""
        from .commands import execute

        inbound = self._inbound(msg)
        command = None if inbound.is_edit else parse_command(inbound.text, bot_username)
        if command is None:
            routed = await self.router.handle(self._hub, inbound, store_message=True)
            return InboundResult(routed.session, routed.route, routed.message, duplicate=routed.duplicate)
        if not await self.router.mark_seen(self._hub, inbound):
            session, r = await self.route_inbound(inbound)
            return InboundResult(session, r, command=command, duplicate=True)
        result = await execute(self._hub, inbound, command)
        session, r = await self.route_inbound(inbound)
        if result.session is not None:  # e.g. a restored checkpoint's session
            session = result.session
        return InboundResult(session, r, reply=result.text, command=command)

    async def run_command(
        self, session_id: str, text: str, *, bot_username: str | None = None
    ) -> CommandResult | None:
        """The web chat's entry: execute ``text`` if it is a chat command (None otherwise)."""
        from .commands import execute

        command = parse_command(text, bot_username)
        if command is None:
            return None
        session = await self.get_session(session_id)
        return await execute(self._hub, session, command)

    async def prune_seen_events(self) -> int:
        """Drop remembered event ids beyond ``[retention] seen_events_days`` / ``seen_events_max``."""
        return await self.router.store(self._hub).prune_seen_events(self.router.limits)


__all__ = ["InboundResult", "RoutingOps"]
