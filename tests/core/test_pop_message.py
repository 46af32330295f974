"""hub.pop_message: remove the last message in one transaction, on every backend."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

import sessionhub
from sessionhub import NotFound, SessionReadOnly
from sessionhub.crypto import generate_master_key
from sessionhub.hub import Hub
from sessionhub.model import Message
from sessionhub.testing import FakeClock
from sessionhub.text import preview

from .helpers import filled


async def consistent(hub: Hub, session_id: str) -> list[Message]:
    """The session's history, after checking seqs 1..N and every counter against it."""
    s = await hub.get_session(session_id)
    msgs: list[Message] = await hub.get_history(session_id, limit=1000)
    assert [m.seq for m in msgs] == list(range(1, s.message_count + 1))
    st = s.stats
    assert st.user_messages == sum(m.role == "user" for m in msgs)
    assert st.assistant_messages == sum(m.role == "assistant" for m in msgs)
    assert st.tool_messages == sum(m.role == "tool" for m in msgs)
    assert st.errors == sum(m.status == "error" for m in msgs)
    assert st.input_tokens == sum(m.usage.input_tokens for m in msgs)
    assert st.output_tokens == sum(m.usage.output_tokens for m in msgs)
    first_user = next((m.content for m in msgs if m.role == "user" and m.content.strip()), "")
    assert s.preview == (preview(first_user) if first_user else "")
    assert s.last_message_at == (msgs[-1].created_at if msgs else None)
    return msgs


def texts(msgs: list[Message]) -> list[str]:
    return [m.content for m in msgs]


async def test_pop_plain_session_counters_preview_last_message_at(hub: Hub, clock: FakeClock) -> None:
    """Each pop returns the last message and every counter, the preview and last_message_at follow."""
    s = await hub.create_session()
    items: list[dict[str, Any]] = [
        {"role": "assistant", "content": "welcome", "usage": {"input_tokens": 1, "output_tokens": 2}},
        {"role": "user", "content": "first question", "usage": {"input_tokens": 3, "output_tokens": 0}},
        {"role": "assistant", "content": "boom", "status": "error", "usage": {"input_tokens": 5, "output_tokens": 7}},
        {"role": "tool", "content": "tool out", "parts": [{"type": "tool_result", "tool_call_id": "c", "content": "x"}]},
        {"role": "user", "content": "second question"},
    ]  # fmt: skip
    added: list[Message] = []
    for item in items:
        added += await hub.add_messages(s.id, [item])
        clock.advance(minutes=1)
    title = (await hub.get_session(s.id)).title
    assert (await hub.get_session(s.id)).preview == "first question"
    for expected in reversed(added):
        popped = await hub.pop_message(s.id)
        assert popped == expected  # same id, seq, role, content, parts, usage, created_at
        assert popped is not None and popped.session_id == s.id
        after = await hub.get_session(s.id)
        assert after.message_count == expected.seq - 1 and after.title == title
        assert after.updated_at == clock.now()
        msgs = await consistent(hub, s.id)
        assert msgs == added[: expected.seq - 1]
    final = await hub.get_session(s.id)
    assert (final.preview, final.last_message_at, final.message_count) == ("", None, 0)
    assert final.stats.to_dict() == dict.fromkeys(final.stats.to_dict(), 0)


async def test_pop_of_the_preview_message_recomputes_it(hub: Hub) -> None:
    """Popping the user message the preview came from falls back to the next earlier one (or '')."""
    s = await hub.create_session()
    await hub.add_messages(
        s.id, [{"role": "assistant", "content": "hello"}, {"role": "user", "content": "only"}]
    )
    await hub.pop_message(s.id)
    assert (await hub.get_session(s.id)).preview == ""
    await hub.add_message(s.id, "user", "again")
    assert (await hub.get_session(s.id)).preview == "again"
    await consistent(hub, s.id)


