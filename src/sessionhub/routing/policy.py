"""The routing policy (``[session]`` and ``[[dispatch.rules]]``) and ``route``.

``route(policy, msg, overrides)`` picks the agent (the first dispatch rule whose ``when``
matches, else the default agent), the dimensions or scope, and the session key.

Precedence, most specific first: a key's override from ``/session scope`` (``main`` →
scope main, ``channel`` → one session per chat, ``peer`` → scope per-peer); then the
matching rule's ``session_dimensions`` (which replace both the global dimensions and the
global scope); then ``session.scope``; then ``session.dimensions``.

Identity links map ``channel:id`` or a raw id (case-insensitive) to a canonical person;
they apply wherever a sender is used (CONTRACT 11.3): who is the same person under
``per-peer``, the sender under the ``sender`` dimension and ``per-channel-peer``, and a
rule's ``when.sender`` naming a person by the canonical name.

PicoClaw's rule syntax is accepted as its docs write it: a rule may have a ``name``, and
``when.chat`` may be written ``group:<id>``, ``direct:<id>`` or ``channel:<id>``: the chat id
and its chat type. A rule whose ``when`` can never match (a kind that contradicts
``chat_type``, a channel sessionhub does not know) stops start-up.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from ..errors import ConfigError, InvalidInput
from ..model import CHANNELS
from .inbound import CHAT_TYPES, InboundMessage
from .keys import DIMENSIONS, SCOPES, Dimension, Scope, format_key, key_parts
from .overrides import KeyOverrides
from .reset import RESET_MODES, ResetPolicy

WHEN_FIELDS: tuple[str, ...] = ("channel", "account", "chat", "chat_type", "space", "topic", "sender")
_SESSION_KEYS = ("scope", "dimensions", "identity_links", "title_max_chars", "reset")
_RESET_KEYS = ("mode", "at_hour", "idle_minutes", "timezone")
_RULE_KEYS = ("name", "agent", "agents", "when", "session_dimensions")
_CHAT_KINDS = ("group", "direct", "channel")


@dataclass(frozen=True, slots=True)
class DispatchRule:
    """``when`` maps fields of the message to the values that match (any of them).

    ``agents`` are the other agents a chat user of this rule may pick with ``/new AGENT``
    (``agent`` is always allowed); nothing else is open to them (CONTRACT 11.1).
    """

    agent: str
    when: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    session_dimensions: tuple[Dimension, ...] | None = None
    agents: tuple[str, ...] = ()
    name: str | None = None


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
            if all(self._matches(name, values, msg) for name, values in rule.when.items()):
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
        if name == "chat":
            return any(_chat_matches(v, msg) for v in values)
        value = getattr(msg, name)
        return value is not None and value in values

    @classmethod
    def from_config(cls, config: Mapping[str, Any], *, default_agent: str = "main") -> RoutingPolicy:
        """Build from a parsed ``sessionhub.toml`` (its ``[session]``, ``[session.reset]`` and
        ``[[dispatch.rules]]``; other sections are ignored); ``ConfigError`` names a bad key."""
        return _from_config(config, default_agent)


def _chat_matches(value: str, msg: InboundMessage) -> bool:
    """``when.chat``: a chat id, or PicoClaw's ``group:<id>`` / ``direct:<id>`` / ``channel:<id>``."""
    kind, sep, ident = value.partition(":")
    if sep and kind in _CHAT_KINDS:
        return msg.chat_type == kind and msg.chat == ident
    return msg.chat == value


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


# ---------------------------------------------------------------------------- config


def _from_config(config: Mapping[str, Any], default_agent: str) -> RoutingPolicy:
    if not isinstance(config, Mapping):
        raise ConfigError("configuration must be a table")
    session = _table(config.get("session", {}), "session")
    _no_unknown(session, _SESSION_KEYS, "session")
    scope = session.get("scope")
    if scope is not None and scope not in SCOPES:
        raise ConfigError(f"session.scope: must be one of {', '.join(SCOPES)}, not {scope!r}")
    dimensions = _dimensions(session.get("dimensions", ["chat"]), "session.dimensions")
    links = _identity_links(session.get("identity_links", {}))
    title_max = session.get("title_max_chars")
    if title_max is not None and (
        isinstance(title_max, bool) or not isinstance(title_max, int) or title_max < 1
    ):
        raise ConfigError(f"session.title_max_chars: must be a positive integer, not {title_max!r}")
    server = config.get("server", {})
    server_tz = server.get("timezone") if isinstance(server, Mapping) else None
    reset = _reset(session.get("reset", {}), server_tz if isinstance(server_tz, str) else "UTC")
    dispatch = _table(config.get("dispatch", {}), "dispatch")
    _no_unknown(dispatch, ("rules",), "dispatch")
    raw_rules = dispatch.get("rules", [])
    if not isinstance(raw_rules, list):
        raise ConfigError("dispatch.rules: must be an array of tables ([[dispatch.rules]])")
    rules = tuple(_rule(r, f"dispatch.rules[{i}]") for i, r in enumerate(raw_rules))
    if not isinstance(default_agent, str) or not default_agent:
        raise ConfigError("default agent must be a non-empty string")
    try:
        return RoutingPolicy(
            dimensions=dimensions,
            scope=cast("Scope | None", scope),
            identity_links=links,
            rules=rules,
            default_agent=default_agent,
            reset=reset,
        )
    except InvalidInput as exc:
        raise ConfigError(f"session.identity_links: {exc.message}") from exc


