"""Splitting a reply for a platform's length limit: nothing lost, every piece fits."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sessionhub.text import split_for_limit, utf16_len

_TEXT = st.text(alphabet=st.sampled_from(["a", "b", " ", "\n", "é", "😀", "字"]), max_size=400)


@given(text=_TEXT, limit=st.integers(2, 50))
def test_pieces_fit_and_join_back(text: str, limit: int) -> None:
    pieces = split_for_limit(text, limit, utf16_len)
    assert "".join(pieces) == text
    assert all(utf16_len(p) <= limit for p in pieces)
    assert all(pieces) or pieces == [""]


def test_cuts_prefer_paragraphs_then_lines_then_words() -> None:
    text = "first paragraph here\n\nsecond line one\nsecond line two words"
    assert split_for_limit(text, 30) == [
        "first paragraph here\n\n",
        "second line one\n",
        "second line two words",
    ]
    assert split_for_limit("alpha beta gamma", 11) == ["alpha beta ", "gamma"]
    assert split_for_limit("abcdefghij", 4) == ["abcd", "efgh", "ij"]  # one long word: hard cuts
    assert split_for_limit("short", 4096) == ["short"]


def test_telegram_counts_utf16_units() -> None:
    """An emoji is two UTF-16 units: 4,096 emoji make two Telegram messages, never a split pair."""
    pieces = split_for_limit("😀" * 4096, 4096, utf16_len)
    assert [len(p) for p in pieces] == [2048, 2048]


def test_limit_must_be_positive() -> None:
    with pytest.raises(ValueError):
        split_for_limit("x", 0)