async def test_pop_empty_unknown_and_malformed(hub: Hub) -> None:
    """An empty session pops None and stays empty; unknown and malformed ids are NotFound."""
    s = await hub.create_session()
    assert await hub.pop_message(s.id) is None
    assert (await hub.get_session(s.id)).message_count == 0
    with pytest.raises(NotFound):
        await hub.pop_message("ses_" + "0" * 25)
    with pytest.raises(NotFound):
        await hub.pop_message("not an id")
    with pytest.raises(NotFound):
        await hub.pop_message(None)  # type: ignore[arg-type]


async def test_pop_refused_when_archived(hub: Hub) -> None:
    """An archived session is read-only: pop is SessionReadOnly and nothing changes."""
    sid = await filled(hub, 3)
    await hub.archive(sid)
    with pytest.raises(SessionReadOnly):
        await hub.pop_message(sid)
    assert texts(await consistent(hub, sid)) == ["m1", "m2", "m3"]
    await hub.restore(sid)
    assert (await hub.pop_message(sid)) is not None


async def test_pop_on_a_fork_into_shared_history(hub: Hub) -> None:
    """A fork with no own rows pops from its base: the base is untouched, seqs restart correctly."""
    parent = await filled(hub, 4)
    pmsgs = await hub.get_history(parent)
    fork = (await hub.fork(parent, at_seq=2)).id
    popped = await hub.pop_message(fork)
    assert popped is not None and (popped.id, popped.seq, popped.session_id) == (pmsgs[1].id, 2, fork)
    assert texts(await consistent(hub, fork)) == ["m1"]
    assert texts(await consistent(hub, parent)) == ["m1", "m2", "m3", "m4"]
    assert [f.id for f in await hub.forks(parent)] == [fork]
    assert (await hub.pop_message(fork)) == as_of(pmsgs[0], fork)
    assert await consistent(hub, fork) == [] and await hub.forks(parent) == []  # no pointer left
    new = await hub.add_message(fork, "user", "fresh")
    assert new.seq == 1 and texts(await consistent(hub, fork)) == ["fresh"]
    assert texts(await consistent(hub, parent)) == ["m1", "m2", "m3", "m4"]


def as_of(m: Message, session_id: str) -> Message:
    return replace(m, session_id=session_id)


async def test_pop_on_a_fork_of_a_fork_normalises_the_pointer(hub: Hub) -> None:
    """Popping a fork back to its base's fork point reads straight from the session owning the rows."""
    root = await filled(hub, 3)
    mid = (await hub.fork(root)).id
    await hub.add_message(mid, "assistant", "mid4")
    leaf = (await hub.fork(mid)).id  # reads 1..4 from mid (mid owns row 4)
    assert (await hub.pop_message(leaf)) is not None
    assert texts(await consistent(hub, leaf)) == ["m1", "m2", "m3"]
    assert {f.id for f in await hub.forks(root)} == {mid, leaf}  # leaf now points at root
    await hub.delete_session(mid)
    assert texts(await consistent(hub, leaf)) == ["m1", "m2", "m3"]


async def test_pop_on_a_parent_whose_fork_reads_the_last_message(hub: Hub) -> None:
    """The fork keeps the popped message (moved, same id); the parent no longer sees it."""
    parent = await filled(hub, 3)
    before = await hub.get_history(parent)
    f = (await hub.fork(parent)).id  # reads 1..3: the heir
    g = (await hub.fork(parent, at_seq=2)).id  # reads 1..2: re-pointed to the heir
    popped = await hub.pop_message(parent)
    assert popped == before[2]
    assert await consistent(hub, parent) == before[:2]
    assert [m.id for m in await consistent(hub, f)] == [m.id for m in before]
    assert [m.id for m in await consistent(hub, g)] == [m.id for m in before[:2]]
    assert await hub.forks(parent) == []
    assert {x.id for x in await hub.forks(f)} == {g, parent}
    again = await hub.add_message(parent, "assistant", "new3")
    assert again.seq == 3 and texts(await consistent(hub, parent)) == ["m1", "m2", "new3"]
    assert texts(await consistent(hub, f)) == ["m1", "m2", "m3"]
    await hub.delete_session(f)  # the parent's history lives on (handed back to it or g)
    assert texts(await consistent(hub, parent)) == ["m1", "m2", "new3"]
    assert texts(await consistent(hub, g)) == ["m1", "m2"]


