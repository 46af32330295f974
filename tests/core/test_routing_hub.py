"""Routing inbound messages to sessions through the hub, on every backend (CONTRACT §4, §5, §9)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

import sessionhub
from sessionhub.agents.turns import TurnManager
from sessionhub.config import AgentSettings, CommandSettings, Settings
from sessionhub.errors import ConfigError
from sessionhub.hub import Hub
from sessionhub.model import Session
from sessionhub.routing.channels import parse_all
from sessionhub.routing.inbound import InboundMessage
from sessionhub.testing import FakeClock

FIXTURES = Path(__file__).parent.parent / "routing" / "fixtures"
MakeHub = Callable[..., Awaitable[Hub]]


@pytest.fixture
async def make_hub(backend_url: str, encryption_key: str | None, clock: FakeClock) -> AsyncIterator[MakeHub]:
    """Open hubs with custom settings on the test's backend (closed at the end)."""
    opened: list[Hub] = []

    async def make(**settings: Any) -> Hub:
        h = await sessionhub.open(
            backend_url, clock=clock, settings=Settings(**settings), encryption_key=encryption_key
        )
        opened.append(h)
        return h

    yield make
    for h in opened:
        await h.close()


def msg(
    channel: str = "telegram", chat: str = "100", sender: str = "u1", text: str = "hello", **kw: Any
) -> InboundMessage:
    return InboundMessage(channel=channel, chat=chat, sender=sender, text=text, **kw)


async def texts(hub: Hub, s: Session) -> list[str]:
    return [m.content for m in await hub.get_history(s.id)]


# -- keys, scopes, dimensions -----------------------------------------------------------------


async def test_default_chat_dimension(hub: Hub) -> None:
    """By default a chat is one session whoever speaks; another chat, account or channel is another."""
    a, _ = await hub.record_inbound(msg(chat="-100", chat_type="group", sender="u1", text="one"))
    b, _ = await hub.record_inbound(msg(chat="-100", chat_type="group", sender="u2", text="two"))
    assert a.id == b.id and a.key == "main:telegram:default:-100"
    assert b.message_count == 2 and await texts(hub, b) == ["one", "two"]
    assert (a.source, a.channel, a.agent) == ("channel", "telegram", "main")
    other = await hub.get_or_create_session(channel="telegram", chat="-200", sender="u1")
    acct = await hub.get_or_create_session(channel="telegram", chat="-100", sender="u1", account="bot2")
    slack = await hub.get_or_create_session(channel="slack", chat="-100", sender="u1")
    assert len({a.id, other.id, acct.id, slack.id}) == 4
    assert acct.key == "main:telegram:bot2:-100"


async def test_telegram_topics_and_plain_group_replies(hub: Hub) -> None:
    """Forum topics are separate sessions; a group without topics keeps replies in the group's session."""
    group = await hub.get_or_create_session(channel="telegram", chat="-1001", sender="u1", chat_type="group")
    t42 = await hub.get_or_create_session(channel="telegram", chat="-1001", sender="u1", topic="42")
    t43 = await hub.get_or_create_session(channel="telegram", chat="-1001", sender="u2", topic="43")
    again = await hub.get_or_create_session(channel="telegram", chat="-1001", sender="u9", topic="42")
    assert len({group.id, t42.id, t43.id}) == 3 and again.id == t42.id
    assert t42.key == "main:telegram:default:-1001:topic:42"


async def test_slack_threads(hub: Hub) -> None:
    """Slack messages outside threads share the channel's session; each thread has its own."""
    top1 = await hub.get_or_create_session(channel="slack", chat="C1", sender="U1", chat_type="channel")
    top2 = await hub.get_or_create_session(channel="slack", chat="C1", sender="U2", chat_type="channel")
    th = await hub.get_or_create_session(channel="slack", chat="C1", sender="U2", topic="1700.01")
    assert top1.id == top2.id != th.id and th.key == "main:slack:default:C1:1700.01"


