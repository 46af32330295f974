"""Opening databases: URLs, migrations, and clear errors for bad or unreachable ones."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

import sessionhub
from sessionhub import DatabaseError, InvalidInput
from sessionhub.store import engine as eng
from sessionhub.store.schema import metadata


def _not_fts(name: str | None, type_: str, _parents: object) -> bool:
    """Full-text objects (word and trigram indexes, the encrypted messages' tokens on SQLite) are
    a dialect branch made by raw SQL in the migrations."""
    shadows = ("", "_data", "_idx", "_docsize", "_config", "_content")
    return not (name or "").endswith(
        (*tuple(f"{base}{s}" for base in ("_fts", "_tri", "message_tokens") for s in shadows), "_tri_v")
    )


async def test_migrated_schema_matches_metadata(backend_url: str) -> None:
    """The migrations build exactly the schema defined in schema.py (no drift)."""
    async with sessionhub.open(backend_url) as hub:
        engine = hub.store.engine  # type: ignore[attr-defined]
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"include_name": _not_fts})
            diff = compare_metadata(ctx, metadata)
        assert diff == []
        with engine.connect() as conn:
            assert eng.current_revision(conn) == eng.head_revision()


async def test_reopen_is_idempotent(tmp_path: Path) -> None:
    """Opening twice keeps data and does not re-run migrations."""
    url = f"sqlite:///{tmp_path}/a.db"
    async with sessionhub.open(url) as hub:
        s = await hub.create_session()
        await hub.add_message(s.id, "user", "persisted")
    async with sessionhub.open(url) as hub:
        assert hub.store.migrated[0] == hub.store.migrated[1]  # type: ignore[attr-defined]
        assert (await hub.get_history(s.id))[0].content == "persisted"


async def test_sqlite_file_uses_wal(tmp_path: Path) -> None:
    """The SQLite store runs in WAL mode with foreign keys on."""
    async with sessionhub.open(f"sqlite:///{tmp_path}/w.db") as hub:
        with hub.store.engine.connect() as conn:  # type: ignore[attr-defined]
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_default_path_is_in_user_data_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """With no URL the store is a file in the user data dir."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    parsed = eng.parse_url(None)
    assert parsed.dialect == "sqlite" and parsed.path == tmp_path / "sessionhub" / "sessionhub.db"


@pytest.mark.parametrize(
    ("url", "error"),
    [
        ("mysql://root@localhost/x", InvalidInput),
        ("postgresql://nobody@127.0.0.1:1/none", DatabaseError),
        ("sqlite:////proc/no/such/dir/x.db", DatabaseError),
        ("sqlite:///x.db?synchronous=sometimes", InvalidInput),
    ],
)
async def test_bad_urls_give_clear_errors(url: str, error: type[Exception]) -> None:
    """Unsupported, unreachable or unusable database URLs raise one clear SessionhubError."""
    with pytest.raises(error):
        async with sessionhub.open(url):
            pass


@pytest.mark.postgres
async def test_what_postgresql_refuses_in_an_append_is_a_database_error(pg_url: str) -> None:
    """The append's statements run on psycopg's cursor (fastpath.py): an error there is still
    sessionhub's one-line DatabaseError, stores nothing, and leaves the hub usable."""
    async with sessionhub.open(pg_url) as hub:
        s = await hub.create_session()
        engine = hub.store.engine  # type: ignore[attr-defined]
        with engine.begin() as conn:
            conn.exec_driver_sql(
                "ALTER TABLE messages ADD CONSTRAINT ck_test_short CHECK (length(content) < 12)"
            )
        try:
            with pytest.raises(DatabaseError, match="ck_test_short"):
                await hub.add_message(s.id, "user", "far too long for the check")
            with pytest.raises(DatabaseError, match="ck_test_short"):
                await hub.add_messages(
                    s.id, [{"role": "user", "content": "ok"}, {"role": "user", "content": "x" * 20}]
                )
            assert (await hub.get_session(s.id)).message_count == 0
            assert (await hub.add_message(s.id, "user", "short")).seq == 1
        finally:
            with engine.begin() as conn:
                conn.exec_driver_sql("ALTER TABLE messages DROP CONSTRAINT ck_test_short")


async def test_appends_leave_the_title_index_alone_and_a_rename_updates_it(tmp_path: Path) -> None:
    """SQLite (migration 0018): the title's FTS5 entry is rewritten when the title changes, not
    on every append (whose UPDATE of the session row names the title column)."""
    import sqlite3

    path = tmp_path / "t.db"

    def structure() -> bytes:  # FTS5's structure record: a new segment changes it
        with sqlite3.connect(path) as raw:
            return bytes(raw.execute("SELECT block FROM sessions_fts_data WHERE id = 10").fetchone()[0])

    async with sessionhub.open(f"sqlite:///{path}") as hub:
        s = await hub.create_session(title="weekly planning")
        await hub.add_message(s.id, "user", "first")
        before = structure()
        for i in range(5):
            await hub.add_message(s.id, "user", f"hello {i}")
        assert structure() == before
        await hub.rename(s.id, "quarterly review")
        assert structure() != before
        assert [h.session.id for h in await hub.search("quarterly")] == [s.id]
        assert await hub.search("weekly") == []


async def test_the_trigram_index_holds_exactly_the_texts_in_its_scripts(tmp_path: Path) -> None:
    """SQLite (migrations 0014 and 0019): text in CJK/Thai scripts enters the trigram index on
    insert and leaves it on delete; ASCII (guarded before the GLOB) and other non-ASCII text never do."""
    import sqlite3

    path = tmp_path / "tri.db"

    def trigrams() -> set[str]:
        with sqlite3.connect(path) as raw:
            return {r[0] for r in raw.execute("SELECT term FROM messages_tri_v")}

    async with sessionhub.open(f"sqlite:///{path}") as hub:
        s = await hub.create_session()
        for text in ("plain ascii words", "café au lait", "我喜欢吃苹果", "a line with 東京 in it"):
            await hub.add_message(s.id, "user", text)
        found = trigrams()
        assert {"吃苹果", "喜欢吃", " 東京", "東京 "} <= found
        assert not found & {"pla", "asc", "caf", "afé", "lai"}
        assert [h.seq for h in await hub.search("苹果")] == [3]
        assert await hub.pop_message(s.id) is not None  # the 東京 line
        assert "東京 " not in trigrams() and "吃苹果" in trigrams()
