"""Regenerate, edit and branches (CONTRACT §11.9), run against every backend.

Branches are pointers: every test also checks that no message row is ever copied and that
each session's counters match its visible history.
"""

from __future__ import annotations

import random
from collections import Counter

import pytest
from sqlalchemy import func, select

from sessionhub import InvalidInput, NotFound, SessionReadOnly
from sessionhub.hub import Hub
from sessionhub.store.schema import messages
from sessionhub.testing import FakeClock

from .helpers import filled


async def view(hub: Hub, sid: str) -> list[tuple[int, str, str]]:
    return [(m.seq, m.role, m.content) for m in await hub.get_history(sid, limit=1000)]


def rows(hub: Hub) -> int:
    with hub.store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(messages)).scalar_one())


async def consistent(hub: Hub, sid: str) -> None:
    """The session's counters, preview and seqs agree with its visible history."""
    s = await hub.get_session(sid)
    h = await hub.get_history(sid, limit=1000)
    assert [m.seq for m in h] == list(range(1, s.message_count + 1))
    roles = [m.role for m in h]
    st = s.stats
    assert (st.user_messages, st.assistant_messages, st.tool_messages) == (
        roles.count("user"), roles.count("assistant"), roles.count("tool"),
    )  # fmt: skip
    assert st.input_tokens == sum(m.usage.input_tokens for m in h)
    assert st.output_tokens == sum(m.usage.output_tokens for m in h)
    first_user = next((m.content for m in h if m.role == "user" and m.content.strip()), "")
    assert s.preview == first_user[:120]


async def test_regenerate_keeps_the_old_reply_as_a_branch(hub: Hub, clock: FakeClock) -> None:
    """Regenerate cuts before the last assistant message; the old reply is listed as a branch
    at its seq, nothing is copied, and switching brings it back (the new one becomes a branch)."""
    sid = await filled(hub, 4)  # m1 user, m2 assistant, m3 user, m4 assistant
    before = rows(hub)
    out = await hub.regenerate(sid)
    assert out.at_seq == 4 and out.session.message_count == 3 and out.branch is not None
    assert out.branch.status == "archived" and out.branch.metadata["branch_of"]["session_id"] == sid
    assert await view(hub, out.branch.id) == [(1, "user", "m1"), (2, "assistant", "m2"), (3, "user", "m3"),
                                              (4, "assistant", "m4")]  # fmt: skip
    clock.advance(seconds=1)
    await hub.add_message(sid, "assistant", "m4 again", usage={"input_tokens": 5, "output_tokens": 7})
    assert rows(hub) == before + 1
    (b,) = await hub.branches(sid)
    assert (b.at_seq, b.session_id, b.preview, b.role, b.message_count) == (
        4,
        out.branch.id,
        "m4",
        "assistant",
        4,
    )
    await consistent(hub, sid)
    s = await hub.switch_branch(sid, b.session_id)
    assert s.id == sid and [c for _, _, c in await view(hub, sid)] == ["m1", "m2", "m3", "m4"]
    (b2,) = await hub.branches(sid)
    assert (b2.at_seq, b2.preview) == (4, "m4 again") and b2.created_at > b.created_at
    assert rows(hub) == before + 1
    await consistent(hub, sid)
    await consistent(hub, b2.session_id)
    with pytest.raises(NotFound):  # the branch switched to is gone (its rows are the session's now)
        await hub.get_session(b.session_id)


async def test_edit_replaces_a_user_message_and_branches_nest(hub: Hub) -> None:
    """Edit keeps the old message and all that followed as a branch; a branch made inside that
    continuation is listed once the continuation is switched back to (a tree, not a flat list)."""
    sid = await filled(hub, 6)
    await hub.regenerate(sid, 6)
    await hub.add_message(sid, "assistant", "m6 v2")
    edited = await hub.edit(sid, 3, "m3 edited", metadata={"k": 1})
    assert edited.message is not None and (edited.message.seq, edited.message.content) == (3, "m3 edited")
    assert edited.at_seq == 3 and edited.session.message_count == 3
    assert [c for _, _, c in await view(hub, sid)] == ["m1", "m2", "m3 edited"]
    listed = await hub.branches(sid)
    assert [(b.at_seq, b.preview) for b in listed] == [(3, "m3")]  # the m6 alternative is inside it
    await hub.switch_branch(sid, listed[0].session_id)
    assert [c for _, _, c in await view(hub, sid)] == ["m1", "m2", "m3", "m4", "m5", "m6 v2"]
    assert sorted((b.at_seq, b.preview) for b in await hub.branches(sid)) == [(3, "m3 edited"), (6, "m6")]
    await consistent(hub, sid)
    assert rows(hub) == 8  # 6 + "m6 v2" + "m3 edited": never a copy


