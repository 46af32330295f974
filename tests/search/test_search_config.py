"""``[search]``: the default mode, the semantic switch and the cut-off, checked at start."""

from __future__ import annotations

import pytest

from sessionhub.config import settings_from_mapping
from sessionhub.errors import ConfigError
from sessionhub.searchquery import parse_query


def test_search_section_parsed_and_refused() -> None:
    """Good values are kept; a wrong one stops start-up with one line naming the key."""
    s = settings_from_mapping(
        {"search": {"mode": "keyword", "semantic": False, "min_similarity": 0.5}}, env={}
    )
    assert (s.search.mode, s.search.semantic, s.search.min_similarity) == ("keyword", False, 0.5)
    assert settings_from_mapping({}, env={"SESSIONHUB_SEARCH_SEMANTIC": "0"}).search.semantic is False
    for bad, key in (
        ({"mode": "fuzzy"}, "search.mode"),
        ({"semantic": "yes"}, "search.semantic"),
        ({"min_similarity": 2}, "search.min_similarity"),
        ({"colour": 1}, "search.colour"),
    ):
        with pytest.raises(ConfigError, match=key):
            settings_from_mapping({"search": bad}, env={})
    with pytest.raises(ConfigError, match="SESSIONHUB_SEARCH_SEMANTIC"):
        settings_from_mapping({}, env={"SESSIONHUB_SEARCH_SEMANTIC": "maybe"})


def test_query_cut_into_words_prefix_and_grams() -> None:
    """Words fold case, the last word is a prefix (2+ letters), CJK/Thai/Hangul runs are grams."""
    q = parse_query("Cluster UPG")
    assert (q.words, q.prefix, q.grams) == (("cluster", "upg"), "upg", ())
    q = parse_query("iPhone苹果手机 สวัสดีครับ 東")
    assert q.words == ("iphone",) and q.grams == ("苹果手机", "สวัสดีครับ") and q.short_grams == ("東",)
    assert q.prefix is None  # the last term is not a word
    assert parse_query("a").prefix is None and parse_query("k8s pod").prefix == "pod"
