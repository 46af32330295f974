"""Routing policy: scopes, dimensions, identity links, dispatch rules, overrides and config."""

from __future__ import annotations

from typing import Any

import pytest

from sessionhub.config import ServerSettings
from sessionhub.errors import ConfigError, InvalidInput
from sessionhub.routing.inbound import InboundMessage
from sessionhub.routing.overrides import KeyOverrides
from sessionhub.routing.policy import RoutingPolicy, route
from sessionhub.routing.reset import ResetPolicy
from sessionhub.routing.settings import DispatchSettings, SessionSettings


def from_config(config: dict[str, Any], *, default_agent: str = "main") -> RoutingPolicy:
    """The policy of a parsed config's ``[session]`` and ``[dispatch]`` (the sections alone:
    agent names are checked by ``Settings``, tests/core/test_config.py)."""
    server = ServerSettings.parse(config.get("server", {}), "server")
    return RoutingPolicy.from_settings(
        SessionSettings.parse(config.get("session", {}), "session"),
        DispatchSettings.parse(config.get("dispatch", {}), "dispatch"),
        default_agent=default_agent,
        timezone=server.timezone,
    )


def msg(channel: str = "telegram", **fields: Any) -> InboundMessage:
    values: dict[str, Any] = {"chat": "g1", "sender": "u1", "text": "hi", **fields}
    return InboundMessage(channel=channel, **values)


def test_default_policy_one_session_per_chat() -> None:
    """Default: agent main, one session per chat; a busy group shares it across senders."""
    p = RoutingPolicy()
    a, b = route(p, msg(sender="u1")), route(p, msg(sender="u2"))
    assert a.agent == "main" and a.key == b.key == "main:telegram:default:g1"
    assert a.base_key == a.key and a.rule is None and a.reset == ResetPolicy()


def test_sender_dimension_splits_a_busy_group() -> None:
    """With dimensions chat+sender each person in a group has their own session."""
    p = RoutingPolicy(dimensions=("chat", "sender"))
    assert route(p, msg(sender="u1")).key != route(p, msg(sender="u2")).key


def test_scope_main_joins_every_channel() -> None:
    """Scope main gives one session per agent for every channel and chat."""
    p = RoutingPolicy(scope="main")
    keys = {route(p, m).key for m in (msg(), msg("slack", chat="C1"), msg("discord", chat="dm:9"))}
    assert keys == {"main:main"}


def test_per_peer_with_identity_links_joins_telegram_and_slack() -> None:
    """Under per-peer the linked Telegram and Slack ids are one person, case-insensitively."""
    p = RoutingPolicy(
        scope="per-peer", identity_links={"alice": ("telegram:123", "slack:U123"), "bob": ("b0b",)}
    )
    tg = route(p, msg("telegram", chat="123", sender="123"))
    sl = route(p, msg("slack", chat="D1", sender="u123"))
    assert tg.key == sl.key == "main:peer:alice"
    assert route(p, msg("discord", chat="dm:5", sender="B0B")).key == "main:peer:bob"
    assert route(p, msg("slack", chat="D2", sender="U999")).key == "main:peer:slack:U999"


def test_per_channel_peer_is_chat_plus_sender() -> None:
    """per-channel-peer separates both chats and senders."""
    p = RoutingPolicy(scope="per-channel-peer")
    r = route(p, msg(chat="g1", sender="u1"))
    assert r.key == "main:telegram:default:g1:sender:u1" and r.dimensions == ("chat", "sender")


def test_dispatch_first_matching_rule_wins() -> None:
    """The first rule whose when matches picks the agent and may override the dimensions."""
    p = from_config(
        {
            "session": {"identity_links": {"alice": ["slack:U1"]}},
            "dispatch": {
                "rules": [
                    {
                        "agent": "support",
                        "when": {"channel": "slack", "space": "T1"},
                        "session_dimensions": ["chat", "sender"],
                    },
                    {"agent": "vip", "when": {"sender": "alice"}},
                    {"agent": "groups", "when": {"chat_type": ["group", "channel"]}},
                ]
            },
        }
    )
    r = route(p, msg("slack", chat="C1", space="T1", sender="U1", chat_type="channel"))
    assert (r.agent, r.rule, r.key) == ("support", 0, "support:slack:default:C1:sender:U1")
    r = route(p, msg("slack", chat="C1", space="T2", sender="u1"))
    assert (r.agent, r.rule) == ("vip", 1)
    r = route(p, msg("telegram", chat="g", chat_type="group"))
    assert (r.agent, r.key) == ("groups", "groups:telegram:default:g")
    assert route(p, msg("telegram", chat="d")).agent == "main"


def test_rule_dimensions_win_over_global_scope() -> None:
    """A rule's session_dimensions replace the global scope for the messages it matches."""
    p = from_config(
        {
            "session": {"scope": "main"},
            "dispatch": {
                "rules": [{"agent": "main", "when": {"channel": "discord"}, "session_dimensions": ["chat"]}]
            },
        }
    )
    assert route(p, msg("discord", chat="c")).key == "main:discord:default:c"
    assert route(p, msg("telegram")).key == "main:main"


