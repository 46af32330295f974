"""Session keys: the per-channel forms of CONTRACT §4, escaping, and injectivity."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sessionhub.errors import InvalidInput
from sessionhub.routing.inbound import InboundMessage
from sessionhub.routing.keys import KeyParts, escape, format_key, key_parts, parse_key, session_key, unescape


def msg(channel: str = "telegram", **fields: str | None) -> InboundMessage:
    values: dict[str, str | None] = {"chat": "c1", "sender": "u1", "text": "hi", **fields}
    return InboundMessage(channel=channel, **values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("message", "key"),
    [
        (msg("telegram", chat="123456789"), "main:telegram:default:123456789"),
        (msg("telegram", chat="-100123", topic="42"), "main:telegram:default:-100123:topic:42"),
        (msg("slack", chat="C123"), "main:slack:default:C123"),
        (msg("slack", chat="C123", topic="1700000000.000100"), "main:slack:default:C123:1700000000.000100"),
        (msg("discord", chat="290926798999357250"), "main:discord:default:290926798999357250"),
        (msg("discord", chat="dm:8035"), "main:discord:default:dm:8035"),
        (msg("whatsapp", chat="16505551234"), "main:whatsapp:default:16505551234"),
        (msg("signal", chat="+4915112345678"), "main:signal:default:+4915112345678"),
        (msg("matrix", chat="!room:example.org"), "main:matrix:default:!room%3Aexample.org"),
        (msg("teams", chat="19:abc@thread.skype"), "main:teams:default:19%3Aabc@thread.skype"),
        (msg("google_chat", chat="spaces/AAAA"), "main:google_chat:default:spaces/AAAA"),
        (msg("matrix", chat="!r:x", topic="$t"), "main:matrix:default:!r%3Ax"),
    ],
)
def test_per_channel_forms(message: InboundMessage, key: str) -> None:
    """Default dimensions give the documented readable form; topics only where the contract says."""
    assert session_key("main", message) == key


def test_dimensions_and_scopes() -> None:
    """Each dimension adds a labelled part; scopes replace the channel form."""
    m = msg("discord", chat="chan", space="guild", topic="t", sender="u7")
    assert session_key("a", m, dimensions=("space", "chat", "topic", "sender")) == (
        "a:discord:default:space:guild:chan:topic:t:sender:u7"
    )
    assert session_key("a", m, dimensions=("sender",)) == "a:discord:default:sender:u7"
    assert session_key("a", m, dimensions=()) == "a:discord:default"
    assert session_key("a", m, scope="per-channel-peer") == "a:discord:default:chan:sender:u7"
    assert session_key("a", m, scope="main") == "a:main"
    assert session_key("a", m, scope="per-peer") == "a:peer:discord:u7"
    assert session_key("a", m, scope="per-peer", peer="alice") == "a:peer:alice"


def test_threads_follow_the_chat_dimension() -> None:
    """Telegram topics and Slack threads are separate under the default but not without chat."""
    tg = msg("telegram", chat="1", topic="9", sender="u")
    assert session_key("a", tg) != session_key("a", msg("telegram", chat="1", sender="u"))
    assert session_key("a", tg, dimensions=("sender",)) == "a:telegram:default:sender:u"


def test_escaping_keeps_ids_with_colons_apart() -> None:
    """Ids containing ':' or '%' or equal to label words cannot imitate another key's structure."""
    a = session_key("main", msg("slack", chat="C1:2"))
    b = session_key("main", msg("slack", chat="C1", topic="2"))
    assert a == "main:slack:default:C1%3A2" and b == "main:slack:default:C1:2"
    assert session_key("main", msg("telegram", chat="topic")) == "main:telegram:default:%74opic"
    assert session_key("main", msg("telegram", chat="50%")) == "main:telegram:default:50%25"
    assert (
        escape("main", frozenset({"main"})) == "%6Dain" and unescape("%6Dain", frozenset({"main"})) == "main"
    )


@pytest.mark.parametrize(
    "bad", ["", "main", "a:main:x", "a:peer", "a:tg:acct:topic", "a:%zz:x", "a:tg:x:%3a"]
)
def test_parse_key_refuses_what_format_key_never_writes(bad: str) -> None:
    """parse_key raises InvalidInput for malformed or non-canonical keys."""
    with pytest.raises(InvalidInput):
        parse_key(bad)


def test_invalid_scope_and_dimension() -> None:
    """Unknown scopes and dimensions are refused, not silently ignored."""
    with pytest.raises(InvalidInput):
        key_parts("a", msg(), scope="everyone")  # type: ignore[arg-type]
    with pytest.raises(InvalidInput):
        key_parts("a", msg(), dimensions=("colour",))  # type: ignore[arg-type]


ids = st.text(
    alphabet=st.sampled_from(list("ab:%mdtopicsenrmain0D-_/!@ ")), min_size=1, max_size=8
) | st.sampled_from(["main", "peer", "space", "topic", "sender", "dm", "dm:1", "%3A", ":", "%"])
channels = st.sampled_from(["telegram", "slack", "discord", "matrix", "main", "peer", "dm", "x:y"])
opt = st.none() | ids


@st.composite
def parts(draw: st.DrawFn) -> KeyParts:
    kind = draw(st.sampled_from(["main", "peer", "chat"]))
    agent = draw(ids)
    if kind == "main":
        return KeyParts(agent, "main")
    if kind == "peer":
        return KeyParts(agent, "peer", channel=draw(st.none() | channels), peer=draw(ids))
    return KeyParts(
        agent,
        "chat",
        channel=draw(channels),
        account=draw(ids),
        space=draw(opt),
        chat=draw(opt),
        topic=draw(opt),
        sender=draw(opt),
    )


@given(parts())
def test_parse_key_inverts_format_key(p: KeyParts) -> None:
    """Every key reads back to exactly the parts it was made from (so the function is injective)."""
    key = format_key(p)
    assert parse_key(key) == p


@given(parts(), parts())
def test_distinct_parts_never_share_a_key(p: KeyParts, q: KeyParts) -> None:
    """Two different sets of parts (agent, scope, fields) always give two different keys."""
    assert (format_key(p) == format_key(q)) == (p == q)


@given(ids, ids, ids, st.none() | ids, st.none() | ids)
def test_distinct_messages_distinct_keys_under_each_scope(
    agent: str, chat: str, sender: str, topic: str | None, space: str | None
) -> None:
    """A message's key under one scope never equals the key of a different chat or another scope."""
    m = msg("slack", chat=chat, sender=sender, topic=topic, space=space)
    other = msg("slack", chat=chat + "x", sender=sender, topic=topic, space=space)
    keys = {
        session_key(agent, m),
        session_key(agent, m, scope="main"),
        session_key(agent, m, scope="per-peer"),
        session_key(agent, m, scope="per-channel-peer"),
    }
    assert len(keys) == 4
    assert session_key(agent, m) != session_key(agent, other)
    assert session_key(agent, m, scope="per-channel-peer") != session_key(
        agent, other, scope="per-channel-peer"
    )
