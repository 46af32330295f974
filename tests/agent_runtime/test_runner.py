"""The turn runner and TurnManager against an in-memory TurnStore."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from _util import eventually
from sessionhub.agents import (
    Done,
    EchoProvider,
    MemoryTurnStore,
    OpenAIProvider,
    ProviderError,
    ScriptedProvider,
    TextDelta,
    ToolCallEvent,
    ToolRegistry,
    TurnManager,
    TurnOptions,
    UsageEvent,
    builtin_tools,
)
from sessionhub.agents.events import Event
from sessionhub.agents.runner import DEFAULT_PERSIST_INTERVAL
from sessionhub.errors import NotFound, SessionReadOnly, TurnInProgress

from .fake_openai import SSE, FakeOpenAI, finish_chunk, text_chunk, tool_chunk, usage_chunk

SID = "ses_test"


class Sink:
    """Collects events; ``wait_for(type, n)`` waits until n events of that type arrived."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self._changed = asyncio.Event()

    async def __call__(self, event: Event) -> None:
        self.events.append(event)
        self._changed.set()

    def of(self, kind: str) -> list[Event]:
        return [e for e in self.events if e["type"] == kind]

    async def wait_for(self, kind: str, count: int = 1) -> None:
        while len(self.of(kind)) < count:
            self._changed.clear()
            await self._changed.wait()


async def start(
    manager: TurnManager, store: MemoryTurnStore, provider: Any, sink: Sink, text: str = "hi", **options: Any
) -> Any:
    user = store.add(SID, "user", text)
    return await manager.start(
        SID,
        store=store,
        provider=provider,
        sink=sink,
        options=TurnOptions(model="m", **options),
        context=[user],
    )


async def test_complete_turn_persists_and_emits_in_order() -> None:
    """An echo turn streams deltas, saves the reply complete with usage, and ends with stream_end."""
    store, sink = MemoryTurnStore(), Sink()
    turn = await start(TurnManager(), store, EchoProvider(delay_ms=0), sink, "one two three four")
    result = await turn.wait()
    reply = store.messages[SID][-1]
    assert result.status == "complete" and result.message == reply
    assert (reply.role, reply.content, reply.status) == ("assistant", "one two three four", "complete")
    assert reply.usage.output_tokens == 4 and result.usage == reply.usage
    assert [e["type"] for e in sink.events] == ["delta", "delta", "message", "stream_end"]
    assert sink.events[-1] == {
        "type": "stream_end",
        "session_id": SID,
        "message_id": reply.id,
        "status": "complete",
    }
    assert sink.of("message")[0]["message"]["status"] == "complete"


class GatedProvider:
    """Yields one word, then waits until the test lets it go on (no wall-clock pacing)."""

    def __init__(self, words: list[str]) -> None:
        self.words = words
        self.go = asyncio.Event()

    async def stream(self, model: str, messages: Any, tools: Any = None) -> Any:
        for word in self.words:
            self.go.clear()
            yield TextDelta(word)
            await self.go.wait()
        yield Done("stop")

    async def aclose(self) -> None:
        return None


async def test_reply_saved_while_streaming() -> None:
    """While the provider is between tokens, the text so far is saved as 'streaming' by the
    periodic flush (every ``persist_interval``, 0.5 s by default: a crash loses at most ~1 s)."""
    assert DEFAULT_PERSIST_INTERVAL <= 0.5
    words = [f"w{i} " for i in range(5)]
    provider = GatedProvider(words)
    store, sink = MemoryTurnStore(), Sink()
    turn = await start(TurnManager(), store, provider, sink, persist_interval=0.01)
    for i in range(len(words)):
        so_far = "".join(words[: i + 1])

        def saved(text: str = so_far) -> bool:
            return any(status == "streaming" and content == text for _, _, status, content in store.writes)

        await eventually(saved, timeout=4, what=f"{so_far!r} saved while streaming")
        assert not turn.done
        provider.go.set()
    await turn.wait()
    reply_id = store.messages[SID][-1].id
    writes = [(status, content) for _, mid, status, content in store.writes if mid == reply_id]
    assert writes[-1] == ("complete", "".join(words))


async def test_stop_mid_stream_saves_partial_as_interrupted() -> None:
    """stop() after three deltas leaves exactly the streamed text saved as 'interrupted' and ends the stream."""
    provider = ScriptedProvider([[f"t{i} " for i in range(100)]], delay=0.05)
    store, sink, manager = MemoryTurnStore(), Sink(), TurnManager()
    await start(manager, store, provider, sink)
    await sink.wait_for("delta", 3)
    result = await manager.stop(SID)
    assert result is not None and result.status == "interrupted"
    reply = store.messages[SID][-1]
    streamed = "".join(e["text"] for e in sink.of("delta"))
    assert reply.status == "interrupted" and reply.content == streamed and 3 <= len(sink.of("delta")) < 100
    assert sink.events[-1]["type"] == "stream_end" and sink.events[-1]["status"] == "interrupted"
    assert manager.running(SID) is None
    assert await manager.stop(SID) is None


