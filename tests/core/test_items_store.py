"""Messages as OpenAI items (hub/items.py, store/items_sql.py) on every backend.

Given ids (OpenAI's long ones included: PostgreSQL's column was widened), duplicates,
pages by item id, deletion anywhere with forks and checkpoints around it, encryption on;
and that the lookup by id uses ``ix_messages_id`` on SQLite and PostgreSQL.
"""

from __future__ import annotations

import pytest
from sqlalchemy import text

from sessionhub.errors import InvalidInput, NotFound
from sessionhub.hub import Hub
from sessionhub.store.items_sql import DuplicateItem

LONG_ID = "fc_" + "0123456789abcdef" * 3  # 51 characters, as OpenAI assigns them


def user(text_: str, **extra: object) -> dict[str, object]:
    return {"type": "message", "role": "user", "content": text_, **extra}


async def test_given_ids_pages_and_duplicates(hub: Hub) -> None:
    s = await hub.create_session()
    made = await hub.add_items(
        s.id,
        [
            user("one"),
            {"type": "function_call", "id": LONG_ID, "call_id": "c1", "name": "f", "arguments": "{}"},
            user("three", id="msg_mine"),
        ],
    )
    assert [m.id for m in made][1:] == [LONG_ID, "msg_mine"] and made[0].id.startswith("msg_")
    assert (await hub.get_item(s.id, LONG_ID)).parts[0].name == "f"  # type: ignore[union-attr]
    assert (await hub.get_item(s.id, "msg_mine")).content == "three"  # decrypted when encrypted

    with pytest.raises(DuplicateItem, match=r"^Duplicate item found with id msg_mine"):
        await hub.add_items(s.id, [user("again"), user("dup", id="msg_mine")])
    with pytest.raises(DuplicateItem):
        await hub.add_items(s.id, [user("a", id="twice"), user("b", id="twice")])
    with pytest.raises(InvalidInput):
        await hub.add_items(s.id, [user(f"m{n}") for n in range(21)])
    assert (await hub.get_session(s.id)).message_count == 3  # refused calls stored nothing

    ids = [m.id for m in made]
    page, more = await hub.item_page(s.id, limit=2)
    assert [m.id for m in page] == ids[:0:-1] and more
    page, more = await hub.item_page(s.id, after=ids[1], limit=2)
    assert [m.id for m in page] == ids[:1] and not more
    page, more = await hub.item_page(s.id, after=ids[0], order="asc", limit=1)
    assert [m.id for m in page] == ids[1:2] and more
    with pytest.raises(NotFound):
        await hub.item_page(s.id, after="nope")

    other = await hub.create_session()
    theirs = await hub.add_items(
        other.id, [user("same id elsewhere", id="msg_mine"), user("x")]
    )  # per conversation
    with pytest.raises(NotFound):
        await hub.add_items(s.id, [{"type": "item_reference", "id": theirs[1].id}])
    assert (await hub.get_item(other.id, "msg_mine")).content == "same id elsewhere"
    with pytest.raises(NotFound):
        await hub.as_user("mallory").get_item(other.id, "msg_mine")


async def test_delete_anywhere_keeps_forks_checkpoints_and_counters(hub: Hub) -> None:
    s = await hub.create_session()
    made = await hub.add_items(
        s.id, [user("first question"), *({"role": "assistant", "content": f"a{n}"} for n in range(2, 7))]
    )
    ids = [m.id for m in made]  # seqs 1..6
    cp = await hub.save_checkpoint(s.id, "all six")
    fork = await hub.fork(s.id, at_seq=4)
    await hub.add_items(fork.id, [user("fork's own")])

    # Delete seq 2 of the base: the fork reads rows 1..4 and keeps its view.
    await hub.delete_item(s.id, ids[1])
    base = await hub.get_history(s.id, 100)
    assert [m.id for m in base] == [ids[0], *ids[2:]] and [m.seq for m in base] == [1, 2, 3, 4, 5]
    assert [m.content for m in base] == ["first question", "a3", "a4", "a5", "a6"]
    forked = await hub.get_history(fork.id, 100)
    assert [m.id for m in forked][:4] == ids[:4] and forked[-1].content == "fork's own"
    session = await hub.get_session(s.id)
    assert session.message_count == 5 and session.stats.assistant_messages == 4
    assert (
        cp.at_seq == 6 and (await hub.list_checkpoints(s.id))[0].at_seq == 5
    )  # moved down with its messages

    # Delete in the fork a message it reads from the base: the base is untouched.
    await hub.delete_item(fork.id, ids[2])
    assert [m.id for m in await hub.get_history(fork.id, 100)][:3] == [ids[0], ids[1], ids[3]]
    assert [m.id for m in await hub.get_history(s.id, 100)] == [ids[0], *ids[2:]]
    with pytest.raises(NotFound):
        await hub.get_item(fork.id, ids[2])

    # The first user message goes: the preview follows; the last one goes: pop.
    await hub.delete_item(s.id, ids[0])
    assert (await hub.get_session(s.id)).preview == ""
    await hub.delete_item(s.id, ids[-1])
    left = await hub.get_history(s.id, 100)
    assert [m.id for m in left] == ids[2:5] and [m.seq for m in left] == [1, 2, 3]
    assert (await hub.add_items(s.id, [user("next")]))[0].seq == 4
    hits = await hub.search("a4")
    assert s.id in {h.session.id for h in hits}
    with pytest.raises(NotFound):
        await hub.delete_item(s.id, ids[0])


@pytest.mark.parametrize(
    "backend_url", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)
async def test_lookup_by_id_uses_the_index(hub: Hub) -> None:
    """``ix_messages_id`` exists and the planner can answer a lookup by id with it."""
    s = await hub.create_session()
    await hub.add_items(s.id, [user(f"m{n}") for n in range(20)])
    engine = hub.store.engine  # type: ignore[attr-defined]
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            plan = conn.execute(
                text("EXPLAIN QUERY PLAN SELECT seq FROM messages WHERE id = 'x' AND session_pk IN (1, 2)")
            ).all()
        else:
            conn.execute(text("SET enable_seqscan = off"))
            plan = conn.execute(
                text("EXPLAIN SELECT seq FROM messages WHERE id = 'x' AND session_pk IN (1, 2)")
            ).all()
    assert "ix_messages_id" in " ".join(str(r) for r in plan)
