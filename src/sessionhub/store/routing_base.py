"""The routing part of the store interface (``RoutingStore``) and its value types.

``hub/routing.py`` and the keyed integrations use it; ``routing_sql.py`` implements it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from ..model import Message, NewMessage, Session
from .base import AutoText, NewSession

_MAX_ID = 200


@dataclass(frozen=True, slots=True)
class InboundEvent:
    """The identity of an inbound platform event (dedup key): whose it is and where it came from."""

    owner: str
    channel: str
    account: str
    event_id: str

    def stored_id(self) -> str:
        """The event id as stored: ids longer than the column are replaced by a digest."""
        if len(self.event_id) <= _MAX_ID:
            return self.event_id
        return "sha256:" + hashlib.sha256(self.event_id.encode()).hexdigest()

    def stored_account(self) -> str:
        if len(self.account) <= _MAX_ID:
            return self.account
        return "sha256:" + hashlib.sha256(self.account.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class SeenLimits:
    """How long and how many seen event ids are remembered (``[retention]``)."""

    max_age_days: int = 7
    max_rows: int = 100_000


@dataclass(frozen=True, slots=True)
class RouteState:
    """What the hub needs to decide a route: the key's session, overrides, the event's fate."""

    session: Session | None
    overrides: Mapping[str, Any]
    seen: bool = False
    seen_session: Session | None = None


@dataclass(frozen=True, slots=True)
class Bound:
    """The result of ``bind_route``: the key's session (after the append) and what happened."""

    session: Session | None
    created: bool
    message: Message | None
    duplicate: bool


class RoutingStore(Protocol):
    """The routing operations a store offers the hub."""

    async def route_state(
        self,
        owner: str,
        key: str,
        base_key: str,
        event: InboundEvent | None,
        limits: SeenLimits | None = None,
    ) -> RouteState: ...

    async def update_route_overrides(
        self, owner: str, base_key: str, change: Callable[[Mapping[str, Any]], Mapping[str, Any]]
    ) -> Mapping[str, Any]: ...

    async def bind_route(
        self,
        owner: str,
        key: str,
        replace_id: str | None,
        new: NewSession,
        item: NewMessage | None,
        auto: AutoText | None,
        event: InboundEvent | None,
        limits: SeenLimits,
    ) -> Bound: ...

    async def mark_seen(self, event: InboundEvent, session_id: str | None, limits: SeenLimits) -> bool: ...

    async def sessions_for_key(self, owner: str, key: str, limit: int) -> list[Session]: ...

    async def prune_seen_events(self, limits: SeenLimits) -> int: ...


__all__ = ["Bound", "InboundEvent", "RouteState", "RoutingStore", "SeenLimits"]