async def test_discord_dms_and_channels(hub: Hub) -> None:
    """A Discord DM is its own session keyed dm:{user}; guild channels are keyed by channel id."""
    dm = await hub.get_or_create_session(channel="discord", chat="dm:U7", sender="U7")
    ch = await hub.get_or_create_session(channel="discord", chat="555", sender="U7", space="G1")
    assert dm.key == "main:discord:default:dm:U7" and ch.key == "main:discord:default:555"


async def test_busy_group_with_sender_dimension(make_hub: MakeHub) -> None:
    """dimensions [chat, sender] give every person in a busy group their own session."""
    hub = await make_hub(session={"dimensions": ["chat", "sender"]})
    a = await hub.get_or_create_session(channel="telegram", chat="-5", sender="u1")
    b = await hub.get_or_create_session(channel="telegram", chat="-5", sender="u2")
    a2 = await hub.get_or_create_session(channel="telegram", chat="-5", sender="u1")
    assert a.id == a2.id != b.id and a.key == "main:telegram:default:-5:sender:u1"


async def test_space_dimension(make_hub: MakeHub) -> None:
    """dimensions [space] share one session across the channels of a guild."""
    hub = await make_hub(session={"dimensions": ["space"]})
    a = await hub.get_or_create_session(channel="discord", chat="1", sender="u1", space="G")
    b = await hub.get_or_create_session(channel="discord", chat="2", sender="u2", space="G")
    c = await hub.get_or_create_session(channel="discord", chat="1", sender="u1", space="H")
    assert a.id == b.id != c.id and a.key == "main:discord:default:space:G"


async def test_scope_main(make_hub: MakeHub) -> None:
    """scope main: one session per agent for every channel."""
    hub = await make_hub(session={"scope": "main"})
    a, _ = await hub.record_inbound(msg(channel="telegram", chat="1", text="from telegram"))
    b, _ = await hub.record_inbound(msg(channel="slack", chat="C", sender="U", text="from slack"))
    assert a.id == b.id and a.key == "main:main"
    assert await texts(hub, b) == ["from telegram", "from slack"]


async def test_per_peer_with_identity_links(make_hub: MakeHub) -> None:
    """per-peer with identity links joins one person's Telegram and Slack; others stay apart."""
    hub = await make_hub(
        session={"scope": "per-peer", "identity_links": {"ada": ["telegram:123", "SLACK:u123"]}}
    )
    t = await hub.get_or_create_session(channel="telegram", chat="123", sender="123")
    s = await hub.get_or_create_session(channel="slack", chat="D1", sender="U123")
    other = await hub.get_or_create_session(channel="slack", chat="D2", sender="U999")
    group = await hub.get_or_create_session(channel="telegram", chat="-77", sender="123", chat_type="group")
    assert t.id == s.id == group.id != other.id
    assert t.key == "main:peer:ada" and other.key == "main:peer:slack:U999"


async def test_per_channel_peer(make_hub: MakeHub) -> None:
    """per-channel-peer: one session per chat and sender."""
    hub = await make_hub(session={"scope": "per-channel-peer"})
    a = await hub.get_or_create_session(channel="telegram", chat="-1", sender="u1")
    b = await hub.get_or_create_session(channel="telegram", chat="-1", sender="u2")
    c = await hub.get_or_create_session(channel="telegram", chat="-2", sender="u1")
    assert len({a.id, b.id, c.id}) == 3 and a.key == "main:telegram:default:-1:sender:u1"


