"""One adapter per store, all with the same small async interface.

``Peer`` is the interface: ``new_session``, ``append``, ``latest``, ``bulk_load`` and
``load_sessions`` (setup only: each peer's fastest honest path, documented per class),
``search`` and ``list_first_page`` where the store can do them (``Unsupported`` otherwise),
and ``disk_bytes``. Synchronous stores are called directly from the coroutine (no thread
hop added); asynchronous ones are awaited as their users would.

Durability: every SQLite peer runs in WAL mode with the same ``PRAGMA synchronous`` (the
run's ``--synchronous``, FULL by default), set the way each library allows: sessionhub
through its URL (``?synchronous=FULL``), OpenAI Agents by extending its connection setup,
LangChain through a SQLAlchemy ``connect`` hook, raw sqlite3 directly. The JSON-file store
writes a temporary file, fsyncs it and renames it over the old one when synchronous is
FULL or EXTRA.
"""

from __future__ import annotations

import contextlib
import heapq
import json
import os
import shutil
import sqlite3
import time
import uuid
import warnings
from abc import ABC, abstractmethod
from collections.abc import Iterable
from pathlib import Path
from typing import Any, BinaryIO, ClassVar, Self

from .datagen import ChatMessage, chunks
from .measure import Unsupported

CHUNK = 5000
"""Messages per bulk-load transaction."""


def _iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + f".{int(ts % 1 * 1e6):06d}Z"


def checkpoint_sqlite_files(root: Path) -> None:
    """Fold every WAL under ``root`` into its database, so file sizes are comparable."""
    for db in root.rglob("*.db"):
        with contextlib.closing(sqlite3.connect(db)) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


class Peer(ABC):
    """A store under test, rooted in its own directory."""

    key: ClassVar[str]
    label: ClassVar[str]
    setup_note: ClassVar[str] = ""
    unsupported: ClassVar[dict[str, str]] = {}
    """Operations the store cannot do, with the reason (shown as "—" in the report)."""

    def __init__(self, root: Path, synchronous: str = "FULL") -> None:
        self.root = root
        self.synchronous = synchronous.upper()

    async def open(self) -> None:
        """Connect; create the schema if needed."""
        self.root.mkdir(parents=True, exist_ok=True)

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""

    async def __aenter__(self) -> Self:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @abstractmethod
    async def new_session(self) -> str:
        """Create an empty session; return its id."""

    @abstractmethod
    async def append(self, session_id: str, role: str, content: str) -> None:
        """Durably append one message (the measured operation)."""

    @abstractmethod
    async def latest(self, session_id: str, n: int) -> list[Any]:
        """The latest ``n`` messages of a session, as the store's users get them."""

    @abstractmethod
    async def bulk_load(self, session_id: str, messages: list[ChatMessage]) -> None:
        """Setup only: add many messages to one session as fast as the store honestly allows."""

    async def load_sessions(self, sessions: Iterable[list[ChatMessage]]) -> list[str]:
        """Setup only: create one session per message list, in order of last activity."""
        ids = []
        for messages in sessions:
            sid = await self.new_session()
            await self.bulk_load(sid, messages)
            ids.append(sid)
        return ids

    async def search(self, query: str, limit: int = 20) -> list[Any]:
        """Messages matching every word of ``query``."""
        raise Unsupported(self.unsupported.get("search", "no search API"))

    async def list_first_page(self, n: int) -> list[Any]:
        """The ``n`` most recently active sessions."""
        raise Unsupported(self.unsupported.get("list_first_page", "no session listing API"))

    async def export(self, session_id: str, out: BinaryIO) -> None:
        """Write the whole session as JSON to ``out`` the way the store's users would."""
        raise Unsupported(self.unsupported.get("export", "no export"))

    def disk_bytes(self) -> int:
        """Every byte the store keeps on disk (database, WAL, index, JSON files)."""
        return sum(p.stat().st_size for p in self.root.rglob("*") if p.is_file())

    def settings(self) -> str:
        """The durability settings in force, for the report."""
        return f"WAL, synchronous={self.synchronous}"


# --------------------------------------------------------------------------- sessionhub


