"""The part of the Store interface behind context windows and summaries.

``Store`` inherits ``ContextStore``. A context window is built *inside* one read
transaction in the store's worker thread: ``read_context(owner, session_id, consume)``
opens it, hands ``consume`` a ``ContextSource`` (the session, its system and important
messages, the latest valid summary, and the newest messages as a lazy newest-first
iterator read in bounded pages across fork segments) and returns what ``consume``
returns. So the pure builder (``context.build_context``) pulls only the pages it needs:
a build reads O(window) rows, never the whole history.

Token counts are cached in ``messages.token_count``, tagged with the counter that
produced them (see ``pack_count``): a count made by another tokenizer is never reused.
Counts computed during a build are written back after the read, in one short write.

Summaries never delete messages. ``save_summary`` is one write transaction that locks the
session row and refuses a record not built on the latest summary (``expect_previous``),
so concurrent compactions of one session cannot produce two overlapping summaries.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from ..model import Message, Session, SummaryMethod, SummaryRecord

T = TypeVar("T")

TAG_BITS = 10
MAX_CACHED_COUNT = (1 << (31 - TAG_BITS)) - 1


def counter_tag(counter_name: str) -> int:
    """A stable 10-bit tag naming a counter (crc32 of its name)."""
    return zlib.crc32(counter_name.encode()) & ((1 << TAG_BITS) - 1)


def pack_count(counter_name: str, count: int) -> int | None:
    """The value stored in ``messages.token_count``: ``count << 10 | tag`` (None if too large)."""
    if count < 0 or count > MAX_CACHED_COUNT:
        return None
    return (count << TAG_BITS) | counter_tag(counter_name)


def unpack_count(counter_name: str, stored: int | None) -> int | None:
    """The cached count if it was made by this counter, else None."""
    if stored is None or stored < 0 or (stored & ((1 << TAG_BITS) - 1)) != counter_tag(counter_name):
        return None
    return stored >> TAG_BITS


@dataclass(eq=False)
class ContextSource:
    """What a context build reads, inside the store's read transaction (not thread-safe)."""

    session: Session
    first_seq: int
    last_seq: int
    summary: SummaryRecord | None
    system: list[Message]
    important: list[Message]
    newest: Iterator[Message]
    stored: dict[str, int | None] = field(default_factory=dict)  # message id -> packed token_count
    fresh: dict[str, int] = field(default_factory=dict)  # message id -> packed count to save
    located: dict[str, tuple[int, int]] = field(default_factory=dict)  # message id -> (store key, seq)
    rows_read: int = 0

    def token_counts(self, name: str, count_message: Callable[[Message], int]) -> Callable[[Message], int]:
        """A ``cached_tokens`` callable: the count stored for counter ``name``, else count and remember.

        The counter comes as its name and its count function, so the store does not import
        ``context/`` (the token counters and strategies are above the store).
        """
        memo: dict[str, int] = {}

        def tokens(message: Message) -> int:
            found = memo.get(message.id)
            if found is not None:
                return found
            count = unpack_count(name, self.stored.get(message.id))
            if count is None:
                count = count_message(message)
                packed = pack_count(name, count)
                if packed is not None and message.id in self.stored:
                    self.fresh[message.id] = packed
            memo[message.id] = count
            return count

        return tokens


@dataclass(frozen=True, slots=True)
class NewSummary:
    """A summary to save; ``covers_until_id`` is the message at ``covers_until_seq``."""

    id: str
    covers_until_seq: int
    covers_until_id: str
    text: str
    method: SummaryMethod
    token_count: int


class ContextStore(Protocol):
    """Context reads and summaries: what ``hub/context.py`` needs (``ContextSQLMixin``)."""

    async def read_context(self, owner: str, session_id: str, consume: Callable[[ContextSource], T]) -> T:
        """Run ``consume`` on the session's ``ContextSource`` inside one read transaction."""

    async def message_range(
        self, owner: str, session_id: str, from_seq: int, until_seq: int, limit: int
    ) -> list[Message]:
        """Messages ``from_seq..until_seq`` oldest first, at most ``limit`` (the newest of them if more)."""

    async def latest_summary(self, owner: str, session_id: str) -> SummaryRecord | None:
        """The latest summary still valid for the session's history (forks see their base's)."""

    async def list_summaries(self, owner: str, session_id: str) -> list[SummaryRecord]:
        """Every summary row of the session itself, oldest first (tests and tools)."""

    async def save_summary(
        self, owner: str, session_id: str, new: NewSummary, expect_previous: int
    ) -> tuple[SummaryRecord | None, bool]:
        """Save ``new`` if the latest valid summary still covers ``expect_previous`` (0: none).

        Returns ``(record, True)`` when saved, else ``(latest, False)`` (another compaction
        won). ``new`` must cover more than ``expect_previous`` and at most the last seq.
        """

    def rows_fetched(self) -> int:
        """Message rows read by context builds so far (a counter for tests and benchmarks)."""
        ...


__all__ = [
    "ContextSource",
    "ContextStore",
    "NewSummary",
    "counter_tag",
    "pack_count",
    "unpack_count",
]
