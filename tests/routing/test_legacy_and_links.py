"""PicoClaw/OpenClaw `agent:` keys, identity links wherever a sender is used, and PicoClaw's
dispatch rule syntax (CONTRACT 11.2, 11.3)."""

from __future__ import annotations

from typing import Any

import pytest

from sessionhub.errors import ConfigError, InvalidInput
from sessionhub.routing.inbound import InboundMessage
from sessionhub.routing.legacy import Origin, canonical_key, origin_key, parse_legacy_key
from sessionhub.routing.policy import RoutingPolicy, route

from .test_policy import from_config

AGENTS = ("main", "coder")


def msg(channel: str = "telegram", **kw: Any) -> InboundMessage:
    return InboundMessage(channel=channel, **{"chat": "c", "sender": "s", "text": "x", **kw})


@pytest.mark.parametrize(
    ("key", "origin"),
    [
        ("agent:main:main", Origin(kind="main", agent="main")),
        ("agent:main:direct:alice", Origin(kind="peer", agent="main", peer="alice")),
        ("agent:main:dm:alice", Origin(kind="peer", agent="main", peer="alice")),
        (
            "agent:main:telegram:direct:123",
            Origin(agent="main", channel="telegram", chat="123", sender="123"),
        ),
        (
            "agent:main:telegram:bot2:direct:123",
            Origin(agent="main", channel="telegram", account="bot2", chat="123", sender="123"),
        ),
        (
            "agent:main:telegram:group:-1001234567890:topic:42",
            Origin(agent="main", channel="telegram", chat="-1001234567890", chat_type="group", topic="42"),
        ),
        (
            "agent:main:discord:channel:123456:thread:987654",
            Origin(agent="main", channel="discord", chat="123456", chat_type="channel", topic="987654"),
        ),
        (  # PicoClaw lowercases keys; Slack ids are upper case on Slack
            "agent:main:slack:direct:u0123abc",
            Origin(agent="main", channel="slack", chat="U0123ABC", sender="U0123ABC"),
        ),
        ("agent:main:discord:direct:55", Origin(agent="main", channel="discord", chat="dm:55", sender="55")),
    ],
)
def test_parse_legacy_key(key: str, origin: Origin) -> None:
    """Every `agent:` form PicoClaw and OpenClaw document reads into the chat it names."""
    assert parse_legacy_key(key) == origin


@pytest.mark.parametrize(
    "key", ["agent:", "agent:main", "agent:main:telegram:x:1", "agent:main:direct:", "main:x"]
)
def test_malformed_legacy_keys(key: str) -> None:
    with pytest.raises(InvalidInput):
        parse_legacy_key(key)


def test_legacy_key_is_the_key_of_the_next_message() -> None:
    """The canonical key of a legacy key is the key the next inbound message of that chat gets,
    under the policy configured now; canonical keys and ids pass through, junk is refused."""
    for policy in (
        RoutingPolicy(),
        RoutingPolicy(scope="per-channel-peer"),
        RoutingPolicy(dimensions=("chat", "sender")),
        RoutingPolicy(scope="main"),
    ):
        dm = msg(chat="123", sender="123")
        assert canonical_key(policy, "agent:main:telegram:direct:123", AGENTS) == route(policy, dm).key
        group = msg(chat="-100", chat_type="group", topic="7", sender="9")
        expected = route(policy, group).key.replace(":sender:9", "")  # a group key names no sender
        assert canonical_key(policy, "agent:main:telegram:group:-100:topic:7", AGENTS) == expected
    policy = RoutingPolicy()
    assert canonical_key(policy, "agent:coder:telegram:direct:5", AGENTS) == "coder:telegram:default:5"
    assert canonical_key(policy, "agent:gone:telegram:direct:5", AGENTS) == "main:telegram:default:5"
    assert canonical_key(policy, "agent:main:main", AGENTS) == "main:main"
    assert canonical_key(policy, "main:telegram:default:5", AGENTS) == "main:telegram:default:5"
    assert canonical_key(policy, "ses_" + "a" * 25, AGENTS) == "ses_" + "a" * 25
    with pytest.raises(InvalidInput):
        canonical_key(policy, "not a key", AGENTS)
    assert origin_key(policy, Origin(channel="cli", chat="default"), AGENTS) is None