async def test_dispatch_rules_choose_agent_and_dimensions(make_hub: MakeHub) -> None:
    """The first matching dispatch rule picks the agent (and its model) and may override dimensions."""
    hub = await make_hub(
        agents=(AgentSettings(id="main"), AgentSettings(id="support", model="support-model")),
        dispatch={
            "rules": [
                {"agent": "support", "when": {"channel": "slack", "space": "T1"},
                 "session_dimensions": ["chat", "sender"]},
                {"agent": "main", "when": {"channel": "slack"}},
            ]
        },
    )  # fmt: skip
    s1 = await hub.get_or_create_session(channel="slack", chat="C1", sender="U1", space="T1")
    s2 = await hub.get_or_create_session(channel="slack", chat="C1", sender="U2", space="T1")
    s3 = await hub.get_or_create_session(channel="slack", chat="C1", sender="U1", space="T2")
    assert (s1.agent, s1.model) == ("support", "support-model") and s1.id != s2.id
    assert s1.key == "support:slack:default:C1:sender:U1"
    assert s3.agent == "main" and s3.key == "main:slack:default:C1"


@pytest.mark.parametrize(
    ("settings", "names"),
    [
        ({"session": {"scope": "everyone"}}, "session.scope"),
        ({"session": {"reset": {"mode": "hourly"}}}, "session.reset.mode"),
        ({"session": {"reset": {"mode": "daily", "timezone": "Mars/Base"}}}, "session.reset.timezone"),
        ({"dispatch": {"rules": [{"agent": "ghost"}]}}, "dispatch.rules[0].agent"),
        ({"retention": {"seen_events_max": 0}}, "retention.seen_events_max"),
    ],
)
async def test_bad_routing_config_fails_at_open(
    backend_url: str, settings: dict[str, Any], names: str
) -> None:
    """A wrong routing value stops opening the hub with a ConfigError naming it."""
    with pytest.raises(ConfigError, match=names.replace("[", r"\[").replace("]", r"\]")):
        await sessionhub.open(backend_url, settings=Settings(**settings))


# -- resets -----------------------------------------------------------------------------------


async def test_no_reset_by_default(hub: Hub, clock: FakeClock) -> None:
    """Without a reset policy a key keeps its session through weeks of silence."""
    a, _ = await hub.record_inbound(msg(text="first"))
    clock.advance(days=30)
    b, _ = await hub.record_inbound(msg(text="later"))
    assert a.id == b.id and b.message_count == 2


async def test_idle_reset_keeps_old_and_moves_trigger(make_hub: MakeHub, clock: FakeClock) -> None:
    """After idle_minutes a new session starts; the triggering message is in it; the old one is intact."""
    hub = await make_hub(session={"reset": {"mode": "idle", "idle_minutes": 60}})
    old, _ = await hub.record_inbound(msg(text="one"))
    clock.advance(minutes=59)
    same, _ = await hub.record_inbound(msg(text="two"))
    clock.advance(minutes=60)
    new, m = await hub.record_inbound(msg(text="three"))
    assert same.id == old.id and new.id != old.id and new.key == old.key
    assert m is not None and m.session_id == new.id and m.seq == 1
    assert await texts(hub, new) == ["three"] and await texts(hub, old) == ["one", "two"]
    kept = await hub.get_session(old.id)
    assert kept.status == "active" and kept.message_count == 2


async def test_only_conversation_counts_as_activity(make_hub: MakeHub, clock: FakeClock) -> None:
    """Renames and metadata writes do not refresh the idle timer."""
    hub = await make_hub(session={"reset": {"mode": "idle", "idle_minutes": 60}})
    old, _ = await hub.record_inbound(msg(text="one"))
    clock.advance(minutes=50)
    await hub.rename(old.id, "renamed")
    await hub.set_metadata(old.id, {"x": 1})
    clock.advance(minutes=10)
    new, _ = await hub.record_inbound(msg(text="two"))
    assert new.id != old.id


