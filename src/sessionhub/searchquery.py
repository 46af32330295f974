"""A search query cut into what each index can match: words, a last-word prefix, and grams.

Scripts written without spaces between words (Chinese, Japanese, Thai, Lao, Khmer, Burmese)
and Korean, whose words carry particles ("서울에서" = "Seoul" + "in"), are searched by
substring: a run of such characters in the query is a *gram* term, matched anywhere in a
message (SQLite: an FTS5 trigram index; PostgreSQL: a GIN index of character bigrams). Every
other run of letters and digits is a *word*, matched by the word indexes (FTS5 unicode61,
tsvector); the query's last word also matches as a prefix (``kuber`` finds "Kubernetes"),
so search works as the user types. Every term must match (AND).

The same character ranges are written three ways here, for Python, SQLite ``GLOB`` and
PostgreSQL regular expressions, so the indexes and the queries agree on what a gram is.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

# (first, last) code points of the scripts searched by substring.
GRAM_RANGES: tuple[tuple[int, int], ...] = (
    (0x0E00, 0x0EFF),  # Thai, Lao
    (0x1000, 0x109F),  # Myanmar
    (0x1100, 0x11FF),  # Hangul Jamo
    (0x1780, 0x17FF),  # Khmer
    (0x3040, 0x30FF),  # Hiragana, Katakana
    (0x3130, 0x318F),  # Hangul compatibility Jamo
    (0x31F0, 0x31FF),  # Katakana phonetic extensions
    (0x3400, 0x4DBF),  # Han extension A
    (0x4E00, 0x9FFF),  # Han
    (0xAC00, 0xD7AF),  # Hangul syllables
    (0xF900, 0xFAFF),  # Han compatibility
    (0xFF66, 0xFF9F),  # half-width Katakana
    (0x20000, 0x3134F),  # Han extensions B-G
)
MIN_GRAM_CHARS = 2  # a substring of one character matches too much to be a search
MAX_TERMS = 16

_CLASS_BODY = "".join(f"{chr(lo)}-{chr(hi)}" for lo, hi in GRAM_RANGES)
SQLITE_GLOB = f"*[{_CLASS_BODY}]*"
"""``content GLOB SQLITE_GLOB``: the text holds a character of a gram script."""
PG_REGEX = f"[{_CLASS_BODY}]"
"""``content ~ PG_REGEX``: the same test on PostgreSQL."""


def is_gram_char(ch: str) -> bool:
    cp = ord(ch)
    return any(lo <= cp <= hi for lo, hi in GRAM_RANGES)


def _is_word_char(ch: str) -> bool:
    # Letters, digits and combining marks (Thai vowels and tone marks are marks, not \w).
    return ch.isalnum() or unicodedata.category(ch)[0] == "M"


@dataclass(frozen=True, slots=True)
class Query:
    """The terms of a query. ``prefix`` is the last word, matched as a prefix (also in ``words``)."""

    words: tuple[str, ...]
    grams: tuple[str, ...]
    prefix: str | None
    short_grams: tuple[str, ...] = ()  # gram runs of one character: too short to search

    @property
    def terms(self) -> tuple[str, ...]:
        """Every searchable term, words first (what snippets mark)."""
        return self.words + self.grams

    @property
    def exact_words(self) -> tuple[str, ...]:
        return self.words[:-1] if self.prefix is not None else self.words

    @property
    def empty(self) -> bool:
        return not self.words and not self.grams


def _runs(text: str) -> list[tuple[str, bool]]:
    """Runs of word characters as (run, is_gram), split where the script kind changes."""
    out: list[tuple[str, bool]] = []
    cur: list[str] = []
    kind: bool | None = None
    for ch in unicodedata.normalize("NFKC", text):
        if not _is_word_char(ch) or ch == "_":
            if cur:
                out.append(("".join(cur), bool(kind)))
            cur, kind = [], None
            continue
        gram = is_gram_char(ch) or (unicodedata.category(ch)[0] == "M" and bool(kind))
        if cur and gram != kind:
            out.append(("".join(cur), bool(kind)))
            cur = []
        cur.append(ch)
        kind = gram
    if cur:
        out.append(("".join(cur), bool(kind)))
    return out


def parse_query(text: str, *, prefix: bool = True) -> Query:
    """Cut ``text`` into words (case-folded) and grams; the last word is a prefix when ``prefix``."""
    words: list[str] = []
    grams: list[str] = []
    short: list[str] = []
    last_kind_word = False
    for run, gram in _runs(text):
        if gram:
            target = grams if len(run) >= MIN_GRAM_CHARS else short
            if run not in target:
                target.append(run)
            last_kind_word = False
        else:
            word = run.casefold()
            if word not in words:
                words.append(word)
            last_kind_word = True
    words, grams = words[:MAX_TERMS], grams[: max(0, MAX_TERMS - len(words))]
    # The last word is completed as the user types; one letter would match nearly everything.
    pre = words[-1] if prefix and words and last_kind_word and len(words[-1]) >= 2 else None
    return Query(tuple(words), tuple(grams), pre, tuple(short))


__all__ = [
    "GRAM_RANGES",
    "MAX_TERMS",
    "MIN_GRAM_CHARS",
    "PG_REGEX",
    "SQLITE_GLOB",
    "Query",
    "is_gram_char",
    "parse_query",
]