class SessionhubPeer(Peer):
    """sessionhub through its public async API (``sessionhub.open``)."""

    key = "sessionhub"
    label = "sessionhub"
    setup_note = "setup through the public API: `add_messages` in one transaction per 5,000 messages"

    def __init__(
        self,
        root: Path,
        synchronous: str = "FULL",
        url: str | None = None,
        encryption_key: str | None = None,
        hub_settings: Any = None,
    ) -> None:
        super().__init__(root, synchronous)
        self.url = url or f"sqlite:///{(root / 'hub.db').resolve()}?synchronous={self.synchronous}"
        self.encryption_key = encryption_key
        self.hub_settings = hub_settings  # sessionhub.config.Settings, or None for the defaults
        self._stack = contextlib.AsyncExitStack()
        self.hub: Any = None

    async def open(self) -> None:
        if self.url.startswith("sqlite"):
            await super().open()
        import sessionhub

        opener = sessionhub.open(self.url, encryption_key=self.encryption_key, settings=self.hub_settings)
        self.hub = await self._stack.enter_async_context(opener)

    async def close(self) -> None:
        await self._stack.aclose()

    async def new_session(self) -> str:
        session = await self.hub.create_session(agent="main")
        return str(session.id)

    async def append(self, session_id: str, role: str, content: str) -> None:
        await self.hub.add_message(session_id, role, content)

    async def latest(self, session_id: str, n: int) -> list[Any]:
        return list(await self.hub.get_history(session_id, limit=n))

    async def bulk_load(self, session_id: str, messages: list[ChatMessage]) -> None:
        for chunk in chunks(iter(messages), CHUNK):
            await self.hub.add_messages(session_id, chunk)

    async def search(self, query: str, limit: int = 20) -> list[Any]:
        return list(await self.hub.search(query, limit=limit, mode="keyword"))

    async def list_first_page(self, n: int) -> list[Any]:
        page = await self.hub.list_sessions(view="active", limit=n)
        return list(page.sessions)

    async def export(self, session_id: str, out: BinaryIO) -> None:
        """``hub.export_stream``: text chunks read 500 messages at a time, written as they come."""
        async for chunk in self.hub.export_stream(session_id, format="json"):
            out.write(chunk.encode())

    async def context(self, session_id: str, max_tokens: int) -> Any:
        """The context window of ``max_tokens`` built from the most recent messages."""
        return await self.hub.get_context_history(session_id, max_tokens=max_tokens, strategy="recent")

    def settings(self) -> str:
        if not self.url.startswith("sqlite"):
            return "PostgreSQL defaults (synchronous_commit=on)"
        return f"WAL, synchronous={self.synchronous} (URL `?synchronous={self.synchronous}`)"


# --------------------------------------------------------------------------- OpenAI Agents