async def test_daily_reset_at_hour_in_timezone(make_hub: MakeHub, clock: FakeClock) -> None:
    """A daily reset fires at the first message after at_hour local time, not at UTC midnight."""
    hub = await make_hub(session={"reset": {"mode": "daily", "at_hour": 4, "timezone": "Europe/Berlin"}})
    clock.set(datetime(2026, 1, 14, 22, 0, tzinfo=UTC))  # 23:00 Berlin
    a, _ = await hub.record_inbound(msg(text="late"))
    clock.set(datetime(2026, 1, 15, 2, 59, tzinfo=UTC))  # 03:59 Berlin, a new UTC day
    b, _ = await hub.record_inbound(msg(text="early"))
    clock.set(datetime(2026, 1, 15, 3, 0, tzinfo=UTC))  # 04:00 Berlin
    c, _ = await hub.record_inbound(msg(text="morning"))
    d, _ = await hub.record_inbound(msg(text="again"))
    assert a.id == b.id != c.id == d.id
    assert await texts(hub, c) == ["morning", "again"]


async def test_daily_reset_across_dst_changes(make_hub: MakeHub, clock: FakeClock) -> None:
    """At a DST gap the boundary moves forward by the gap; in an overlap it fires once."""
    hub = await make_hub(session={"reset": {"mode": "daily", "at_hour": 2, "timezone": "Europe/Berlin"}})
    # Spring forward 2026-03-29: 02:00 does not exist; the boundary is 03:00 CEST = 01:00 UTC.
    clock.set(datetime(2026, 3, 29, 0, 30, tzinfo=UTC))
    a, _ = await hub.record_inbound(msg(text="a"))
    clock.set(datetime(2026, 3, 29, 0, 59, tzinfo=UTC))
    b, _ = await hub.record_inbound(msg(text="b"))
    clock.set(datetime(2026, 3, 29, 1, 0, tzinfo=UTC))
    c, _ = await hub.record_inbound(msg(text="c"))
    assert a.id == b.id != c.id
    # Fall back 2026-10-25: 02:00 happens twice; the first (00:00 UTC) is the boundary.
    clock.set(datetime(2026, 10, 24, 23, 30, tzinfo=UTC))
    d, _ = await hub.record_inbound(msg(text="d"))
    clock.set(datetime(2026, 10, 25, 0, 0, tzinfo=UTC))
    e, _ = await hub.record_inbound(msg(text="e"))
    clock.set(datetime(2026, 10, 25, 1, 30, tzinfo=UTC))  # the second 02:30 local
    f, _ = await hub.record_inbound(msg(text="f"))
    assert d.id != e.id == f.id


async def test_daily_and_idle(make_hub: MakeHub, clock: FakeClock) -> None:
    """daily+idle resets on whichever comes first."""
    hub = await make_hub(session={"reset": {"mode": "daily+idle", "at_hour": 4, "idle_minutes": 30}})
    clock.set(datetime(2026, 1, 15, 3, 50, tzinfo=UTC))
    a, _ = await hub.record_inbound(msg(text="a"))
    clock.advance(minutes=15)  # 04:05: crossed the daily boundary
    b, _ = await hub.record_inbound(msg(text="b"))
    clock.advance(minutes=29)
    c, _ = await hub.record_inbound(msg(text="c"))
    clock.advance(minutes=30)
    d, _ = await hub.record_inbound(msg(text="d"))
    assert a.id != b.id == c.id != d.id


async def test_pre_reset_hooks(make_hub: MakeHub, clock: FakeClock) -> None:
    """Sync and async hooks run before every reset with the old session and the reason."""
    hub = await make_hub(session={"reset": {"mode": "idle", "idle_minutes": 10}})
    calls: list[tuple[str, str, int]] = []

    def sync_hook(old: Session, reason: str) -> None:
        calls.append(("sync", reason, old.message_count))

    @hub.on_before_reset
    async def async_hook(old: Session, reason: str) -> None:
        await asyncio.sleep(0)
        calls.append(("async", reason, old.message_count))

    hub.on_before_reset(sync_hook)
    await hub.record_inbound(msg(text="a"))
    clock.advance(minutes=10)
    await hub.record_inbound(msg(text="b"))
    await hub.reset(channel="telegram", chat="100", sender="u1")
    assert calls == [("async", "idle", 1), ("sync", "idle", 1), ("async", "reset", 1), ("sync", "reset", 1)]
    viewer = hub.as_user("bob")
    await viewer.get_or_create_session(channel="telegram", chat="100", sender="u1")
    await viewer.reset(channel="telegram", chat="100", sender="u1")
    assert calls[-1] == ("sync", "reset", 0)


