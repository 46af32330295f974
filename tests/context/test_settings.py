"""Per-agent context settings and the compaction trigger."""

from __future__ import annotations

import pytest

from sessionhub.context import AgentContextSettings, needs_compaction
from sessionhub.errors import ConfigError


def test_message_threshold_triggers() -> None:
    """Reaching summarize_message_threshold messages since the summary calls for compaction."""
    assert needs_compaction(50, 10, 8000, 50, 75)
    assert not needs_compaction(49, 10, 8000, 50, 75)


def test_token_percent_triggers() -> None:
    """Tokens since the summary reaching the percentage of the window call for compaction."""
    assert needs_compaction(3, 6000, 8000, 50, 75)
    assert not needs_compaction(3, 5999, 8000, 50, 75)


def test_thresholds_can_be_off_and_nothing_new_never_triggers() -> None:
    """0/None disables a threshold; no new messages never triggers."""
    assert not needs_compaction(1000, 10**6, 8000, 0, None)
    assert not needs_compaction(0, 10**6, 8000, 1, 1)


def test_from_config_reads_values() -> None:
    """A valid [agents.context] table becomes settings; window is an alias of max_tokens."""
    s = AgentContextSettings.from_config(
        {"window": 16000, "strategy": "summarize", "summarize_token_percent": 60, "tokenizer": "estimate"}
    )
    assert (s.max_tokens, s.strategy, s.summarize_token_percent, s.tokenizer) == (
        16000,
        "summarize",
        60.0,
        "estimate",
    )
    assert s.compaction_due(10, 9600) and not s.compaction_due(10, 9599)
    assert AgentContextSettings.from_config(None) == AgentContextSettings()


@pytest.mark.parametrize(
    ("table", "named"),
    [
        ({"max_tokens": 10}, "agents.context.max_tokens"),
        ({"strategy": "newest"}, "agents.context.strategy"),
        ({"summarize_token_percent": 120}, "agents.context.summarize_token_percent"),
        ({"tokenizer": "bpe"}, "agents.context.tokenizer"),
        ({"summarize_message_threshold": True}, "agents.context.summarize_message_threshold"),
        ({"colour": "red"}, "agents.context.colour"),
    ],
)
def test_from_config_names_the_bad_key(table: dict[str, object], named: str) -> None:
    """A wrong key or value raises ConfigError whose message names it."""
    with pytest.raises(ConfigError, match=named.replace(".", r"\.")):
        AgentContextSettings.from_config(table)