def _table(value: object, name: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ConfigError(f"{name}: must be a table")
    return value


def _no_unknown(table: Mapping[str, Any], known: Sequence[str], name: str) -> None:
    for key in table:
        if key not in known:
            raise ConfigError(f"{name}.{key}: unknown key (expected one of {', '.join(known)})")


def _dimensions(value: object, name: str) -> tuple[Dimension, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{name}: must be a list of dimensions ({', '.join(DIMENSIONS)})")
    for v in value:
        if v not in DIMENSIONS:
            raise ConfigError(f"{name}: unknown dimension {v!r} (expected {', '.join(DIMENSIONS)})")
    if len(set(value)) != len(value):
        raise ConfigError(f"{name}: a dimension is listed twice")
    return tuple(cast("list[Dimension]", value))


def _identity_links(value: object) -> dict[str, tuple[str, ...]]:
    links = _table(value, "session.identity_links")
    result: dict[str, tuple[str, ...]] = {}
    for canonical, ids in links.items():
        name = f"session.identity_links.{canonical}"
        if not canonical:
            raise ConfigError("session.identity_links: a canonical name is empty")
        if not isinstance(ids, list) or not all(isinstance(i, str) and i for i in ids):
            raise ConfigError(f"{name}: must be a list of ids ('channel:id' or a raw id)")
        result[str(canonical)] = tuple(ids)
    return result


def _reset(value: object, default_tz: str) -> ResetPolicy:
    table = _table(value, "session.reset")
    _no_unknown(table, _RESET_KEYS, "session.reset")
    mode = table.get("mode", "none")
    if mode not in RESET_MODES:
        raise ConfigError(f"session.reset.mode: must be one of {', '.join(RESET_MODES)}, not {mode!r}")
    values = {"mode": mode, "timezone": table.get("timezone", default_tz)}
    for key in ("at_hour", "idle_minutes"):
        if key in table:
            values[key] = table[key]
    for key, field_value in values.items():
        try:
            ResetPolicy(**{key: field_value})
        except InvalidInput as exc:
            raise ConfigError(f"session.reset.{key}: {exc.message}") from exc
    return ResetPolicy(**values)


def _rule(value: object, name: str) -> DispatchRule:
    rule = _table(value, name)
    _no_unknown(rule, _RULE_KEYS, name)
    agent = rule.get("agent")
    if not isinstance(agent, str) or not agent:
        raise ConfigError(f"{name}.agent: must be a non-empty string")
    rule_name = rule.get("name")
    if rule_name is not None and (not isinstance(rule_name, str) or not rule_name.strip()):
        raise ConfigError(f"{name}.name: must be a non-empty string")
    when_table = _table(rule.get("when", {}), f"{name}.when")
    when: dict[str, tuple[str, ...]] = {}
    for key, raw in when_table.items():
        if key not in WHEN_FIELDS:
            raise ConfigError(f"{name}.when.{key}: unknown key (expected one of {', '.join(WHEN_FIELDS)})")
        items = raw if isinstance(raw, list) else [raw]
        if not items or not all(isinstance(i, (str, int)) and not isinstance(i, bool) for i in items):
            raise ConfigError(f"{name}.when.{key}: must be a string or a list of strings")
        if key == "chat_type" and any(i not in CHAT_TYPES for i in items):
            raise ConfigError(f"{name}.when.chat_type: must be direct, group or channel")
        when[key] = tuple(str(i) for i in items)
    _check_matchable(when, f"{name}.when")
    dims = rule.get("session_dimensions")
    agents = rule.get("agents", [])
    if not isinstance(agents, list) or not all(isinstance(a, str) and a for a in agents):
        raise ConfigError(f"{name}.agents: must be a list of agent ids")
    return DispatchRule(
        agent=agent,
        when=when,
        session_dimensions=None if dims is None else _dimensions(dims, f"{name}.session_dimensions"),
        agents=tuple(agents),
        name=rule_name,
    )


def _check_matchable(when: Mapping[str, tuple[str, ...]], name: str) -> None:
    """Refuse a ``when`` no message can match: it would silently never pick its agent."""
    for channel in when.get("channel", ()):
        if channel not in CHANNELS:
            raise ConfigError(
                f"{name}.channel: unknown channel {channel!r} (expected one of {', '.join(CHANNELS)})"
            )
    types = set(when.get("chat_type", CHAT_TYPES))
    for chat in when.get("chat", ()):
        kind, sep, ident = chat.partition(":")
        if sep and kind in _CHAT_KINDS:
            if not ident:
                raise ConfigError(f"{name}.chat: {chat!r} names no chat id")
            if kind not in types:
                raise ConfigError(f"{name}.chat: {chat!r} can never match chat_type {sorted(types)}")
    for key, values in when.items():
        if any(not v.strip() for v in values):
            raise ConfigError(f"{name}.{key}: an empty value never matches")


__all__ = ["WHEN_FIELDS", "DispatchRule", "Route", "RoutingPolicy", "route"]
