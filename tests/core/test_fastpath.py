"""The SQLite hot paths (store/fastpath.py): their SQL is the Core statements', and the inline
reads answer exactly what the general path answers, or hand over to it."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.dialects import postgresql

import sessionhub
from sessionhub.crypto import generate_master_key
from sessionhub.errors import NotFound, SessionReadOnly
from sessionhub.hub import Hub
from sessionhub.model import NewMessage
from sessionhub.store import fastpath, fastpath_pg
from sessionhub.store._rows import MESSAGE_COLUMNS, SESSION_COLUMNS
from sessionhub.store.codec import PlainCodec, RowKey, message_values
from sessionhub.store.schema import messages, sessions
from sessionhub.store.sql import SQLStore

# -- the SQL is the Core statements' ---------------------------------------------------------------


def _select_list(sql: str) -> list[str]:
    head = sql.split("\nFROM", 1)[0].removeprefix("SELECT ")
    return [c.strip() for c in head.split(",")]


def test_insert_writes_every_column_a_new_message_row_has() -> None:
    sql = fastpath.INSERT_MESSAGE_SQL
    match = re.fullmatch(r"INSERT INTO messages \((.*)\) VALUES \((.*)\)", sql)
    assert match, sql
    columns = [c.strip() for c in match.group(1).split(",")]
    assert columns == [c.name for c in messages.c if c.name in fastpath.INSERT_MESSAGE_COLUMNS]
    assert [p.strip() for p in match.group(2).split(",")] == [f":{c}" for c in columns]
    # The row the append builds (codec.message_values plus session_pk) is exactly these columns,
    # and every NOT NULL column without a default is among them.
    row = {
        "session_pk": 1,
        **message_values(PlainCodec(), RowKey("", None), "msg_x", 1, NewMessage("user", "x"), 0),
    }
    assert set(row) == set(columns)
    required = {
        c.name for c in messages.c if not c.nullable and c.server_default is None and not c.primary_key
    }
    assert required <= set(columns)


def test_session_lookup_reads_the_row_in_session_row_order() -> None:
    sql = fastpath.SESSION_BY_ID_SQL
    assert _select_list(sql) == [
        f'sessions."{c}"' if c == "key" else f"sessions.{c}" for c in SESSION_COLUMNS
    ]
    assert sql.endswith("WHERE sessions.id = :session_id AND sessions.owner = :owner")


@pytest.mark.parametrize("order", ["desc", "asc"])
def test_latest_reads_message_columns_then_the_session_bits_owner_checked(order: str) -> None:
    sql = fastpath.LATEST_SQL[order]
    wanted = [f"messages.{c.name}" for c in MESSAGE_COLUMNS] + [
        f"sessions.{c.name}" for c in fastpath.LATEST_EXTRA
    ]
    assert _select_list(sql) == wanted
    assert "FROM sessions JOIN messages ON messages.session_pk = sessions.pk" in sql
    assert "sessions.id = :session_id AND sessions.owner = :owner" in sql
    assert "messages.seq > sessions.base_seq AND messages.seq <= sessions.message_count" in sql
    assert f"ORDER BY messages.seq {order.upper()}" in sql
    assert sql.rstrip().endswith("LIMIT :n OFFSET 0")


def test_the_postgresql_texts_say_what_the_sqlite_ones_say() -> None:
    """The append's statements compiled for psycopg: the same columns, parameters and filter."""
    sqlite_columns = re.fullmatch(r"INSERT INTO messages \((.*)\) VALUES.*", fastpath.INSERT_MESSAGE_SQL)
    assert sqlite_columns
    columns = sqlite_columns.group(1).split(", ")
    append = fastpath_pg.APPEND_PG
    insert = re.search(
        r"INSERT INTO messages \((.*?)\) SELECT locked\.pk AS pk, locked\.message_count \+", append
    )
    assert insert, append
    inserted = insert.group(1).split(", ")
    assert sorted(inserted) == sorted(columns)  # every column SQLite's insert sets
    assert inserted[:2] == ["session_pk", "seq"]  # seq numbered from the locked count
    arrays = re.findall(r"CAST\(%\(v_(\w+)\)s AS \w+\[\]\)", append)
    assert arrays == inserted[2:]  # the rest from the arrays, in the insert's order
    assert "WITH ORDINALITY" in append
    assert (
        "sessions.id = %(session_id)s::VARCHAR AND sessions.owner = %(owner)s::VARCHAR FOR UPDATE" in append
    )
    assert append.count("locked.status != 'archived'") == 2  # neither write touches an archived session
    update = re.search(r"UPDATE sessions SET (.*) FROM locked WHERE", append)
    assert update
    set_columns = {m.group(1) for m in re.finditer(r"(?:^|, )(\w+)=", update.group(1))}
    sqlite_set = {
        m.group(1) for m in re.finditer(r"(\w+)=", fastpath.APPEND_COUNTERS_SQL.split(" WHERE ")[0])
    }
    assert set_columns == sqlite_set  # the same counters as SQLite's APPEND_COUNTERS
    params = set(re.findall(r"%\((\w+)\)s", append))
    counters = set(re.findall(r":(\w+)", fastpath.APPEND_COUNTERS_SQL))
    assert params == (counters - {"b_pk", "b_count"}) | {"b_n", "owner", "session_id"} | {
        f"v_{c}" for c in inserted[2:]
    }
    lock = fastpath_pg.SESSION_FOR_UPDATE_PG  # the encrypted append's row lock
    assert [c.replace('"', "") for c in _select_list(lock)] == [f"sessions.{c}" for c in SESSION_COLUMNS]
    assert lock.endswith(
        "WHERE sessions.id = %(session_id)s::VARCHAR AND sessions.owner = %(owner)s::VARCHAR FOR UPDATE"
    )
    assert set(re.findall(r"%\((\w+)\)s", fastpath_pg.APPEND_COUNTERS_PG)) == counters