class OpenAIAgentsPeer(Peer):
    """OpenAI Agents SDK ``agents.memory.SQLiteSession`` (async: ``add_items`` / ``get_items``)."""

    key = "openai_agents"
    label = "OpenAI Agents SQLiteSession"
    setup_note = (
        "one session: its own `add_items` with 5,000 items per call (one transaction); "
        "many sessions: direct SQL into its two tables"
    )
    unsupported: ClassVar[dict[str, str]] = {"search": "no search API"}

    def __init__(self, root: Path, synchronous: str = "FULL") -> None:
        super().__init__(root, synchronous)
        self.path = root / "agents.db"
        self._sessions: dict[str, Any] = {}
        self._cls: Any = None

    async def open(self) -> None:
        await super().open()
        from agents.memory import SQLiteSession

        synchronous = self.synchronous
        base_configure = SQLiteSession.__dict__.get("_configure_connection")

        class DurableSQLiteSession(SQLiteSession):
            """SQLiteSession with the run's ``PRAGMA synchronous`` on every connection."""

            @staticmethod
            def _configure_connection(conn: sqlite3.Connection) -> None:
                if base_configure is not None:
                    base_configure.__func__(conn)
                else:  # older SDKs: WAL is all they set
                    conn.execute("PRAGMA journal_mode=WAL")
                conn.execute(f"PRAGMA synchronous={synchronous}")

        self._cls = DurableSQLiteSession
        self._session("__schema__")  # creates the tables

    async def close(self) -> None:
        for s in self._sessions.values():
            with contextlib.suppress(Exception):
                s.close()
        self._sessions.clear()

    def _session(self, session_id: str) -> Any:
        s = self._sessions.get(session_id)
        if s is None:
            s = self._sessions[session_id] = self._cls(session_id, self.path)
        return s

    async def new_session(self) -> str:
        return f"s_{uuid.uuid4().hex}"

    async def append(self, session_id: str, role: str, content: str) -> None:
        await self._session(session_id).add_items([{"role": role, "content": content}])

    async def latest(self, session_id: str, n: int) -> list[Any]:
        return list(await self._session(session_id).get_items(limit=n))

    async def bulk_load(self, session_id: str, messages: list[ChatMessage]) -> None:
        session = self._session(session_id)
        for chunk in chunks(iter(messages), CHUNK):
            await session.add_items([{"role": m["role"], "content": m["content"]} for m in chunk])

    async def load_sessions(self, sessions: Iterable[list[ChatMessage]]) -> list[str]:
        ids: list[str] = []
        base = time.time() - 86_400
        with contextlib.closing(sqlite3.connect(self.path)) as conn, conn:
            for i, messages in enumerate(sessions):
                sid = f"s_{i:08d}"
                stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(base + i * 0.5))
                conn.execute(
                    "INSERT INTO agent_sessions (session_id, created_at, updated_at) VALUES (?, ?, ?)",
                    (sid, stamp, stamp),
                )
                conn.executemany(
                    "INSERT INTO agent_messages (session_id, message_data, created_at) VALUES (?, ?, ?)",
                    [(sid, json.dumps(dict(m)), stamp) for m in messages],
                )
                ids.append(sid)
        return ids

    async def export(self, session_id: str, out: BinaryIO) -> None:
        items = await self._session(session_id).get_items()
        out.write(json.dumps(items).encode())

    async def list_first_page(self, n: int) -> list[Any]:
        # No list API: the query a user would write on its own table (no index on updated_at).
        with contextlib.closing(sqlite3.connect(self.path)) as conn:
            return conn.execute(
                "SELECT session_id, updated_at FROM agent_sessions ORDER BY updated_at DESC LIMIT ?", (n,)
            ).fetchall()


# --------------------------------------------------------------------------- LangChain


class LangChainPeer(Peer):
    """LangChain ``SQLChatMessageHistory`` (``add_message``; ``messages`` reads the whole history)."""

    key = "langchain"
    label = "LangChain SQLChatMessageHistory"
    setup_note = "direct SQL `executemany` of rows in its own format (`message_to_dict` JSON)"
    unsupported: ClassVar[dict[str, str]] = {
        "search": "no search API",
        "list_first_page": "no sessions table, no listing API",
    }

    def __init__(self, root: Path, synchronous: str = "FULL") -> None:
        super().__init__(root, synchronous)
        self.path = root / "langchain.db"
        self._histories: dict[str, Any] = {}
        self.engine: Any = None

    async def open(self) -> None:
        await super().open()
        from sqlalchemy import create_engine, event

        self.engine = create_engine(f"sqlite:///{self.path.resolve()}")
        synchronous = self.synchronous

        @event.listens_for(self.engine, "connect")
        def _pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA synchronous={synchronous}")
            cursor.close()

        self._history("__schema__")  # creates the table

    async def close(self) -> None:
        self._histories.clear()
        if self.engine is not None:
            self.engine.dispose()

    def _history(self, session_id: str) -> Any:
        h = self._histories.get(session_id)
        if h is None:
            from langchain_community.chat_message_histories import SQLChatMessageHistory

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                h = self._histories[session_id] = SQLChatMessageHistory(
                    session_id=session_id, connection=self.engine
                )
        return h

    @staticmethod
    def _message(role: str, content: str) -> Any:
        from langchain_core.messages import AIMessage, HumanMessage

        return HumanMessage(content=content) if role == "user" else AIMessage(content=content)

    async def new_session(self) -> str:
        return f"s_{uuid.uuid4().hex}"

    async def append(self, session_id: str, role: str, content: str) -> None:
        self._history(session_id).add_message(self._message(role, content))

    async def latest(self, session_id: str, n: int) -> list[Any]:
        return list(self._history(session_id).messages[-n:])

    async def export(self, session_id: str, out: BinaryIO) -> None:
        from langchain_core.messages import messages_to_dict

        out.write(json.dumps(messages_to_dict(self._history(session_id).messages)).encode())

    async def bulk_load(self, session_id: str, messages: list[ChatMessage]) -> None:
        from langchain_core.messages import message_to_dict

        with contextlib.closing(sqlite3.connect(self.path)) as conn:
            for chunk in chunks(iter(messages), CHUNK):
                rows = [
                    (session_id, json.dumps(message_to_dict(self._message(m["role"], m["content"]))))
                    for m in chunk
                ]
                with conn:
                    conn.executemany("INSERT INTO message_store (session_id, message) VALUES (?, ?)", rows)