async def test_provider_error_saves_partial_as_error() -> None:
    """A provider failing mid-reply leaves what came saved as 'error', then error and stream_end events."""
    provider = ScriptedProvider([["half ", "a reply", ProviderError("upstream went away")]])
    store, sink = MemoryTurnStore(), Sink()
    result = await (await start(TurnManager(), store, provider, sink)).wait()
    reply = store.messages[SID][-1]
    assert (reply.content, reply.status) == ("half a reply", "error")
    assert result.status == "error" and result.error is not None and result.error.code == "provider_error"
    assert [e["type"] for e in sink.events[-3:]] == ["message", "error", "stream_end"]
    assert sink.of("error")[0]["message"] == "upstream went away"
    assert sink.events[-1]["status"] == "error"


async def test_unexpected_exception_is_an_error_not_a_crash() -> None:
    """A bug in a provider (any exception) ends the turn as 'error' with a message, not a dead task."""
    provider = ScriptedProvider([["x", KeyError("choices")]])
    store, sink = MemoryTurnStore(), Sink()
    result = await (await start(TurnManager(), store, provider, sink)).wait()
    assert result.status == "error" and store.messages[SID][-1].status == "error"
    assert "KeyError" in sink.of("error")[0]["message"]


async def test_tool_round_trip_with_echo() -> None:
    """'/tool current_time' makes a tool_call message, a tool message with the result, then the final reply."""
    store, sink = MemoryTurnStore(), Sink()
    turn = await start(
        TurnManager(), store, EchoProvider(delay_ms=0), sink, "/tool current_time", tools=builtin_tools()
    )
    result = await turn.wait()
    _user, call_msg, tool_msg, final = store.messages[SID]
    assert call_msg.parts[0].to_dict()["name"] == "current_time" and call_msg.status == "complete"
    assert (
        tool_msg.role == "tool"
        and tool_msg.parts[0].to_dict()["tool_call_id"] == call_msg.parts[0].to_dict()["id"]
    )
    assert "utc" in json.loads(tool_msg.content)
    assert final.content.startswith("current_time returned:") and final.status == "complete"
    assert result.message == final and len(result.messages) == 3
    kinds = [e["type"] for e in sink.events]
    assert kinds[:4] == ["tool_call", "message", "tool_result", "message"]
    assert kinds[-2:] == ["message", "stream_end"] and sink.events[-1]["message_id"] == final.id


async def test_tool_round_trip_through_openai_provider() -> None:
    """The runner with the openai provider: the tool result is sent back in the second request, usage summed."""
    registry = ToolRegistry()
    registry.register(
        "add", "Add", {"type": "object", "properties": {"a": {"type": "number"}}}, lambda a: a + 1
    )
    script = [
        SSE(
            [
                tool_chunk(0, call_id="call_1", name="add", args='{"a":'),
                tool_chunk(0, args=" 41}"),
                finish_chunk("tool_calls"),
                usage_chunk(10, 5),
            ]
        ),
        SSE([text_chunk("The answer "), text_chunk("is 42."), finish_chunk(), usage_chunk(20, 4)]),
    ]
    async with FakeOpenAI(script) as fake:
        provider = OpenAIProvider(base_url=fake.base_url)
        store, sink = MemoryTurnStore(), Sink()
        result = await (await start(TurnManager(), store, provider, sink, "add", tools=registry)).wait()
        await provider.aclose()
    second = fake.requests[1].body["messages"]
    assert second[-2]["tool_calls"][0]["function"] == {"name": "add", "arguments": '{"a": 41}'}
    assert second[-1] == {"role": "tool", "tool_call_id": "call_1", "content": "42"}
    assert fake.requests[0].body["tools"][0]["function"]["name"] == "add"
    assert result.message is not None and result.message.content == "The answer is 42."
    assert (result.usage.input_tokens, result.usage.output_tokens) == (30, 9)


async def test_tool_rounds_are_bounded() -> None:
    """A model that keeps calling tools gets max_tool_rounds rounds, then one call without tools, then stops."""
    registry = ToolRegistry()
    registry.register("again", "Loop", None, lambda: "more")
    provider = ScriptedProvider([[ToolCallEvent("c", "again", {}), Done("tool_calls")]])
    store, sink = MemoryTurnStore(), Sink()
    result = await (
        await start(TurnManager(), store, provider, sink, tools=registry, max_tool_rounds=2)
    ).wait()
    assert len(provider.calls) == 3
    assert [c[2] is None for c in provider.calls] == [False, False, True]
    assert result.status == "complete"
    last_tool = store.messages[SID][-1]
    assert last_tool.role == "tool" and "limit of 2 tool rounds" in last_tool.content


