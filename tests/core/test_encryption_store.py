"""Encryption at rest through the store, hub and CLI, on a SQLite file and on PostgreSQL."""

from __future__ import annotations

import base64
import os
import random
import sqlite3
import string
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import sessionhub
from sessionhub.crypto import Keyring, generate_master_key, load_master_key
from sessionhub.errors import ConfigError, DecryptionError
from sessionhub.store.sql import SQLStore

SQLITE_AND_PG = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(params=SQLITE_AND_PG)
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database on a SQLite file or PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/enc.db"
    else:
        yield request.getfixturevalue("pg_url")


def canaries(n: int, seed: int = 5) -> list[str]:
    rng = random.Random(seed)
    return ["cnry" + "".join(rng.choice(string.ascii_lowercase) for _ in range(10)) for _ in range(n)]


def raw_dump(url: str) -> bytes:
    """Every byte an attacker with the database would see: the SQLite files, or every PostgreSQL row."""
    if url.startswith("sqlite"):
        path = Path(url.removeprefix("sqlite:///"))
        return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
    import psycopg

    out: list[str] = []
    with psycopg.connect(url) as conn:
        tables = [
            r[0]
            for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'").fetchall()
        ]
        for t in tables:
            out.extend(str(r[0]) for r in conn.execute(f'SELECT t::text FROM "{t}" t').fetchall())
    return "\n".join(out).encode()


def raw_sql(url: str, statement: str, params: tuple[Any, ...] = ()) -> list[Any]:
    if url.startswith("sqlite"):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
            rows = conn.execute(statement, params).fetchall()
            conn.commit()
            return rows
    import psycopg

    with psycopg.connect(url) as conn:
        cur = conn.execute(statement.replace("?", "%s"), params)
        rows = cur.fetchall() if cur.description else []
        conn.commit()
        return rows


async def fill(hub: Any, words: list[str]) -> dict[str, Any]:
    """Write ``words`` through every path that stores text; returns ids for later checks."""
    it = iter(words)

    def w(k: int = 1) -> str:
        return " ".join(next(it) for _ in range(k))

    s = await hub.create_session(title=w(2), metadata={"note": w()})
    auto = await hub.create_session()  # title and preview set from the first user message
    for target in (s.id, auto.id):
        for _ in range(25):
            await hub.add_message(target, "user", f"plain words {w(5)}", metadata={"tag": w()})
            await hub.add_message(
                target,
                "assistant",
                w(3),
                parts=[
                    {"type": "tool_call", "id": "c1", "name": "lookup", "arguments": {"q": w()}},
                ],
            )
            await hub.add_message(
                target, "tool", w(), parts=[{"type": "tool_result", "tool_call_id": "c1", "content": w(2)}]
            )
    await hub.rename(s.id, w(2))
    await hub.store.update_session(hub.owner, s.id, _changes(metadata={"later": w()}))
    cp = await hub.save_checkpoint(s.id, w(2), description=w(3))
    for _ in range(5):
        await hub.add_message(s.id, "user", w(4))
    fork = await hub.fork(s.id, at_seq=10)
    await hub.add_message(fork.id, "user", w(3))
    await hub.save_checkpoint(s.id, w(), description=w())
    await hub.restore_checkpoint(cp.id)  # moves the later rows to a branch session
    summary = await hub.compact(auto.id)
    exported = await hub.export(auto.id, format="json")
    imported = await hub.import_session(exported)
    streaming = await hub.add_message(s.id, "assistant", w(), metadata={"m": w()})
    await hub.store.update_message(hub.owner, s.id, streaming.id, w(3), (), "complete", streaming.usage)
    for _ in range(3):
        await hub.search(w(2))
    rest = list(it)
    big = await hub.create_session(title="bulk")
    await hub.add_messages(big.id, [{"role": "user", "content": word} for word in rest])
    return {"s": s.id, "auto": auto.id, "fork": fork.id, "imported": imported.id, "summary": summary}


