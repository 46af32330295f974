"""Checkpoints, forks, export/import, cleanup and retention, run against every backend."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sessionhub import InvalidInput, NotFound, SessionReadOnly
from sessionhub.history import ImportedSession, read_sessions
from sessionhub.hub import Hub
from sessionhub.testing import FakeClock

from .helpers import filled

FIXTURES = Path(__file__).parent.parent / "history" / "fixtures"


async def contents(hub: Hub, session_id: str, limit: int = 1000) -> list[str]:
    return [m.content for m in await hub.get_history(session_id, limit=limit)]


# --- checkpoints ----------------------------------------------------------------------


async def test_checkpoint_is_a_pointer(hub: Hub) -> None:
    """A checkpoint records the current seq and count; it is listed, found and deleted by id."""
    sid = await filled(hub, 3)
    cp = await hub.save_checkpoint(sid, "  before   refactor ", description="why")
    assert cp.id.startswith("chk_") and cp.session_id == sid
    assert (cp.name, cp.description, cp.at_seq, cp.message_count) == ("before refactor", "why", 3, 3)
    assert cp.to_dict()["created_at"].endswith("Z")
    await hub.add_message(sid, "user", "m4")
    cp2 = await hub.save_checkpoint(sid, "later")
    assert [c.id for c in await hub.list_checkpoints(sid)] == [cp.id, cp2.id]
    assert (await hub.get_checkpoint(cp2.id)).at_seq == 4
    await hub.delete_checkpoint(cp.id)
    assert [c.id for c in await hub.list_checkpoints(sid)] == [cp2.id]
    assert await contents(hub, sid) == ["m1", "m2", "m3", "m4"]
    with pytest.raises(NotFound):
        await hub.delete_checkpoint(cp.id)


async def test_checkpoint_bad_input_and_other_owner(hub: Hub) -> None:
    """Empty names are refused; malformed, unknown or another owner's checkpoint ids are NotFound."""
    sid = await filled(hub, 2)
    with pytest.raises(InvalidInput):
        await hub.save_checkpoint(sid, "   ")
    cp = await hub.save_checkpoint(sid, "x")
    bob = hub.as_user("bob")
    for bad in ("chk_nope", "ses_" + cp.id[4:], "../etc", cp.id):
        with pytest.raises(NotFound):
            await bob.restore_checkpoint(bad)
        with pytest.raises(NotFound):
            await bob.delete_checkpoint(bad)
    with pytest.raises(NotFound):
        await bob.list_checkpoints(sid)
    assert (await hub.get_checkpoint(cp.id)).id == cp.id


async def test_restore_keeps_later_messages_aside(hub: Hub) -> None:
    """Restore cuts history back; later messages move (same ids) to an archived branch; seq continues."""
    sid = await filled(hub, 3)
    cp = await hub.save_checkpoint(sid, "three")
    await hub.add_messages(sid, [{"role": "user", "content": "m4"}, {"role": "assistant", "content": "m5"}])
    before = await hub.get_history(sid)
    result = await hub.restore_checkpoint_detailed(cp.id)
    s = result.session
    assert s.message_count == 3 and result.moved == 2
    assert await contents(hub, sid) == ["m1", "m2", "m3"]
    assert s.stats.user_messages == 2 and s.stats.assistant_messages == 1
    assert s.stats.input_tokens == 0 + 1 + 2 and s.stats.output_tokens == 3
    assert s.last_message_at == before[2].created_at
    branch = result.branch
    assert branch is not None and branch.status == "archived" and branch.read_only
    assert branch.message_count == 5 and branch.metadata["kept_aside_from"]["checkpoint_id"] == cp.id
    kept = await hub.get_history(branch.id)
    assert [m.id for m in kept] == [m.id for m in before]  # moved, not copied
    assert [m.id for m in await hub.forks(sid)] == [branch.id]
    m = await hub.add_message(sid, "user", "new4")
    assert m.seq == 4
    assert await contents(hub, sid) == ["m1", "m2", "m3", "new4"]
    assert await contents(hub, branch.id) == ["m1", "m2", "m3", "m4", "m5"]


