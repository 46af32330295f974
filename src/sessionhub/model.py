"""Frozen value types: the objects of CONTRACT section 2.

Attributes are named as the JSON fields; ``to_dict()`` gives the JSON form and
``from_dict()`` (where a client may send one) validates it and raises ``InvalidInput``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, TypeAlias, TypeVar, cast, get_args

from .clock import isoformat
from .errors import InvalidInput
from .validation import check_json, check_text

Role: TypeAlias = Literal["system", "user", "assistant", "tool"]
MessageStatus: TypeAlias = Literal["complete", "streaming", "interrupted", "error"]
SessionStatus: TypeAlias = Literal["active", "archived"]
Source: TypeAlias = Literal["manual", "scheduled", "trigger", "channel"]

Channel: TypeAlias = Literal[
    "web", "telegram", "discord", "slack", "whatsapp", "signal", "matrix", "teams", "google_chat", "webhook"
]  # fmt: skip

# The value lists, derived from the types above (one source for both).
ROLES: tuple[str, ...] = get_args(Role)
MESSAGE_STATUSES: tuple[str, ...] = get_args(MessageStatus)
SOURCES: tuple[str, ...] = get_args(Source)
CHANNELS: tuple[str, ...] = get_args(Channel)

JSON: TypeAlias = Any

MAX_TOKENS = 2**31 - 1
"""The largest token count of one message (``messages.input_tokens`` is a 32-bit integer)."""


@dataclass(frozen=True, slots=True)
class ToolCall:
    """The assistant asks for a tool to run."""

    id: str
    name: str
    arguments: Mapping[str, JSON] = field(default_factory=dict)
    type: Literal["tool_call"] = "tool_call"

    def to_dict(self) -> dict[str, JSON]:
        return {"type": "tool_call", "id": self.id, "name": self.name, "arguments": dict(self.arguments)}


@dataclass(frozen=True, slots=True)
class ToolResult:
    """What a tool returned, answering the tool call ``tool_call_id``."""

    tool_call_id: str
    content: str
    type: Literal["tool_result"] = "tool_result"

    def to_dict(self) -> dict[str, JSON]:
        return {"type": "tool_result", "tool_call_id": self.tool_call_id, "content": self.content}


Part: TypeAlias = ToolCall | ToolResult


def part_from_dict(data: object) -> Part:
    """Validate one part as a client sends it."""
    if not isinstance(data, Mapping):
        raise InvalidInput("each part must be an object")
    kind = data.get("type")
    if kind == "tool_call":
        call_id, name, args = data.get("id"), data.get("name"), data.get("arguments", {})
        if not isinstance(call_id, str) or not call_id:
            raise InvalidInput("tool_call part needs a string 'id'")
        if not isinstance(name, str) or not name:
            raise InvalidInput("tool_call part needs a string 'name'")
        if not isinstance(args, Mapping):
            raise InvalidInput("tool_call 'arguments' must be an object")
        check_text(call_id, "tool_call 'id'")
        check_text(name, "tool_call 'name'")
        check_json(args, "tool_call 'arguments'")
        return ToolCall(id=call_id, name=name, arguments=dict(args))
    if kind == "tool_result":
        ref, content = data.get("tool_call_id"), data.get("content", "")
        if not isinstance(ref, str) or not ref:
            raise InvalidInput("tool_result part needs a string 'tool_call_id'")
        if not isinstance(content, str):
            raise InvalidInput("tool_result 'content' must be a string")
        check_text(ref, "tool_result 'tool_call_id'")
        check_text(content, "tool_result 'content'")
        return ToolResult(tool_call_id=ref, content=content)
    raise InvalidInput(f"unknown part type {kind!r} (expected tool_call or tool_result)")


def parts_from_list(data: object) -> tuple[Part, ...]:
    if data is None:
        return ()
    if not isinstance(data, Sequence) or isinstance(data, (str, bytes)):
        raise InvalidInput("'parts' must be a list")
    return tuple(part_from_dict(p) for p in data)


@dataclass(frozen=True, slots=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0

    def to_dict(self) -> dict[str, int]:
        return {"input_tokens": self.input_tokens, "output_tokens": self.output_tokens}

    @classmethod
    def from_dict(cls, data: object) -> Usage:
        if data is None:
            return cls()
        if not isinstance(data, Mapping):
            raise InvalidInput("'usage' must be an object")
        for key in data:
            if key not in ("input_tokens", "output_tokens"):
                hint = {"inputTokens": "input_tokens", "outputTokens": "output_tokens"}.get(str(key))
                raise InvalidInput(
                    f"unknown usage key {str(key)[:40]!r}"
                    + (f" (did you mean {hint!r}?)" if hint else " (expected input_tokens, output_tokens)")
                )
        values = []
        for name in ("input_tokens", "output_tokens"):
            v = data.get(name, 0)
            if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= MAX_TOKENS:
                raise InvalidInput(f"usage.{name} must be an integer from 0 to {MAX_TOKENS}")
            values.append(v)
        return cls(values[0], values[1])


@dataclass(frozen=True, slots=True)
class Message:
    id: str
    session_id: str
    seq: int
    role: Role
    content: str
    parts: tuple[Part, ...] = ()
    status: MessageStatus = "complete"
    usage: Usage = field(default_factory=Usage)
    metadata: Mapping[str, JSON] = field(default_factory=dict)
    created_at: datetime | None = None

    def to_dict(self) -> dict[str, JSON]:
        return {
            "id": self.id,
            "session_id": self.session_id,
            "seq": self.seq,
            "role": self.role,
            "content": self.content,
            "parts": [p.to_dict() for p in self.parts],
            "status": self.status,
            "usage": self.usage.to_dict(),
            "metadata": dict(self.metadata),
            "created_at": isoformat(self.created_at),
        }


@dataclass(frozen=True, slots=True)
class SessionStats:
    user_messages: int = 0
    assistant_messages: int = 0
    tool_messages: int = 0
    errors: int = 0
    input_tokens: int = 0
    output_tokens: int = 0

    def to_dict(self) -> dict[str, int]:
        return {
            "user_messages": self.user_messages,
            "assistant_messages": self.assistant_messages,
            "tool_messages": self.tool_messages,
            "errors": self.errors,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
        }


@dataclass(frozen=True, slots=True)
class Session:
    id: str
    key: str
    title: str
    title_source: Literal["auto", "user"]
    agent: str
    provider: str
    model: str
    source: Source
    source_ref: str | None
    channel: str
    status: SessionStatus
    pinned: bool
    read_only: bool
    created_at: datetime
    updated_at: datetime
    last_message_at: datetime | None
    message_count: int
    preview: str
    stats: SessionStats
    metadata: Mapping[str, JSON]
    owner: str = "default"
    group: str | None = None
    # When the session last moved (a message, a fork, an import): the list is sorted by it and
    # its ``group`` is computed from it, so the two never disagree. None for hand-built values.
    activity_at: datetime | None = None

    def to_dict(self) -> dict[str, JSON]:
        return {
            "id": self.id,
            "key": self.key,
            "title": self.title,
            "title_source": self.title_source,
            "agent": self.agent,
            "provider": self.provider,
            "model": self.model,
            "source": self.source,
            "source_ref": self.source_ref,
            "channel": self.channel,
            "status": self.status,
            "pinned": self.pinned,
            "read_only": self.read_only,
            "created_at": isoformat(self.created_at),
            "updated_at": isoformat(self.updated_at),
            "last_message_at": isoformat(self.last_message_at),
            "activity_at": isoformat(self.activity_at or self.last_message_at or self.created_at),
            "message_count": self.message_count,
            "preview": self.preview,
            "stats": self.stats.to_dict(),
            "group": self.group,
            "metadata": dict(self.metadata),
        }


@dataclass(frozen=True, slots=True)
class Checkpoint:
    id: str
    session_id: str
    name: str
    description: str
    message_count: int
    at_seq: int
    created_at: datetime

    def to_dict(self) -> dict[str, JSON]:
        return {
            "id": self.id,
            "session_id": self.session_id,
            "name": self.name,
            "description": self.description,
            "message_count": self.message_count,
            "at_seq": self.at_seq,
            "created_at": isoformat(self.created_at),
        }


@dataclass(frozen=True, slots=True)
class Branch:
    """An alternative continuation of a session's visible history (regenerate, edit, restore).

    ``at_seq`` is the first seq where it differs (the message the dashboard shows "‹ 1/2 ›"
    beside), ``message_id`` its message there; ``preview`` is that message, short;
    ``created_at`` is when that message was written; ``message_count`` is the branch's length.
    """

    at_seq: int
    session_id: str
    preview: str
    message_count: int
    created_at: datetime
    message_id: str
    role: str

    def to_dict(self) -> dict[str, JSON]:
        return {
            "at_seq": self.at_seq,
            "session_id": self.session_id,
            "preview": self.preview,
            "message_count": self.message_count,
            "created_at": isoformat(self.created_at),
            "message_id": self.message_id,
            "role": self.role,
        }


SummaryMethod = Literal["model", "extractive"]


@dataclass(frozen=True, slots=True)
class SummaryRecord:
    """One summary of a session's messages with ``seq <= covers_until_seq``."""

    id: str
    session_id: str
    covers_until_seq: int
    text: str
    method: SummaryMethod
    token_count: int
    created_at: datetime | None = None

    def __post_init__(self) -> None:
        if cast(str, self.method) == "llm":  # what versions before 2026-12 wrote for a model's summary
            object.__setattr__(self, "method", "model")
        if self.method not in ("model", "extractive"):
            raise InvalidInput(f"summary method must be 'model' or 'extractive', not {self.method!r}")
        if self.covers_until_seq < 0:
            raise InvalidInput("covers_until_seq must be >= 0")

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "session_id": self.session_id,
            "covers_until_seq": self.covers_until_seq,
            "text": self.text,
            "method": self.method,
            "token_count": self.token_count,
            "created_at": isoformat(self.created_at),
        }


