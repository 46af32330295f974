"""The context window strategies on generated and hand-made conversations."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sessionhub.context import (
    MARKER,
    EstimateCounter,
    SummaryRecord,
    TokenCache,
    build_context,
    with_stored_count,
)
from sessionhub.context.strategies import ContextWindow, is_important, summary_message
from sessionhub.context.tokens import MESSAGE_OVERHEAD
from sessionhub.errors import InvalidInput
from sessionhub.model import Message, ToolCall, ToolResult

from .convo import Builder, CountingIter, conversations, text

COUNTER = EstimateCounter()
MARKER_START = MARKER.split("{n}")[0]


def turn_starts(history: list[Message]) -> set[int]:
    return {m.seq for m in history if m.role == "user"}


def covering_summary(history: list[Message], frac: float) -> SummaryRecord | None:
    """A summary covering the history up to a turn boundary near ``frac`` of it."""
    starts = sorted(turn_starts(history))
    if not starts or frac <= 0:
        return None
    until = starts[min(len(starts) - 1, int(frac * len(starts)))] - 1
    if until < 1:
        return None
    return SummaryRecord(
        "sum_1", "ses_test", until, "user asked things; assistant answered " * 3, "extractive", 0
    )


def build(
    history: list[Message], strategy: str, budget: int, summary: SummaryRecord | None = None
) -> ContextWindow:
    system = [m for m in history if m.role == "system"]
    important = [m for m in history if is_important(m)]
    return build_context(
        CountingIter(history),
        max_tokens=budget,
        strategy=strategy,
        counter=COUNTER,
        system=system,
        important=important,
        summary=summary,
    )


def check_invariants(history: list[Message], window: ContextWindow, budget: int) -> None:
    """The rules every strategy keeps."""
    assert window.token_count <= budget
    assert window.token_count == sum(COUNTER.count_message(m) for m in window.messages)
    real = [m for m in window.messages if window.summary is None or m.id != window.summary.id]
    seqs = [m.seq for m in real]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs), "chronological, no duplicates"
    if window.summary is not None:
        pos = next(i for i, m in enumerate(window.messages) if m.id == window.summary.id)
        assert all(m.seq <= window.summary.covers_until_seq for m in window.messages[:pos])
        assert all(m.seq > window.summary.covers_until_seq for m in window.messages[pos + 1 :])
    ids = {m.id for m in real}
    call_owner = {p.id: m.id for m in history for p in m.parts if isinstance(p, ToolCall)}
    for m in history:
        for p in m.parts:
            if isinstance(p, ToolResult) and p.tool_call_id in call_owner:
                assert (m.id in ids) == (call_owner[p.tool_call_id] in ids), "tool pair split"
    covered = set(range(1, window.summary.covers_until_seq + 1)) if window.summary else set()
    assert len(history) == len(set(seqs) | covered) + window.dropped, "every seq in, covered or dropped"
    originals = {m.id: m for m in history}
    for m in real:
        if m != originals[m.id]:
            assert MARKER_START in m.content or any(
                isinstance(p, ToolResult) and MARKER_START in p.content for p in m.parts
            )


budgets = st.integers(min_value=1, max_value=1500)

# `make test` runs a third of the examples `make soak` does (it runs this file again with
# SESSIONHUB_SOAK=1): the invariants are the same, and these five were a minute of worker time.
EXAMPLES = 300 if os.environ.get("SESSIONHUB_SOAK", "").lower() in ("1", "true", "yes") else 100


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(history=conversations(), budget=budgets, strategy=st.sampled_from(["recent", "smart", "summarize"]))
def test_invariants_without_summary(history: list[Message], budget: int, strategy: str) -> None:
    """Budget kept, order kept, pairs whole, every seq accounted for: all strategies, no summary."""
    window = build(history, strategy, budget)
    check_invariants(history, window, budget)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    history=conversations(),
    budget=budgets,
    strategy=st.sampled_from(["smart", "summarize"]),
    frac=st.floats(0, 1),
)
def test_invariants_with_summary(history: list[Message], budget: int, strategy: str, frac: float) -> None:
    """The same rules hold when a summary covers the older part of the history."""
    summary = covering_summary(history, frac)
    window = build(history, strategy, budget, summary)
    check_invariants(history, window, budget)
    if window.summary is not None:
        older = [m for m in window.messages if 0 < m.seq <= window.summary.covers_until_seq]
        assert all(m.role == "system" or is_important(m) for m in older), "covered turns not repeated"


@settings(max_examples=EXAMPLES, deadline=None)
@given(history=conversations(), budget=budgets)
def test_recent_takes_a_newest_suffix_of_whole_turns(history: list[Message], budget: int) -> None:
    """recent: the window is the newest messages, contiguous, starting at a turn start unless the newest turn is cut."""
    window = build(history, "recent", budget)
    check_invariants(history, window, budget)
    seqs = [m.seq for m in window.messages]
    if not seqs:
        return
    assert seqs == list(range(seqs[0], len(history) + 1))
    starts = turn_starts(history)
    newest_turn_start = max((s for s in starts), default=1)
    if seqs[0] < newest_turn_start:
        assert seqs[0] in starts or seqs[0] == 1


@settings(max_examples=EXAMPLES, deadline=None)
@given(history=conversations(), budget=budgets)
def test_smart_keeps_system_and_important(history: list[Message], budget: int) -> None:
    """smart: when system and important messages fit, all of them are in the window."""
    must = [m for m in history if m.role == "system" or is_important(m)]
    window = build(history, "smart", budget)
    check_invariants(history, window, budget)
    if sum(COUNTER.count_message(m) for m in must) <= budget:
        ids = {m.id for m in window.messages}
        assert all(m.id in ids for m in must)


@settings(max_examples=EXAMPLES, deadline=None)
@given(history=conversations(), budget=budgets, strategy=st.sampled_from(["recent", "smart", "summarize"]))
def test_reads_are_bounded_by_the_window(history: list[Message], budget: int, strategy: str) -> None:
    """The iterator is read no further than the window plus what one non-fitting turn can cost."""
    it = CountingIter(history)
    window = build_context(it, max_tokens=budget, strategy=strategy, counter=COUNTER)
    assert it.pulled == window.read
    assert it.pulled <= len(window.messages) + budget // MESSAGE_OVERHEAD + 4


def long_history(n: int) -> list[Message]:
    b = Builder()
    for i in range(n // 4):
        b.add("user", text(12, i))
        b.tool_round(1, 20, i)
        b.add("assistant", text(30, i))
    return b.messages


def test_iterator_consumption_is_o_window_not_o_history() -> None:
    """A 2k-token window over 40,000 messages pulls only a few hundred of them."""
    history = long_history(40_000)
    it = CountingIter(history)
    window = build_context(it, max_tokens=2000, strategy="recent", counter=COUNTER)
    assert 0 < len(window.messages) < it.pulled <= len(window.messages) + 2000 // MESSAGE_OVERHEAD
    assert it.pulled < 600
    assert window.dropped == len(history) - len(window.messages)


def test_giant_single_message_is_truncated_with_marker() -> None:
    """A message larger than the whole budget is cut with a visible marker, not dropped."""
    b = Builder()
    b.add("user", "hello")
    b.add("assistant", "hi")
    b.add("user", text(20_000) + " FINAL QUESTION?")
    for strategy in ("recent", "smart", "summarize"):
        window = build(b.messages, strategy, 300)
        assert [m.seq for m in window.messages] == [3]
        content = window.messages[0].content
        assert MARKER_START in content and content.endswith("FINAL QUESTION?")
        assert window.token_count <= 300 and window.truncated == 1
        assert window.dropped == 2


def test_giant_tool_result_is_truncated_inside_its_pair() -> None:
    """A huge tool result in the newest turn is cut while its tool call stays with it."""
    b = Builder()
    b.add("user", "look it up")
    b.tool_round(1, 30_000, 0)
    window = build(b.messages, "recent", 400)
    assert [m.role for m in window.messages] == ["user", "assistant", "tool"]
    assert MARKER_START in window.messages[2].content
    assert window.token_count <= 400


def test_summarize_requests_summary_of_what_does_not_fit() -> None:
    """summarize: messages older than the window and newer than the summary are asked to be summarised."""
    history = long_history(400)
    window = build(history, "summarize", 1000)
    req = window.summary_request
    assert req is not None and req.from_seq == 1 and req.previous is None
    first_in_window = window.messages[0].seq
    assert req.until_seq == first_in_window - 1
    assert history[first_in_window - 1].role == "user", "the cut is at a turn boundary"
    summary = SummaryRecord("sum_2", "ses_test", req.until_seq, "the story so far", "extractive", 5)
    again = build(history, "summarize", 1000, summary)
    assert again.summary == summary and again.dropped <= window.dropped
    assert again.messages[0].id == "sum_2"


def test_no_summary_request_when_everything_fits() -> None:
    """summarize: a history that fits whole needs no summary."""
    history = long_history(8)
    window = build(history, "summarize", 100_000)
    assert window.summary_request is None and window.dropped == 0
    assert [m.seq for m in window.messages] == [m.seq for m in history]


def test_summary_message_counts_toward_the_budget() -> None:
    """The summary message's tokens are part of token_count and of the budget."""
    history = long_history(40)
    summary = SummaryRecord("sum_3", "ses_test", 20, "word " * 50, "model", 0)
    window = build(history, "smart", 200, summary)
    assert window.summary == summary
    assert window.token_count <= 200
    assert COUNTER.count_message(summary_message(summary)) <= window.token_count