async def test_branches_of_a_fork_and_of_a_restore(hub: Hub) -> None:
    """Regenerating inside the history a fork reads from its source works by pointer too, and
    a restored checkpoint's kept-aside messages are a branch of the session."""
    src = await filled(hub, 4)
    fork = await hub.fork(src, at_seq=4)
    await hub.add_message(fork.id, "user", "f5")
    await hub.regenerate(fork.id, 2)
    await hub.add_message(fork.id, "assistant", "f2")
    assert [c for _, _, c in await view(hub, fork.id)] == ["m1", "f2"]
    (b,) = await hub.branches(fork.id)
    assert (b.at_seq, b.preview, b.message_count) == (2, "m2", 5)
    await hub.switch_branch(fork.id, b.session_id)
    assert [c for _, _, c in await view(hub, fork.id)] == ["m1", "m2", "m3", "m4", "f5"]
    assert [c for _, _, c in await view(hub, src)] == ["m1", "m2", "m3", "m4"]
    await consistent(hub, fork.id)
    assert await hub.branches(src) == []

    await hub.pop_message(src)
    await hub.pop_message(src)
    cp = await hub.save_checkpoint(src, "two")
    await hub.add_messages(src, [{"role": "user", "content": "m3b"}, {"role": "assistant", "content": "m4b"}])
    restored = await hub.restore_checkpoint_detailed(cp.id)
    assert restored.branch is not None
    await hub.add_message(src, "user", "m3c")
    assert [(x.at_seq, x.session_id, x.preview) for x in await hub.branches(src)] == [
        (3, restored.branch.id, "m3b")
    ]


async def test_bad_input_and_other_owners(hub: Hub) -> None:
    """Bad seqs, wrong roles and unknown branches are refused and change nothing; another owner
    sees nothing; archived sessions are read-only."""
    sid = await filled(hub, 4)
    before = await view(hub, sid)
    for seq, role_call in [(1, "regenerate"), (3, "regenerate"), (5, "regenerate"), (2, "edit"), (9, "edit")]:
        with pytest.raises(InvalidInput):
            if role_call == "regenerate":
                await hub.regenerate(sid, seq)
            else:
                await hub.edit(sid, seq, "x")
    for bad in (0, -1, True, "2", 2.0):
        with pytest.raises(InvalidInput):
            await hub.regenerate(sid, bad)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput):
        await hub.edit(sid, 1, "   ")
    empty = await hub.create_session()
    with pytest.raises(InvalidInput):
        await hub.regenerate(empty.id)
    assert await view(hub, sid) == before and await hub.branches(sid) == []
    bob = hub.as_user("bob")
    for call in (bob.regenerate(sid), bob.edit(sid, 1, "x"), bob.branches(sid), bob.switch_branch(sid, sid)):
        with pytest.raises(NotFound):
            await call
    out = await hub.regenerate(sid)
    assert out.branch is not None
    with pytest.raises(NotFound):
        await bob.switch_branch(sid, out.branch.id)
    with pytest.raises(NotFound):  # a session that is not one of its branches
        await hub.switch_branch(sid, empty.id)
    with pytest.raises(NotFound):
        await hub.switch_branch(sid, "ses_../../etc")
    with pytest.raises(SessionReadOnly):  # a branch itself is archived
        await hub.regenerate(out.branch.id)
    await hub.archive(sid)
    with pytest.raises(SessionReadOnly):
        await hub.switch_branch(sid, out.branch.id)
    await hub.restore(sid)
    assert await view(hub, sid) == before[:3]
    await hub.switch_branch(sid, out.branch.id)  # the session ends before #4: the branch continues it
    assert await view(hub, sid) == before and await hub.branches(sid) == []


