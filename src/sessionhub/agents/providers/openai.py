"""The ``openai`` provider: OpenAI-compatible chat completions, streamed over httpx.

Works with every server speaking that protocol (OpenAI, OpenRouter, Ollama ``/v1``, vLLM,
llama.cpp, LM Studio): ``POST {base_url}/chat/completions`` with ``stream: true`` and
``stream_options.include_usage``; the SSE ``data:`` chunks are assembled into text deltas,
tool calls (fragments joined by ``index``) and usage; ``[DONE]`` ends the stream.

Failures: 429, 408, 409 and 5xx and network errors are retried with exponential backoff and
full jitter, honouring ``Retry-After`` / ``retry-after-ms``, but only before anything was
streamed: once a token reached the caller a failure is final (the caller already shows it).
Other 4xx raise :class:`ProviderError` carrying the server's own error message.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import Any

import httpx

from ...config import DEFAULT_OPENAI_URL
from ._chunks import ChunkAssembler
from ._sse import iter_sse_data
from .base import Done, ProviderError, ProviderEvent

RETRYABLE_STATUS = frozenset({408, 409, 429, 500, 502, 503, 504})
DEFAULT_BASE_URL = DEFAULT_OPENAI_URL
MAX_RETRY_AFTER = 60.0


class _EarlyEnd(ProviderError):
    """The stream ended before the reply was complete (retried if nothing was streamed)."""


def retry_after_seconds(headers: httpx.Headers, now: float | None = None) -> float | None:
    """The wait a server asked for (``retry-after-ms``, ``Retry-After`` seconds or HTTP date)."""
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return max(0.0, float(ms) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def error_message(body: bytes) -> str:
    """The server's own error message from an error body (OpenAI, Ollama, FastAPI shapes)."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return body.decode("utf-8", "replace").strip()[:300] or "(empty body)"
    if isinstance(data, Mapping):
        error = data.get("error", data.get("detail", data.get("message")))
        if isinstance(error, Mapping):
            return str(error.get("message") or json.dumps(dict(error)))[:300]
        if error is not None:
            return str(error)[:300]
    return json.dumps(data)[:300]


class OpenAIProvider:
    """Streams chat completions from an OpenAI-compatible endpoint; see the module docstring."""

    def __init__(
        self,
        *,
        name: str = "openai",
        base_url: str = DEFAULT_BASE_URL,
        api_key: str | None = None,
        api_key_env: str | None = None,
        timeout: float = 60.0,
        connect_timeout: float = 10.0,
        max_retries: int = 3,
        backoff_base: float = 0.5,
        backoff_max: float = 20.0,
        include_usage: bool = True,
        headers: Mapping[str, str] | None = None,
        extra_body: Mapping[str, Any] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.name = name
        self._sleep = sleep  # the wait between retries (tests inject one that does not wait)
        self.base_url = base_url.rstrip("/")
        self.api_key_env = api_key_env
        self.max_retries = max_retries
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.include_usage = include_usage
        self.extra_body = dict(extra_body or {})
        request_headers = {"Accept": "text/event-stream", **dict(headers or {})}
        if api_key:
            request_headers["Authorization"] = f"Bearer {api_key}"
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout, connect=connect_timeout),
            headers=request_headers,
            transport=transport,
        )

    def _body(
        self, model: str, messages: Sequence[Mapping[str, Any]], tools: Sequence[Mapping[str, Any]] | None
    ) -> dict[str, Any]:
        body: dict[str, Any] = {**self.extra_body, "model": model, "messages": list(messages), "stream": True}
        if self.include_usage:
            body["stream_options"] = {"include_usage": True}
        if tools:
            body["tools"] = list(tools)
        return body

    def _backoff(self, attempt: int, asked: float | None) -> float:
        ceiling = min(self.backoff_max, self.backoff_base * 2**attempt)
        jittered = ceiling / 2 + random.random() * ceiling / 2
        return float(max(asked, jittered)) if asked is not None else jittered

    def _status_error(self, status: int, body: bytes) -> ProviderError:
        message = f"{self.name}: HTTP {status} from {self.base_url}: {error_message(body)}"
        if status in (401, 403) and self.api_key_env:
            message += f" (check the API key in ${self.api_key_env})"
        return ProviderError(message, retryable=status in RETRYABLE_STATUS, upstream_status=status)

    async def stream(
        self,
        model: str,
        messages: Sequence[Mapping[str, Any]],
        tools: Sequence[Mapping[str, Any]] | None = None,
    ) -> AsyncIterator[ProviderEvent]:
        body = self._body(model, messages, tools)
        url = f"{self.base_url}/chat/completions"
        attempt = 0
        while True:
            emitted = False
            try:
                async with self._client.stream("POST", url, json=body) as response:
                    if response.status_code >= 400:
                        error = self._status_error(response.status_code, await response.aread())
                        asked = retry_after_seconds(response.headers)
                        if not error.retryable or attempt >= self.max_retries:
                            raise error
                        if asked is not None and asked > MAX_RETRY_AFTER:
                            raise ProviderError(
                                f"{error.message} (server asks to retry after {asked:.0f} s)",
                                retryable=False,
                                upstream_status=response.status_code,
                            )
                        delay = self._backoff(attempt, asked)
                    else:
                        async for event in self._events(response):
                            emitted = True
                            yield event
                        return
            except _EarlyEnd:
                if emitted or attempt >= self.max_retries:
                    raise
                delay = self._backoff(attempt, None)
            except httpx.TransportError as exc:  # connect/read errors and timeouts
                if emitted or attempt >= self.max_retries:
                    what = "timed out" if isinstance(exc, httpx.TimeoutException) else "failed"
                    detail = str(exc) or type(exc).__name__
                    raise ProviderError(
                        f"{self.name}: request to {self.base_url} {what}: {detail}", retryable=True
                    ) from exc
                delay = self._backoff(attempt, None)
            await self._sleep(delay)
            attempt += 1

    async def _events(self, response: httpx.Response) -> AsyncIterator[ProviderEvent]:
        assembler = ChunkAssembler()
        if response.headers.get("content-type", "").startswith("application/json"):
            payloads: AsyncIterator[str] = _whole_body(response)  # a server that ignored stream=true
        else:
            payloads = iter_sse_data(response.aiter_lines())
        finished = False
        async for payload in payloads:
            if payload.strip() == "[DONE]":
                finished = True
                break
            try:
                chunk = json.loads(payload)
            except ValueError:
                raise ProviderError(f"{self.name}: malformed stream chunk: {payload[:200]!r}") from None
            if isinstance(chunk, Mapping):
                for event in assembler.feed(chunk):
                    yield event
        if not finished and assembler.finish_reason is None:
            raise _EarlyEnd(f"{self.name}: the stream ended before the reply was complete", retryable=True)
        for event in assembler.finish():
            yield event
        yield Done(assembler.finish_reason or "stop")

    async def aclose(self) -> None:
        await self._client.aclose()


async def _whole_body(response: httpx.Response) -> AsyncIterator[str]:
    yield (await response.aread()).decode("utf-8", "replace")
