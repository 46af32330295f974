"""Behaviour of sessions and messages, run against every backend (memory, SQLite, PostgreSQL)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from sessionhub import InvalidInput, NotFound, PayloadTooLarge, SessionPinned, SessionReadOnly
from sessionhub.hub import Hub
from sessionhub.testing import FakeClock


async def test_create_defaults(hub: Hub) -> None:
    """A new session gets the default agent, echo provider/model, web channel and its id as key."""
    s = await hub.create_session()
    assert s.id.startswith("ses_") and len(s.id) >= 4 + 20
    assert (s.agent, s.provider, s.model, s.channel, s.source) == ("main", "echo", "echo", "web", "manual")
    assert s.key == s.id and s.status == "active" and not s.pinned and not s.read_only
    assert s.title == "" and s.title_source == "auto" and s.message_count == 0 and s.last_message_at is None
    assert (await hub.get_session(s.id)).to_dict()["created_at"].endswith("Z")


async def test_model_override_and_unknown_agent(hub: Hub) -> None:
    """The model may be overridden at creation; an unknown agent is refused."""
    s = await hub.create_session(model="other-model", metadata={"k": 1})
    assert s.model == "other-model" and s.metadata == {"k": 1}
    with pytest.raises(InvalidInput, match="unknown agent"):
        await hub.create_session(agent="nope")


async def test_append_assigns_seq_and_counters(hub: Hub, clock: FakeClock) -> None:
    """Appends get seq 1..N; counters, preview, title and last activity follow in the same write."""
    s = await hub.create_session()
    m1 = await hub.add_message(s.id, "user", "  What is   the weather\nin Paris?  ")
    clock.advance(seconds=5)
    ms = await hub.add_messages(
        s.id,
        [
            {"role": "assistant", "content": "", "parts": [{"type": "tool_call", "id": "c1", "name": "weather",
                                                             "arguments": {"city": "Paris"}}]},
            {"role": "tool", "content": "sunny", "parts": [{"type": "tool_result", "tool_call_id": "c1",
                                                              "content": "sunny"}]},
            {"role": "assistant", "content": "It is sunny.", "usage": {"input_tokens": 7, "output_tokens": 3},
             "status": "error"},
        ],
    )  # fmt: skip
    assert [m1.seq] + [m.seq for m in ms] == [1, 2, 3, 4]
    s2 = await hub.get_session(s.id)
    assert s2.message_count == 4
    assert s2.title == "What is the weather in Paris?" and s2.preview == "What is the weather in Paris?"
    assert s2.stats.user_messages == 1 and s2.stats.assistant_messages == 2 and s2.stats.tool_messages == 1
    assert s2.stats.errors == 1 and s2.stats.input_tokens == 7 and s2.stats.output_tokens == 3
    assert s2.last_message_at == clock.now()
    hist = await hub.get_history(s.id)
    assert hist[1].parts[0].to_dict() == {"type": "tool_call", "id": "c1", "name": "weather",
                                          "arguments": {"city": "Paris"}}  # fmt: skip
    assert hist[3].status == "error" and hist[3].usage.output_tokens == 3


async def test_title_rules(hub: Hub) -> None:
    """Auto titles cut at a word boundary to 60 chars plus an ellipsis; renames are never overwritten."""
    s = await hub.create_session()
    long = "word " * 30
    await hub.add_message(s.id, "assistant", "greeting first does not title")
    await hub.add_message(s.id, "user", long)
    title = (await hub.get_session(s.id)).title
    assert title.endswith("…") and len(title) <= 61 and not title[:-1].endswith(" ")
    assert title[:-1] == ("word " * 12).strip()
    renamed = await hub.rename(s.id, "  My   title ")
    assert renamed.title == "My title" and renamed.title_source == "user"
    s2 = await hub.create_session(title="Given")
    await hub.add_message(s2.id, "user", "something else")
    assert (await hub.get_session(s2.id)).title == "Given"
    with pytest.raises(InvalidInput):
        await hub.rename(s.id, "   ")


async def test_history_windows(hub: Hub) -> None:
    """get_history reads the latest N oldest first, and pages with before_seq / after_seq."""
    s = await hub.create_session()
    await hub.add_messages(s.id, [{"role": "user", "content": f"m{i}"} for i in range(1, 121)])
    latest = await hub.get_history(s.id, limit=50)
    assert [m.seq for m in latest] == list(range(71, 121))
    page, more = await hub.history_page(s.id, limit=50, before_seq=71)
    assert [m.seq for m in page] == list(range(21, 71)) and more
    page, more = await hub.history_page(s.id, limit=50, before_seq=21)
    assert [m.seq for m in page] == list(range(1, 21)) and not more
    after, more = await hub.history_page(s.id, limit=10, after_seq=100)
    assert [m.seq for m in after] == list(range(101, 111)) and more
    assert [m["seq"] for m in await hub.get_history(s.id, limit=2, format="json")] == [119, 120]
    md = await hub.get_history(s.id, limit=1, format="markdown")
    assert "### user" in md and "m120" in md
    assert "user: m120" in await hub.get_history(s.id, limit=1, format="text")


REFUSALS: list[Any] = [
    pytest.param(lambda h, sid: h.add_message(sid, "robot", "hi"), InvalidInput, "unknown role", id="role"),
    pytest.param(lambda h, sid: h.add_message(sid, "user", "   "), InvalidInput, "non-empty", id="blank"),
    pytest.param(
        lambda h, sid: h.add_message(sid, "user", "nul \x00 byte"), InvalidInput, "NUL", id="nul-content"
    ),
    pytest.param(lambda h, sid: h.rename(sid, "bad\x00title"), InvalidInput, "NUL", id="nul-title"),
    pytest.param(
        lambda h, sid: h.add_message(sid, "user", "x" * (h.settings.max_message_chars + 1)),
        PayloadTooLarge,
        None,
        id="oversized",
    ),
    pytest.param(
        lambda h, sid: h.add_messages(
            sid, [{"role": "user", "content": "fine"}, {"role": "user", "content": 5}]
        ),
        InvalidInput,
        None,
        id="batch-with-one-bad",
    ),
    pytest.param(
        lambda h, sid: h.add_message(sid, "user", "x", parts=[{"type": "image"}]),
        InvalidInput,
        None,
        id="bad-part",
    ),
    *(
        pytest.param(lambda h, sid, bad=bad: h.get_session(bad), NotFound, None, id=f"session-id-{name}")
        for name, bad in (
            ("word", "nope"),
            ("traversal", "ses_../../etc"),
            ("empty", ""),
            ("uppercase", "ses_" + "A" * 25),
            ("message-prefix", "msg_" + "a" * 25),
        )
    ),
    pytest.param(
        lambda h, sid: h.add_message("ses_" + "a" * 25, "user", "hi"), NotFound, None, id="unknown-session"
    ),
    pytest.param(lambda h, sid: h.get_history(sid, limit=0), InvalidInput, None, id="history-limit-0"),
    pytest.param(lambda h, sid: h.get_history(sid, limit=1001), InvalidInput, None, id="history-limit-1001"),
    pytest.param(lambda h, sid: h.list_sessions(view="everything"), InvalidInput, None, id="list-view"),
    pytest.param(lambda h, sid: h.list_sessions(tz="Mars/Olympus"), InvalidInput, None, id="list-tz"),
    pytest.param(lambda h, sid: h.list_sessions(limit=501), InvalidInput, None, id="list-limit"),
    pytest.param(
        lambda h, sid: h.list_sessions(cursor="not-a-cursor!!"), InvalidInput, None, id="list-cursor"
    ),
]


@pytest.mark.parametrize(("call", "error", "match"), REFUSALS)
async def test_bad_input_is_refused_and_writes_nothing(
    hub: Hub, call: Callable[[Hub, str], Awaitable[Any]], error: type[Exception], match: str | None
) -> None:
    """Bad roles, empty or oversized content, malformed ids, bad limits write nothing and raise clearly."""
    s = await hub.create_session()
    with pytest.raises(error, match=match):
        await call(hub, s.id)
    assert (await hub.get_session(s.id)).message_count == 0
    assert (await hub.get_session(s.id)).title == s.title


async def test_pin_archive_restore_rules(hub: Hub) -> None:
    """Pinned cannot be archived; archived is read-only until restored."""
    s = await hub.create_session()
    await hub.add_message(s.id, "user", "hello")
    await hub.pin(s.id)
    with pytest.raises(SessionPinned):
        await hub.archive(s.id)
    await hub.unpin(s.id)
    archived = await hub.archive(s.id)
    assert archived.status == "archived" and archived.read_only
    with pytest.raises(SessionReadOnly):
        await hub.add_message(s.id, "user", "more")
    with pytest.raises(SessionReadOnly):
        await hub.clear_history(s.id)
    restored = await hub.restore(s.id)
    assert restored.status == "active" and not restored.read_only
    assert (await hub.add_message(s.id, "user", "more")).seq == 2


async def test_patch_update_order(hub: Hub) -> None:
    """A PATCH with pinned=false and archived=true unpins first, then archives."""
    s = await hub.create_session()
    await hub.pin(s.id)
    out = await hub.update(s.id, pinned=False, archived=True, title="T", metadata={"a": 1})
    assert out.status == "archived" and not out.pinned and out.title == "T" and out.metadata == {"a": 1}
    await hub.update(s.id, archived=False, pinned=True)
    with pytest.raises(SessionPinned):
        await hub.update(s.id, archived=True)


async def test_list_order_groups_and_paging(hub: Hub, clock: FakeClock) -> None:
    """Pinned first, then by last activity; groups in the caller's timezone; keyset pages cover all once."""
    clock.set(datetime(2026, 3, 10, 12, 0, tzinfo=UTC))
    made = []
    for i in range(7):
        s = await hub.create_session()
        await hub.add_message(s.id, "user", f"session {i}")
        made.append(s.id)
        clock.advance(hours=20)
    await hub.pin(made[0])
    page = await hub.list_sessions(limit=3, tz="UTC")
    ids = [x.id for x in page.sessions]
    assert ids[0] == made[0] and ids[1:] == [made[6], made[5]]
    seen = list(ids)
    cursor = page.next_cursor
    while cursor:
        page = await hub.list_sessions(limit=3, cursor=cursor, tz="UTC")
        seen.extend(x.id for x in page.sessions)
        cursor = page.next_cursor
    assert sorted(seen) == sorted(made) and len(seen) == len(set(seen))
    clock.set(datetime(2026, 3, 17, 10, 0, tzinfo=UTC))
    await hub.add_message(made[4], "user", "yesterday's message")
    clock.set(datetime(2026, 3, 18, 9, 0, tzinfo=UTC))
    await hub.add_message(made[3], "user", "today's message")
    groups = {x.id: x.group for x in (await hub.list_sessions(limit=50, tz="UTC")).sessions}
    assert groups[made[0]] == "pinned" and groups[made[3]] == "today" and groups[made[4]] == "yesterday"
    assert groups[made[6]] == "this_week"  # Mar 15 12:00, window starts Mar 12 00:00
    assert groups[made[1]] == "older"  # Mar 11 08:00
    # 23:30 UTC on Mar 17 is already Mar 18 in Tokyo: grouping follows the caller's timezone.
    clock.set(datetime(2026, 3, 17, 23, 30, tzinfo=UTC))
    await hub.add_message(made[2], "user", "late")
    clock.set(datetime(2026, 3, 18, 9, 0, tzinfo=UTC))
    assert {x.id: x.group for x in (await hub.list_sessions(tz="UTC")).sessions}[made[2]] == "yesterday"
    assert {x.id: x.group for x in (await hub.list_sessions(tz="Asia/Tokyo")).sessions}[made[2]] == "today"