async def test_restore_twice_and_restore_append_restore(hub: Hub) -> None:
    """Restoring again changes nothing; after new messages a second restore keeps them in a new branch."""
    sid = await filled(hub, 2)
    cp = await hub.save_checkpoint(sid, "two")
    await hub.add_message(sid, "user", "m3")
    first = await hub.restore_checkpoint_detailed(cp.id)
    again = await hub.restore_checkpoint_detailed(cp.id)
    assert again.branch is None and again.moved == 0 and again.session.message_count == 2
    await hub.add_message(sid, "user", "x3")
    await hub.add_message(sid, "assistant", "x4")
    second = await hub.restore_checkpoint_detailed(cp.id)
    assert second.branch is not None and second.moved == 2
    assert await contents(hub, sid) == ["m1", "m2"]
    assert first.branch is not None
    assert await contents(hub, first.branch.id) == ["m1", "m2", "m3"]
    assert await contents(hub, second.branch.id) == ["m1", "m2", "x3", "x4"]
    assert {f.id for f in await hub.forks(sid)} == {first.branch.id, second.branch.id}
    assert (await hub.add_message(sid, "user", "y3")).seq == 3


async def test_checkpoint_on_empty_session_and_at_last_message(hub: Hub) -> None:
    """A checkpoint of an empty session restores to empty; one at the last message is a no-op."""
    s = await hub.create_session()
    empty = await hub.save_checkpoint(s.id, "empty")
    assert (empty.at_seq, empty.message_count) == (0, 0)
    assert (await hub.restore_checkpoint_detailed(empty.id)).branch is None
    await hub.add_message(s.id, "user", "hello there")
    last = await hub.save_checkpoint(s.id, "last")
    res = await hub.restore_checkpoint_detailed(last.id)
    assert res.branch is None and res.session.message_count == 1
    res = await hub.restore_checkpoint_detailed(empty.id)
    assert (
        res.session.message_count == 0 and res.session.preview == "" and res.session.last_message_at is None
    )
    assert res.session.stats.user_messages == 0
    assert res.branch is not None and await contents(hub, res.branch.id) == ["hello there"]
    # the later checkpoint went with the branch
    assert [c.name for c in await hub.list_checkpoints(s.id)] == ["empty"]
    assert [c.name for c in await hub.list_checkpoints(res.branch.id)] == ["last"]
    assert (await hub.add_message(s.id, "user", "again")).seq == 1
    assert (await hub.get_session(s.id)).preview == "again"


async def test_restore_refused_when_archived(hub: Hub) -> None:
    """An archived (read-only) session cannot be restored to a checkpoint until made active."""
    sid = await filled(hub, 2)
    cp = await hub.save_checkpoint(sid, "c")
    await hub.add_message(sid, "user", "m3")
    await hub.archive(sid)
    with pytest.raises(SessionReadOnly):
        await hub.restore_checkpoint(cp.id)
    await hub.restore(sid)
    assert (await hub.restore_checkpoint(cp.id)).message_count == 2


async def test_branch_can_be_continued_and_its_checkpoints_restored(hub: Hub) -> None:
    """Unarchiving a branch makes it a normal session: it can be appended to and restored."""
    sid = await filled(hub, 2)
    c2 = await hub.save_checkpoint(sid, "c2")
    await hub.add_message(sid, "user", "m3")
    c3 = await hub.save_checkpoint(sid, "c3")
    await hub.add_message(sid, "user", "m4")
    branch = (await hub.restore_checkpoint_detailed(c2.id)).branch
    assert branch is not None
    await hub.restore(branch.id)
    assert (await hub.add_message(branch.id, "user", "b5")).seq == 5
    res = await hub.restore_checkpoint_detailed(c3.id)
    assert res.session.id == branch.id and await contents(hub, branch.id) == ["m1", "m2", "m3"]
    assert await contents(hub, sid) == ["m1", "m2"]


# --- forks ----------------------------------------------------------------------------