async def test_explicit_reset_and_overrides_survive(hub: Hub, clock: FakeClock) -> None:
    """hub.reset starts a new session at once; per-key overrides (idle reset) survive it."""
    first, _ = await hub.record_inbound(msg(text="hi"))
    res = await hub.handle_inbound(msg(text="/session idle-reset 5"))
    assert res.reply is not None and "5 idle minutes" in res.reply
    second = await hub.reset(channel="telegram", chat="100", sender="u1")
    assert second.id != first.id and second.key == first.key
    assert (await hub.get_session(first.id)).message_count == 1
    s, _ = await hub.record_inbound(msg(text="x"))
    assert s.id == second.id
    clock.advance(minutes=5)
    third, _ = await hub.record_inbound(msg(text="y"))
    assert third.id != second.id


async def test_archived_or_deleted_session_is_replaced(hub: Hub) -> None:
    """A key whose session was archived or deleted gets a new one instead of failing."""
    a, _ = await hub.record_inbound(msg(text="a"))
    await hub.archive(a.id)
    b, m = await hub.record_inbound(msg(text="b"))
    assert b.id != a.id and m is not None and m.session_id == b.id
    await hub.delete_session(b.id)
    c, _ = await hub.record_inbound(msg(text="c"))
    assert c.id not in (a.id, b.id) and c.message_count == 1


# -- dedup ------------------------------------------------------------------------------------


async def test_duplicate_deliveries_stored_once(hub: Hub) -> None:
    """The same event delivered three times is stored once; the duplicates answer its session."""
    results = [await hub.record_inbound(msg(text="once", event_id="ev-1")) for _ in range(3)]
    assert [m is not None for _, m in results] == [True, False, False]
    assert len({s.id for s, _ in results}) == 1 and results[2][0].message_count == 1
    other_account, m = await hub.record_inbound(msg(text="once", event_id="ev-1", account="bot2"))
    assert m is not None and other_account.id != results[0][0].id


async def test_concurrent_duplicates_stored_once(hub: Hub) -> None:
    """Ten concurrent deliveries of one event store one message."""
    out = await asyncio.gather(*(hub.record_inbound(msg(text="x", event_id="e")) for _ in range(10)))
    assert sum(m is not None for _, m in out) == 1 and len({s.id for s, _ in out}) == 1


async def test_duplicate_after_reset_answers_original_session(make_hub: MakeHub, clock: FakeClock) -> None:
    """A resend arriving after a reset neither resets again nor lands in the new session."""
    hub = await make_hub(session={"reset": {"mode": "idle", "idle_minutes": 10}})
    first, _ = await hub.record_inbound(msg(text="a", event_id="1"))
    clock.advance(minutes=20)
    dup, m = await hub.record_inbound(msg(text="a", event_id="1"))
    assert m is None and dup.id == first.id
    second, m2 = await hub.record_inbound(msg(text="b", event_id="2"))
    assert m2 is not None and second.id != first.id
    again, m3 = await hub.record_inbound(msg(text="a", event_id="1"))
    assert m3 is None and again.id == first.id


async def test_duplicates_across_reopen(tmp_path: Path, clock: FakeClock) -> None:
    """The memory of seen event ids survives closing and reopening the SQLite file."""
    url = f"sqlite:///{tmp_path}/dedup.db"
    async with sessionhub.open(url, clock=clock) as h1:
        s, m = await h1.record_inbound(msg(text="hello", event_id="upd-1"))
        assert m is not None
    async with sessionhub.open(url, clock=clock) as h2:
        for _ in range(2):
            s2, m2 = await h2.record_inbound(msg(text="hello", event_id="upd-1"))
            assert m2 is None and s2.id == s.id
        assert (await h2.get_session(s.id)).message_count == 1


