"""Conversation builders shared by the context tests: plain messages and hypothesis strategies."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st

from sessionhub.model import Message, ToolCall, ToolResult

WORDS = ["alpha", "beta", "session", "token", "window", "数据", "привет", "🙂", "x=1;", '{"k": 2}', "the"]


def text(n_words: int, seed: int = 0) -> str:
    return " ".join(WORDS[(seed + i * 7) % len(WORDS)] for i in range(n_words))


@dataclass
class Builder:
    """Appends messages with dense seqs, like the store does."""

    session_id: str = "ses_test"
    messages: list[Message] = field(default_factory=list)

    def add(self, role: str, content: str = "", parts: Sequence[Any] = (), **metadata: Any) -> Message:
        seq = len(self.messages) + 1
        msg = Message(
            id=f"msg_{seq}",
            session_id=self.session_id,
            seq=seq,
            role=role,  # type: ignore[arg-type]
            content=content,
            parts=tuple(parts),
            metadata=metadata,
        )
        self.messages.append(msg)
        return msg

    def tool_round(self, k: int, size: int, seed: int) -> None:
        calls = [
            ToolCall(id=f"call_{len(self.messages)}_{i}", name="search", arguments={"q": text(2, seed + i)})
            for i in range(k)
        ]
        self.add("assistant", "", calls)
        for call in calls:
            self.add("tool", text(size, seed), [ToolResult(tool_call_id=call.id, content=text(size, seed))])


class CountingIter:
    """Newest-first iterator over messages that counts how many were pulled."""

    def __init__(self, messages: Sequence[Message]) -> None:
        self._messages = messages
        self.pulled = 0

    def __iter__(self) -> Iterator[Message]:
        for m in reversed(self._messages):
            self.pulled += 1
            yield m


# One turn: (user words, important?, steps); a step is ("text", words, important) or ("tools", k, words).
step = st.one_of(
    st.tuples(st.just("text"), st.integers(0, 60), st.booleans()),
    st.tuples(st.just("tools"), st.integers(1, 3), st.integers(0, 40)),
)
turn = st.tuples(st.integers(1, 60), st.integers(0, 9), st.lists(step, max_size=4))


@st.composite
def conversations(draw: st.DrawFn) -> list[Message]:
    """A session: optional system prompt, a few turns with text, tool rounds, important and system messages."""
    b = Builder()
    if draw(st.booleans()):
        b.add("system", text(draw(st.integers(1, 40))))
    if draw(st.booleans()):
        b.add("assistant", "Hello! How can I help?")
    for i, (user_words, mark, steps) in enumerate(draw(st.lists(turn, min_size=0, max_size=12))):
        extra = {"important": True} if mark == 0 else {}
        b.add("user", text(user_words, i), **extra)
        for j, s in enumerate(steps):
            if s[0] == "text":
                b.add("assistant", text(s[1], i + j), **({"important": True} if s[2] and mark < 3 else {}))
            else:
                b.tool_round(s[1], s[2], i + j)
        if mark == 9:
            b.add("system", "Note: " + text(5, i))
    return b.messages