def test_append_counters_match_on_both_dialects() -> None:
    sqlite_sql = fastpath.APPEND_COUNTERS_SQL
    pg = fastpath.APPEND_COUNTERS.compile(dialect=postgresql.dialect())
    names = set(re.findall(r":(\w+)", sqlite_sql))
    assert names == set(pg.bind_names.values())
    set_columns = {m.group(1) for m in re.finditer(r"(\w+)=", sqlite_sql.split(" WHERE ")[0])}
    counters = {
        "user_messages",
        "assistant_messages",
        "tool_messages",
        "errors",
        "input_tokens",
        "output_tokens",
    }
    assert counters | {
        "message_count",
        "last_message_at",
        "activity_at",
        "updated_at",
        "preview",
        "title",
    } == (set_columns)
    assert set_columns <= {c.name for c in sessions.c}


# -- the statements on a real database -------------------------------------------------------------


@pytest.fixture
async def hub(tmp_path: Path) -> AsyncIterator[Hub]:
    async with sessionhub.open(f"sqlite:///{tmp_path}/fast.db") as h:
        yield h


def _store(hub: Hub) -> SQLStore:
    assert isinstance(hub.store, SQLStore)
    return hub.store


async def test_latest_uses_the_indexes(hub: Hub, tmp_path: Path) -> None:
    await hub.create_session(agent="main")
    conn = sqlite3.connect(tmp_path / "fast.db")
    params = {"session_id": "x", "owner": "y", "lo": 1, "hi": 9, "n": 3}
    plan = " | ".join(r[3] for r in conn.execute("EXPLAIN QUERY PLAN " + fastpath.LATEST_SQL["desc"], params))
    conn.close()
    assert "SEARCH sessions USING INDEX" in plan and "SEARCH messages USING INDEX" in plan, plan
    assert "SCAN" not in plan and "TEMP B-TREE" not in plan, plan


