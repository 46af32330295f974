"""Per-message token counts that are computed once.

Building a context must not re-tokenise the whole history, so counts are looked up, in order:

1. ``message.metadata["_tokens"][counter.name]``: a count the store saved with the message
   (the store may write it at append time; the key names the counter, so a change of
   tokenizer never reuses a stale count);
2. an in-process LRU keyed by message id, counter name and content/part sizes (a streaming
   message that grows gets a new key);
3. the counter itself, whose result goes into the LRU.

Pass ``TokenCache(counter)`` (or any ``Callable[[Message], int]``) as ``cached_tokens``.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from typing import Final

from ..model import Message
from .tokens import TokenCounter

TOKENS_METADATA_KEY: Final = "_tokens"
"""Message metadata key holding ``{counter name: token count}``."""


def stored_count(message: Message, counter_name: str) -> int | None:
    """The count saved in the message's metadata for this counter, if any."""
    saved = message.metadata.get(TOKENS_METADATA_KEY)
    if isinstance(saved, Mapping):
        value = saved.get(counter_name)
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return value
    return None


def with_stored_count(metadata: Mapping[str, object], counter_name: str, count: int) -> dict[str, object]:
    """A copy of ``metadata`` with the count for ``counter_name`` saved (for the store to persist)."""
    out = dict(metadata)
    saved = out.get(TOKENS_METADATA_KEY)
    tokens = dict(saved) if isinstance(saved, Mapping) else {}
    tokens[counter_name] = count
    out[TOKENS_METADATA_KEY] = tokens
    return out


class TokenCache:
    """``Callable[[Message], int]``: the message's token count, computed at most once per process."""

    def __init__(self, counter: TokenCounter, maxsize: int = 100_000) -> None:
        self.counter = counter
        self.maxsize = maxsize
        self.hits = 0
        self.misses = 0
        self._lru: OrderedDict[tuple[str, str, int, int, str], int] = OrderedDict()

    def __call__(self, message: Message) -> int:
        stored = stored_count(message, self.counter.name)
        if stored is not None:
            self.hits += 1
            return stored
        key = (message.id, self.counter.name, len(message.content), len(message.parts), message.status)
        found = self._lru.get(key)
        if found is not None:
            self._lru.move_to_end(key)
            self.hits += 1
            return found
        self.misses += 1
        count = self.counter.count_message(message)
        self._lru[key] = count
        if len(self._lru) > self.maxsize:
            self._lru.popitem(last=False)
        return count
