"""The routing policy (from ``[session]`` and ``[[dispatch.rules]]``) and ``route``.

``route(policy, msg, overrides)`` picks the agent (the first dispatch rule whose ``when``
matches, else the default agent), the dimensions or scope, and the session key.

Precedence, most specific first: a key's override from ``/session scope`` (``main`` →
scope main, ``channel`` → one session per chat, ``peer`` → scope per-peer); then the
matching rule's ``session_dimensions`` (which replace both the global dimensions and the
global scope); then ``session.scope``; then ``session.dimensions``.

Identity links map ``channel:id`` or a raw id (case-insensitive) to a canonical person;
they decide who is the same person under ``per-peer`` and let a rule's ``when.sender``
name a person by the canonical name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from ..errors import InvalidInput
from .inbound import InboundMessage
from .keys import DIMENSIONS, SCOPES, Dimension, Scope, format_key, key_parts
from .overrides import KeyOverrides
from .reset import ResetPolicy
from .settings import DispatchRule, DispatchSettings, SessionSettings, WhenSettings

WHEN_FIELDS: tuple[str, ...] = tuple(WhenSettings.model_fields)


@dataclass(frozen=True, slots=True)
class Route:
    """Where a message goes: its agent and key, and how the key was made.

    ``base_key`` is the key without per-key overrides: the hub stores overrides under it.
    ``dimensions`` are the ones the key was made of (empty under the main and per-peer scopes).
    """

    agent: str
    key: str
    base_key: str
    scope: Scope | None
    dimensions: tuple[Dimension, ...]
    reset: ResetPolicy
    rule: int | None = None


@dataclass(frozen=True, slots=True)
class RoutingPolicy:
    """How inbound messages map to agents and session keys."""

    dimensions: tuple[Dimension, ...] = ("chat",)
    scope: Scope | None = None
    identity_links: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    rules: tuple[DispatchRule, ...] = ()
    default_agent: str = "main"
    reset: ResetPolicy = field(default_factory=ResetPolicy)
    _identities: Mapping[str, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.scope is not None and self.scope not in SCOPES:
            raise InvalidInput(f"unknown session scope {self.scope!r}")
        for dim in self.dimensions:
            if dim not in DIMENSIONS:
                raise InvalidInput(f"unknown session dimension {dim!r}")
        index: dict[str, str] = {}
        for canonical, ids in self.identity_links.items():
            for raw in ids:
                folded = raw.casefold()
                if index.get(folded, canonical) != canonical:
                    raise InvalidInput(
                        f"identity {raw!r} is linked to both {index[folded]!r} and {canonical!r}"
                    )
                index[folded] = canonical
        object.__setattr__(self, "_identities", index)

    def identity(self, channel: str, sender: str) -> str | None:
        """The canonical person ``sender`` on ``channel`` is linked to, if any."""
        return self._identities.get(f"{channel}:{sender}".casefold()) or self._identities.get(
            sender.casefold()
        )

    def match(self, msg: InboundMessage) -> tuple[int, DispatchRule] | None:
        """The first dispatch rule whose ``when`` matches ``msg`` (with its index)."""
        for index, rule in enumerate(self.rules):
            if all(self._matches(name, values, msg) for name, values in rule.when.conditions().items()):
                return index, rule
        return None

    def chat_agents(self, msg: InboundMessage) -> tuple[str, ...]:
        """The agents a chat user sending ``msg`` may pick with ``/new``, the routed one first:
        the matching rule's ``agent`` and ``agents``, else only the default agent."""
        matched = self.match(msg)
        if matched is None:
            return (self.default_agent,)
        rule = matched[1]
        return tuple(dict.fromkeys((rule.agent, *rule.agents)))

    def _matches(self, name: str, values: tuple[str, ...], msg: InboundMessage) -> bool:
        if name == "sender":
            folded = {v.casefold() for v in values}
            names = {msg.sender, f"{msg.channel}:{msg.sender}", self.identity(msg.channel, msg.sender)}
            return any(n is not None and n.casefold() in folded for n in names)
        value = getattr(msg, name)
        return value is not None and value in values

    @classmethod
    def from_settings(
        cls,
        session: SessionSettings,
        dispatch: DispatchSettings,
        *,
        default_agent: str = "main",
        timezone: str = "UTC",
    ) -> RoutingPolicy:
        """The policy of the parsed ``[session]`` and ``[dispatch]`` sections (``config.py``
        checked them); ``timezone`` is the reset timezone when ``[session.reset]`` names none."""
        reset = session.reset
        return cls(
            dimensions=session.dimensions,
            scope=session.scope,
            identity_links=session.identity_links,
            rules=dispatch.rules,
            default_agent=default_agent,
            reset=ResetPolicy(
                mode=reset.mode,
                at_hour=reset.at_hour,
                idle_minutes=reset.idle_minutes,
                timezone=reset.timezone or timezone,
            ),
        )


def route(policy: RoutingPolicy, msg: InboundMessage, overrides: KeyOverrides | None = None) -> Route:
    """Route ``msg``: the agent, the key (with ``overrides`` for its base key) and the reset policy."""
    matched = policy.match(msg)
    agent = matched[1].agent if matched else policy.default_agent
    rule_dims = matched[1].session_dimensions if matched else None
    dims: tuple[Dimension, ...] = rule_dims if rule_dims is not None else policy.dimensions
    scope: Scope | None = None if rule_dims is not None else policy.scope
    peer = policy.identity(msg.channel, msg.sender)
    base_key = format_key(key_parts(agent, msg, dimensions=dims, scope=scope, peer=peer))
    reset = policy.reset
    if overrides is not None:
        if overrides.scope == "main":
            scope = "main"
        elif overrides.scope == "peer":
            scope = "per-peer"
        elif overrides.scope == "channel":
            if scope == "per-channel-peer":
                dims = ("chat", "sender")
            scope = None
            if "chat" not in dims:
                dims = ("chat", *dims)
        reset = overrides.apply(reset)
    key = format_key(key_parts(agent, msg, dimensions=dims, scope=scope, peer=peer))
    if scope == "per-channel-peer":
        dims = ("chat", "sender")
    elif scope is not None:
        dims = ()
    return Route(
        agent=agent,
        key=key,
        base_key=base_key,
        scope=scope,
        dimensions=dims,
        reset=reset,
        rule=matched[0] if matched else None,
    )


__all__ = ["WHEN_FIELDS", "DispatchRule", "Route", "RoutingPolicy", "route"]