async def test_seen_ids_are_bounded(make_hub: MakeHub, clock: FakeClock) -> None:
    """Seen ids older than seen_events_days or beyond seen_events_max are forgotten."""
    hub = await make_hub(retention={"seen_events_days": 1, "seen_events_max": 3})
    for i in range(5):
        clock.advance(seconds=1)
        await hub.record_inbound(msg(text=f"m{i}", event_id=f"e{i}"))
    _, fresh = await hub.record_inbound(msg(text="m4", event_id="e4"))
    _, forgotten = await hub.record_inbound(msg(text="m0", event_id="e0"))
    assert fresh is None and forgotten is not None
    clock.advance(days=2)
    _, expired = await hub.record_inbound(msg(text="m4", event_id="e4"))
    assert expired is not None
    clock.advance(days=2)
    assert await hub.prune_seen_events() == 1  # e4's second sighting, now two days old
    assert await hub.prune_seen_events() == 0


async def test_edits_are_stored_marked(hub: Hub) -> None:
    """An edited message is stored as a new user message with metadata edited=true."""
    _, m = await hub.record_inbound(
        msg(text="fixed text", is_edit=True, event_id="e-edit", sender_name="Ada")
    )
    assert m is not None and m.metadata["edited"] is True
    assert m.metadata["inbound"]["sender_name"] == "Ada" and m.metadata["inbound"]["event_id"] == "e-edit"


# -- concurrency ------------------------------------------------------------------------------


async def test_concurrent_first_messages_make_one_session(hub: Hub) -> None:
    """Concurrent first messages for one key end in one session with seqs 1..N."""
    out = await asyncio.gather(*(hub.record_inbound(msg(text=f"m{i}")) for i in range(12)))
    assert len({s.id for s, _ in out}) == 1
    seqs = sorted(m.seq for _, m in out if m is not None)
    assert seqs == list(range(1, 13))


async def test_concurrent_first_messages_across_hubs(
    backend_url: str, encryption_key: str | None, clock: FakeClock
) -> None:
    """Two hubs (no shared in-process lock) racing on one key's first message still make one session."""
    if backend_url == "sqlite://":
        pytest.skip("an in-memory database cannot be shared between hubs")
    async with (
        sessionhub.open(backend_url, clock=clock, encryption_key=encryption_key) as h1,
        sessionhub.open(backend_url, clock=clock, encryption_key=encryption_key) as h2,
    ):
        out = await asyncio.gather(
            *(
                h.get_or_create_session(channel="slack", chat="C9", sender=f"U{i}")
                for i in range(8)
                for h in (h1, h2)
            )
        )
        assert len({s.id for s in out}) == 1


# -- chat commands ----------------------------------------------------------------------------


async def say(hub: Hub, text: str, **kw: Any) -> str:
    res = await hub.handle_inbound(msg(text=text, **kw), bot_username="mybot")
    assert res.reply is not None, text
    return res.reply


async def test_commands_are_answered_not_stored(hub: Hub) -> None:
    """Commands get a text answer and never become conversation messages; text is recorded."""
    res = await hub.handle_inbound(msg(text="hello there"))
    assert res.reply is None and res.message is not None
    assert "Commands:" in await say(hub, "/help")
    assert "Unknown command /frobnicate" in await say(hub, "/frobnicate")
    assert "usage: /rename" in await say(hub, "/rename")
    assert (await hub.handle_inbound(msg(text="/help@otherbot"), bot_username="mybot")).message is not None
    assert "Commands:" in await say(hub, "!help@MyBot")
    assert await texts(hub, res.session) == ["hello there", "/help@otherbot"]


