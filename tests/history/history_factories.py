"""Builders and hypothesis strategies for Sessions, Messages and Checkpoints (test helpers)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import strategies as st

from sessionhub.model import (
    CHANNELS,
    MESSAGE_STATUSES,
    ROLES,
    SOURCES,
    Checkpoint,
    Message,
    Session,
    SessionStats,
    ToolCall,
    ToolResult,
    Usage,
)

T0 = datetime(2026, 2, 1, 12, 0, tzinfo=UTC)


def make_session(**over: Any) -> Session:
    fields: dict[str, Any] = {
        "id": "ses_0123456789abcdef01234567",
        "key": "main:web:ses_0123456789abcdef01234567",
        "title": "Trip plans",
        "title_source": "auto",
        "agent": "main",
        "provider": "echo",
        "model": "echo",
        "source": "manual",
        "source_ref": None,
        "channel": "web",
        "status": "active",
        "pinned": False,
        "read_only": False,
        "created_at": T0,
        "updated_at": T0 + timedelta(minutes=5),
        "last_message_at": T0 + timedelta(minutes=5),
        "message_count": 3,
        "preview": "hello",
        "stats": SessionStats(user_messages=1, assistant_messages=1, tool_messages=1),
        "metadata": {"team": "a"},
    }
    fields.update(over)
    return Session(**fields)


def make_messages(n: int = 3, session_id: str = "ses_0123456789abcdef01234567") -> list[Message]:
    """A user / assistant-with-tool-call / tool-result cycle, repeated to n messages."""
    out = []
    for i in range(n):
        seq = i + 1
        at = T0 + timedelta(seconds=seq)
        kind = i % 3
        if kind == 0:
            m = Message(f"msg_{seq:04d}", session_id, seq, "user", f"question {seq}", created_at=at)
        elif kind == 1:
            call = ToolCall(id=f"call_{seq}", name="search", arguments={"q": f"term {seq}"})
            m = Message(
                f"msg_{seq:04d}",
                session_id,
                seq,
                "assistant",
                "",
                parts=(call,),
                usage=Usage(10, 2),
                created_at=at,
            )
        else:
            res = ToolResult(tool_call_id=f"call_{seq - 1}", content=f"result {seq}")
            m = Message(
                f"msg_{seq:04d}", session_id, seq, "tool", f"result {seq}", parts=(res,), created_at=at
            )
        out.append(m)
    return out


def make_checkpoint(at_seq: int = 2) -> Checkpoint:
    return Checkpoint(
        "chk_0123456789abcdef01234567",
        "ses_0123456789abcdef01234567",
        "before",
        "desc",
        at_seq,
        at_seq,
        T0 + timedelta(hours=1),
    )


class Guarded:
    """An iterable of messages that records how far it was consumed and refuses to go past ``limit``."""

    def __init__(self, messages: list[Message]) -> None:
        self.messages = messages
        self.consumed = 0
        self.limit = len(messages)

    def __iter__(self) -> Iterator[Message]:
        for m in self.messages:
            if self.consumed >= self.limit:
                raise AssertionError(f"exporter read message {self.consumed + 1} before it was needed")
            self.consumed += 1
            yield m


# --- hypothesis ----------------------------------------------------------------------

# datetimes with millisecond precision in UTC: what the export keeps
times = st.builds(
    lambda ms: datetime(2000, 1, 1, tzinfo=UTC) + timedelta(milliseconds=ms),
    st.integers(min_value=0, max_value=40 * 365 * 24 * 3600 * 1000),
)
# NUL is refused in every stored string (CONTRACT 11.1), so it is never part of an export.
text = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=40)
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | text
    | st.floats(allow_nan=False, allow_infinity=False)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
    max_leaves=8,
)
json_objects = st.dictionaries(text, json_values, max_size=4)
ids = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_", min_size=1, max_size=12)
parts = st.lists(
    st.builds(ToolCall, id=ids, name=ids, arguments=json_objects)
    | st.builds(ToolResult, tool_call_id=ids, content=text),
    max_size=3,
).map(tuple)


@st.composite
def sessions_with_history(draw: st.DrawFn) -> tuple[Session, list[Message], list[Checkpoint]]:
    created = draw(times)
    n = draw(st.integers(min_value=0, max_value=8))
    session = make_session(
        id="ses_" + draw(ids),
        key=draw(text),
        title=draw(text),
        title_source=draw(st.sampled_from(["auto", "user"])),
        agent=draw(ids),
        provider=draw(ids),
        model=draw(ids),
        source=draw(st.sampled_from(SOURCES)),
        source_ref=draw(st.none() | text),
        channel=draw(st.sampled_from(CHANNELS)),
        status=draw(st.sampled_from(["active", "archived"])),
        pinned=draw(st.booleans()),
        read_only=draw(st.booleans()),
        created_at=created,
        updated_at=draw(times),
        last_message_at=draw(st.none() | times),
        message_count=n,
        preview=draw(text),
        stats=SessionStats(*draw(st.lists(st.integers(0, 10**6), min_size=6, max_size=6))),
        metadata=draw(json_objects),
    )
    messages = [
        Message(
            id=f"msg_{seq}",
            session_id=session.id,
            seq=seq,
            role=draw(st.sampled_from(ROLES)),
            content=draw(text),
            parts=draw(parts),
            status=draw(st.sampled_from(MESSAGE_STATUSES)),
            usage=Usage(draw(st.integers(0, 10**6)), draw(st.integers(0, 10**6))),
            metadata=draw(json_objects),
            created_at=draw(st.none() | times),
        )
        for seq in range(1, n + 1)
    ]
    checkpoints = [
        Checkpoint(f"chk_{i}", session.id, draw(text), draw(text), at, at, draw(times))
        for i, at in enumerate(draw(st.lists(st.integers(0, n), max_size=3)))
    ]
    return session, messages, checkpoints