def test_legacy_peer_keys_follow_identity_links() -> None:
    """`agent:<a>:direct:<peer>` (per-peer) is the person's key: a canonical name or a linked id."""
    policy = RoutingPolicy(scope="per-peer", identity_links={"alice": ("telegram:123", "slack:U1")})
    assert canonical_key(policy, "agent:main:direct:alice", AGENTS) == "main:peer:alice"
    assert canonical_key(policy, "agent:main:direct:123", AGENTS) == "main:peer:alice"
    assert route(policy, msg(chat="123", sender="123")).key == "main:peer:alice"


LINKS = {"alice": ("telegram:111", "telegram:112", "slack:U1")}


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        (RoutingPolicy(scope="per-peer", identity_links=LINKS), "main:peer:alice"),
        (
            RoutingPolicy(scope="per-channel-peer", identity_links=LINKS),
            "main:telegram:default:g:sender:alice",
        ),
        (
            RoutingPolicy(dimensions=("chat", "sender"), identity_links=LINKS),
            "main:telegram:default:g:sender:alice",
        ),
        (RoutingPolicy(dimensions=("sender",), identity_links=LINKS), "main:telegram:default:sender:alice"),
    ],
)
def test_identity_links_under_every_scope(policy: RoutingPolicy, expected: str) -> None:
    """Two linked ids of one person share one session under every scope that uses the sender
    (PicoClaw's own example: `["chat", "sender"]`, two linked ids in one chat)."""
    a = route(policy, msg(chat="g", chat_type="group", sender="111"))
    assert a.key == expected
    # the same person under their second Telegram account, in the same chat
    assert route(policy, msg(chat="g", chat_type="group", sender="112")).key == expected
    assert route(policy, msg(chat="g", chat_type="group", sender="222")).key != expected
    if policy.scope == "per-peer":  # across channels too
        assert route(policy, msg("slack", chat="C9", sender="U1")).key == expected


def test_identity_links_in_when_sender() -> None:
    policy = from_config(
        {
            "session": {"identity_links": {"alice": ["telegram:111", "slack:U1"]}},
            "dispatch": {"rules": [{"agent": "vip", "when": {"sender": "alice"}}]},
        }
    )
    assert route(policy, msg(sender="111")).agent == "vip"
    assert route(policy, msg("slack", sender="U1")).agent == "vip"
    assert route(policy, msg(sender="222")).agent == "main"


def test_picoclaw_dispatch_rules() -> None:
    """`name` is accepted; `chat = "group:<id>"` matches that chat when it is a group, and only then."""
    policy = from_config(
        {
            "dispatch": {
                "rules": [
                    {"name": "family group", "agent": "family", "when": {"chat": "group:-1001234567890"}},
                    {"name": "my dm", "agent": "me", "when": {"channel": "telegram", "chat": ["direct:42"]}},
                    {"agent": "plain", "when": {"chat": "-5"}},
                ]
            }
        }
    )
    assert policy.rules[0].name == "family group"
    group = msg(chat="-1001234567890", chat_type="group")
    assert route(policy, group).agent == "family"
    assert route(policy, msg(chat="-1001234567890", chat_type="channel")).agent == "main"
    assert route(policy, msg(chat="42")).agent == "me"
    assert route(policy, msg(chat="42", chat_type="group")).agent == "main"
    assert route(policy, msg(chat="-5", chat_type="group")).agent == "plain"


@pytest.mark.parametrize(
    ("rule", "needle"),
    [
        ({"agent": "a", "name": ""}, "dispatch.rules[0].name"),
        ({"agent": "a", "when": {"chat": "group:"}}, "names no chat id"),
        ({"agent": "a", "when": {"chat": "group:1", "chat_type": "direct"}}, "can never match"),
        ({"agent": "a", "when": {"channel": "fax"}}, "unknown channel 'fax'"),
        ({"agent": "a", "when": {"sender": ""}}, "an empty value never matches"),
        ({"agent": "a", "when": {"peer": "x"}}, "dispatch.rules[0].when.peer: unknown key"),
        ({"agent": "a", "match": {}}, "dispatch.rules[0].match: unknown key"),
    ],
)
def test_rules_that_cannot_match_stop_start_up(rule: dict[str, Any], needle: str) -> None:
    with pytest.raises(ConfigError) as err:
        from_config({"dispatch": {"rules": [rule]}})
    assert needle in err.value.message