@dataclass(frozen=True, slots=True)
class SessionPage:
    """One keyset page of a listing; pass ``next_cursor`` back for the next."""

    sessions: tuple[Session, ...]
    next_cursor: str | None

    def to_dict(self) -> dict[str, JSON]:
        return {"sessions": [s.to_dict() for s in self.sessions], "next_cursor": self.next_cursor}


@dataclass(frozen=True, slots=True)
class SearchHit:
    session: Session
    message_id: str | None
    seq: int | None
    snippet: str
    score: float
    count: int = 1  # group="session": the session's message hits (1 when only its title matches)
    match: str = "keyword"  # keyword | semantic | both: which ranking found it

    def to_dict(self) -> dict[str, JSON]:
        return {
            "session": self.session.to_dict(),
            "message_id": self.message_id,
            "seq": self.seq,
            "snippet": self.snippet,
            "score": self.score,
            "count": self.count,
            "match": self.match,
        }


@dataclass(frozen=True, slots=True)
class Stats:
    total_sessions: int
    sessions_today: int
    sessions_this_week: int
    total_messages: int
    active: int
    archived: int
    pinned: int

    def to_dict(self) -> dict[str, int]:
        return {
            "total_sessions": self.total_sessions,
            "sessions_today": self.sessions_today,
            "sessions_this_week": self.sessions_this_week,
            "total_messages": self.total_messages,
            "active": self.active,
            "archived": self.archived,
            "pinned": self.pinned,
        }


