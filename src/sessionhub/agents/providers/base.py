"""What every provider speaks: the event stream of one model call, and ``ProviderError``.

A provider turns ``(model, messages, tools)`` into an async stream of events:

    TextDelta(text)                      a piece of the reply, in order
    ToolCallEvent(id, name, arguments)   a complete tool call (arguments already parsed)
    UsageEvent(input_tokens, output_tokens)
    Done(finish_reason)                  always last on success

``messages`` and ``tools`` are in the OpenAI chat completions format, the lingua franca of
the field; providers for other wire formats translate at their own edge.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeAlias, runtime_checkable

from ...errors import SessionhubError


class ProviderError(SessionhubError):
    """The model provider failed or refused the call (network, 4xx/5xx, malformed stream).

    ``retryable`` says whether a later attempt could succeed (429/5xx/network);
    ``upstream_status`` is the provider's HTTP status when there was one.
    """

    status_code = 502
    exit_code = 1
    code = "provider_error"

    def __init__(self, message: str, *, retryable: bool = False, upstream_status: int | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.upstream_status = upstream_status


@dataclass(frozen=True, slots=True)
class TextDelta:
    """A piece of the reply text."""

    text: str


@dataclass(frozen=True, slots=True)
class ToolCallEvent:
    """The model asks for a tool; ``arguments`` is the parsed JSON object.

    ``arguments_error`` is set (and ``arguments`` empty) when the model sent arguments that are
    not a JSON object; the runner then answers the call with that error instead of running it.
    """

    id: str
    name: str
    arguments: Mapping[str, Any] = field(default_factory=dict)
    arguments_error: str | None = None


@dataclass(frozen=True, slots=True)
class UsageEvent:
    """Token usage of the call (may come once, at the end)."""

    input_tokens: int = 0
    output_tokens: int = 0


@dataclass(frozen=True, slots=True)
class Done:
    """The call finished: ``stop``, ``tool_calls``, ``length``, ..."""

    finish_reason: str = "stop"


ProviderEvent: TypeAlias = TextDelta | ToolCallEvent | UsageEvent | Done


@runtime_checkable
class Provider(Protocol):
    """A chat model behind some API. ``stream`` is an async generator of :data:`ProviderEvent`."""

    def stream(
        self,
        model: str,
        messages: Sequence[Mapping[str, Any]],
        tools: Sequence[Mapping[str, Any]] | None = None,
    ) -> AsyncIterator[ProviderEvent]: ...

    async def aclose(self) -> None:
        """Release connections (idempotent)."""
        ...


__all__ = ["Done", "Provider", "ProviderError", "ProviderEvent", "TextDelta", "ToolCallEvent", "UsageEvent"]