async def test_pop_on_a_fork_whose_own_fork_reads_it(hub: Hub) -> None:
    """A fork with one own row read by its fork: the heir takes it, the fork reads 1..n-1 from the root."""
    root = await filled(hub, 2)
    p = (await hub.fork(root)).id
    await hub.add_message(p, "user", "p3")
    f = (await hub.fork(p)).id
    assert (await hub.pop_message(p)) is not None
    assert texts(await consistent(hub, p)) == ["m1", "m2"]
    assert texts(await consistent(hub, f)) == ["m1", "m2", "p3"]
    assert {x.id for x in await hub.forks(root)} == {p, f}
    await hub.delete_session(root)
    assert texts(await consistent(hub, p)) == ["m1", "m2"]
    assert texts(await consistent(hub, f)) == ["m1", "m2", "p3"]


async def test_pop_clamps_checkpoints(hub: Hub) -> None:
    """Checkpoints at or past the popped seq move to the new end; earlier ones are unchanged."""
    sid = await filled(hub, 4)
    at2 = await hub.save_checkpoint(sid, "two")
    for _ in range(2):
        await hub.add_message(sid, "assistant", "x")
    at6 = await hub.save_checkpoint(sid, "six")
    await hub.pop_message(sid)
    got = {c.name: (c.at_seq, c.message_count) for c in await hub.list_checkpoints(sid)}
    assert got == {"two": (4, 4), "six": (5, 5)}
    for _ in range(3):
        await hub.pop_message(sid)
    got = {c.name: (c.at_seq, c.message_count) for c in await hub.list_checkpoints(sid)}
    assert got == {"two": (2, 2), "six": (2, 2)}
    assert at2.id and at6.id
    await hub.add_message(sid, "user", "after")
    restored = await hub.restore_checkpoint_detailed(at6.id)
    assert texts(await consistent(hub, sid)) == ["m1", "m2"]
    assert restored.branch is not None and texts(await consistent(hub, restored.branch.id)) == [
        "m1",
        "m2",
        "after",
    ]


async def test_repeated_pops_to_empty_then_append(hub: Hub) -> None:
    """Popping everything leaves an empty session; the next message is seq 1; search forgets the rows."""
    sid = await filled(hub, 5, prefix="zebra")
    await hub.add_message(sid, "user", "quixotic marmalade")
    assert [h.seq for h in await hub.search("marmalade")] == [6]
    seqs = []
    while (m := await hub.pop_message(sid)) is not None:
        seqs.append(m.seq)
        await consistent(hub, sid)
    assert seqs == [6, 5, 4, 3, 2, 1]
    assert await hub.search("marmalade") == []
    m = await hub.add_message(sid, "user", "restart")
    assert m.seq == 1 and texts(await consistent(hub, sid)) == ["restart"]
    assert (await hub.get_session(sid)).preview == "restart"


async def test_concurrent_pops_and_appends_keep_seqs_dense(hub: Hub) -> None:
    """Pops and appends racing on one session leave seqs 1..N, N = start + appended - popped."""
    sid = await filled(hub, 10)
    kinds: list[str] = []
    jobs: list[Any] = []
    for i in range(16):
        for _ in range(2 if i % 3 == 0 else 1):
            kinds.append("pop")
            jobs.append(hub.pop_message(sid))
        kinds.append("add")
        jobs.append(hub.add_message(sid, "user" if i % 2 else "assistant", f"c{i}"))
    results = await asyncio.gather(*jobs)
    appended = [r for r, k in zip(results, kinds, strict=True) if k == "add"]
    popped = [r for r, k in zip(results, kinds, strict=True) if k == "pop" and r is not None]
    msgs = await consistent(hub, sid)
    assert len(msgs) == 10 + len(appended) - len(popped)
    popped_ids = [m.id for m in popped]
    assert len(set(popped_ids)) == len(popped_ids)  # no message popped twice
    assert not set(popped_ids) & {m.id for m in msgs}


