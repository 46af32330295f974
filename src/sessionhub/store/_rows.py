"""Row <-> value conversions shared by every SQL module of the store.

Kept apart from the classes that run statements so that each of them (and the codecs) can
import these without importing ``sql.py``, which composes them: the store has no import
cycle. Timestamps are stored as integer microseconds (``to_us``/``from_us``, defined in
timeutil.py for the modules outside the store); JSON columns hold compact text or NULL.
"""

from __future__ import annotations

import base64
import json
import sqlite3
from collections import namedtuple
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import Column, Connection, Row

from ..errors import InvalidInput
from ..ids import new_id
from ..model import Message, Part, Session, SessionStats, ToolCall, ToolResult, Usage, slot_constructor
from ..timeutil import EPOCH, from_us, to_us
from .schema import messages, sessions

__all__ = [
    "EPOCH",
    "MESSAGE_COLUMNS",
    "SESSION_COLUMNS",
    "SESSION_FIELDS",
    "SessionRow",
    "Totals",
    "context_keep",
    "decode_cursor",
    "dumps_json",
    "encode_cursor",
    "from_us",
    "loads_json",
    "message_from_columns",
    "message_from_row",
    "new_message_id",
    "parts_from_json",
    "session_from_columns",
    "session_from_row",
    "sqlite_cursor",
    "to_us",
]


def dumps_json(value: Any) -> str | None:
    """A JSON column's text: compact, or NULL for an empty value."""
    if not value:
        return None
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def loads_json(value: str | None) -> Any:
    """A JSON column's value; NULL (or empty) reads as an empty mapping."""
    return json.loads(value) if value else {}


def parts_from_json(value: str | None) -> tuple[Part, ...]:
    """The tool calls and results of a message from its ``parts`` column."""
    if not value:
        return ()
    out: list[Part] = []
    for p in json.loads(value):
        if p.get("type") == "tool_call":
            out.append(ToolCall(id=p["id"], name=p["name"], arguments=p.get("arguments", {})))
        else:
            out.append(ToolResult(tool_call_id=p["tool_call_id"], content=p.get("content", "")))
    return tuple(out)


def new_message_id() -> str:
    return new_id("msg")


def context_keep(role: str, metadata: Mapping[str, Any]) -> int | None:
    """The ``messages.context_keep`` value: 1 for system or important messages, else NULL."""
    return 1 if role == "system" or bool(metadata.get("important")) else None


SESSION_COLUMNS = tuple(c.name for c in sessions.c)


class SessionRow(namedtuple("SessionRow", SESSION_COLUMNS)):  # type: ignore[misc]
    """A ``sessions`` row read on the SQLite fast path; attribute access like a Row."""

    __slots__ = ()

    @property
    def _mapping(self) -> dict[str, Any]:
        return self._asdict()


def session_from_row(row: Row[Any] | Mapping[str, Any]) -> Session:
    """A ``sessions`` row (by column name) as a Session; ``activity_at`` may be absent."""
    r = row._mapping if isinstance(row, (Row, SessionRow)) else row
    return session_from_columns([r[name] for name in SESSION_FIELDS[:-1]] + [r.get("activity_at")])


def message_from_row(row: Row[Any], session_id: str) -> Message:
    r = row._mapping
    return Message(
        id=r["id"],
        session_id=session_id,
        seq=r["seq"],
        role=r["role"],
        content=r["content"],
        parts=parts_from_json(r["parts"]),
        status=r["status"],
        usage=Usage(r["input_tokens"], r["output_tokens"]),
        metadata=loads_json(r["metadata"]),
        created_at=from_us(r["created_at"]),
    )


_new_message = slot_constructor(Message)
_new_session = slot_constructor(Session)
_new_stats = slot_constructor(SessionStats)
_NO_USAGE = Usage(0, 0)