@dataclass(frozen=True, slots=True)
class NewMessage:
    """A message to append, validated; the store assigns seq, time (unless given) and id
    (unless given: an item created through ``/v1`` with its own ``id`` keeps it)."""

    role: Role
    content: str
    parts: tuple[Part, ...] = ()
    status: MessageStatus = "complete"
    usage: Usage = field(default_factory=Usage)
    metadata: Mapping[str, JSON] = field(default_factory=dict)
    created_at: datetime | None = None
    id: str | None = None


_T = TypeVar("_T")


def slot_constructor(cls: type[_T]) -> Callable[..., _T]:
    """A constructor for a frozen slots dataclass that fills the slots directly, in field order.

    The generated ``__init__`` of a frozen dataclass goes through ``object.__setattr__`` per
    field; this one calls each slot's setter once, unrolled (no loop, no ``zip``): about three
    times as fast. Only for values that are already valid (the store's rows read back, a copy
    of a valid value) and classes without ``__post_init__``. The store's row decoding and the
    hub's copies use it; it is not part of the public API.
    """
    assert not hasattr(cls, "__post_init__")
    names = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
    scope: dict[str, Any] = {"_new": object.__new__, "_cls": cls}
    scope.update({f"_set{i}": cls.__dict__[n].__set__ for i, n in enumerate(names)})
    args = ", ".join(f"v{i}" for i in range(len(names)))
    body = "".join(f"    _set{i}(o, v{i})\n" for i in range(len(names)))
    exec(f"def make({args}):\n    o = _new(_cls)\n{body}    return o\n", scope)
    make: Callable[..., _T] = scope["make"]
    return make
