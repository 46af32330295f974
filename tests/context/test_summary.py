"""Summaries: the deterministic extractive summary, the LLM prompt, the record type."""

from __future__ import annotations

import pytest

from sessionhub.context import SummaryRecord, extractive_summary, summary_prompt
from sessionhub.errors import InvalidInput
from sessionhub.model import Message, ToolCall, ToolResult

from .convo import Builder, text


def sample() -> list[Message]:
    b = Builder()
    b.add("user", "Please book a table for four in Lyon on Friday.")
    b.add("assistant", "", [ToolCall(id="c1", name="book_table", arguments={"city": "Lyon", "people": 4})])
    b.add("tool", "confirmed #A17", [ToolResult(tool_call_id="c1", content="confirmed #A17")])
    b.add("assistant", "Done: booking A17 at 19:30.")
    return b.messages


def test_extractive_summary_keeps_both_sides_and_tools() -> None:
    """The summary has the user's request, the assistant's answer, the tool call and its result."""
    out = extractive_summary(None, sample(), 1000)
    assert "user: Please book a table" in out
    assert "assistant: Done: booking A17" in out
    assert "book_table(" in out and "Lyon" in out
    assert "confirmed #A17" in out


def test_extractive_summary_is_deterministic_and_bounded() -> None:
    """Same input gives the same text, never longer than max_chars, even for a long history."""
    b = Builder()
    for i in range(500):
        b.add("user" if i % 2 == 0 else "assistant", text(40, i))
    for limit in (80, 300, 4000):
        a, again = (
            extractive_summary("old summary " * 50, b.messages, limit),
            extractive_summary("old summary " * 50, b.messages, limit),
        )
        assert a == again and len(a) <= limit
    wide = extractive_summary(None, b.messages, 4000)
    assert (
        "elided" in wide
        and wide.splitlines()[0].startswith("user:")
        and wide.splitlines()[-1].startswith("assistant:")
    )


def test_extractive_summary_folds_in_previous() -> None:
    """The previous summary is carried into the new one."""
    out = extractive_summary("User lives in Lyon and likes jazz.", sample(), 1000)
    assert out.startswith("Earlier: User lives in Lyon and likes jazz.")


def test_extractive_summary_refuses_tiny_limit() -> None:
    """A max_chars too small to say anything is InvalidInput."""
    with pytest.raises(InvalidInput):
        extractive_summary(None, sample(), 10)


def test_summary_prompt_is_openai_chat_format() -> None:
    """The prompt is system instructions plus a user message with the previous summary and the transcript."""
    prompt = summary_prompt("Earlier facts.", sample())
    assert [m["role"] for m in prompt] == ["system", "user"]
    assert "both sides" in prompt[0]["content"]
    body = prompt[1]["content"]
    assert "Previous summary:\nEarlier facts." in body and "book_table" in body and "confirmed #A17" in body


def test_summary_record_validates_and_serialises() -> None:
    """A record names its method and coverage; a bad method is refused."""
    rec = SummaryRecord("sum_1", "ses_1", 42, "text", "extractive", 3)
    assert rec.to_dict()["covers_until_seq"] == 42 and rec.to_dict()["method"] == "extractive"
    with pytest.raises(InvalidInput):
        SummaryRecord("sum_1", "ses_1", 42, "text", "magic", 3)  # type: ignore[arg-type]
