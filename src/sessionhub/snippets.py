"""Search snippets made in memory: a window of words around the first match, terms marked.

Used where the database cannot make the snippet itself faithfully (PostgreSQL's
``ts_headline`` drops anything that looks like an HTML tag; encrypted content is only
readable after decryption). The result is HTML-escaped with matches in ``<mark>``.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Sequence

_WORD = re.compile(r"\w+")


def _fold(word: str) -> str:
    decomposed = unicodedata.normalize("NFKD", word.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def make_snippet(text: str, terms: Sequence[str], words: int = 16) -> str:
    """About ``words`` words of ``text`` around the first matching term, matches marked."""
    wanted = {_fold(t) for t in terms}
    tokens = list(_WORD.finditer(text))
    if not tokens:
        return html.escape(text[:200])
    first = next((i for i, m in enumerate(tokens) if _fold(m.group()) in wanted), 0)
    lo = max(0, first - words // 3)
    hi = min(len(tokens), lo + words)
    start = tokens[lo].start() if lo > 0 else 0
    end = tokens[hi - 1].end() if hi < len(tokens) else len(text)
    out: list[str] = ["…" if lo > 0 else ""]
    pos = start
    for m in tokens[lo:hi]:
        out.append(html.escape(text[pos : m.start()]))
        word = html.escape(m.group())
        out.append(f"<mark>{word}</mark>" if _fold(m.group()) in wanted else word)
        pos = m.end()
    out.append(html.escape(text[pos:end]))
    if hi < len(tokens):
        out.append("…")
    return " ".join("".join(out).split())