async def test_random_walk_never_loses_or_copies(hub: Hub) -> None:
    """A random mix of appends, regenerates, edits and switches: after every step the session's
    counters match its history, each listed branch really differs at ``at_seq``, and every
    message ever written is visible in the session or an archived branch, in exactly one row."""
    rng = random.Random(18)
    sid = await filled(hub, 2)
    written = 2
    ops: Counter[str] = Counter()
    for step in range(18):
        h = await hub.get_history(sid, limit=1000)
        listed = await hub.branches(sid)
        op = rng.choice(["append", "regenerate", "edit", "switch", "switch"])
        if op == "append" or not h:
            ops["append"] += 1
            await hub.add_message(sid, "user" if rng.random() < 0.5 else "assistant", f"s{step}")
            written += 1
        elif op == "regenerate" and any(m.role == "assistant" for m in h):
            ops[op] += 1
            seq = rng.choice([m.seq for m in h if m.role == "assistant"])
            await hub.regenerate(sid, seq)
            await hub.add_message(sid, "assistant", f"r{step}")
            written += 1
        elif op == "edit" and any(m.role == "user" for m in h):
            ops[op] += 1
            seq = rng.choice([m.seq for m in h if m.role == "user"])
            await hub.edit(sid, seq, f"e{step}")
            written += 1
        elif op == "switch" and listed:
            ops[op] += 1
            b = rng.choice(listed)
            old = {m.seq: m.id for m in h}
            await hub.switch_branch(sid, b.session_id)
            now = await hub.get_history(sid, limit=1000)
            assert now[b.at_seq - 1].id == b.message_id
            assert [m.id for m in now[: b.at_seq - 1]] == [old[i] for i in range(1, b.at_seq)]
            if b.at_seq in old:  # the replaced continuation is now a branch at the same point
                assert old[b.at_seq] in {
                    x.message_id for x in await hub.branches(sid) if x.at_seq == b.at_seq
                }
        await consistent(hub, sid)
        h = await hub.get_history(sid, limit=1000)
        for b in await hub.branches(sid):
            alt = await hub.get_history(b.session_id, limit=1000)
            assert [m.id for m in alt[: b.at_seq - 1]] == [m.id for m in h[: b.at_seq - 1]]
            assert alt[b.at_seq - 1].id == b.message_id
            assert b.at_seq > len(h) or h[b.at_seq - 1].id != b.message_id
        if step % 6 == 5:
            seen = {m.id for m in h}
            page = await hub.list_sessions(view="archived", limit=500)
            for s in page.sessions:
                await consistent(hub, s.id)
                seen |= {m.id for m in await hub.get_history(s.id, limit=1000)}
            assert len(seen) == written == rows(hub)
    assert ops["switch"] >= 4 and ops["regenerate"] >= 2 and ops["edit"] >= 2, ops


async def test_deleting_or_clearing_a_session_keeps_its_branches_readable(hub: Hub) -> None:
    """A branch reads the shared history from its session: deleting or clearing the session
    hands those rows over (never lost), and the branch stays an ordinary archived session."""
    sid = await filled(hub, 4)
    out = await hub.regenerate(sid, 2)
    assert out.branch is not None
    await hub.add_message(sid, "assistant", "m2 again")
    await hub.clear_history(sid)
    # the branch now differs from the (empty) session at message 1: it is still an alternative
    assert [(b.at_seq, b.session_id, b.preview) for b in await hub.branches(sid)] == [
        (1, out.branch.id, "m1")
    ]
    assert [c for _, _, c in await view(hub, out.branch.id)] == ["m1", "m2", "m3", "m4"]
    other = await filled(hub, 2)
    kept = await hub.regenerate(other)
    await hub.delete_session(other)
    assert kept.branch is not None
    assert [c for _, _, c in await view(hub, kept.branch.id)] == ["m1", "m2"]
    await consistent(hub, kept.branch.id)
