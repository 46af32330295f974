"""The openai provider against a real OpenAI-compatible SSE server on loopback."""

from __future__ import annotations

from typing import Any

import pytest

from sessionhub.agents import (
    Done,
    OpenAIProvider,
    ProviderError,
    TextDelta,
    ToolCallEvent,
    UsageEvent,
    build_provider,
)
from sessionhub.agents.providers.base import ProviderEvent
from sessionhub.config import Settings

from .fake_openai import (
    SSE,
    FakeOpenAI,
    Hang,
    Status,
    finish_chunk,
    text_chunk,
    tool_chunk,
    usage_chunk,
)

USER = [{"role": "user", "content": "hi"}]


async def collect(
    provider: Any, messages: list[dict[str, Any]] = USER, tools: Any = None
) -> list[ProviderEvent]:
    return [event async for event in provider.stream("gpt-test", messages, tools)]


def fast(base_url: str, **kwargs: Any) -> OpenAIProvider:
    return OpenAIProvider(base_url=base_url, backoff_base=0.01, backoff_max=0.05, **kwargs)


async def test_streams_text_and_usage_with_key_from_env() -> None:
    """Text arrives as deltas in order, usage from the final chunk, the key from the named env var."""
    script = [SSE([text_chunk("Hel"), text_chunk("lo!"), finish_chunk("stop"), usage_chunk(7, 2)])]
    async with FakeOpenAI(script) as fake:
        provider = build_provider(
            "local",
            Settings(
                providers={"local": {"type": "openai", "base_url": fake.base_url, "api_key_env": "K"}}
            ).providers,
            {"K": "sk-1"},
        )
        events = await collect(provider)
        await provider.aclose()
    assert events == [TextDelta("Hel"), TextDelta("lo!"), UsageEvent(7, 2), Done("stop")]
    (request,) = fake.requests
    assert request.path == "/v1/chat/completions"
    assert request.headers["authorization"] == "Bearer sk-1"
    assert request.body["stream"] is True
    assert request.body["stream_options"] == {"include_usage": True}
    assert request.body["model"] == "gpt-test" and request.body["messages"] == USER


async def test_tool_calls_assembled_across_chunks() -> None:
    """Two tool calls whose ids, names and JSON arguments arrive in fragments come out whole, in index order."""
    script = [
        SSE(
            [
                text_chunk("Checking. "),
                tool_chunk(0, call_id="call_a", name="current_time", args='{"time'),
                tool_chunk(1, call_id="call_b", name="search_sessions", args='{"query": "pa'),
                tool_chunk(0, args='zone": "Europe/Paris"}'),
                tool_chunk(1, args='ris", "limit": 2}'),
                finish_chunk("tool_calls"),
                usage_chunk(20, 9),
            ],
            delay=0.01,
        )
    ]
    tools = [{"type": "function", "function": {"name": "current_time", "parameters": {"type": "object"}}}]
    async with FakeOpenAI(script) as fake:
        provider = fast(fake.base_url)
        events = await collect(provider, tools=tools)
        await provider.aclose()
    assert events == [
        TextDelta("Checking. "),
        ToolCallEvent("call_a", "current_time", {"timezone": "Europe/Paris"}),
        ToolCallEvent("call_b", "search_sessions", {"query": "paris", "limit": 2}),
        UsageEvent(20, 9),
        Done("tool_calls"),
    ]
    assert fake.requests[0].body["tools"] == tools


async def test_invalid_tool_arguments_are_reported_not_raised() -> None:
    """Arguments that are not JSON become a ToolCallEvent with arguments_error, so the model can be told."""
    script = [SSE([tool_chunk(0, call_id="c", name="f", args="{oops"), finish_chunk("tool_calls")])]
    async with FakeOpenAI(script) as fake:
        provider = fast(fake.base_url)
        events = await collect(provider)
        await provider.aclose()
    call = events[0]
    assert isinstance(call, ToolCallEvent) and call.arguments == {} and call.arguments_error


async def test_retries_429_honouring_retry_after_then_succeeds() -> None:
    """A 429 with retry-after-ms is retried after at least that wait, then the stream succeeds."""
    script: list[SSE | Status] = [
        Status(429, {"error": {"message": "slow down"}}, {"retry-after-ms": "300"}),
        SSE([text_chunk("ok"), finish_chunk()]),
    ]
    waits: list[float] = []

    async def recorded(seconds: float) -> None:
        waits.append(seconds)

    async with FakeOpenAI(script) as fake:
        provider = OpenAIProvider(base_url=fake.base_url, backoff_base=0.01, backoff_max=0.05, sleep=recorded)
        events = await collect(provider)
        await provider.aclose()
    assert events == [TextDelta("ok"), Done("stop")]
    assert len(fake.requests) == 2
    assert len(waits) == 1 and waits[0] >= 0.3  # the server's retry-after-ms, not the 0.05 s backoff