async def test_fork_shares_history_and_continues_independently(hub: Hub) -> None:
    """A fork reads the parent's history up to at_seq by pointer; both then grow apart."""
    sid = await filled(hub, 5)
    await hub.rename(sid, "Plans")
    parent = await hub.get_session(sid)
    f = await hub.fork(sid, at_seq=3)
    assert (f.agent, f.provider, f.model) == (parent.agent, parent.provider, parent.model)
    assert f.title == "Plans (fork)" and f.message_count == 3 and f.status == "active"
    assert f.metadata["forked_from"] == {"session_id": sid, "at_seq": 3, "checkpoint_id": None}
    assert f.stats.user_messages == 2 and f.stats.assistant_messages == 1 and f.preview == "m1"
    assert await contents(hub, f.id) == ["m1", "m2", "m3"]
    assert (await hub.add_message(f.id, "user", "f4")).seq == 4
    await hub.add_message(sid, "user", "m6")
    assert await contents(hub, f.id) == ["m1", "m2", "m3", "f4"]
    assert await contents(hub, sid) == ["m1", "m2", "m3", "m4", "m5", "m6"]
    whole = await hub.fork(sid)
    assert whole.message_count == 6
    empty = await hub.fork(sid, at_seq=0)
    assert empty.message_count == 0 and await contents(hub, empty.id) == []
    assert {x.id for x in await hub.forks(sid)} == {f.id, whole.id}  # at 0 reads nothing


async def test_fork_at_checkpoint_and_bad_points(hub: Hub) -> None:
    """Forking at a checkpoint uses its seq; foreign checkpoints, both args, or seqs past the end are refused."""
    sid = await filled(hub, 2)
    cp = await hub.save_checkpoint(sid, "two")
    await hub.add_message(sid, "user", "m3")
    f = await hub.fork(sid, checkpoint_id=cp.id, title="From two")
    assert f.message_count == 2 and f.title == "From two" and f.title_source == "user"
    other = await filled(hub, 1)
    with pytest.raises(NotFound):
        await hub.fork(other, checkpoint_id=cp.id)
    with pytest.raises(InvalidInput):
        await hub.fork(sid, at_seq=4)
    with pytest.raises(InvalidInput):
        await hub.fork(sid, at_seq=1, checkpoint_id=cp.id)
    with pytest.raises(NotFound):
        await hub.as_user("bob").fork(sid)


async def test_fork_of_fork_pages_across_segments(hub: Hub) -> None:
    """A fork of a fork reads three segments; latest-N and before/after pages cross them correctly."""
    sid = await filled(hub, 4, "a")
    f1 = await hub.fork(sid, at_seq=3)
    await hub.add_messages(f1.id, [{"role": "user", "content": "b4"}, {"role": "user", "content": "b5"}])
    f2 = await hub.fork(f1.id, at_seq=5)
    await hub.add_message(f2.id, "user", "c6")
    assert await contents(hub, f2.id) == ["a1", "a2", "a3", "b4", "b5", "c6"]
    latest = await hub.get_history(f2.id, limit=3)
    assert [m.seq for m in latest] == [4, 5, 6] and all(m.session_id == f2.id for m in latest)
    page, more = await hub.history_page(f2.id, limit=2, before_seq=5)
    assert [m.content for m in page] == ["a3", "b4"] and more
    page, more = await hub.history_page(f2.id, limit=10, after_seq=2)
    assert [m.content for m in page] == ["a3", "b4", "b5", "c6"] and not more
    f3 = await hub.fork(f2.id, at_seq=2)  # before f2's and f1's fork points: reads the root directly
    assert await contents(hub, f3.id) == ["a1", "a2"]
    await hub.delete_session(f1.id)
    await hub.delete_session(f2.id)
    assert await contents(hub, f3.id) == ["a1", "a2"]