def _count_hops(store: SQLStore, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The functions the store sends to a worker thread from now on, in order."""
    hops: list[Any] = []
    original_run = store._run

    async def counting_run(fn: Any, *args: Any) -> Any:
        hops.append(fn)
        return await original_run(fn, *args)

    monkeypatch.setattr(store, "_run", counting_run)
    return hops


async def _pages(hub: Hub, sid: str) -> list[Any]:
    calls: list[Any] = []
    for limit, before, after in [
        (50, None, None),
        (3, None, None),
        (3, 5, None),
        (4, None, 2),
        (200, None, None),
    ]:
        calls.append(await hub.history_page(sid, limit, before, after))
    return calls


async def test_inline_reads_equal_the_worker_path_without_a_thread_hop(
    hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = await hub.create_session(agent="main")
    await hub.add_messages(
        s.id,
        [
            {"role": "user", "content": f"m{i}", "metadata": {"i": i}}
            if i % 2
            else {"role": "assistant", "content": f"a{i}"}
            for i in range(12)
        ],
    )
    store = _store(hub)
    inline = await _pages(hub, s.id)
    hops = _count_hops(store, monkeypatch)
    assert await _pages(hub, s.id) == inline
    assert hops == []  # all of them answered on the calling thread
    assert store.readers is not None
    monkeypatch.setattr(store, "readers", None)  # the general path, in a worker thread
    assert await _pages(hub, s.id) == inline
    assert len(hops) == 5
    assert [m.seq for m in inline[0][0]] == list(range(1, 13)) and inline[0][1] is False
    assert [m.seq for m in inline[1][0]] == [10, 11, 12] and inline[1][1] is True
    assert [m.seq for m in inline[2][0]] == [2, 3, 4] and inline[2][1] is True
    assert [m.seq for m in inline[3][0]] == [3, 4, 5, 6] and inline[3][1] is True


async def test_inline_reads_keep_the_owner_check_and_hand_forks_over(hub: Hub) -> None:
    s = await hub.create_session(agent="main")
    await hub.add_messages(s.id, [{"role": "user", "content": f"m{i}"} for i in range(6)])
    with pytest.raises(NotFound):
        await hub.as_user("someone-else").get_history(s.id)
    with pytest.raises(NotFound):
        await hub.get_history("ses_" + "0" * 26)
    fork = await hub.fork(s.id, at_seq=4)
    await hub.add_messages(
        fork.id, [{"role": "assistant", "content": "f5"}, {"role": "user", "content": "f6"}]
    )
    assert [m.content for m in await hub.get_history(fork.id)] == ["m0", "m1", "m2", "m3", "f5", "f6"]
    assert [m.content for m in await hub.get_history(fork.id, limit=1)] == ["f6"]
    assert [m.content for m in await hub.get_history(fork.id, after_seq=1, limit=2)] == ["m1", "m2"]
    empty = await hub.create_session(agent="main")
    assert await hub.get_history(empty.id) == []


async def test_a_busy_or_failing_reader_hands_over_to_the_worker_path(
    hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = await hub.create_session(agent="main")
    await hub.add_messages(
        s.id, [{"role": "user", "content": "one"}, {"role": "assistant", "content": "two"}]
    )
    store = _store(hub)
    assert store.readers is not None

    def busy() -> sqlite3.Connection:
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(store.readers, "connection", busy)
    assert [m.content for m in await hub.get_history(s.id)] == ["one", "two"]
    assert [x.id for x in (await hub.list_sessions()).sessions] == [s.id]


async def test_the_writer_connection_goes_on_after_failed_transactions(hub: Hub) -> None:
    s = await hub.create_session(agent="main")
    await hub.add_message(s.id, "user", "first")
    with pytest.raises(NotFound):
        await hub.add_message("ses_" + "1" * 26, "user", "lost")
    await hub.archive(s.id)
    with pytest.raises(SessionReadOnly):
        await hub.add_message(s.id, "user", "refused")
    other = await hub.create_session(agent="main")
    m = await hub.add_message(other.id, "user", "kept")
    assert m.seq == 1 and [x.content for x in await hub.get_history(other.id)] == ["kept"]
    assert [x.content for x in await hub.get_history(s.id)] == ["first"]
    assert _store(hub)._writer is not None  # one connection served all of them


async def test_encrypted_inline_reads_decrypt(tmp_path: Path) -> None:
    async with sessionhub.open(f"sqlite:///{tmp_path}/enc.db", encryption_key=generate_master_key()) as hub:
        s = await hub.create_session(agent="main")
        await hub.add_messages(
            s.id,
            [
                {"role": "user", "content": "secret words", "metadata": {"k": "v"}},
                {"role": "assistant", "content": "ok"},
            ],
        )
        page = await hub.get_history(s.id)
        assert [(m.content, dict(m.metadata)) for m in page] == [("secret words", {"k": "v"}), ("ok", {})]
    assert b"secret words" not in (tmp_path / "enc.db").read_bytes()


def _title(i: int) -> str:
    return f"secret title {i}"


async def _seed_list(hub: Hub) -> None:
    """Sessions in every state the list orders and filters by: empty, pinned, archived, reordered."""
    ids = []
    for i in range(23):
        s = await hub.create_session(agent="main", title=_title(i), metadata={"i": i})
        ids.append(s.id)
        if i % 5 != 3:
            await hub.add_message(s.id, "user", f"m{i}")
    for i in (1, 8, 14):
        await hub.pin(ids[i])
    for i in (2, 6, 11, 19):
        await hub.archive(ids[i])
    for i in (4, 9):
        await hub.add_message(ids[i], "user", "later")  # newer activity: moves up


async def _list_pages(hub: Hub, view: Any, limit: int, agent: str | None = None) -> list[Any]:
    store = _store(hub)
    pages: list[Any] = []
    cursor = None
    while True:
        page = await store.list_sessions(hub.owner, view, limit, cursor, agent, None)
        pages.append(page)
        cursor = page[1]
        if cursor is None:
            return pages


async def _lists_match(hub: Hub, monkeypatch: pytest.MonkeyPatch) -> None:
    store = _store(hub)
    hops = _count_hops(store, monkeypatch)
    cases = [(view, limit) for view in ("active", "archived") for limit in (1, 4, 50)]
    inline = [await _list_pages(hub, view, limit) for view, limit in cases]
    assert hops == []  # every page answered on the calling thread
    await _list_pages(hub, "all", 4)
    await _list_pages(hub, "active", 4, agent="main")
    assert hops and all(fn == store._list for fn in hops)  # those go to the worker path
    readers = store.readers
    monkeypatch.setattr(store, "readers", None)
    general = [await _list_pages(hub, view, limit) for view, limit in cases]
    monkeypatch.setattr(store, "readers", readers)
    assert inline == general
    active = [s for page, _ in inline[2] for s in page]
    # 23 sessions, 4 archived, 4 empty of which only the newest (t18) is listed (t8, pinned and
    # empty, is not); pinned first, then by activity.
    assert len(active) == 23 - 4 - 3 and [s.title for s in active[:4]] == [_title(i) for i in (14, 1, 9, 4)]
    assert [s.title for s in active if s.message_count == 0] == [_title(18)]
    assert [s.title for page, _ in inline[5] for s in page] == [_title(i) for i in (19, 11, 6, 2)]


async def test_inline_list_pages_equal_the_worker_path(hub: Hub, monkeypatch: pytest.MonkeyPatch) -> None:
    await _seed_list(hub)
    await _lists_match(hub, monkeypatch)


async def test_encrypted_inline_list_pages_decrypt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    async with sessionhub.open(f"sqlite:///{tmp_path}/enc.db", encryption_key=generate_master_key()) as hub:
        await _seed_list(hub)
        await _lists_match(hub, monkeypatch)
    assert b"secret title" not in (tmp_path / "enc.db").read_bytes()


@pytest.mark.postgres
@pytest.mark.parametrize(("encrypted", "statement"), [(False, "APPEND_PG"), (True, "APPEND_COUNTERS_PG")])
async def test_a_failure_inside_the_postgresql_append_rolls_the_append_back(
    pg_url: str, monkeypatch: pytest.MonkeyPatch, encrypted: bool, statement: str
) -> None:
    """A plaintext append is one statement in autocommit; an encrypted one sends its counters
    after the rows in a transaction. A statement failing there is the store's DatabaseError,
    nothing of the append stays, and the pooled connections go on appending."""
    from sessionhub.errors import DatabaseError
    from sessionhub.store import messages_sql

    key = generate_master_key() if encrypted else None
    async with sessionhub.open(pg_url, encryption_key=key) as hub:
        s = await hub.create_session(agent="main")
        await hub.add_message(s.id, "user", "first")
        good = getattr(messages_sql, statement)
        monkeypatch.setattr(messages_sql, statement, good.replace("UPDATE sessions", "UPDATE nowhere", 1))
        with pytest.raises(DatabaseError, match="nowhere"):
            await hub.add_message(s.id, "user", "lost")
        monkeypatch.setattr(messages_sql, statement, good)
        for i in range(10):  # on the pooled connections, the failed one among them
            await hub.add_message(s.id, "user", f"after {i}")
        history = await hub.get_history(s.id)
        assert [m.content for m in history] == ["first"] + [f"after {i}" for i in range(10)]
        assert [m.seq for m in history] == list(range(1, 12))
        assert (await hub.get_session(s.id)).message_count == 11


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def test_an_append_inside_a_routed_write_rolls_back_with_it(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Routing an inbound message records its event, binds the key to a session and appends, in
    one transaction; the append joins it (on PostgreSQL: no commit of its own). A failure after
    the append leaves nothing: no message, no session, and the event can be delivered again."""
    from sessionhub.routing.inbound import InboundMessage
    from sessionhub.store.messages_sql import MessagesSQLMixin

    url = request.getfixturevalue("pg_url") if backend == "postgresql" else f"sqlite:///{tmp_path}/r.db"
    inbound = InboundMessage(channel="telegram", chat="42", sender="u1", text="hello", event_id="e1")
    async with sessionhub.open(url) as hub:
        real = MessagesSQLMixin._append

        def append_then_fail(self: Any, *args: Any) -> Any:
            real(self, *args)
            raise RuntimeError("after the append")

        monkeypatch.setattr(MessagesSQLMixin, "_append", append_then_fail)
        with pytest.raises(RuntimeError, match="after the append"):
            await hub.record_inbound(inbound)
        monkeypatch.setattr(MessagesSQLMixin, "_append", real)
        assert not (await hub.list_sessions(view="all")).sessions
        session, message = await hub.record_inbound(inbound)  # not a duplicate: its event was not kept
        assert message is not None and message.seq == 1
        assert [m.content for m in await hub.get_history(session.id)] == ["hello"]