def _changes(**kw: Any) -> Any:
    from sessionhub.store.base import SessionChanges

    return SessionChanges(**kw)


async def test_no_canary_reaches_the_database(url: str) -> None:
    """1,000 canary words written through every path: none is in the raw file or the table dump."""
    key = generate_master_key()
    words = canaries(1000)
    async with sessionhub.open(url, encryption_key=key) as hub:
        ids = await fill(hub, words)
        history = await hub.get_history(ids["s"], limit=500)
        assert history and all(m.content for m in history)
        hits = await hub.search(words[-1])
        assert [h.seq for h in hits] and hits[0].snippet
        assert (await hub.get_session(ids["auto"])).title.startswith("plain words")
    dump = raw_dump(url).lower()
    leaked = [word for word in words if word.encode() in dump]
    assert leaked == []
    assert b"enc1:" in dump  # the values are there, encrypted
    # and still readable with the key
    async with sessionhub.open(url, encryption_key=key) as hub:
        msgs = await hub.get_history(ids["imported"], limit=500)
        assert any(word in m.content for m in msgs for word in words)


async def test_wrong_key_and_no_key_fail_at_open(url: str) -> None:
    """A wrong key is a DecryptionError at open; no key for an encrypted database is a ConfigError."""
    key = generate_master_key()
    async with sessionhub.open(url, encryption_key=key) as hub:
        await hub.add_message((await hub.create_session()).id, "user", "hello")
    with pytest.raises(DecryptionError, match="master key id"):
        async with sessionhub.open(url, encryption_key=generate_master_key()):
            pass
    with pytest.raises(ConfigError, match="encrypted"):
        async with sessionhub.open(url):
            pass


async def test_plaintext_database_cannot_be_switched_silently(url: str) -> None:
    """Turning encryption on for a database holding plaintext sessions is refused, not mixed."""
    async with sessionhub.open(url) as hub:
        await hub.create_session()
    with pytest.raises(ConfigError, match="unencrypted sessions"):
        async with sessionhub.open(url, encryption_key=generate_master_key()):
            pass


def _flip(value: str | bytes) -> str | bytes:
    """One ciphertext bit flipped, in the stored form (a SQLite record's bytes, or "enc1:" text)."""
    blob = bytearray(value if isinstance(value, bytes) else base64.b64decode(value.removeprefix("enc1:")))
    blob[-20] ^= 0x01
    return bytes(blob) if isinstance(value, bytes) else "enc1:" + base64.b64encode(bytes(blob)).decode()


async def test_tampering_raises_decryption_error_naming_the_session(url: str) -> None:
    """A flipped byte, content swapped between messages or between sessions: DecryptionError naming the session."""
    key = generate_master_key()
    async with sessionhub.open(url, encryption_key=key) as hub:
        a = await hub.create_session()
        b = await hub.create_session()
        for s in (a, b):
            await hub.add_messages(s.id, [{"role": "user", "content": f"m{i}"} for i in range(3)])
    rows = raw_sql(
        url,
        "SELECT m.pk, m.content, s.id FROM messages m JOIN sessions s ON s.pk = m.session_pk ORDER BY m.pk",
    )
    (pk1, c1, sid_a), (_pk2, c2, _), _, (pk4, c4, sid_b) = rows[0], rows[1], rows[2], rows[3]

    async def read(sid: str) -> None:
        async with sessionhub.open(url, encryption_key=key) as hub:
            await hub.get_history(sid)

    raw_sql(url, "UPDATE messages SET content = ? WHERE pk = ?", (_flip(c1), pk1))
    with pytest.raises(DecryptionError, match=sid_a):
        await read(sid_a)
    raw_sql(url, "UPDATE messages SET content = ? WHERE pk = ?", (c2, pk1))  # swap within a session
    with pytest.raises(DecryptionError, match=sid_a):
        await read(sid_a)
    raw_sql(url, "UPDATE messages SET content = ? WHERE pk = ?", (c1, pk1))
    await read(sid_a)  # restored: readable again
    raw_sql(url, "UPDATE messages SET content = ? WHERE pk = ?", (c1, pk4))  # from another session
    with pytest.raises(DecryptionError, match=sid_b):
        await read(sid_b)
    raw_sql(url, "UPDATE messages SET content = ? WHERE pk = ?", (c4, pk4))
    raw_sql(url, "UPDATE sessions SET title = ? WHERE id = ?", ("plain title", sid_b))
    with pytest.raises(DecryptionError, match=sid_b):
        async with sessionhub.open(url, encryption_key=key) as hub:
            await hub.get_session(sid_b)