async def test_fork_of_an_old_session_groups_by_the_order_timestamp(hub: Hub, clock: FakeClock) -> None:
    """A fork made today of a session last active weeks ago lists first and under Today (one
    timestamp decides both); the original stays under Older, after it."""
    clock.set(datetime(2026, 2, 1, 12, 0, tzinfo=UTC))
    old = await hub.create_session()
    await hub.add_message(old.id, "user", "long ago")
    clock.set(datetime(2026, 3, 18, 9, 0, tzinfo=UTC))
    fork = await hub.fork(old.id)
    listed = (await hub.list_sessions(limit=50, tz="UTC")).sessions
    assert [x.id for x in listed] == [fork.id, old.id]
    assert [x.group for x in listed] == ["today", "older"]
    got = await hub.get_session(fork.id, tz="UTC")
    assert got.group == "today" and got.activity_at == datetime(2026, 3, 18, 9, 0, tzinfo=UTC)
    assert got.to_dict()["activity_at"] == "2026-03-18T09:00:00.000Z"


async def test_empty_sessions_hidden_except_newest(hub: Hub, clock: FakeClock) -> None:
    """Empty sessions are hidden from the active list except the most recently created one."""
    e1 = await hub.create_session()
    clock.advance(seconds=1)
    full = await hub.create_session()
    await hub.add_message(full.id, "user", "hi")
    clock.advance(seconds=1)
    e2 = await hub.create_session()
    ids = [s.id for s in (await hub.list_sessions()).sessions]
    assert e2.id in ids and full.id in ids and e1.id not in ids
    all_ids = [s.id for s in (await hub.list_sessions(view="all")).sessions]
    assert e1.id in all_ids


