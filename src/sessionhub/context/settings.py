"""Per-agent context settings (``[agents.context]``) and the pure compaction trigger.

A compaction is due when either threshold is reached since the latest summary: the number
of messages (``summarize_message_threshold``) or their tokens as a percentage of the window
(``summarize_token_percent``). ``/compact`` and the API force one regardless.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError
from ._bpe import SPECS
from .strategies import STRATEGIES
from .tokens import PREFERENCES


def needs_compaction(
    message_count_since_summary: int,
    tokens_since_summary: int,
    window: int,
    summarize_message_threshold: int | None,
    summarize_token_percent: float | None,
) -> bool:
    """Whether the messages since the latest summary call for a new one (a threshold of None or 0 is off)."""
    if message_count_since_summary <= 0:
        return False
    if summarize_message_threshold and message_count_since_summary >= summarize_message_threshold:
        return True
    return (
        bool(summarize_token_percent)
        and tokens_since_summary * 100 >= (summarize_token_percent or 0) * window
    )


@dataclass(frozen=True, slots=True)
class AgentContextSettings:
    """How one agent builds its context window and when it compacts."""

    max_tokens: int = 8000
    strategy: str = "smart"
    summarize_message_threshold: int = 50
    summarize_token_percent: float = 75.0
    tokenizer: str = "auto"
    encoding: str = "cl100k_base"
    summary_max_chars: int = 4000

    @property
    def window(self) -> int:
        return self.max_tokens

    def compaction_due(self, message_count_since_summary: int, tokens_since_summary: int) -> bool:
        return needs_compaction(
            message_count_since_summary,
            tokens_since_summary,
            self.max_tokens,
            self.summarize_message_threshold,
            self.summarize_token_percent,
        )

    @classmethod
    def from_config(
        cls, data: Mapping[str, Any] | None, where: str = "agents.context"
    ) -> AgentContextSettings:
        """Validate a ``[agents.context]`` table; a wrong key or value raises ``ConfigError`` naming it."""
        if data is None:
            return cls()
        if not isinstance(data, Mapping):
            raise ConfigError(f"{where} must be a table")
        values: dict[str, Any] = {}
        for key, value in data.items():
            name = "max_tokens" if key == "window" else key
            if name not in _CHECKS:
                raise ConfigError(
                    f"{where}.{key}: unknown setting (expected one of {', '.join(sorted(_CHECKS))})"
                )
            if not _CHECKS[name](value):
                raise ConfigError(f"{where}.{key}: invalid value {value!r} ({_HINTS[name]})")
            values[name] = float(value) if name == "summarize_token_percent" else value
        return cls(**values)


def _int_at_least(low: int) -> Any:
    return lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= low


_CHECKS: dict[str, Any] = {
    "max_tokens": _int_at_least(64),
    "strategy": lambda v: v in STRATEGIES,
    "summarize_message_threshold": _int_at_least(0),
    "summarize_token_percent": lambda v: (
        isinstance(v, int | float) and not isinstance(v, bool) and 0 <= v <= 100
    ),
    "tokenizer": lambda v: v in PREFERENCES,
    "encoding": lambda v: v in SPECS,
    "summary_max_chars": _int_at_least(80),
}
_HINTS = {
    "max_tokens": "an integer >= 64",
    "strategy": "recent, smart or summarize",
    "summarize_message_threshold": "an integer >= 0, 0 = off",
    "summarize_token_percent": "a number from 0 to 100, 0 = off",
    "tokenizer": "auto, tiktoken or estimate",
    "encoding": "cl100k_base or o200k_base",
    "summary_max_chars": "an integer >= 80",
}
