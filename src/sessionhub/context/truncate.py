"""Cut a message down to a token budget, leaving a visible marker where text was taken out.

The head and the tail of the text are kept (the tail often holds the question), with
``[… truncated N tokens …]`` between them. Works with any ``TokenCounter`` by binary search
on the number of characters kept, so the result is checked with the same counter.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Final

from ..model import Message, ToolResult
from .tokens import TokenCounter

MARKER: Final = "[… truncated {n} tokens …]"
MARKER_PREFIX: Final = MARKER.split("{n}")[0]
TRUNCATED_KEY: Final = "truncated_tokens"
"""Metadata key set on a truncated copy: how many tokens were taken out."""


def _cut(text: str, keep: int, removed: int) -> str:
    head = (keep * 2 + 2) // 3
    tail = keep - head
    return text[:head] + MARKER.format(n=removed) + (text[len(text) - tail :] if tail else "")


def truncate_text(text: str, budget: int, count: Callable[[str], int]) -> str | None:
    """The longest head + marker + tail form of ``text`` within ``budget`` tokens (None if none fits)."""
    total = count(text)
    if total <= budget:
        return text
    lo, hi = 0, len(text) - 1
    best: str | None = None
    while lo <= hi:
        mid = (lo + hi) // 2
        kept = _cut(text, mid, 0)
        removed = max(1, total - count(kept) + count(MARKER.format(n=0)))
        candidate = _cut(text, mid, removed)
        if count(candidate) <= budget:
            best, lo = candidate, mid + 1
        else:
            hi = mid - 1
    return best


def truncate_message(message: Message, budget: int, counter: TokenCounter) -> Message | None:
    """A copy of ``message`` cut to fit ``budget`` tokens (content and tool results), or None if impossible.

    Tool-call parts are kept whole (their ids must still pair with the results); the largest
    text (content or a tool result) is cut first, then the next, until the message fits.
    """
    if counter.count_message(message) <= budget:
        return message
    current = message
    before = counter.count_message(message)
    # Fields that may be cut, largest first: -1 is the content, i >= 0 is parts[i] (a tool result).
    fields = [(-1, message.content)] + [
        (i, p.content)
        for i, p in enumerate(message.parts)
        if isinstance(p, ToolResult) and p.content != message.content
    ]
    fields.sort(key=lambda f: len(f[1]), reverse=True)
    for index, text in fields:
        over = counter.count_message(current) - budget
        if over <= 0:
            break
        own = counter.count(text)
        cut = truncate_text(text, max(0, own - over), counter.count)
        if cut is None:
            cut = ""
        current = _replace_field(current, index, cut)
    after = counter.count_message(current)
    visible = MARKER_PREFIX in current.content or any(
        isinstance(p, ToolResult) and MARKER_PREFIX in p.content for p in current.parts
    )
    if after > budget or not visible:
        return None
    metadata = dict(current.metadata)
    metadata[TRUNCATED_KEY] = before - after
    return dataclasses.replace(current, metadata=metadata)


def _replace_field(message: Message, index: int, text: str) -> Message:
    parts = list(message.parts)
    if index < 0:
        # A tool result equal to the content is sent once: cut both the same way.
        parts = [
            dataclasses.replace(p, content=text)
            if isinstance(p, ToolResult) and p.content == message.content
            else p
            for p in parts
        ]
        return dataclasses.replace(message, content=text, parts=tuple(parts))
    part = parts[index]
    assert isinstance(part, ToolResult)
    parts[index] = dataclasses.replace(part, content=text)
    return dataclasses.replace(message, parts=tuple(parts))