async def test_views_and_filters(hub: Hub) -> None:
    """archived / scheduled / all views and agent / channel filters select the right sessions."""
    a = await hub.create_session()
    await hub.add_message(a.id, "user", "a")
    b = await hub.create_session(channel="telegram", source="scheduled", source_ref="digest")
    await hub.add_message(b.id, "user", "b")
    await hub.archive(a.id)
    assert [s.id for s in (await hub.list_sessions(view="archived")).sessions] == [a.id]
    assert [s.id for s in (await hub.list_sessions()).sessions] == [b.id]
    sched = (await hub.list_sessions(view="scheduled")).sessions
    assert [s.id for s in sched] == [b.id] and sched[0].group == "digest"
    assert [s.id for s in (await hub.list_sessions(view="all", channel="telegram")).sessions] == [b.id]
    assert (await hub.list_sessions(view="all", agent="other")).sessions == ()
    recent = await hub.recent(limit=5)
    assert {s.id for s in recent} == {a.id, b.id}


async def test_search_ranked_with_snippets_titles_and_filters(hub: Hub) -> None:
    """Search finds every-word matches, ranks them, marks snippets (HTML-safe) and includes titles."""
    s1 = await hub.create_session(title="Kubernetes deployment notes")
    await hub.add_message(s1.id, "user", "How do I roll back a kubernetes deployment safely?")
    await hub.add_message(s1.id, "assistant", "Use kubectl rollout undo <deployment>.")
    s2 = await hub.create_session()
    await hub.add_message(s2.id, "user", "deployment of the cake recipe")
    hits = await hub.search("kubernetes deployment")
    assert hits and {h.session.id for h in hits} == {s1.id}
    assert any(h.message_id is None for h in hits)  # the title hit
    msg_hit = next(h for h in hits if h.message_id)
    assert msg_hit.seq == 1 and "<mark>" in msg_hit.snippet
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    hit = (await hub.search("rollout"))[0]
    assert "&lt;deployment&gt;" in hit.snippet
    await hub.archive(s2.id)
    assert {h.session.id for h in await hub.search("deployment", view="active")} == {s1.id}
    assert s2.id in {h.session.id for h in await hub.search("deployment", view="archived")}
    assert await hub.search("zebra") == []
    with pytest.raises(InvalidInput):
        await hub.search("  !!! ")