SESSION_FIELDS = (  # the columns ``session_from_columns`` reads, in its order (activity_at last:
    # ``session_from_row`` reads it as optional)
    "id", "key", "title", "title_source", "agent", "provider", "model", "source", "source_ref",
    "channel", "status", "pinned", "created_at", "updated_at", "last_message_at", "message_count",
    "preview", "user_messages", "assistant_messages", "tool_messages", "errors", "input_tokens",
    "output_tokens", "metadata", "owner", "activity_at",
)  # fmt: skip


def session_from_columns(t: Sequence[Any]) -> Session:
    """``session_from_row`` for a row whose first values are ``SESSION_FIELDS``, read by position.

    The same value, built through the slots (``slot_constructor``): ~4 us instead of ~15 for a
    row read by name into the dataclass's ``__init__`` (search builds one per hit shown).
    """
    (sid, key, title, title_source, agent, provider, model, source, source_ref, channel, status,
     pinned, created, updated, last, count, preview, user, assistant, tool, errors, in_tok, out_tok,
     meta, owner, activity) = t[:26]  # fmt: skip
    return _new_session(
        sid,
        key,
        title,
        title_source,
        agent,
        provider,
        model,
        source,
        source_ref,
        channel,
        status,
        bool(pinned),
        status == "archived",
        EPOCH + timedelta(0, 0, created),
        EPOCH + timedelta(0, 0, updated),
        None if last is None else EPOCH + timedelta(0, 0, last),
        count,
        preview,
        _new_stats(user, assistant, tool, errors, in_tok, out_tok),
        json.loads(meta) if meta else {},
        owner,
        None,
        None if activity is None else EPOCH + timedelta(0, 0, activity),
    )


def message_from_columns(t: Sequence[Any], session_id: str) -> Message:
    """Fast path for rows of ``MESSAGE_COLUMNS``, read by position (the latest-N hot path)."""
    msg_id, seq, role, content, parts, status, in_tok, out_tok, meta_json, created = t
    return _new_message(
        msg_id,
        session_id,
        seq,
        role,
        content,
        parts_from_json(parts) if parts else (),
        status,
        Usage(in_tok, out_tok) if in_tok or out_tok else _NO_USAGE,
        json.loads(meta_json) if meta_json else {},
        EPOCH + timedelta(0, 0, created),
    )


MESSAGE_COLUMNS: tuple[Column[Any], ...] = (  # the latest-N order, read by position
    messages.c.id,
    messages.c.seq,
    messages.c.role,
    messages.c.content,
    messages.c.parts,
    messages.c.status,
    messages.c.input_tokens,
    messages.c.output_tokens,
    messages.c.metadata,
    messages.c.created_at,
)


def sqlite_cursor(conn: Connection) -> sqlite3.Cursor:
    """The driver cursor of ``conn``, inside its current transaction (SQLite only)."""
    driver = conn.connection.driver_connection
    assert isinstance(driver, sqlite3.Connection)
    return driver.cursor()


def postgres_cursor(conn: Connection) -> Any:
    """A psycopg cursor of ``conn``'s driver connection, inside its current transaction."""
    driver = conn.connection.driver_connection
    assert driver is not None
    return driver.cursor()


def encode_cursor(values: Sequence[Any]) -> str:
    """A listing's opaque page cursor (URL-safe base64 of a JSON list)."""
    raw = json.dumps(list(values), separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> list[Any]:
    """The three integers of a cursor made by ``encode_cursor``; InvalidInput for anything else."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput("invalid cursor") from None
    if (
        not isinstance(values, list)
        or len(values) != 3
        or not all(isinstance(v, int) and not isinstance(v, bool) and -(2**63) <= v < 2**63 for v in values)
    ):
        raise InvalidInput("invalid cursor")
    return values


class Totals:
    """Counter deltas of a range of messages (the session row's stats columns)."""

    __slots__ = ("assistant", "errors", "input_tokens", "output_tokens", "tool", "user")

    def __init__(self) -> None:
        self.user = self.assistant = self.tool = self.errors = self.input_tokens = self.output_tokens = 0

    def values(self) -> dict[str, int]:
        return {
            "user_messages": self.user,
            "assistant_messages": self.assistant,
            "tool_messages": self.tool,
            "errors": self.errors,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
        }