async def test_deleting_parent_keeps_forks(hub: Hub) -> None:
    """Deleting a parent with forks: every fork (and fork of a fork) keeps its full history."""
    sid = await filled(hub, 6)
    f2 = await hub.fork(sid, at_seq=2)
    f4 = await hub.fork(sid, at_seq=4)
    await hub.add_message(f4.id, "user", "f4-5")
    f4b = await hub.fork(f4.id)
    await hub.save_checkpoint(sid, "parent's")
    await hub.delete_session(sid)
    with pytest.raises(NotFound):
        await hub.get_session(sid)
    assert await contents(hub, f2.id) == ["m1", "m2"]
    assert await contents(hub, f4.id) == ["m1", "m2", "m3", "m4", "f4-5"]
    assert await contents(hub, f4b.id) == ["m1", "m2", "m3", "m4", "f4-5"]
    await hub.delete_session(f4.id)
    assert await contents(hub, f2.id) == ["m1", "m2"]
    assert await contents(hub, f4b.id) == ["m1", "m2", "m3", "m4", "f4-5"]
    assert (await hub.add_message(f2.id, "user", "x")).seq == 3
    assert (await hub.stats()).total_messages == 3 + 5


async def test_clearing_parent_keeps_forks(hub: Hub) -> None:
    """Clearing a parent's history leaves its forks' shared history intact."""
    sid = await filled(hub, 3)
    f = await hub.fork(sid)
    await hub.clear_history(sid)
    assert await contents(hub, sid) == []
    assert await contents(hub, f.id) == ["m1", "m2", "m3"]


async def test_restore_repoints_forks_past_the_checkpoint(hub: Hub) -> None:
    """Forks reading beyond a restored checkpoint keep their history (they now read the branch)."""
    sid = await filled(hub, 2)
    cp = await hub.save_checkpoint(sid, "two")
    await hub.add_messages(sid, [{"role": "user", "content": "m3"}, {"role": "user", "content": "m4"}])
    late = await hub.fork(sid, at_seq=4)
    early = await hub.fork(sid, at_seq=1)
    await hub.restore_checkpoint(cp.id)
    await hub.add_message(sid, "user", "n3")
    assert await contents(hub, late.id) == ["m1", "m2", "m3", "m4"]
    assert await contents(hub, early.id) == ["m1"]
    await hub.delete_session(sid)
    assert await contents(hub, late.id) == ["m1", "m2", "m3", "m4"]
    assert await contents(hub, early.id) == ["m1"]


async def test_restore_on_a_fork_at_its_fork_point(hub: Hub) -> None:
    """A fork restored to a checkpoint at its fork point keeps its own messages in the branch."""
    sid = await filled(hub, 2)
    f = await hub.fork(sid)
    cp = await hub.save_checkpoint(f.id, "fork point")
    await hub.add_messages(f.id, [{"role": "user", "content": "f3"}, {"role": "user", "content": "f4"}])
    res = await hub.restore_checkpoint_detailed(cp.id)
    assert await contents(hub, f.id) == ["m1", "m2"]
    assert res.branch is not None and await contents(hub, res.branch.id) == ["m1", "m2", "f3", "f4"]
    await hub.delete_session(sid)
    assert await contents(hub, f.id) == ["m1", "m2"]
    assert await contents(hub, res.branch.id) == ["m1", "m2", "f3", "f4"]


# --- export ---------------------------------------------------------------------------


async def test_export_formats(hub: Hub) -> None:
    """markdown, text, json and jsonl exports of one session carry its messages and tool calls."""
    s = await hub.create_session(title="Weather", metadata={"team": "a"})
    await hub.add_message(s.id, "user", "weather in Paris?")
    await hub.add_message(
        s.id, "assistant", "", parts=[{"type": "tool_call", "id": "c1", "name": "weather", "arguments": {}}]
    )
    md = await hub.export(s.id, "markdown")
    assert md.startswith("# Weather") and "weather in Paris?" in md and "`weather`" in md and "team" in md
    assert "team" not in await hub.export(s.id, "markdown", include_metadata=False)
    assert "weather in Paris?" in await hub.export(s.id, "text")
    doc = json.loads(await hub.export(s.id, "json"))
    assert doc["format"] == "sessionhub" and len(doc["messages"]) == 2
    line = json.loads(await hub.export(s.id, "jsonl"))
    assert line["messages"][0] == {"role": "user", "content": "weather in Paris?"}
    with pytest.raises(InvalidInput):
        await hub.export(s.id, "xml")
    with pytest.raises(NotFound):
        await hub.export("ses_bad")


