"""Context windows: token counting, the recent / smart / summarize strategies, summaries.

Pure functions and value types only: the store and the hub call these with ``Message``
objects (the newest read lazily, page by page).
"""

from __future__ import annotations

from ..model import SummaryRecord
from .cache import TOKENS_METADATA_KEY, TokenCache, stored_count, with_stored_count
from .settings import AgentContextSettings, needs_compaction
from .strategies import (
    PIPELINES,
    STRATEGIES,
    ContextWindow,
    Draft,
    SummaryRequest,
    build_context,
    choose_turns,
    keep_important,
    keep_system,
    request_summary,
    summary_message,
    use_summary,
)
from .summary import extractive_summary, summary_prompt
from .tokens import (
    EstimateCounter,
    TiktokenCounter,
    TokenCounter,
    get_counter,
    tiktoken_available,
)
from .truncate import MARKER, truncate_message, truncate_text

__all__ = [
    "MARKER",
    "PIPELINES",
    "STRATEGIES",
    "TOKENS_METADATA_KEY",
    "AgentContextSettings",
    "ContextWindow",
    "Draft",
    "EstimateCounter",
    "SummaryRecord",
    "SummaryRequest",
    "TiktokenCounter",
    "TokenCache",
    "TokenCounter",
    "build_context",
    "choose_turns",
    "extractive_summary",
    "get_counter",
    "keep_important",
    "keep_system",
    "needs_compaction",
    "request_summary",
    "stored_count",
    "summary_message",
    "summary_prompt",
    "tiktoken_available",
    "truncate_message",
    "truncate_text",
    "use_summary",
    "with_stored_count",
]