async def test_second_turn_is_refused_not_queued() -> None:
    """While a turn runs, start() raises TurnInProgress (409); after it ends a new turn starts."""
    provider = ScriptedProvider([["a", "b", "c"]], delay=0.05)
    store, sink, manager = MemoryTurnStore(), Sink(), TurnManager()
    turn = await start(manager, store, provider, sink)
    with pytest.raises(TurnInProgress) as info:
        await start(manager, store, provider, sink)
    assert info.value.status_code == 409 and "refused, not queued" in info.value.message
    await turn.wait()
    again = await start(manager, store, ScriptedProvider([["ok"]]), sink)
    assert (await again.wait()).status == "complete"


async def test_prepare_claims_the_slot_and_its_errors_release_it() -> None:
    """Two starts racing through prepare: one wins; a failing prepare raises from start and frees the session."""
    store, sink, manager = MemoryTurnStore(), Sink(), TurnManager()
    gate = asyncio.Event()

    async def prepare() -> Any:
        await gate.wait()
        return [store.add(SID, "user", "hello")]

    options = TurnOptions(model="m")
    first = asyncio.create_task(
        manager.start(
            SID, store=store, provider=EchoProvider(delay_ms=0), sink=sink, options=options, prepare=prepare
        )
    )
    await asyncio.sleep(0)
    with pytest.raises(TurnInProgress):
        await manager.start(
            SID, store=store, provider=EchoProvider(), sink=sink, options=options, prepare=prepare
        )
    gate.set()
    await (await first).wait()
    assert [m.role for m in store.messages[SID]] == ["user", "assistant"]

    async def refuse() -> Any:
        raise SessionReadOnly("archived")

    with pytest.raises(SessionReadOnly):
        await manager.start(
            SID, store=store, provider=EchoProvider(), sink=sink, options=options, prepare=refuse
        )
    assert not manager.busy(SID)


async def test_turn_outlives_the_client_that_started_it() -> None:
    """Cancelling the request task that started a turn, and a sink that fails, do not stop the turn."""
    provider = ScriptedProvider([["a ", "b ", "c"]], delay=0.05)
    store, manager = MemoryTurnStore(), TurnManager()
    calls = 0

    async def gone(event: Event) -> None:
        nonlocal calls
        calls += 1
        raise ConnectionResetError("client went away")

    started: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

    async def request() -> None:
        started.set_result(await start(manager, store, provider, gone))  # type: ignore[arg-type]
        await asyncio.sleep(10)

    client = asyncio.create_task(request())
    turn = await started
    client.cancel()
    result = await turn.wait()
    assert result.status == "complete" and store.messages[SID][-1].content == "a b c"
    assert calls >= 4


async def test_store_failure_ends_the_turn_with_an_error_event() -> None:
    """If the reply cannot even be started (session deleted), the sink gets error + stream_end, status error."""

    class Gone(MemoryTurnStore):
        async def start_reply(self, session_id: str) -> str:
            raise NotFound("session not found")

    sink = Sink()
    result = await (await start(TurnManager(), Gone(), EchoProvider(), sink)).wait()
    assert result.status == "error" and result.message is None
    assert [e["type"] for e in sink.events] == ["error", "stream_end"]
    assert sink.events[0]["code"] == "not_found" and sink.events[1]["message_id"] is None


async def test_usage_and_tool_events_from_scripted_provider() -> None:
    """Usage reported by the provider lands on the saved reply."""
    provider = ScriptedProvider([[TextDelta("hey"), UsageEvent(11, 1), Done()]])
    store, sink = MemoryTurnStore(), Sink()
    await (await start(TurnManager(), store, provider, sink)).wait()
    assert store.messages[SID][-1].usage.to_dict() == {"input_tokens": 11, "output_tokens": 1}


async def test_manager_aclose_interrupts_every_turn() -> None:
    """Shutting down stops all running turns, each partial reply saved as 'interrupted'."""
    store, manager = MemoryTurnStore(), TurnManager()
    sinks = []
    for sid in ("ses_a", "ses_b"):
        sink = Sink()
        sinks.append(sink)
        user = store.add(sid, "user", "x")
        await manager.start(
            sid,
            store=store,
            provider=ScriptedProvider([[f"{i} " for i in range(100)]], delay=0.03),
            sink=sink,
            options=TurnOptions(model="m"),
            context=[user],
        )
    await asyncio.gather(*(s.wait_for("delta", 2) for s in sinks))
    await manager.aclose()
    assert len(manager) == 0
    assert {store.messages[sid][-1].status for sid in ("ses_a", "ses_b")} == {"interrupted"}
