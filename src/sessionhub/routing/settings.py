"""The routing sections of ``sessionhub.toml``: ``[session]``, ``[session.reset]`` and
``[[dispatch.rules]]``, as typed, frozen settings.

``config.py`` parses them once with the rest of the file; ``routing/policy.py`` turns them
into a ``RoutingPolicy`` without checking anything again. Each bad value raises
``ConfigError`` naming its key (``session.reset.at_hour: ...``, ``dispatch.rules[1].when.guild:
unknown key``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Annotated, Any, cast

from pydantic import BeforeValidator, Field, field_validator

from ..section import Names, NonEmptyStr, Section, Timezone, fail, int_between
from .inbound import CHAT_TYPES
from .keys import DIMENSIONS, SCOPES, Dimension, Scope
from .reset import RESET_MODES, ResetMode


def _dimensions(value: Any) -> tuple[Dimension, ...]:
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise fail(f"must be a list of dimensions ({', '.join(DIMENSIONS)})")
    for v in value:
        if v not in DIMENSIONS:
            raise fail(f"unknown dimension {v!r} (expected {', '.join(DIMENSIONS)})")
    if len(set(value)) != len(value):
        raise fail("a dimension is listed twice")
    return tuple(cast("list[Dimension]", value))


def _choice(allowed: tuple[str, ...]) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        if value not in allowed:
            raise fail(f"must be one of {', '.join(allowed)}, not {value!r}")
        return str(value)

    return check


def _match_values(value: Any) -> tuple[str, ...]:
    items = value if isinstance(value, list | tuple) else [value]
    if not items or not all(isinstance(i, str | int) and not isinstance(i, bool) for i in items):
        raise fail("must be a string or a list of strings")
    return tuple(str(i) for i in items)


def _chat_types(value: Any) -> tuple[str, ...]:
    items = _match_values(value)
    if any(i not in CHAT_TYPES for i in items):
        raise fail("must be direct, group or channel")
    return items


def _agent_ids(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list | tuple) or not all(isinstance(a, str) and a for a in value):
        raise fail("must be a list of agent ids")
    return tuple(value)


Dimensions = Annotated[tuple[Dimension, ...], BeforeValidator(_dimensions)]
MatchValues = Annotated[tuple[str, ...], BeforeValidator(_match_values)]


class ResetSettings(Section):
    """``[session.reset]``; ``timezone`` None means ``[server] timezone``."""

    mode: Annotated[ResetMode, BeforeValidator(_choice(RESET_MODES))] = "none"
    at_hour: Annotated[int, int_between(0, 23)] = 4
    idle_minutes: Annotated[int, int_between(1, 10**7)] = 60
    timezone: Timezone | None = None


class SessionSettings(Section):
    """``[session]``: how inbound messages are grouped into sessions, and titles."""

    scope: Annotated[Scope, BeforeValidator(_choice(SCOPES))] | None = None
    dimensions: Dimensions = ("chat",)
    identity_links: dict[str, Names] = Field(default_factory=dict)
    title_max_chars: Annotated[int, int_between(10, 500)] = 60
    reset: ResetSettings = ResetSettings()

    @field_validator("identity_links", mode="before")
    @classmethod
    def _links_table(cls, value: Any) -> Any:
        if not isinstance(value, Mapping):
            raise fail("must be a table of canonical name = [ids]")
        if any(not canonical for canonical in value):
            raise fail("a canonical name is empty")
        return value

    @field_validator("identity_links", mode="after")
    @classmethod
    def _links_unique(cls, value: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        index: dict[str, str] = {}
        for canonical, ids in value.items():
            for raw in ids:
                folded = raw.casefold()
                if index.get(folded, canonical) != canonical:
                    raise fail(f"identity {raw!r} is linked to both {index[folded]!r} and {canonical!r}")
                index[folded] = canonical
        return value


class WhenSettings(Section):
    """A dispatch rule's ``when``: message fields and the values that match (any of them)."""

    channel: MatchValues | None = None
    account: MatchValues | None = None
    chat: MatchValues | None = None
    chat_type: Annotated[tuple[str, ...], BeforeValidator(_chat_types)] | None = None
    space: MatchValues | None = None
    topic: MatchValues | None = None
    sender: MatchValues | None = None

    def conditions(self) -> dict[str, tuple[str, ...]]:
        """The fields this rule looks at, with their values."""
        return {name: value for name, value in self if value is not None}


class DispatchRule(Section):
    """One ``[[dispatch.rules]]`` table.

    ``agents`` are the other agents a chat user of this rule may pick with ``/new AGENT``
    (``agent`` is always allowed); nothing else is open to them (CONTRACT 11.1).
    ``session_dimensions`` replace both ``[session] dimensions`` and ``scope``.
    """

    agent: NonEmptyStr
    when: WhenSettings = WhenSettings()
    agents: Annotated[tuple[str, ...], BeforeValidator(_agent_ids)] = ()
    session_dimensions: Dimensions | None = None


def _rules(value: Any) -> Any:
    if not isinstance(value, list | tuple):
        raise fail("must be an array of tables ([[dispatch.rules]])")
    return value


class DispatchSettings(Section):
    """``[dispatch]``: the rules, the first matching one wins."""

    rules: Annotated[tuple[DispatchRule, ...], BeforeValidator(_rules)] = ()


__all__ = ["DispatchRule", "DispatchSettings", "ResetSettings", "SessionSettings", "WhenSettings"]