async def test_pop_makes_summaries_past_the_new_end_stale(hub: Hub) -> None:
    """A summary anchored at a popped message is no longer used, even after new messages fill its seq."""
    s = await hub.create_session()
    body = " ".join(["alpha beta gamma delta"] * 30)
    await hub.add_messages(
        s.id, [{"role": "user" if i % 2 == 0 else "assistant", "content": f"{i} {body}"} for i in range(40)]
    )
    record = await hub.compact(s.id)
    c = record.covers_until_seq
    assert 0 < c < 40
    while (await hub.get_session(s.id)).message_count > c:
        await hub.pop_message(s.id)
    kept = await hub.store.latest_summary(hub.owner, s.id)
    assert kept is not None and kept.id == record.id  # its anchor is still there
    await hub.pop_message(s.id)  # the anchor goes
    assert await hub.store.latest_summary(hub.owner, s.id) is None
    await hub.add_message(s.id, "user", "a different message at the anchor's seq")
    assert (await hub.get_session(s.id)).message_count == c
    assert await hub.store.latest_summary(hub.owner, s.id) is None
    assert [r.id for r in await hub.summaries(s.id)] == [record.id]  # kept, not deleted
    window = await hub.get_context_history(s.id, max_tokens=100_000, strategy="smart")
    assert window.summary is None


async def test_pop_encrypted_sqlite(tmp_path: Path) -> None:
    """With encryption on, popped messages decrypt, moved rows are re-sealed, preview and index follow."""
    url, key = f"sqlite:///{tmp_path}/enc.db", generate_master_key()
    async with sessionhub.open(url, encryption_key=key) as hub:
        s = await hub.create_session()
        await hub.add_messages(
            s.id,
            [
                {"role": "user", "content": "secret zanzibar plan", "metadata": {"k": 1}},
                {"role": "assistant", "content": "noted"},
                {"role": "user", "content": "ultramarine detail",
                 "parts": [{"type": "tool_result", "tool_call_id": "t", "content": "r"}]},
            ],
        )  # fmt: skip
        fork = (await hub.fork(s.id)).id
        popped = await hub.pop_message(s.id)  # the fork reads row 3: rows move to it, re-sealed
        assert popped is not None and popped.content == "ultramarine detail" and len(popped.parts) == 1
        assert texts(await consistent(hub, s.id)) == ["secret zanzibar plan", "noted"]
        assert texts(await consistent(hub, fork))[-1] == "ultramarine detail"
        assert {(h.session.id, h.seq) for h in await hub.search("ultramarine")} == {(fork, 3)}
        other = await hub.create_session()
        await hub.add_messages(other.id, [{"role": "user", "content": "lone xylophone"}])
        gone = await hub.pop_message(other.id)  # own row deleted with its blind-index terms
        assert gone is not None and gone.content == "lone xylophone"
        assert [h.message_id for h in await hub.search("xylophone")] == [None]  # the title only
        assert (await hub.get_session(other.id)).preview == ""
        await hub.pop_message(s.id)
        assert (await hub.get_session(s.id)).preview == "secret zanzibar plan"
    raw = (tmp_path / "enc.db").read_bytes()
    assert b"zanzibar" not in raw and b"ultramarine" not in raw
    async with sessionhub.open(url, encryption_key=key) as hub:
        assert texts(await consistent(hub, s.id)) == ["secret zanzibar plan"]
        assert texts(await consistent(hub, fork)) == ["secret zanzibar plan", "noted", "ultramarine detail"]
