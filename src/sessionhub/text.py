"""Small text rules: auto titles and previews (CONTRACT section 3)."""

from __future__ import annotations

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