async def test_owner_isolation(hub: Hub) -> None:
    """Another owner's sessions are NotFound everywhere: get, append, list, search, stats."""
    s = await hub.create_session()
    await hub.add_message(s.id, "user", "secret plans")
    bob = hub.as_user("bob")
    with pytest.raises(NotFound):
        await bob.get_session(s.id)
    with pytest.raises(NotFound):
        await bob.add_message(s.id, "user", "x")
    with pytest.raises(NotFound):
        await bob.delete_session(s.id)
    assert (await bob.list_sessions(view="all")).sessions == ()
    assert await bob.search("secret") == []
    assert (await bob.stats()).total_sessions == 0


async def test_stats_in_timezone(hub: Hub, clock: FakeClock) -> None:
    """stats counts sessions today / this week in the caller's timezone."""
    clock.set(datetime(2026, 5, 4, 23, 30, tzinfo=UTC))  # already May 5 in Tokyo
    old = await hub.create_session()
    await hub.add_message(old.id, "user", "x")
    clock.set(datetime(2026, 5, 5, 0, 30, tzinfo=UTC))
    new = await hub.create_session()
    await hub.add_messages(new.id, [{"role": "user", "content": "y"}, {"role": "assistant", "content": "z"}])
    await hub.pin(new.id)
    utc = await hub.stats(tz="UTC")
    assert (utc.total_sessions, utc.sessions_today, utc.sessions_this_week) == (2, 1, 2)
    assert (utc.total_messages, utc.active, utc.archived, utc.pinned) == (3, 2, 0, 1)
    assert (await hub.stats(tz="Asia/Tokyo")).sessions_today == 2


