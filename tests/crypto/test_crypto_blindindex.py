"""Blind index: normalisation rules, keyed tokens, and whole-word AND queries."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sessionhub.crypto import IndexKey, derive_index_key, index_terms, normalise_terms, query_terms

KEY = IndexKey.from_secret(bytes(32))
OTHER = IndexKey.from_secret(bytes([1] * 32))


@pytest.mark.parametrize(
    "variants",
    [
        ["cafe", "Café", "CAFÉ", "cafe\u0301", "ｃａｆｅ"],
        ["strasse", "Straße", "STRASSE"],
        ["naive", "naïve", "NAÏVE"],
        ["σοφοσ", "ΣΟΦΟΣ", "σοφός"],
        ["елка", "Ёлка", "ёлка"],
        ["שלום", "שָׁלוֹם"],
        ["مرحبا", "مَرْحَبًا", "مرحـــبا"],
    ],
)
def test_case_and_accent_variants_give_one_token(variants: list[str]) -> None:
    """Case, accent, width and vowel-point variants of a word normalise to the same single token."""
    tokens = {tuple(index_terms(KEY, v)) for v in variants}
    assert len(tokens) == 1
    assert len(next(iter(tokens))) == 1


def test_distinct_letters_stay_distinct() -> None:
    """Marks that make different letters (Cyrillic й/и, Devanagari) are kept apart."""
    assert index_terms(KEY, "йод") != index_terms(KEY, "иод")
    assert normalise_terms("नमस्ते दुनिया") == ["नमस्ते", "दुनिया"]


def test_word_splitting_rules() -> None:
    """Punctuation, underscores and apostrophes separate words; 1-char and >64-char terms are dropped."""
    assert normalise_terms("Hello, world! snake_case don't a I 3.14 x" + " " + "z" * 65 + " " + "y" * 64) == [
        "hello",
        "world",
        "snake",
        "case",
        "don",
        "14",
        "y" * 64,
    ]


def test_cjk_characters_are_terms_and_hangul_words_stay_whole() -> None:
    """Han and kana characters each become a term; Hangul and Thai runs stay whole words."""
    assert normalise_terms("東京タワー Pythonの入門") == [
        "東",
        "京",
        "タ",
        "ワ",
        "ー",
        "python",
        "の",
        "入",
        "門",
    ]
    assert normalise_terms("한국어 텍스트 ภาษาไทย") == ["한국어", "텍스트", "ภาษาไทย"]
    assert set(query_terms(KEY, "東京")) <= set(index_terms(KEY, "私は東京に住んでいます"))


def test_tokens_are_sorted_unique_truncated_hmacs() -> None:
    """Index tokens are 16 hex chars, unique and sorted (word order not kept), and contain no term."""
    tokens = index_terms(KEY, "zebra apple zebra mango apple")
    assert len(tokens) == 3
    assert tokens == sorted(tokens)
    assert all(re.fullmatch(r"[0-9a-f]{16}", t) for t in tokens)
    assert not any(word in "".join(tokens) for word in ("zebra", "apple", "mango"))


def test_different_index_keys_give_different_tokens() -> None:
    """The same word gets unrelated tokens under two index keys; the same secret gives the same tokens."""
    assert set(index_terms(KEY, "secret")).isdisjoint(index_terms(OTHER, "secret"))
    assert index_terms(derive_index_key(bytes(32)), "secret") == index_terms(KEY, "secret")


def test_index_key_is_derived_not_the_secret() -> None:
    """The HMAC key is HKDF-derived: tokens differ from a plain HMAC keyed with the secret itself."""
    assert index_terms(IndexKey(bytes(32)), "secret") != index_terms(KEY, "secret")


def test_query_is_and_of_whole_words() -> None:
    """A query matches when all its terms are in the text; a partial or a missing word does not."""
    doc = set(index_terms(KEY, "The quick brown Fox jumps over the lazy dog"))
    assert set(query_terms(KEY, "fox DOG")) <= doc
    assert not set(query_terms(KEY, "fox cat")) <= doc
    assert not set(query_terms(KEY, "qui")) <= doc
    assert query_terms(KEY, "fox fox Fox") == query_terms(KEY, "fox")
    assert query_terms(KEY, '"fox" AND -dog') == query_terms(KEY, "fox and dog")


def test_query_with_no_searchable_terms_is_empty() -> None:
    """A query of only separators or 1-char words has no tokens (the store then returns nothing)."""
    assert query_terms(KEY, "  ! a , ") == []
    assert index_terms(KEY, "") == []


def test_repr_hides_key() -> None:
    """IndexKey's repr shows no key material."""
    assert repr(KEY) == "IndexKey(...)"


@settings(max_examples=300)
@given(st.text())
def test_every_indexed_word_is_findable(text: str) -> None:
    """For any text, querying any of its terms (or the whole text) matches that text's index."""
    doc = set(index_terms(KEY, text))
    assert set(query_terms(KEY, text)) == doc
    for term in normalise_terms(text):
        assert set(query_terms(KEY, term)) <= doc


@settings(max_examples=300)
@given(st.text(alphabet=st.characters(max_codepoint=127)))
def test_ascii_fast_path_agrees_with_general_path(text: str) -> None:
    """ASCII text gives the same terms whether or not the text also contains non-ASCII characters."""
    assert normalise_terms(text + " 東") == [*normalise_terms(text), "東"]