async def test_rotation_interrupted_and_resumed(url: str) -> None:
    """Rotation re-wraps data keys one session at a time; stopped halfway it resumes, and the old key goes."""
    old, new = generate_master_key(), generate_master_key()
    async with sessionhub.open(url, encryption_key=old) as hub:
        ids = []
        for i in range(10):
            s = await hub.create_session(title=f"t{i}")
            await hub.add_message(s.id, "user", f"secret number {i}")
            ids.append(s.id)
    both = Keyring(load_master_key(new), [load_master_key(old)])
    store = SQLStore(url, keyring=both)
    await store.open()
    try:
        first = await store.rotate_keys(limit=4)  # "crash" after 4 sessions
    finally:
        await store.close()
    assert (first.rewrapped, first.remaining, first.index_secret_rewrapped) == (4, 6, True)
    # Mid-rotation, a server holding both keys reads everything (no downtime).
    async with sessionhub.open(url, settings=_settings(new, [old])) as hub:
        for sid in ids:
            assert (await hub.get_history(sid))[0].content.startswith("secret number")
    # With only the new key, the sessions not yet moved fail loudly, naming themselves.
    async with sessionhub.open(url, encryption_key=new) as hub:
        with pytest.raises(DecryptionError, match=ids[-1]):
            await hub.get_history(ids[-1])
    store = SQLStore(url, keyring=both)
    await store.open()
    try:
        second = await store.rotate_keys()
    finally:
        await store.close()
    assert (second.rewrapped, second.remaining) == (6, 0)
    async with sessionhub.open(url, encryption_key=new) as hub:
        for i, sid in enumerate(ids):
            assert (await hub.get_history(sid))[0].content == f"secret number {i}"
            assert (await hub.get_session(sid)).title == f"t{i}"
    with pytest.raises(DecryptionError):
        async with sessionhub.open(url, encryption_key=old):
            pass


def _settings(current: str, previous: list[str]) -> Any:
    from sessionhub.config import Settings

    env_names = {f"SH_TEST_PREV_{i}": k for i, k in enumerate(previous)}
    os.environ.update(env_names)
    os.environ["SH_TEST_CURRENT"] = current
    return Settings(encryption={"key_env": "SH_TEST_CURRENT", "previous_key_envs": list(env_names)})


SEARCH_DATA = [
    ("alpha project", ["the quick brown fox jumps", "deploy the rocket today", "fox and rocket"]),
    ("beta notes", ["rocket science is hard", "lazy dog sleeps", "The Quick fix"]),
    ("gamma fox", ["nothing here", "quick brown dog", "café crème brûlée"]),
]
QUERIES = [
    "fox",
    "rocket",
    "quick brown",
    "the quick",
    "rocket fox",
    "dog",
    "alpha",
    "gamma fox",
    "absent",
    "café",
]


async def _search_sets(url: str, key: str | None) -> dict[str, set[tuple[str, int | None]]]:
    async with sessionhub.open(url, encryption_key=key) as hub:
        for title, contents in SEARCH_DATA:
            s = await hub.create_session(title=title)
            await hub.add_messages(s.id, [{"role": "user", "content": c} for c in contents])
        # Keyword search on both sides: the indexes are compared (encrypted databases have no
        # semantic search; the blind index matches whole words, so no query here ends in a
        # word that is only a prefix of a stored one).
        return {
            q: {(h.session.title, h.seq) for h in await hub.search(q, limit=50, mode="keyword")}
            for q in QUERIES
        }