def test_overrides_change_scope_and_keep_base_key() -> None:
    """/session scope overrides change the key; base_key (where overrides live) stays."""
    p = RoutingPolicy(identity_links={"alice": ("telegram:u1",)})
    m = msg(chat="g1", sender="u1")
    base = route(p, m).key
    main = route(p, m, KeyOverrides(scope="main"))
    peer = route(p, m, KeyOverrides(scope="peer"))
    assert (main.key, main.base_key) == ("main:main", base)
    assert (peer.key, peer.base_key) == ("main:peer:alice", base)
    q = RoutingPolicy(scope="main")
    chan = route(q, m, KeyOverrides(scope="channel"))
    assert (chan.key, chan.base_key) == ("main:telegram:default:g1", "main:main")


def test_overrides_change_reset_policy() -> None:
    """reset-time and idle-reset overrides turn resets on or off on top of the policy."""
    p = RoutingPolicy(reset=ResetPolicy("daily", at_hour=4, timezone="Europe/Berlin"))
    r = route(p, msg(), KeyOverrides(reset_time="07:30", idle_minutes=15)).reset
    assert (r.mode, r.at_hour, r.at_minute, r.idle_minutes, r.timezone) == (
        "daily+idle",
        7,
        30,
        15,
        "Europe/Berlin",
    )
    assert route(p, msg(), KeyOverrides(reset_time="off")).reset.mode == "none"
    assert KeyOverrides.from_dict(KeyOverrides(scope="peer", idle_minutes="off").to_dict()) == KeyOverrides(
        scope="peer", idle_minutes="off"
    )
    with pytest.raises(InvalidInput):
        KeyOverrides(reset_time="7pm")


def test_threads_are_separate_under_default() -> None:
    """Telegram topics and Slack threads get their own sessions with the default dimensions."""
    p = RoutingPolicy()
    assert route(p, msg(chat="g", topic="42")).key == "main:telegram:default:g:topic:42"
    assert route(p, msg("slack", chat="C", topic="1.2")).key == "main:slack:default:C:1.2"


def test_from_config_reads_reset_and_server_timezone() -> None:
    """[session.reset] is read; its timezone defaults to [server] timezone."""
    p = from_config(
        {
            "server": {"timezone": "Europe/Berlin"},
            "session": {"dimensions": ["chat", "topic"], "reset": {"mode": "daily", "at_hour": 5}},
        },
        default_agent="helper",
    )
    assert p.dimensions == ("chat", "topic") and p.default_agent == "helper"
    assert p.reset == ResetPolicy("daily", at_hour=5, timezone="Europe/Berlin")


@pytest.mark.parametrize(
    ("config", "named"),
    [
        ({"session": {"scope": "global"}}, "session.scope"),
        ({"session": {"dimensions": ["chat", "thread"]}}, "session.dimensions"),
        ({"session": {"dimensions": "chat"}}, "session.dimensions"),
        ({"session": {"colour": 1}}, "session.colour"),
        ({"session": {"identity_links": {"alice": "telegram:1"}}}, "session.identity_links.alice"),
        ({"session": {"identity_links": {"a": ["x"], "b": ["X"]}}}, "session.identity_links"),
        ({"session": {"reset": {"mode": "weekly"}}}, "session.reset.mode"),
        ({"session": {"reset": {"mode": "daily", "at_hour": 25}}}, "session.reset.at_hour"),
        ({"session": {"reset": {"timezone": "Nowhere/City"}}}, "session.reset.timezone"),
        ({"session": {"reset": {"idle_minutes": -5}}}, "session.reset.idle_minutes"),
        ({"session": {"reset": {"when": 1}}}, "session.reset.when"),
        ({"dispatch": {"rules": {"agent": "x"}}}, "dispatch.rules"),
        ({"dispatch": {"rules": [{"when": {}}]}}, "dispatch.rules[0].agent"),
        ({"dispatch": {"rules": [{"agent": "a", "when": {"guild": "1"}}]}}, "dispatch.rules[0].when.guild"),
        (
            {"dispatch": {"rules": [{"agent": "a", "when": {"chat_type": "dm"}}]}},
            "dispatch.rules[0].when.chat_type",
        ),
        (
            {"dispatch": {"rules": [{"agent": "a"}, {"agent": "b", "session_dimensions": ["x"]}]}},
            "dispatch.rules[1].session_dimensions",
        ),
        ({"dispatch": {"rules": [{"agent": "a", "extra": 1}]}}, "dispatch.rules[0].extra"),
    ],
)
def test_from_config_names_the_bad_key(config: dict[str, Any], named: str) -> None:
    """Every invalid value raises ConfigError whose message names the offending key."""
    with pytest.raises(ConfigError) as info:
        from_config(config)
    assert named in str(info.value)


def test_from_config_ignores_other_sections() -> None:
    """Sections owned by others ([database], [[agents]], ...) are left alone."""
    p = from_config(
        {"database": {"url": "sqlite://"}, "agents": [{"id": "x"}], "session": {"title_max_chars": 60}}
    )
    assert p == RoutingPolicy()
