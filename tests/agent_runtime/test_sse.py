"""SSE parsing and the small helpers of the openai provider."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx

from sessionhub.agents.providers._sse import iter_sse_data
from sessionhub.agents.providers.openai import error_message, retry_after_seconds


async def _lines(*lines: str) -> AsyncIterator[str]:
    for line in lines:
        yield line


async def test_sse_data_comments_and_multiline() -> None:
    """Comments and other fields are skipped, CRLF is stripped, data lines of one event join with newlines."""
    lines = _lines(": keep-alive", "event: x", 'data: {"a":', "data: 1}\r", "", "data:[DONE]", "")
    assert [d async for d in iter_sse_data(lines)] == ['{"a":\n1}', "[DONE]"]


async def test_sse_last_event_without_blank_line() -> None:
    """An event cut at the end of the stream (no closing blank line) is still delivered."""
    assert [d async for d in iter_sse_data(_lines("data: tail"))] == ["tail"]


def test_retry_after_forms() -> None:
    """retry-after-ms wins; Retry-After takes seconds or an HTTP date; garbage is ignored."""
    assert retry_after_seconds(httpx.Headers({"retry-after-ms": "250", "retry-after": "9"})) == 0.25
    assert retry_after_seconds(httpx.Headers({"retry-after": "3"})) == 3.0
    when = datetime(2030, 1, 1, tzinfo=UTC)
    date = format_datetime(when + timedelta(seconds=10), usegmt=True)
    assert retry_after_seconds(httpx.Headers({"retry-after": date}), now=when.timestamp()) == 10.0
    assert retry_after_seconds(httpx.Headers({"retry-after": "soon"})) is None
    assert retry_after_seconds(httpx.Headers({})) is None


def test_error_message_shapes() -> None:
    """OpenAI, Ollama and FastAPI error bodies and plain text all give the server's message."""
    assert error_message(b'{"error": {"message": "no such model"}}') == "no such model"
    assert error_message(b'{"error": "model not found"}') == "model not found"
    assert error_message(b'{"detail": "bad"}') == "bad"
    assert error_message(b"Bad Gateway") == "Bad Gateway"