async def test_search_results_identical_with_and_without_encryption(url: str, tmp_path: Path) -> None:
    """The blind index finds the same sessions and messages as full-text search, single and multi word."""
    plain_url = f"sqlite:///{tmp_path}/plain.db" if url.startswith("sqlite") else url
    encrypted_url = f"sqlite:///{tmp_path}/encrypted.db" if url.startswith("sqlite") else None
    plain = await _search_sets(plain_url, None)
    if encrypted_url is None:  # PostgreSQL: a second database on the same server
        import psycopg

        admin = os.environ.get("SESSIONHUB_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
        name = "sh_test_enc_" + os.urandom(4).hex()
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        encrypted_url = admin.rsplit("/", 1)[0] + "/" + name
        try:
            encrypted = await _search_sets(encrypted_url, generate_master_key())
        finally:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    else:
        encrypted = await _search_sets(encrypted_url, generate_master_key())
    assert plain["fox"]  # the data is found at all
    assert plain["quick brown"] == {("alpha project", 1), ("gamma fox", 2)}
    assert encrypted == plain


def test_cli_keys_generate_and_rotate(
    tmp_path: Path, cli: Callable[..., subprocess.CompletedProcess[str]]
) -> None:
    """`keys generate` prints or writes (0600) a key; `keys rotate` moves a database to a new key."""
    printed = cli("keys", "generate")
    assert printed.returncode == 0 and len(printed.stdout.strip()) == 44
    old_file, new_file = tmp_path / "old.key", tmp_path / "new.key"
    assert cli("keys", "generate", "--key-file", str(old_file)).returncode == 0
    assert oct(old_file.stat().st_mode & 0o777) == "0o600"
    again = cli("keys", "generate", "--key-file", str(old_file))
    assert again.returncode != 0 and "already exists" in again.stderr
    assert cli("keys", "generate", "--key-file", str(new_file)).returncode == 0
    db = f"sqlite:///{tmp_path}/cli.db"
    config = tmp_path / "sessionhub.toml"
    config.write_text(f'[encryption]\nkey_file = "{old_file}"\n')
    made = cli("sessions", "new", "--database", db, "--config", str(config))
    assert made.returncode == 0, made.stderr
    rotated = cli(
        "keys", "rotate", "--database", db, "--config", str(config), "--new-key-file", str(new_file)
    )
    assert rotated.returncode == 0, rotated.stderr
    assert "re-wrapped 1 session key" in rotated.stdout and "0 remaining" in rotated.stdout
    stale = cli("sessions", "list", "--database", db, "--config", str(config))
    assert stale.returncode != 0 and "master key id" in stale.stderr
    config.write_text(f'[encryption]\nkey_file = "{new_file}"\n')
    fresh = cli("sessions", "list", "--database", db, "--config", str(config), "--json")
    assert fresh.returncode == 0, fresh.stderr
    nokey = cli("sessions", "list", "--database", db)
    assert nokey.returncode != 0 and "encrypted" in nokey.stderr


@pytest.mark.parametrize("backend_url", ["sqlite-encrypted"], indirect=True)
async def test_the_encrypted_backend_of_the_behaviour_suite_stores_no_plaintext(
    hub: Any, backend_url: str
) -> None:
    """The ``sqlite-encrypted`` backend of tests/conftest.py really encrypts: no content on disk."""
    s = await hub.create_session()
    await hub.add_message(s.id, "user", "zanzibarcanary")
    path = Path(backend_url.removeprefix("sqlite:///"))
    on_disk = b"".join(p.read_bytes() for p in (path, path.with_name(path.name + "-wal")) if p.exists())
    assert b"zanzibarcanary" not in on_disk


def _message_index(url: str) -> set[tuple[str, int, int]]:
    """The blind index of messages as (token, session_pk, message_pk): SQLite's message_tokens
    (migration 0017) or PostgreSQL's search_terms rows."""
    if url.startswith("sqlite"):
        rows = raw_sql(
            url,
            "SELECT t.tokens, m.session_pk, m.pk FROM message_tokens t JOIN messages m ON m.pk = t.rowid",
        )
        assert len(rows) == raw_sql(url, "SELECT count(*) FROM message_tokens")[0][0]  # none orphaned
        assert not raw_sql(url, "SELECT 1 FROM search_terms WHERE message_pk IS NOT NULL")
        return {(t, spk, pk) for tokens, spk, pk in rows for t in tokens.split()}
    return {
        (t, spk, pk)
        for t, spk, pk in raw_sql(url, "SELECT token, session_pk, message_pk FROM search_terms")
        if pk is not None
    }


async def _expected_message_index(hub: Any) -> set[tuple[str, int, int]]:
    """What the blind index must hold: each stored message's content decrypted and tokenised."""
    store = hub.store
    assert isinstance(store, SQLStore)
    out: set[tuple[str, int, int]] = set()
    with store._read() as conn:
        rows = conn.exec_driver_sql("SELECT pk, session_pk, id, seq, content FROM messages").all()
        for pk, spk, mid, seq, content in rows:
            text = store.codec.open_content(store._key_of(conn, spk), mid, seq, content)
            out.update((t, spk, pk) for t in store.codec.tokens(text))
    return out


async def test_the_blind_index_holds_the_tokens_of_the_stored_messages_and_no_others(url: str) -> None:
    """After every path that writes, rewrites, moves and deletes messages, the blind index is
    exactly the tokens of the messages left: nothing stale, nothing missing."""
    async with sessionhub.open(url, encryption_key=generate_master_key()) as hub:
        ids = await fill(hub, canaries(1000, seed=9))
        assert await hub.pop_message(ids["s"]) is not None
        await hub.clear_history(ids["auto"])
        await hub.delete_session(ids["imported"])
        expected = await _expected_message_index(hub)
        assert len(expected) > 500
        assert _message_index(url) == expected
        word = canaries(1000, seed=9)[-1]  # in the bulk session, still stored
        assert [h.session.title for h in await hub.search(word)] == ["bulk"]


async def test_migration_0017_moves_the_message_tokens_and_back(tmp_path: Path) -> None:
    """SQLite: downgrading to 0016 puts every message token back in search_terms; the upgrade
    moves them into message_tokens again, and search finds the same hits."""
    import sqlalchemy as sa
    from alembic import command
    from tests._util import alembic_config

    from sessionhub.store import engine as eng

    url = f"sqlite:///{tmp_path}/m.db"
    key = generate_master_key()
    words = canaries(1000, seed=11)
    async with sessionhub.open(url, encryption_key=key) as hub:
        hub.store.codec.records = False  # written as before 0020 (a record cannot go below it)
        await fill(hub, words)
        before = _message_index(url)
        hits = {w: [(h.session.id, h.seq) for h in await hub.search(w)] for w in words[::50]}
    assert before and any(hits.values())
    engine = eng.create_sqlalchemy_engine(eng.parse_url(url), pool_size=1)
    try:
        with engine.begin() as conn:
            cfg = alembic_config(conn)
            command.downgrade(cfg, "0016_usage_days")
            assert "message_tokens" not in set(sa.inspect(conn).get_table_names())
            old = conn.exec_driver_sql(
                "SELECT token, session_pk, message_pk FROM search_terms WHERE message_pk IS NOT NULL"
            ).all()
            assert {tuple(r) for r in old} == before and len(old) == len(before)
            command.upgrade(cfg, "head")
    finally:
        engine.dispose()
    assert _message_index(url) == before
    async with sessionhub.open(url, encryption_key=key) as hub:
        assert {w: [(h.session.id, h.seq) for h in await hub.search(w)] for w in words[::50]} == hits


async def test_a_message_is_one_record_on_sqlite_and_three_texts_on_postgresql(url: str) -> None:
    """SQLite stores an encrypted message as one sealed record (bytes in ``content``, ``parts``
    and ``metadata`` NULL); PostgreSQL's TEXT columns hold three "enc1:" texts. Both read back
    whole, and nothing of either reaches the word index."""
    async with sessionhub.open(url, encryption_key=generate_master_key()) as hub:
        s = await hub.create_session()
        sent = await hub.add_message(
            s.id,
            "assistant",
            "ünïcode, 中文 and 🎉",
            parts=[{"type": "tool_call", "id": "c1", "name": "lookup", "arguments": {"q": "x"}}],
            metadata={"model": "m1"},
        )
        assert (await hub.get_history(s.id)) == [sent]
    ((content, parts, metadata),) = raw_sql(url, "SELECT content, parts, metadata FROM messages")
    if url.startswith("sqlite"):
        assert isinstance(content, bytes) and parts is None and metadata is None
        assert raw_sql(url, "SELECT count(*) FROM messages_fts_docsize") == [(0,)]
    else:
        assert all(v.startswith("enc1:") for v in (content, parts, metadata))


async def test_records_and_older_three_text_rows_are_read_searched_and_moved_alike(tmp_path: Path) -> None:
    """SQLite: a database whose messages were written as three "enc1:" texts (before 0020) gets
    records for new messages; every path reads, searches, moves and deletes both, and the blind
    index stays exactly the tokens of the stored messages."""
    url = f"sqlite:///{tmp_path}/mixed.db"
    words = canaries(2000, seed=21)
    async with sessionhub.open(url, encryption_key=generate_master_key()) as hub:
        hub.store.codec.records = False
        old = await fill(hub, words[:1000])
        hub.store.codec.records = True
        new = await fill(hub, words[1000:])
        forms = {r[0] for r in raw_sql(url, "SELECT typeof(content) FROM messages")}
        assert forms == {"text", "blob"}
        for ids in (old, new):
            history = await hub.get_history(ids["s"])
            assert history and all(m.content for m in history if m.role == "user")
            assert await hub.pop_message(ids["s"]) is not None
            await hub.clear_history(ids["auto"])
            await hub.delete_session(ids["imported"])
        assert _message_index(url) == await _expected_message_index(hub)
        for word in (words[999], words[-1]):  # in each bulk session
            assert [h.session.title for h in await hub.search(word)] == ["bulk"]


async def test_migration_0020_downgrade_refuses_while_a_record_is_stored(tmp_path: Path) -> None:
    """Below 0020 a record cannot be read, and no migration has the key to rewrite it: the
    downgrade refuses while one is stored; without any, it restores the previous triggers."""
    import sqlalchemy as sa
    from alembic import command
    from tests._util import alembic_config

    from sessionhub.store import engine as eng

    url = f"sqlite:///{tmp_path}/r.db"

    async with sessionhub.open(url, encryption_key=generate_master_key()) as hub:
        s = await hub.create_session()
        await hub.add_message(s.id, "user", "hello")  # a record

    def triggers(conn: sa.Connection) -> str:
        return " ".join(
            r[0]
            for r in conn.exec_driver_sql(
                "SELECT sql FROM sqlite_master WHERE type = 'trigger' ORDER BY name"
            )
        )

    engine = eng.create_sqlalchemy_engine(eng.parse_url(url), pool_size=1)
    try:
        with engine.begin() as conn, pytest.raises(RuntimeError, match="one record each"):
            command.downgrade(alembic_config(conn), "0019_trigram_guard")
        with engine.begin() as conn:
            conn.exec_driver_sql("DELETE FROM messages")
            cfg = alembic_config(conn)
            head = triggers(conn)
            command.downgrade(cfg, "0019_trigram_guard")
            assert "typeof" not in triggers(conn)
            command.upgrade(cfg, "head")
            assert triggers(conn) == head
    finally:
        engine.dispose()
