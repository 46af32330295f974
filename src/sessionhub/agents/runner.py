"""The turn runner: one agent reply, streamed, persisted while it streams, tools in between.

A turn, given the context messages (oldest first, the new user message included):

1. ``store.start_reply`` appends an empty assistant message (status ``streaming``);
2. the provider streams; each text piece goes to the sink as ``delta`` and, at least every
   ``persist_interval`` seconds (default 0.5) while something changed, the text so far is saved
   with status ``streaming`` (a background flusher, so a silent provider loses nothing);
3. the reply is saved ``complete`` with its usage and sent as ``message``;
4. if it asked for tools: each call runs (see :mod:`.tools`), its result is saved as a ``tool``
   message (``tool_result`` + ``message`` events) and the provider is called again with the
   results, a new assistant message per round, at most ``max_tool_rounds`` rounds with
   tools (then one last call without tools);
5. ``stream_end`` with the last assistant message's id and the turn's status.

Ends other than success: cancelling the task (Stop) saves the partial reply ``interrupted``
(and sends ``stop_reason`` as ``error`` when the stopper set one); a provider (or store) error
saves what came as ``error`` and sends ``error``; all end with ``stream_end``. ``run`` returns a
:class:`TurnResult` for errors and re-raises cancellation (``runner.result`` is set first, so
whoever cancelled can read it).

A reply can vanish under the turn: another process (a replica, the CLI) deleted or cleared the
session, or restored a checkpoint before it. The store then answers ``NotFound``; the turn ends
at once (the flusher cancels the stream) with ``error {code: not_found}`` and ``stream_end``
``error``, without trying to save the reply again. Expected errors (``SessionhubError``) are
logged without a traceback; only a bug gets one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..errors import NotFound, SessionhubError
from ..model import Message, MessageStatus, Part, ToolCall, Usage
from . import events
from .convert import ContextItem, to_openai_messages, tool_call_dict
from .events import Event, EventSink
from .providers.base import Done, Provider, ProviderError, TextDelta, ToolCallEvent, UsageEvent
from .tools import ToolOutcome, ToolRegistry

log = logging.getLogger("sessionhub.agents")

DEFAULT_PERSIST_INTERVAL = 0.5
DEFAULT_MAX_TOOL_ROUNDS = 8


class TurnStore(Protocol):
    """Where a turn persists its messages (the hub implements it over its store)."""

    async def start_reply(self, session_id: str) -> str:
        """Append an empty assistant message with status ``streaming``; return its id."""
        ...

    async def update_reply(
        self,
        session_id: str,
        message_id: str,
        *,
        content: str,
        parts: Sequence[Part],
        status: MessageStatus,
        usage: Usage,
    ) -> Message:
        """Overwrite that message's content, parts, status and usage; return it as stored."""
        ...

    async def add_tool_message(
        self, session_id: str, *, tool_call_id: str, name: str, content: str, is_error: bool
    ) -> Message:
        """Append a ``tool`` message answering ``tool_call_id`` (one ``tool_result`` part)."""
        ...


@dataclass(frozen=True, slots=True)
class TurnOptions:
    """How to run a turn: the model, the agent's system prompt, tools and limits."""

    model: str
    system_prompt: str = ""
    tools: ToolRegistry | None = None
    max_tool_rounds: int = DEFAULT_MAX_TOOL_ROUNDS
    persist_interval: float = DEFAULT_PERSIST_INTERVAL


@dataclass(frozen=True, slots=True)
class TurnResult:
    """How a turn ended. ``message`` is the last assistant message as persisted (None if none was)."""

    session_id: str
    status: MessageStatus
    message: Message | None
    messages: tuple[Message, ...] = ()
    usage: Usage = field(default_factory=Usage)
    error: SessionhubError | None = None


@dataclass(slots=True)
class _Reply:
    id: str
    text: list[str] = field(default_factory=list)
    calls: list[ToolCall] = field(default_factory=list)
    call_errors: dict[str, str] = field(default_factory=dict)
    usage: Usage = field(default_factory=Usage)
    dirty: bool = False

    @property
    def content(self) -> str:
        return "".join(self.text)