async def test_delete_and_clear(hub: Hub) -> None:
    """clear_history keeps the session and restarts seq; delete removes it for good."""
    s = await hub.create_session()
    await hub.add_messages(s.id, [{"role": "user", "content": "unique-word-alpha"}] * 3)
    await hub.clear_history(s.id)
    cleared = await hub.get_session(s.id)
    assert cleared.message_count == 0 and cleared.preview == "" and cleared.stats.user_messages == 0
    assert await hub.get_history(s.id) == []
    assert [h.message_id for h in await hub.search("alpha")] == [None]  # only the kept title matches
    assert (await hub.add_message(s.id, "user", "again")).seq == 1
    await hub.delete_session(s.id)
    with pytest.raises(NotFound):
        await hub.get_session(s.id)
    with pytest.raises(NotFound):
        await hub.delete_session(s.id)


async def test_concurrent_appends_keep_seq_exact(hub: Hub) -> None:
    """Many concurrent appends to one session give seq 1..N without gaps or duplicates."""
    s = await hub.create_session()

    async def writer(w: int) -> None:
        for i in range(15):
            await hub.add_message(s.id, "user", f"w{w} m{i}")

    await asyncio.gather(*(writer(w) for w in range(8)))
    msgs = await hub.get_history(s.id, limit=1000)
    assert [m.seq for m in msgs] == list(range(1, 121))
    assert (await hub.get_session(s.id)).message_count == 120


async def test_search_finds_hits_below_other_users_better_matches(hub: Hub) -> None:
    """Another user's many better-ranked matches never hide this user's hits (or leak them)."""
    bob = hub.as_user("bob")
    crowd = await bob.create_session()
    await bob.add_messages(crowd.id, [{"role": "user", "content": "alpha beta"} for _ in range(60)])
    mine = await hub.create_session()
    filler = " ".join(f"filler{i}" for i in range(40))
    await hub.add_messages(
        mine.id,
        [{"role": "user", "content": f"{filler} alpha {filler} beta number {i}"} for i in range(3)],
    )
    hits = await hub.search("alpha beta", limit=2)
    assert len(hits) == 2 and {h.session.id for h in hits} == {mine.id}
    assert all("<mark>alpha</mark>" in h.snippet for h in hits)
    assert len(await bob.search("alpha beta", limit=5)) == 5
    assert {h.session.id for h in await bob.search("alpha beta", limit=5)} == {crowd.id}


async def test_patch_with_a_bad_field_writes_nothing(hub: Hub) -> None:
    """The title comes first in a PATCH body; a metadata value refused after it keeps the old title."""
    s = await hub.create_session(title="Before")
    with pytest.raises(InvalidInput):
        await hub.update(s.id, title="After", metadata=["not", "an", "object"])  # type: ignore[arg-type]
    assert (await hub.get_session(s.id)).title == "Before"


class _PinningGate:
    """A turn gate whose ``hold`` pins the session: a pin that lands while an archive waits."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub

    def busy(self, session_id: str) -> bool:
        return False

    async def stop(self, session_id: str) -> None:
        return None

    @contextlib.asynccontextmanager
    async def hold(self, session_id: str, reason: object = None) -> AsyncIterator[None]:
        await self.hub.pin(session_id)
        yield


async def test_patch_refused_by_a_concurrent_pin_writes_nothing(hub: Hub) -> None:
    """A session pinned between the PATCH's read and its write: 409, and the title is unchanged."""
    s = await hub.create_session(title="Before")
    hub.turns = _PinningGate(hub)
    with pytest.raises(SessionPinned):
        await hub.update(s.id, title="After", metadata={"k": 1}, archived=True)
    after = await hub.get_session(s.id)
    assert (after.title, after.metadata, after.status, after.pinned) == ("Before", {}, "active", True)
