"""Snippets: where a hit's text matches, found without a regular expression for ASCII text."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from sessionhub.snippets import highlight, match_spans


def _regex_spans(text: str, words: list[str], prefix: str | None) -> list[tuple[int, int]]:
    """The expression match_spans used for ASCII text before (the oracle)."""
    wanted = {w.casefold() for w in words if w}
    alts = [re.escape(w) + r"(?![^\W_])" for w in sorted(wanted, key=len, reverse=True)]
    if prefix:
        alts.append(re.escape(prefix.casefold()) + r"[^\W_]*")
    if not alts:
        return []
    pattern = re.compile(r"(?<![^\W_])(?:" + "|".join(alts) + ")", re.IGNORECASE)
    merged: list[tuple[int, int]] = []  # touching or overlapping spans as one, as match_spans does
    for lo, hi in sorted(m.span() for m in pattern.finditer(text)):
        if merged and lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(hi, merged[-1][1]))
        else:
            merged.append((lo, hi))
    return merged


# Query words and prefixes as parse_query gives them (no "_": it separates words there too).
ASCII_WORDS = st.sampled_from(["ab", "abc", "a", "bc", "x1", "1", "Ab", "AB1", "c"])
ASCII_TEXT = st.lists(
    st.sampled_from(
        ["ab", "abc", "AB", "a", "b_c", "_x", "x1", "1", " ", "-", "_", ".", "abcd", "\n", "Ab1"]
    ),
    max_size=30,
).map("".join)


@settings(max_examples=400, deadline=None)
@given(ASCII_TEXT, st.lists(ASCII_WORDS, max_size=3), st.none() | ASCII_WORDS)
def test_ascii_spans_are_those_of_the_regular_expression(
    text: str, words: list[str], prefix: str | None
) -> None:
    assert match_spans(text, words, prefix, ()) == _regex_spans(text, words, prefix)


def test_highlight_marks_whole_words_and_the_prefix_in_a_window() -> None:
    text = "The cluster upgrade went fine; clusters and <b>upgrades</b> were checked. " * 6
    out = highlight(text, ["cluster"], "upg")
    assert out.startswith("The <mark>cluster</mark> <mark>upgrade</mark> went fine; clusters and")
    assert "&lt;b&gt;<mark>upgrades</mark>&lt;/b&gt;" in out
    assert out.endswith("…") and len(out) < 400
    assert highlight("Ünïcode Café here", ["cafe"]) == "Ünïcode <mark>Café</mark> here"
    assert highlight("我喜欢吃苹果", [], None, ["苹果"]) == "我喜欢吃<mark>苹果</mark>"