def _add(a: Usage, b: Usage) -> Usage:
    return Usage(a.input_tokens + b.input_tokens, a.output_tokens + b.output_tokens)


class TurnRunner:
    """Runs one turn of one session; see the module docstring."""

    def __init__(
        self,
        session_id: str,
        *,
        store: TurnStore,
        provider: Provider,
        sink: EventSink,
        context: Sequence[ContextItem] | Callable[[], Awaitable[Sequence[ContextItem]]],
        options: TurnOptions,
    ) -> None:
        self.session_id = session_id
        self.store = store
        self.provider = provider
        self.sink = sink
        self.context = context
        self.options = options
        self.result: TurnResult | None = None
        self.stop_reason: SessionhubError | None = None
        self._lost: NotFound | None = None
        self.persisted: list[Message] = []
        self.usage = Usage()
        self._reply: _Reply | None = None
        self._last_reply_id: str | None = None

    @property
    def message_id(self) -> str | None:
        """The assistant message streaming now (or the last one)."""
        return self._reply.id if self._reply else self._last_reply_id

    async def emit(self, event: Event) -> None:
        try:
            await self.sink(event)
        except Exception:
            log.warning("event sink failed for session %s; the turn goes on", self.session_id, exc_info=True)

    async def run(self) -> TurnResult:
        try:
            context = self.context if isinstance(self.context, Sequence) else await self.context()
            messages = to_openai_messages(context, self.options.system_prompt)
            tools = self.options.tools if self.options.tools else None
            rounds = 0
            while True:
                offer = tools if tools is not None and rounds < self.options.max_tool_rounds else None
                reply = await self._stream_round(messages, offer)
                if not reply.calls:
                    break
                if offer is None:
                    await self._answer_calls(reply, messages, None, limited=True)
                    break
                rounds += 1
                await self._answer_calls(reply, messages, offer, limited=False)
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if self._lost is None or task is None or task.uncancel() > 0:
                await asyncio.shield(self._end("interrupted", self.stop_reason))
                raise
            await self._end("error", self._lost)  # the flusher found the reply gone
        except Exception as exc:
            if isinstance(exc, SessionhubError):
                problem = exc
            else:
                log.exception("agent turn failed in session %s", self.session_id)
                problem = ProviderError(f"the turn failed: {type(exc).__name__}: {exc}")
            await self._end("error", problem)
        else:
            await self._end("complete", None)
        assert self.result is not None
        return self.result

    async def _stream_round(self, messages: list[dict[str, Any]], tools: ToolRegistry | None) -> _Reply:
        reply = self._reply = _Reply(id=await self.store.start_reply(self.session_id))
        stop = asyncio.Event()
        main = asyncio.current_task()
        assert main is not None
        flusher = asyncio.create_task(self._flush(reply, stop, main))
        try:
            stream = self.provider.stream(
                self.options.model, messages, tools.openai_tools() if tools else None
            )
            try:
                async for event in stream:
                    await self._on_event(reply, event)
            finally:
                aclose = getattr(stream, "aclose", None)
                if aclose is not None:
                    await aclose()
        finally:
            stop.set()
            with contextlib.suppress(Exception):
                await flusher
        await self._save(reply, "complete")
        return reply

    async def _on_event(self, reply: _Reply, event: object) -> None:
        if isinstance(event, TextDelta):
            if event.text:
                reply.text.append(event.text)
                reply.dirty = True
                await self.emit(events.delta(self.session_id, reply.id, event.text))
        elif isinstance(event, ToolCallEvent):
            reply.calls.append(ToolCall(id=event.id, name=event.name, arguments=dict(event.arguments)))
            if event.arguments_error:
                reply.call_errors[event.id] = event.arguments_error
            reply.dirty = True
            await self.emit(
                events.tool_call(self.session_id, reply.id, event.id, event.name, event.arguments)
            )
        elif isinstance(event, UsageEvent):
            reply.usage = Usage(event.input_tokens, event.output_tokens)
        elif not isinstance(event, Done):
            raise ProviderError(f"the provider sent an unknown event {type(event).__name__}")

    async def _flush(self, reply: _Reply, stop: asyncio.Event, main: asyncio.Task[Any]) -> None:
        """Save the streaming text every ``persist_interval`` seconds while it changes.

        A reply found gone (``NotFound``) cancels ``main``, the streaming task: see the module
        docstring. Other failures are retried at the next tick.
        """
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.options.persist_interval)
                return
            if not reply.dirty:
                continue
            reply.dirty = False
            try:
                await self.store.update_reply(
                    self.session_id,
                    reply.id,
                    content=reply.content,
                    parts=tuple(reply.calls),
                    status="streaming",
                    usage=reply.usage,
                )
            except NotFound as exc:
                log.info("the streaming reply of %s is gone: %s", self.session_id, exc.message)
                self._forget(reply, exc)
                main.cancel()
                return
            except Exception as exc:
                reply.dirty = True
                log.warning(
                    "could not save the streaming reply of %s: %s",
                    self.session_id,
                    exc,
                    exc_info=not isinstance(exc, SessionhubError),
                )

    def _forget(self, reply: _Reply, lost: NotFound) -> None:
        """The reply's row is gone: stop saving it (``_end`` sends ``lost`` as the error)."""
        self._lost = lost
        self._reply = None
        self._last_reply_id = reply.id

    async def _save(self, reply: _Reply, status: MessageStatus) -> Message:
        saved = await self.store.update_reply(
            self.session_id,
            reply.id,
            content=reply.content,
            parts=tuple(reply.calls),
            status=status,
            usage=reply.usage,
        )
        self._reply = None
        self._last_reply_id = reply.id
        self.persisted.append(saved)
        self.usage = _add(self.usage, reply.usage)
        await self.emit(events.message(saved))
        return saved

    async def _answer_calls(
        self, reply: _Reply, messages: list[dict[str, Any]], tools: ToolRegistry | None, *, limited: bool
    ) -> None:
        messages.append(
            {
                "role": "assistant",
                "content": reply.content or None,
                "tool_calls": [tool_call_dict(c) for c in reply.calls],
            }
        )
        for call in reply.calls:
            if call.id in reply.call_errors:
                outcome = ToolOutcome(f"error: {reply.call_errors[call.id]}", True)
            elif limited or tools is None:
                limit = self.options.max_tool_rounds
                outcome = ToolOutcome(
                    f"error: not run, this turn reached its limit of {limit} tool rounds", True
                )
            else:
                outcome = await tools.call(call.name, call.arguments)
            saved = await self.store.add_tool_message(
                self.session_id,
                tool_call_id=call.id,
                name=call.name,
                content=outcome.content,
                is_error=outcome.is_error,
            )
            self.persisted.append(saved)
            await self.emit(
                events.tool_result(
                    self.session_id, saved.id, call.id, call.name, outcome.content, outcome.is_error
                )
            )
            await self.emit(events.message(saved))
            messages.append({"role": "tool", "tool_call_id": call.id, "content": outcome.content})

    async def _end(self, status: MessageStatus, problem: SessionhubError | None) -> None:
        """Save a reply still in progress with ``status``, then send error / stream_end."""
        reply = self._reply
        if status == "error" and isinstance(problem, NotFound) and reply is not None:
            self._forget(reply, problem)  # the final save found the reply gone: no second try
        elif reply is not None and status != "complete":
            try:
                await self._save(reply, status)
            except Exception as exc:
                expected = isinstance(exc, SessionhubError)
                log.warning(
                    "could not save the %s reply of %s: %s",
                    status,
                    self.session_id,
                    exc,
                    exc_info=not expected,
                )
                if problem is None and isinstance(exc, SessionhubError):
                    problem = exc
        last = next((m for m in reversed(self.persisted) if m.role == "assistant"), None)
        self.result = TurnResult(self.session_id, status, last, tuple(self.persisted), self.usage, problem)
        if problem is not None:
            await self.emit(events.error(self.session_id, problem.code, problem.message))
        await self.emit(events.stream_end(self.session_id, self.message_id, status))
