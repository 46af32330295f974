"""Small text rules: auto titles and previews (CONTRACT section 3), and splitting a reply for a
platform's message length limit."""

from __future__ import annotations

from collections.abc import Callable

ELLIPSIS = "…"


def collapse(text: str) -> str:
    """Collapse every run of whitespace to one space and trim the ends."""
    return " ".join(text.split())


def shorten(text: str, max_chars: int) -> str:
    """Collapse whitespace and cut at a word boundary to at most ``max_chars`` plus "…" when cut."""
    flat = collapse(text)
    if len(flat) <= max_chars:
        return flat
    head = flat[: max_chars + 1]
    cut = head.rfind(" ")
    if cut <= 0:  # one long word: a hard cut is the only honest choice
        return flat[:max_chars].rstrip() + ELLIPSIS
    return head[:cut].rstrip() + ELLIPSIS


def auto_title(first_user_message: str, max_chars: int = 60) -> str:
    return shorten(first_user_message, max_chars)


def preview(first_user_message: str, max_chars: int = 120) -> str:
    return shorten(first_user_message, max_chars)


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units (how Telegram counts message length)."""
    return len(text.encode("utf-16-le")) // 2


def split_for_limit(text: str, limit: int, measure: Callable[[str], int] = len) -> list[str]:
    """Cut ``text`` into pieces of at most ``limit`` (as ``measure`` counts), nothing dropped.

    Each cut falls at the last paragraph break, else line break, else space that fits; only a
    piece with none of them is cut inside a word (never inside a character). The separator
    the cut falls on stays at the end of the piece before it, so joining the pieces gives back
    ``text`` exactly.
    """
    if limit < 1:
        raise ValueError("limit must be at least 1")
    pieces: list[str] = []
    rest = text
    while measure(rest) > limit:
        # The longest prefix that fits, found by bisection on the character count.
        lo, hi = 1, len(rest)
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if measure(rest[:mid]) <= limit:
                lo = mid
            else:
                hi = mid - 1
        head = rest[:lo]
        for sep in ("\n\n", "\n", " "):
            at = head.rfind(sep)
            if at > 0:
                lo = at + len(sep)
                break
        pieces.append(rest[:lo])
        rest = rest[lo:]
    if rest or not pieces:
        pieces.append(rest)
    return pieces