async def test_export_streams_in_pages(hub: Hub) -> None:
    """export_stream reads bounded pages and yields per message; a fork exports its whole history."""
    sid = await filled(hub, 23)
    f = await hub.fork(sid, at_seq=20)
    await hub.add_message(f.id, "user", "f21")
    chunks = [c async for c in hub.export_stream(f.id, "json", page_size=4)]
    assert len(chunks) == 21 + 2
    doc = json.loads("".join(chunks))
    assert [m["seq"] for m in doc["messages"]] == list(range(1, 22))
    assert doc["messages"][-1]["content"] == "f21"
    assert "".join(chunks) == await hub.export(f.id, "json")


async def test_export_many_jsonl(hub: Hub) -> None:
    """Several sessions export to one jsonl line each; json refuses several sessions."""
    a, b = await filled(hub, 2, "a"), await filled(hub, 3, "b")
    out = await hub.export_many([a, b], "jsonl")
    lines = [json.loads(x) for x in out.splitlines()]
    assert [[m["content"] for m in x["messages"]] for x in lines] == [["a1", "a2"], ["b1", "b2", "b3"]]
    md = await hub.export_many([a, b], "markdown")
    assert "a2" in md and "b3" in md
    with pytest.raises(InvalidInput):
        await hub.export_many([a, b], "json")


# --- import ---------------------------------------------------------------------------

_roles = st.sampled_from(["system", "user", "assistant", "tool"])
# NUL is refused as content (PostgreSQL text cannot hold it): see test_nul_is_refused.
_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), min_size=1, max_size=30
).filter(lambda t: t.strip() != "")
_no_nul = st.characters(
    blacklist_categories=("Cs",), blacklist_characters="\x00"
)  # NUL is refused in every stored string
_json_obj = st.dictionaries(
    st.text(_no_nul, max_size=5),
    st.none() | st.booleans() | st.integers(-1000, 1000) | st.text(_no_nul, max_size=8),
    max_size=3,
)
_parts = st.lists(
    st.builds(
        lambda i, n, a: {"type": "tool_call", "id": i, "name": n, "arguments": a},
        st.text("abc123", min_size=1, max_size=5),
        st.text("abcdef", min_size=1, max_size=5),
        _json_obj,
    )
    | st.builds(
        lambda i, c: {"type": "tool_result", "tool_call_id": i, "content": c},
        st.text("abc123", min_size=1, max_size=5),
        st.text(_no_nul, max_size=10),
    ),
    max_size=2,
)
_messages = st.lists(
    st.fixed_dictionaries(
        {
            "role": _roles,
            "content": _text,
            "parts": _parts,
            "status": st.sampled_from(["complete", "interrupted", "error", "streaming"]),
            "usage": st.fixed_dictionaries(
                {"input_tokens": st.integers(0, 10_000), "output_tokens": st.integers(0, 10_000)}
            ),
            "metadata": _json_obj,
        }
    ),
    max_size=8,
)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    msgs=_messages,
    title=st.none() | _text,
    meta=_json_obj,
    cut=st.lists(st.integers(0, 8), max_size=3),
    pinned=st.booleans(),
    archived=st.booleans(),
)
async def test_export_import_round_trip(
    hub: Hub, clock: FakeClock, msgs: list[dict[str, Any]], title: str | None, meta: dict[str, Any],
    cut: list[int], pinned: bool, archived: bool,
) -> None:  # fmt: skip
    """json export -> import_session recreates every field with new ids (hypothesis-generated sessions)."""
    clock.set(datetime(2026, 3, 1, 8, 0, 0, 123000, tzinfo=UTC))
    s = await hub.create_session(title=title, metadata=meta)
    for i, m in enumerate(msgs):
        if i in cut:
            await hub.save_checkpoint(s.id, f"cp{i}", description=f"d{i}")
        at = datetime(2026, 3, 1, 9, 0, tzinfo=UTC) + timedelta(milliseconds=1500 * i + 7)
        await hub.add_messages(s.id, [{**m, "created_at": at}])
        clock.advance(seconds=1)
    if len(msgs) in cut:
        await hub.save_checkpoint(s.id, "end")
    if pinned:
        await hub.pin(s.id)
    elif archived:
        await hub.archive(s.id)
    old = await hub.get_session(s.id)
    new = await hub.import_session(await hub.export(s.id, "json"))
    assert new.id != old.id
    skip = {"id", "key", "group", "owner"}
    for f in dataclasses.fields(old):
        if f.name not in skip:
            assert getattr(new, f.name) == getattr(old, f.name), f.name
    olds, news = await hub.get_history(old.id, limit=100), await hub.get_history(new.id, limit=100)
    assert len(olds) == len(news)
    for a, b in zip(olds, news, strict=True):
        assert a.id != b.id and b.session_id == new.id
        assert (a.seq, a.role, a.content, a.parts, a.status, a.usage, a.metadata, a.created_at) == (
            b.seq, b.role, b.content, b.parts, b.status, b.usage, b.metadata, b.created_at,
        )  # fmt: skip
    ocp, ncp = await hub.list_checkpoints(old.id), await hub.list_checkpoints(new.id)
    assert [(c.name, c.description, c.at_seq, c.message_count, c.created_at) for c in ocp] == [
        (c.name, c.description, c.at_seq, c.message_count, c.created_at) for c in ncp
    ]
    assert {c.id for c in ocp}.isdisjoint(c.id for c in ncp)