async def test_5xx_retried_then_provider_error() -> None:
    """Persistent 500s are retried max_retries times, then a retryable ProviderError carries the status."""
    async with FakeOpenAI([Status(500, {"error": {"message": "overloaded"}})]) as fake:
        provider = fast(fake.base_url, max_retries=2)
        with pytest.raises(ProviderError) as info:
            await collect(provider)
        await provider.aclose()
    assert len(fake.requests) == 3
    assert info.value.upstream_status == 500 and info.value.retryable
    assert "overloaded" in info.value.message
    assert info.value.code == "provider_error" and info.value.status_code == 502


async def test_400_is_not_retried_and_shows_server_message() -> None:
    """A 400 fails at once with the server's own error message."""
    body = {"error": {"message": "model 'nope' does not exist", "type": "invalid_request_error"}}
    async with FakeOpenAI([Status(400, body)]) as fake:
        provider = fast(fake.base_url)
        with pytest.raises(ProviderError, match="model 'nope' does not exist"):
            await collect(provider)
        await provider.aclose()
    assert len(fake.requests) == 1


async def test_401_names_the_key_variable() -> None:
    """An auth failure points at the environment variable holding the key."""
    async with FakeOpenAI([Status(401, {"error": "bad key"})]) as fake:
        provider = fast(fake.base_url, api_key="x", api_key_env="MY_KEY")
        with pytest.raises(ProviderError, match=r"bad key.*\$MY_KEY"):
            await collect(provider)
        await provider.aclose()


async def test_no_retry_after_tokens_streamed() -> None:
    """A connection lost after a token reached the caller is final: no second request."""
    script = [SSE([text_chunk("partial")], done=False, cut=True), SSE([text_chunk("again"), finish_chunk()])]
    async with FakeOpenAI(script) as fake:
        provider = fast(fake.base_url)
        seen: list[ProviderEvent] = []
        with pytest.raises(ProviderError):
            async for event in provider.stream("m", USER):
                seen.append(event)
        await provider.aclose()
    assert seen == [TextDelta("partial")]
    assert len(fake.requests) == 1


async def test_stream_ending_early_without_tokens_is_retried() -> None:
    """A stream that ends before any token without [DONE] or a finish reason is retried, then an error."""
    script = [SSE([], done=False), SSE([text_chunk("ok"), finish_chunk()])]
    async with FakeOpenAI(script) as fake:
        provider = fast(fake.base_url)
        assert await collect(provider) == [TextDelta("ok"), Done("stop")]
        await provider.aclose()
    assert len(fake.requests) == 2
    async with FakeOpenAI([SSE([], done=False)]) as fake:
        provider = fast(fake.base_url, max_retries=1)
        with pytest.raises(ProviderError, match="ended before"):
            await collect(provider)
        await provider.aclose()
    assert len(fake.requests) == 2


async def test_read_timeout_becomes_provider_error() -> None:
    """A server that never answers hits the read timeout and raises a ProviderError saying so."""
    async with FakeOpenAI([Hang(10)]) as fake:
        provider = fast(fake.base_url, timeout=0.3, max_retries=1)
        with pytest.raises(ProviderError, match="timed out"):  # not Hang's 10 s (the test is bounded at 5 s)
            await collect(provider)
        await provider.aclose()
    assert len(fake.requests) == 2


async def test_connection_refused_is_provider_error() -> None:
    """Nothing listening: a clear ProviderError, not an httpx exception."""
    async with FakeOpenAI([Status(200, {})]) as fake:
        url = fake.base_url
    provider = fast(url, max_retries=1)
    with pytest.raises(ProviderError, match="failed"):
        await collect(provider)
    await provider.aclose()


async def test_non_streaming_json_answer_is_accepted() -> None:
    """A server that ignores stream=true and answers one JSON completion still works."""
    body = {
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": "whole"}, "finish_reason": "stop"}
        ],
        "usage": {"prompt_tokens": 3, "completion_tokens": 1},
    }
    async with FakeOpenAI([Status(200, body)]) as fake:
        provider = fast(fake.base_url)
        events = await collect(provider)
        await provider.aclose()
    assert events == [TextDelta("whole"), UsageEvent(3, 1), Done("stop")]
