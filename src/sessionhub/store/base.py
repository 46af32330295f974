"""The sessions part of the store interface (``SessionStore``) and the value types it uses.

A store knows rows, transactions and indexes; the session rules live in the hub, which
passes a ``check`` callable where a rule must be decided atomically with the change.
Every method is async; the SQL backend runs each call as one transaction in a worker
thread. Sessions are always addressed with their owner: another owner's id is NotFound.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from ..errors import InvalidInput
from ..model import Message, NewMessage, Session, Stats
from ..searchquery import Query
from .engine import DatabaseURL

View = Literal["active", "archived", "scheduled", "all"]
VIEWS: tuple[str, ...] = ("active", "archived", "scheduled", "all")


@dataclass(frozen=True, slots=True)
class NewSession:
    id: str
    owner: str
    key: str
    title: str
    title_source: Literal["auto", "user"]
    agent: str
    provider: str
    model: str
    source: str
    source_ref: str | None
    channel: str
    metadata: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class SessionChanges:
    """Columns to change on a session row; ``None`` means leave as is."""

    title: str | None = None
    title_source: Literal["auto", "user"] | None = None
    pinned: bool | None = None
    status: Literal["active", "archived"] | None = None
    metadata: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class AutoText:
    """Title and preview candidates from a batch's first user message."""

    title: str
    preview: str


MAX_IDEMPOTENCY_KEY = 255


@dataclass(frozen=True, slots=True)
class IdempotencyKey:
    """A client's ``Idempotency-Key`` for one append and the SHA-256 of what it appends."""

    key: str
    fingerprint: str

    @classmethod
    def of(cls, key: object, items: Sequence[NewMessage]) -> IdempotencyKey:
        """Check ``key`` (1..255 printable characters) and fingerprint the validated ``items``."""
        if not isinstance(key, str) or not 1 <= len(key) <= MAX_IDEMPOTENCY_KEY or not key.isprintable():
            raise InvalidInput(f"an idempotency key must be 1..{MAX_IDEMPOTENCY_KEY} printable characters")
        body = [
            {
                "role": m.role,
                "content": m.content,
                "parts": [p.to_dict() for p in m.parts],
                "status": m.status,
                "usage": m.usage.to_dict(),
                "metadata": m.metadata,
                "created_at": None if m.created_at is None else m.created_at.isoformat(),
            }
            for m in items
        ]
        canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
        return cls(key, hashlib.sha256(canonical.encode()).hexdigest())


@dataclass(frozen=True, slots=True)
class Appended:
    """The messages of an append with a key; ``replayed``: the key's first append gave them."""

    messages: list[Message]
    replayed: bool


@dataclass(frozen=True, slots=True)
class RawHit:
    session: Session
    message_id: str | None
    seq: int | None
    snippet: str
    score: float
    count: int = 1  # group="session": the session's message hits (1 for a title-only match)


@dataclass(frozen=True, slots=True)
class VectorHit:
    """A semantic search hit: a message near the query in meaning (``similarity``: cosine)."""

    session: Session
    message_id: str
    seq: int
    snippet: str
    similarity: float
    count: int = 1  # group="session": the session's hits above the cut-off


Check = Callable[[Session], None]


class SessionStore(Protocol):
    """Sessions and their messages: what ``hub/sessions.py`` (and the hub's base) needs.

    ``dialect`` is ``"sqlite"`` or ``"postgresql"``; ``url`` the parsed database URL (the
    server's event bus listens on it); ``location`` is what to print for the database (a
    file path, or a URL without its password).
    """

    dialect: str
    url: DatabaseURL

    @property
    def location(self) -> str: ...

    async def open(self) -> None:
        """Connect and bring the schema to the latest migration."""

    async def close(self) -> None:
        """Release connections and worker threads."""

    async def create_session(self, new: NewSession) -> Session: ...

    async def get_session(self, owner: str, session_id: str) -> Session:
        """The session, or ``NotFound``."""

    async def update_session(
        self, owner: str, session_id: str, changes: SessionChanges, check: Check | None = None
    ) -> Session:
        """Apply ``changes`` after ``check(current)`` passes, atomically."""

    async def delete_session(self, owner: str, session_id: str) -> None: ...

    async def append(
        self, owner: str, session_id: str, items: Sequence[NewMessage], auto: AutoText | None
    ) -> list[Message]:
        """Append in one transaction: next seqs, counters, preview, title, activity."""

    async def append_once(
        self,
        owner: str,
        session_id: str,
        items: Sequence[NewMessage],
        auto: AutoText | None,
        key: IdempotencyKey,
    ) -> Appended:
        """``append`` once per key (24 h): the key is stored in the append's transaction; a
        known key with the same fingerprint gives its first messages back, another one raises
        ``IdempotencyKeyReused``."""

    async def history(
        self, owner: str, session_id: str, limit: int, before_seq: int | None, after_seq: int | None
    ) -> tuple[list[Message], bool]:
        """A bounded page, oldest first, and whether more exist in the read direction."""

    async def clear(self, owner: str, session_id: str) -> None:
        """Delete every message (and checkpoint) of the session, keep the session."""

    async def list_sessions(
        self,
        owner: str,
        view: View,
        limit: int,
        cursor: str | None,
        agent: str | None,
        channel: str | None,
    ) -> tuple[list[Session], str | None]: ...

    async def recent(self, owner: str, limit: int) -> list[Session]: ...

    async def search(
        self,
        owner: str,
        query: Query,
        limit: int,
        view: View,
        agent: str | None,
        channel: str | None,
        group: bool = False,
    ) -> list[RawHit]: ...

    # -- semantic search (store/vectors_sql.py) ----------------------------------------------

    @property
    def encrypted(self) -> bool:
        """True when text is sealed at rest (no semantic vectors then)."""

    def start_embedding(self, embedder: Any, *, background: bool = True) -> None: ...

    @property
    def embedding(self) -> bool: ...

    async def needs_embedding(self) -> bool:
        """True when some message waits for its vector (never on an encrypted database)."""

    async def embed_pending(self, limit: int | None = None, *, wait: bool = True) -> int: ...

    async def semantic_search(
        self, owner: str, query: str, limit: int, view: View, agent: str | None, channel: str | None,
        min_similarity: float, group: bool,
    ) -> list[VectorHit]: ...  # fmt: skip

    async def counts(self, owner: str, today_start_us: int, week_start_us: int) -> Stats: ...