# --------------------------------------------------------------------------- raw sqlite3


class RawSQLitePeer(Peer):
    """The floor: the standard ``sqlite3`` module, one ``INSERT`` per transaction (autocommit)."""

    key = "raw_sqlite"
    label = "raw sqlite3"
    setup_note = "`executemany` in one transaction per 5,000 rows"

    SCHEMA = """
    CREATE TABLE IF NOT EXISTS sessions (
        id TEXT PRIMARY KEY, created_at TEXT NOT NULL, last_message_at TEXT NOT NULL,
        message_count INTEGER NOT NULL DEFAULT 0, preview TEXT);
    CREATE INDEX IF NOT EXISTS sessions_last ON sessions (last_message_at DESC);
    CREATE TABLE IF NOT EXISTS messages (
        id INTEGER PRIMARY KEY, session_id TEXT NOT NULL, role TEXT NOT NULL,
        content TEXT NOT NULL, created_at TEXT NOT NULL);
    CREATE INDEX IF NOT EXISTS messages_session ON messages (session_id, id);
    """

    def __init__(self, root: Path, synchronous: str = "FULL") -> None:
        super().__init__(root, synchronous)
        self.path = root / "raw.db"
        self.conn: sqlite3.Connection | None = None

    async def open(self) -> None:
        await super().open()
        conn = sqlite3.connect(self.path, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA synchronous={self.synchronous}")
        conn.executescript(self.SCHEMA)
        self.conn = conn

    async def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    @property
    def _db(self) -> sqlite3.Connection:
        assert self.conn is not None, "peer not open"
        return self.conn

    async def new_session(self) -> str:
        sid = f"s_{uuid.uuid4().hex}"
        now = _iso(time.time())
        self._db.execute(
            "INSERT INTO sessions (id, created_at, last_message_at) VALUES (?, ?, ?)", (sid, now, now)
        )
        return sid

    async def append(self, session_id: str, role: str, content: str) -> None:
        self._db.execute(
            "INSERT INTO messages (session_id, role, content, created_at) VALUES (?, ?, ?, ?)",
            (session_id, role, content, _iso(time.time())),
        )

    async def latest(self, session_id: str, n: int) -> list[Any]:
        rows = self._db.execute(
            "SELECT id, role, content, created_at FROM messages "
            "WHERE session_id = ? ORDER BY id DESC LIMIT ?",
            (session_id, n),
        ).fetchall()
        rows.reverse()
        return rows

    async def bulk_load(self, session_id: str, messages: list[ChatMessage]) -> None:
        db = self._db
        for chunk in chunks(iter(messages), CHUNK):
            now = _iso(time.time())
            db.execute("BEGIN")
            db.executemany(
                "INSERT INTO messages (session_id, role, content, created_at) VALUES (?, ?, ?, ?)",
                [(session_id, m["role"], m["content"], now) for m in chunk],
            )
            db.execute(
                "UPDATE sessions SET last_message_at = ?, message_count = message_count + ?, "
                "preview = coalesce(preview, ?) WHERE id = ?",
                (now, len(chunk), chunk[0]["content"][:80], session_id),
            )
            db.execute("COMMIT")

    async def load_sessions(self, sessions: Iterable[list[ChatMessage]]) -> list[str]:
        db = self._db
        ids: list[str] = []
        base = time.time() - 86_400
        db.execute("BEGIN")
        for i, messages in enumerate(sessions):
            sid = f"s_{i:08d}"
            stamp = _iso(base + i * 0.5)
            db.execute(
                "INSERT INTO sessions (id, created_at, last_message_at, message_count, preview) "
                "VALUES (?, ?, ?, ?, ?)",
                (sid, stamp, stamp, len(messages), messages[0]["content"][:80]),
            )
            db.executemany(
                "INSERT INTO messages (session_id, role, content, created_at) VALUES (?, ?, ?, ?)",
                [(sid, m["role"], m["content"], stamp) for m in messages],
            )
            ids.append(sid)
        db.execute("COMMIT")
        return ids

    async def search(self, query: str, limit: int = 20) -> list[Any]:
        # A substring scan cannot rank, so it reads every row and keeps the newest matches.
        words = query.split()
        where = " AND ".join("content LIKE ?" for _ in words)
        rows = self._db.execute(
            f"SELECT id, session_id, content FROM messages WHERE {where}", [f"%{w}%" for w in words]
        ).fetchall()
        return rows[-limit:]

    async def export(self, session_id: str, out: BinaryIO) -> None:
        # Streamed: one row at a time from the cursor.
        out.write(b"[")
        rows = self._db.execute(
            "SELECT id, role, content, created_at FROM messages WHERE session_id = ? ORDER BY id",
            (session_id,),
        )
        for i, (mid, role, content, created_at) in enumerate(rows):
            item = {"id": mid, "role": role, "content": content, "created_at": created_at}
            out.write((b"," if i else b"") + json.dumps(item).encode())
        out.write(b"]")

    def match_count(self, query: str) -> int:
        """How many messages contain every word of ``query`` (for the report)."""
        words = query.split()
        where = " AND ".join("content LIKE ?" for _ in words)
        row = self._db.execute(
            f"SELECT count(*) FROM messages WHERE {where}", [f"%{w}%" for w in words]
        ).fetchone()
        return int(row[0])

    async def list_first_page(self, n: int) -> list[Any]:
        return self._db.execute(
            "SELECT id, last_message_at, message_count, preview FROM sessions "
            "ORDER BY last_message_at DESC LIMIT ?",
            (n,),
        ).fetchall()

    def settings(self) -> str:
        return f"WAL, synchronous={self.synchronous}, autocommit (one INSERT per transaction)"


# --------------------------------------------------------------------------- JSON files


class JsonFilesPeer(Peer):
    """One JSON file per session, rewritten whole on every append (as PocketPaw does).

    Stateless, as a store shared by several processes must be: every operation reads the file.
    """

    key = "json_files"
    label = "JSON file per session"
    setup_note = "each session file written once, without fsync"

    def __init__(self, root: Path, synchronous: str = "FULL") -> None:
        super().__init__(root, synchronous)
        self.dir = root / "sessions"

    async def open(self) -> None:
        await super().open()
        self.dir.mkdir(exist_ok=True)

    @property
    def _durable(self) -> bool:
        return self.synchronous in ("FULL", "EXTRA")

    def _path(self, session_id: str) -> Path:
        return self.dir / f"{session_id}.json"

    def _read(self, session_id: str) -> dict[str, Any]:
        with self._path(session_id).open("rb") as f:
            data: dict[str, Any] = json.load(f)
        return data

    def _write(self, session_id: str, data: dict[str, Any], durable: bool) -> None:
        path = self._path(session_id)
        tmp = path.with_suffix(".tmp")
        with tmp.open("w", encoding="utf-8") as f:
            json.dump(data, f, ensure_ascii=False)
            if durable:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, path)
        if durable:
            fd = os.open(self.dir, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)

    async def new_session(self) -> str:
        sid = f"s_{uuid.uuid4().hex}"
        now = _iso(time.time())
        self._write(sid, {"id": sid, "created_at": now, "updated_at": now, "messages": []}, self._durable)
        return sid

    async def append(self, session_id: str, role: str, content: str) -> None:
        data = self._read(session_id)
        now = _iso(time.time())
        data["messages"].append({"role": role, "content": content, "created_at": now})
        data["updated_at"] = now
        self._write(session_id, data, self._durable)

    async def latest(self, session_id: str, n: int) -> list[Any]:
        messages: list[Any] = self._read(session_id)["messages"][-n:]
        return messages

    async def bulk_load(self, session_id: str, messages: list[ChatMessage]) -> None:
        data = self._read(session_id)
        now = _iso(time.time())
        data["messages"].extend({**m, "created_at": now} for m in messages)
        data["updated_at"] = now
        self._write(session_id, data, durable=False)

    async def load_sessions(self, sessions: Iterable[list[ChatMessage]]) -> list[str]:
        ids: list[str] = []
        base = time.time() - 86_400
        for i, messages in enumerate(sessions):
            sid = f"s_{i:08d}"
            stamp = base + i * 0.5
            now = _iso(stamp)
            data = {
                "id": sid,
                "created_at": now,
                "updated_at": now,
                "messages": [{**m, "created_at": now} for m in messages],
            }
            self._write(sid, data, durable=False)
            os.utime(self._path(sid), (stamp, stamp))
            ids.append(sid)
        return ids

    async def export(self, session_id: str, out: BinaryIO) -> None:
        # The file is its own export: copied, not parsed.
        with self._path(session_id).open("rb") as f:
            shutil.copyfileobj(f, out)

    async def search(self, query: str, limit: int = 20) -> list[Any]:
        words = query.lower().split()
        hits: list[Any] = []
        for entry in os.scandir(self.dir):
            if not entry.name.endswith(".json"):
                continue
            with open(entry.path, "rb") as f:
                data = json.load(f)
            for m in data["messages"]:
                text = m["content"].lower()
                if all(w in text for w in words):
                    hits.append((m["created_at"], data["id"], m["content"]))
        return heapq.nlargest(limit, hits, key=lambda h: h[0])

    async def list_first_page(self, n: int) -> list[Any]:
        entries = [e for e in os.scandir(self.dir) if e.name.endswith(".json")]
        newest = heapq.nlargest(n, entries, key=lambda e: e.stat().st_mtime)
        page = []
        for e in newest:
            with open(e.path, "rb") as f:
                data = json.load(f)
            first = data["messages"][0]["content"][:80] if data["messages"] else ""
            page.append((data["id"], data["updated_at"], len(data["messages"]), first))
        return page

    def settings(self) -> str:
        if self._durable:
            return "rewrite whole file: write temp, fsync, rename, fsync dir"
        return "rewrite whole file: write temp, rename (no fsync)"