async def test_import_session_refuses_bad_data(hub: Hub) -> None:
    """Truncated or wrong-shaped exports raise InvalidInput and create nothing."""
    sid = await filled(hub, 3)
    good = await hub.export(sid, "json")
    before = (await hub.stats()).total_sessions
    with pytest.raises(InvalidInput):
        await hub.import_session(good[:-10])
    doc = json.loads(good)
    doc["messages"][1]["role"] = "robot"
    with pytest.raises(InvalidInput):
        await hub.import_session(doc)
    with pytest.raises(InvalidInput):
        await hub.import_session({"format": "other"})
    assert (await hub.stats()).total_sessions == before


@pytest.mark.parametrize(
    ("path", "fmt"),
    [
        ("pocketpaw/memory", "pocketpaw"),
        ("ai-lab/memory", "ai-lab"),
        ("picoclaw/workspace", "picoclaw"),
        ("openclaw", "openclaw"),
    ],
)
async def test_import_path_each_format_once(hub: Hub, path: str, fmt: str) -> None:
    """Each foreign fixture imports its sessions with their messages; a second run only skips them."""
    expected = [x for x in read_sessions(FIXTURES / path, fmt) if isinstance(x, ImportedSession)]
    assert expected
    report = await hub.import_path(FIXTURES / path, fmt)
    assert not report.failed, report.failed
    assert len(report.imported) == len(expected)
    for item in report.imported:
        src = next(x for x in expected if x.source_session_id == item.source_session_id)
        s = await hub.get_session(item.session_id)
        assert s.message_count == len(src.messages) == item.message_count
        assert s.metadata["imported_from"]["format"] == fmt
        got = await hub.get_history(s.id, limit=1000)
        assert [(m.role, m.content) for m in got] == [(m.role, m.content) for m in src.messages]
        if src.created_at:
            assert s.created_at == src.created_at
    total = (await hub.stats()).total_sessions
    again = await hub.import_path(FIXTURES / path)  # format detected this time
    assert not again.imported and not again.failed
    assert [s.why for s in again.skipped] == ["already imported"] * len(expected)
    assert (await hub.stats()).total_sessions == total


