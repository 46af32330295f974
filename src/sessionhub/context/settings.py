"""Per-agent context settings (``[agents.context]``) and the pure compaction trigger.

A compaction is due when either threshold is reached since the latest summary: the number
of messages (``summarize_message_threshold``) or their tokens as a percentage of the window
(``summarize_token_percent``). ``/compact`` and the API force one regardless.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Annotated, Any

from pydantic import AliasChoices, BeforeValidator, Field

from ..section import Section, fail
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


def _at_least(low: int, note: str = "") -> Callable[[Any], int]:
    def check(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise fail(f"invalid value {value!r} (an integer >= {low}{note})")
        return value

    return check


def _one_of(allowed: Collection[str], hint: str) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        if value not in allowed:
            raise fail(f"invalid value {value!r} ({hint})")
        return str(value)

    return check


def _percent(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 100:
        raise fail(f"invalid value {value!r} (a number from 0 to 100, 0 = off)")
    return float(value)


class AgentContextSettings(Section):
    """``[agents.context]``: how one agent builds its context window and when it compacts.

    Parsed once with the rest of the configuration (``config.py``); ``window`` is accepted
    as another name of ``max_tokens``.
    """

    max_tokens: Annotated[
        int, BeforeValidator(_at_least(64)), Field(validation_alias=AliasChoices("max_tokens", "window"))
    ] = 8000
    strategy: Annotated[str, BeforeValidator(_one_of(STRATEGIES, "recent, smart or summarize"))] = "smart"
    summarize_message_threshold: Annotated[int, BeforeValidator(_at_least(0, ", 0 = off"))] = 50
    summarize_token_percent: Annotated[float, BeforeValidator(_percent)] = 75.0
    tokenizer: Annotated[str, BeforeValidator(_one_of(PREFERENCES, "auto, tiktoken or estimate"))] = "auto"
    encoding: Annotated[str, BeforeValidator(_one_of(SPECS, "cl100k_base or o200k_base"))] = "cl100k_base"
    summary_max_chars: Annotated[int, BeforeValidator(_at_least(80))] = 4000

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
        """Parse a ``[agents.context]`` table; a wrong key or value raises ``ConfigError`` naming it."""
        return cls() if data is None else cls.parse(data, where)


__all__ = ["AgentContextSettings", "needs_compaction"]