# --------------------------------------------------------------------------- OpenAI Agents on PostgreSQL


class AgentsSQLAlchemyPeer(Peer):
    """OpenAI Agents SDK ``SQLAlchemySession`` on PostgreSQL (asyncpg), its documented async setup.

    Only the PostgreSQL figure uses it (not in ``PEERS``): ``url`` is a ``postgresql://`` URL,
    run with the ``postgresql+asyncpg`` driver; the engine's pool holds 16 connections, one per
    concurrent session of the figure (sessionhub's holds 8 plus 8 overflow).
    """

    key = "agents_sqlalchemy"
    label = "OpenAI Agents SQLAlchemySession"
    setup_note = (
        "its own `add_items` for the first 5,000 items of a session (creates its tables and row), "
        "the rest by `COPY` into its messages table (asyncpg), in its own JSON format"
    )

    def __init__(self, root: Path, synchronous: str = "FULL", url: str = "") -> None:
        super().__init__(root, synchronous)
        self.url = url.replace("postgresql://", "postgresql+asyncpg://", 1)
        self.engine: Any = None
        self._sessions: dict[str, Any] = {}

    async def open(self) -> None:
        from sqlalchemy.ext.asyncio import create_async_engine

        self.engine = create_async_engine(self.url, pool_size=16, max_overflow=0)

    async def close(self) -> None:
        self._sessions.clear()
        if self.engine is not None:
            await self.engine.dispose()

    def _session(self, session_id: str) -> Any:
        s = self._sessions.get(session_id)
        if s is None:
            from agents.extensions.memory.sqlalchemy_session import SQLAlchemySession

            s = self._sessions[session_id] = SQLAlchemySession(
                session_id, engine=self.engine, create_tables=True
            )
        return s

    async def new_session(self) -> str:
        return f"s_{uuid.uuid4().hex}"

    async def append(self, session_id: str, role: str, content: str) -> None:
        await self._session(session_id).add_items([{"role": role, "content": content}])

    async def latest(self, session_id: str, n: int) -> list[Any]:
        return list(await self._session(session_id).get_items(limit=n))

    async def bulk_load(self, session_id: str, messages: list[ChatMessage]) -> None:
        for chunk in chunks(iter(messages), CHUNK):
            await self._session(session_id).add_items(
                [{"role": m["role"], "content": m["content"]} for m in chunk]
            )

    def settings(self) -> str:
        return "PostgreSQL defaults (synchronous_commit=on), asyncpg"


PEERS: dict[str, type[Peer]] = {
    cls.key: cls for cls in (SessionhubPeer, OpenAIAgentsPeer, LangChainPeer, RawSQLitePeer, JsonFilesPeer)
}
"""Every peer by key, sessionhub first."""