async def test_command_new_and_reset(make_hub: MakeHub) -> None:
    """/new [agent] [model] and /reset start a new session under the key; the old stays."""
    hub = await make_hub(
        agents=(AgentSettings(id="main"), AgentSettings(id="coder", model="c1", models=("big-model",))),
        dispatch={"rules": [{"agent": "main", "agents": ["coder"]}]},  # chat users may pick coder
    )
    first, _ = await hub.record_inbound(msg(text="hi"))
    reply = await say(hub, "/new coder big-model")
    s, _ = await hub.route_inbound(msg())
    assert "agent coder, model big-model" in reply and s.id != first.id and s.agent == "coder"
    assert "'nobody' is not available in this chat (available: main, coder)" in await say(hub, "/new nobody")
    await say(hub, "/reset")
    s2, _ = await hub.route_inbound(msg())
    assert s2.id != s.id and s2.agent == "main" and (await hub.get_session(first.id)).message_count == 1


async def test_command_session_info_list_and_overrides(make_hub: MakeHub) -> None:
    """/session shows the session and key; list shows the chat's sessions; scope and resets change the key."""
    hub = await make_hub(commands=CommandSettings(allow_scope_change=True))
    s, _ = await hub.record_inbound(msg(text="hi"))
    info = await say(hub, "/session")
    assert s.id in info and "key main:telegram:default:100" in info and "automatic reset: off" in info
    await say(hub, "/reset")
    listing = await say(hub, "/session list")
    assert s.id in listing and listing.count("messages") == 2
    reply = await say(hub, "/session scope main")
    assert "Key main:main" in reply
    moved, _ = await hub.route_inbound(msg())
    assert moved.key == "main:main"
    reply = await say(hub, "/session scope channel")
    assert "Key main:telegram:default:100" in reply
    assert "daily at 07:30 UTC" in await say(hub, "/session reset-time 7:30")
    assert "after 15 idle minutes" in await say(hub, "/session idle-reset 15")
    assert await say(hub, "/session reset-time off") == "Automatic reset: after 15 idle minutes."
    assert await say(hub, "/session idle-reset off") == "Automatic reset: off."
    assert "usage: /session scope" in await say(hub, "/session scope galaxy")
    peer = await say(hub, "/session scope peer")
    assert "Key main:peer:telegram:u1" in peer


async def test_concurrent_override_changes_all_land(make_hub: MakeHub) -> None:
    """Changes to one key's overrides at the same time are merged, none is lost."""
    hub = await make_hub(commands=CommandSettings(allow_scope_change=True))
    await hub.record_inbound(msg(text="hi"))
    await asyncio.gather(
        say(hub, "/session reset-time 7:30"),
        say(hub, "/session idle-reset 15"),
        say(hub, "/session scope main"),
    )
    overrides = await hub.route_overrides(msg())
    assert overrides.to_dict() == {"idle_minutes": 15, "reset_time": "07:30", "scope": "main"}
    assert "usage" in await say(hub, "/session reset-time 25:99")  # refused: nothing written
    assert (await hub.route_overrides(msg())).to_dict() == overrides.to_dict()


async def test_command_history_rename_clear(hub: Hub) -> None:
    """/history [N], /rename and /history clear act on the chat's session."""
    for i in range(4):
        await hub.record_inbound(msg(text=f"message {i}"))
    assert (await say(hub, "/history 2")).splitlines() == ["3. user: message 2", "4. user: message 3"]
    assert "Renamed to 'Trip plans'" in await say(hub, '/rename "Trip plans"')
    s, _ = await hub.route_inbound(msg())
    assert s.title == "Trip plans" and s.title_source == "user"
    assert "History cleared (4 messages)" in await say(hub, "/history clear")
    assert await say(hub, "/history") == "No messages yet."