def test_cached_counts_avoid_retokenising() -> None:
    """Counts come from the cache callable (and stored metadata), not from re-tokenising each build."""
    history = long_history(200)
    cache = TokenCache(COUNTER)
    build_context(
        CountingIter(history), max_tokens=3000, strategy="recent", counter=COUNTER, cached_tokens=cache
    )
    misses = cache.misses
    build_context(
        CountingIter(history), max_tokens=3000, strategy="recent", counter=COUNTER, cached_tokens=cache
    )
    assert cache.misses == misses and cache.hits >= misses
    stored = history[-1]
    marked = Message(
        **{
            **{f: getattr(stored, f) for f in stored.__slots__},
            "metadata": with_stored_count({}, COUNTER.name, 7),
        }
    )  # type: ignore[attr-defined]
    assert cache(marked) == 7


def test_pipelines_are_plain_steps() -> None:
    """A custom list of steps can replace a strategy's pipeline."""
    from sessionhub.context import choose_turns, keep_system

    history = long_history(40)
    system = [Message(id="sys", session_id="ses_test", seq=0, role="system", content="Be brief.")]
    window = build_context(
        CountingIter(history),
        max_tokens=300,
        counter=COUNTER,
        system=system,
        steps=[keep_system, choose_turns],
    )
    assert window.messages[0].id == "sys"


@pytest.mark.parametrize("bad", [0, -5, True, 1.5])
def test_bad_budget_is_invalid_input(bad: object) -> None:
    """A non-positive or non-integer max_tokens is refused with InvalidInput."""
    with pytest.raises(InvalidInput):
        build_context([], max_tokens=bad, counter=COUNTER)  # type: ignore[arg-type]


def test_unknown_strategy_is_invalid_input() -> None:
    """An unknown strategy name is refused with InvalidInput."""
    with pytest.raises(InvalidInput, match="strategy"):
        build_context([], max_tokens=100, strategy="newest", counter=COUNTER)