async def test_import_path_own_exports_and_bad_files(hub: Hub, tmp_path: Path) -> None:
    """A directory of our exports imports each; a truncated file fails alone and imports nothing."""
    a, b = await filled(hub, 2, "a"), await filled(hub, 3, "b")
    await hub.save_checkpoint(b, "cp")
    (tmp_path / "a.json").write_text(await hub.export(a), encoding="utf-8")
    (tmp_path / "b.json").write_text(await hub.export(b), encoding="utf-8")
    (tmp_path / "c.json").write_text((await hub.export(b))[:-30], encoding="utf-8")
    report = await hub.import_path(tmp_path, "sessionhub")
    assert len(report.imported) == 2 and len(report.failed) == 1
    assert report.failed[0].path.endswith("c.json")
    imported_b = next(i for i in report.imported if i.message_count == 3)
    assert [c.at_seq for c in await hub.list_checkpoints(imported_b.session_id)] == [3]
    assert json.loads(json.dumps(report.to_dict()))["failed"][0]["reason"]
    with pytest.raises(InvalidInput, match="unknown import format"):
        await hub.import_path(tmp_path, "nope")
    with pytest.raises(InvalidInput, match="no such file"):
        await hub.import_path(tmp_path / "missing")
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "x.txt").write_text("hello", encoding="utf-8")
    with pytest.raises(InvalidInput):
        await hub.import_path(tmp_path / "junk")


# --- cleanup and retention ------------------------------------------------------------


async def test_cleanup_rules_and_dry_run(hub: Hub, clock: FakeClock) -> None:
    """cleanup deletes idle sessions but never pinned ones, nor checkpointed ones when asked; dry runs delete nothing."""
    old_plain = await filled(hub, 1)
    old_pinned = await filled(hub, 1)
    await hub.pin(old_pinned)
    old_cp = await filled(hub, 1)
    await hub.save_checkpoint(old_cp, "keep")
    old_archived = await filled(hub, 1)
    await hub.archive(old_archived)
    old_empty = (await hub.create_session()).id
    clock.advance(days=40)
    fresh = await filled(hub, 1)
    dry = await hub.cleanup("30d", dry_run=True)
    assert dry.dry_run and set(dry.session_ids) == {old_plain, old_archived, old_empty}
    assert dry.deleted == 3 and len(await hub.export_many([old_plain], "jsonl")) > 0
    assert set((await hub.cleanup("60d")).session_ids) == set()
    report = await hub.cleanup(older_than="30d")
    assert report.deleted == 3 and set(report.session_ids) == {old_plain, old_archived, old_empty}
    assert report.to_dict()["deleted"] == 3
    report = await hub.cleanup("30d", keep_checkpoints=False)
    assert report.session_ids == (old_cp,)
    for sid in (old_pinned, fresh):
        await hub.get_session(sid)
    with pytest.raises(InvalidInput):
        await hub.cleanup("soon")


async def test_retention_archives_and_deletes(hub: Hub, clock: FakeClock) -> None:
    """Retention archives idle unpinned sessions and later deletes them; settings give the defaults."""
    idle = await filled(hub, 1)
    pinned = await filled(hub, 1)
    await hub.pin(pinned)
    clock.advance(days=10)
    busy = await filled(hub, 1)
    conf = Hub(
        hub.store,
        hub.settings.replace(retention={"auto_archive_after_days": 7, "delete_archived_after_days": 30}),
        clock=clock,
    )
    dry = await conf.apply_retention(dry_run=True)
    assert dry.archived == (idle,) and (await hub.get_session(idle)).status == "active"
    rep = await conf.apply_retention()
    assert rep.archived == (idle,) and rep.deleted == ()
    assert (await hub.get_session(idle)).status == "archived"
    assert (await hub.get_session(pinned)).status == "active"
    clock.advance(days=31)
    rep = await conf.apply_retention()
    assert rep.deleted == (idle,) and set(rep.archived) == {busy}
    with pytest.raises(NotFound):
        await hub.get_session(idle)
    off = await hub.apply_retention()  # no [retention] configured: nothing happens
    assert off.archived == () and off.deleted == ()