async def test_command_export_checkpoint_stop_compact(hub: Hub) -> None:
    """/history export, /checkpoint, /stop and /compact act on the chat's session with the hub's features."""
    hub.turns = TurnManager()  # what the server attaches; /stop stops its turns
    await hub.record_inbound(msg(text="keep this"))
    exported = json.loads(await say(hub, "/history export json"))
    assert [m["content"] for m in exported["messages"]] == ["keep this"]
    saved = await say(hub, '/checkpoint save "before"')
    cp_id = saved.split()[1]
    assert saved == f"Checkpoint {cp_id} saved: 'before' at message 1."
    await hub.record_inbound(msg(text="after"))
    assert await say(hub, "/checkpoint list") == f"Checkpoints:\n{cp_id} 'before' at message 1"
    assert await say(hub, f"/checkpoint restore {cp_id}") == (
        "Restored checkpoint 'before': history is back at message 1."
    )
    s, _ = await hub.route_inbound(msg())
    assert await texts(hub, s) == ["keep this"]
    assert await say(hub, f"/checkpoint delete {cp_id}") == "Checkpoint 'before' deleted."
    assert "Error" in await say(hub, "/checkpoint delete chk_doesnotexist000000000000")
    assert await say(hub, "/stop") == "Nothing to stop."
    assert await say(hub, "/compact") == "Summarised messages 1-1; nothing was deleted."


async def test_duplicate_command_runs_once(hub: Hub) -> None:
    """A resent /reset webhook starts one new session, not two."""
    first = await hub.get_or_create_session(channel="telegram", chat="100", sender="u1")
    r1 = await hub.handle_inbound(msg(text="/reset", event_id="cmd-1"))
    r2 = await hub.handle_inbound(msg(text="/reset", event_id="cmd-1"))
    assert r1.session.id != first.id and r2.duplicate and r2.session.id == r1.session.id


async def test_web_chat_commands(hub: Hub) -> None:
    """The web chat uses the same command layer: /new makes a web session, scope is refused."""
    s = await hub.create_session()
    await hub.add_message(s.id, "user", "hello")
    assert await hub.run_command(s.id, "just text") is None
    res = await hub.run_command(s.id, "/new")
    assert res is not None and res.session is not None and res.session.id != s.id
    assert res.session.channel == "web"
    res = await hub.run_command(s.id, "/session scope main")
    assert res is not None and "channel chats" in res.text
    res = await hub.run_command(s.id, "/session list")
    assert res is not None and "Recent sessions" in res.text
    res = await hub.run_command(s.id, "/history")
    assert res is not None and res.text == "1. user: hello"


# -- recorded platform payloads -----------------------------------------------------------------


def _fixture_cases() -> list[Path]:
    return sorted(FIXTURES.glob("*/*.json"))


async def test_recorded_payloads_route_to_their_keys(hub: Hub) -> None:
    """Every recorded platform message routes to the session with the key its fixture expects."""
    stored = 0
    for path in _fixture_cases():
        data = json.loads(path.read_text(encoding="utf-8"))
        expect = data["expect"]
        if "message" not in expect:
            continue
        results = parse_all(path.parent.name, data["payload"])
        inbound = [r for r in results if isinstance(r, InboundMessage)]
        assert inbound, path
        for m in inbound:
            session, message = await hub.record_inbound(m)
            if "key" in expect:
                assert session.key == expect["key"], path
            assert session.channel == m.channel and message is not None, path
            assert message.content == m.text
            again, dup = await hub.record_inbound(m)
            assert (dup is None) == (m.event_id is not None) and again.id == session.id, path
            stored += 1
    assert stored >= 20


async def test_recorded_payloads_under_scopes(make_hub: MakeHub) -> None:
    """Under scope main every recorded channel message lands in one session."""
    hub = await make_hub(session={"scope": "main"})
    ids = set()
    for path in _fixture_cases():
        data = json.loads(path.read_text(encoding="utf-8"))
        if "message" not in data["expect"]:
            continue
        for m in parse_all(path.parent.name, data["payload"]):
            if isinstance(m, InboundMessage):
                ids.add((await hub.route_inbound(m))[0].id)
    assert len(ids) == 1
