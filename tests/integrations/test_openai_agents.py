"""HubSession against the real OpenAI Agents SDK (Runner.run with a scripted offline model)."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator
from typing import Any

import pytest

pytest.importorskip(
    "agents.memory", reason="openai-agents is not installed (pip install 'sessionhub[openai-agents]')"
)

from agents import Agent, RunConfig, Runner, function_tool
from agents.items import ModelResponse, TResponseInputItem
from agents.memory import Session, SessionSettings
from agents.models.interface import Model
from agents.usage import Usage
from openai.types.responses import ResponseFunctionToolCall, ResponseOutputMessage, ResponseOutputText

from sessionhub import ids
from sessionhub.errors import NotFound
from sessionhub.hub import Hub
from sessionhub.integrations.openai_agents import HubSession, item_to_message, message_to_items


class ScriptedModel(Model):
    """An offline Model: answers each call with the next canned output, records the inputs."""

    def __init__(self, outputs: list[list[Any]]) -> None:
        self.outputs = outputs
        self.inputs: list[list[TResponseInputItem]] = []

    async def get_response(
        self, system_instructions: Any, input: Any, *args: Any, **kwargs: Any
    ) -> ModelResponse:
        items = [{"role": "user", "content": input}] if isinstance(input, str) else input
        self.inputs.append(copy.deepcopy(items))
        return ModelResponse(output=self.outputs.pop(0), usage=Usage(), response_id=None)

    def stream_response(self, *args: Any, **kwargs: Any) -> AsyncIterator[Any]:
        raise NotImplementedError


def say(text: str, n: int) -> ResponseOutputMessage:
    return ResponseOutputMessage(
        id=f"msg_{n}",
        type="message",
        role="assistant",
        status="completed",
        content=[ResponseOutputText(type="output_text", text=text, annotations=[])],
    )


def call(name: str, arguments: str, n: int) -> ResponseFunctionToolCall:
    return ResponseFunctionToolCall(
        id=f"fc_{n}",
        call_id=f"call_{n}",
        type="function_call",
        name=name,
        arguments=arguments,
        status="completed",
    )


@function_tool
def get_weather(city: str) -> str:
    """The weather in a city."""
    return f"Sunny in {city}, 24 degrees"


NO_TRACING = RunConfig(tracing_disabled=True)


async def test_runner_two_turns_second_sees_the_first(hub: Hub) -> None:
    """Runner.run with session=HubSession: turn two's model input holds turn one's items."""
    model = ScriptedModel(
        [
            [call("get_weather", '{"city": "Paris"}', 1)],
            [say("It is sunny in Paris.", 2)],
            [say("You asked about Paris.", 3)],
        ]
    )
    agent = Agent(name="Assistant", instructions="Be brief.", model=model, tools=[get_weather])
    session = HubSession("conversation-123", hub)
    assert isinstance(session, Session)

    first = await Runner.run(agent, "What's the weather in Paris?", session=session, run_config=NO_TRACING)
    assert first.final_output == "It is sunny in Paris."
    second = await Runner.run(agent, "Which city did I ask about?", session=session, run_config=NO_TRACING)
    assert second.final_output == "You asked about Paris."

    seen = model.inputs[-1]
    kinds = [it.get("type", "message") for it in seen]
    assert kinds == ["message", "function_call", "function_call_output", "message", "message"]
    assert seen[0]["content"] == "What's the weather in Paris?"
    assert seen[2]["output"] == "Sunny in Paris, 24 degrees"
    assert seen[-1]["content"] == "Which city did I ask about?"

    items = await session.get_items()
    assert len(items) == 6 and items[:5] == seen
    assert items[-1]["content"][0]["text"] == "You asked about Paris."  # type: ignore[index,typeddict-item]

    # readable in sessionhub: roles, tool parts, title, search
    sid = await session.hub_session_id()
    assert sid is not None
    msgs = await hub.get_history(sid, limit=50)
    assert [m.role for m in msgs] == ["user", "assistant", "tool", "assistant", "user", "assistant"]
    assert msgs[1].parts[0].to_dict() == {
        "type": "tool_call",
        "id": "call_1",
        "name": "get_weather",
        "arguments": {"city": "Paris"},
    }
    assert msgs[2].parts[0].to_dict()["tool_call_id"] == "call_1"
    assert msgs[3].content == "It is sunny in Paris."
    s = await hub.get_session(sid)
    assert s.key == "main:openai-agents:conversation-123"
    assert s.title == "What's the weather in Paris?"
    hits = await hub.search("sunny paris")
    assert any(h.session.id == sid for h in hits)

    # a new HubSession object for the same id finds the same session
    again = HubSession("conversation-123", hub)
    assert await again.get_items(limit=2) == items[-2:]
    assert await again.hub_session_id() == sid


async def test_sdk_session_patterns(hub: Hub) -> None:
    """The SDK's own session tests: add, get, limit, pop, clear, isolation, settings."""
    session = HubSession("test_session", hub)
    assert await session.get_items() == []
    assert await session.pop_item() is None
    items: list[TResponseInputItem] = [
        {"role": "user", "content": "Hello"},
        {"role": "assistant", "content": "Hi there!"},
        {"role": "user", "content": "How are you?"},
        {"role": "assistant", "content": "I'm doing well, thank you!"},
    ]
    await session.add_items(items)
    assert await session.get_items() == items
    assert await session.get_items(limit=2) == items[2:]
    assert await session.get_items(limit=10) == items
    assert await session.get_items(limit=0) == []

    other = HubSession("other_session", hub)
    await other.add_items([{"role": "user", "content": "elsewhere"}])
    assert await session.get_items() == items

    popped = await session.pop_item()
    assert popped == items[-1]
    assert await session.get_items() == items[:3]
    await session.add_items([{"role": "assistant", "content": "again"}])
    assert (await session.get_items())[-1] == {"role": "assistant", "content": "again"}

    await session.clear_session()
    assert await session.get_items() == []
    assert await session.pop_item() is None
    assert await other.get_items() == [{"role": "user", "content": "elsewhere"}]

    limited = HubSession("other_session", hub, session_settings=SessionSettings(limit=1))
    await limited.add_items([{"role": "assistant", "content": "reply"}])
    assert await limited.get_items() == [{"role": "assistant", "content": "reply"}]
    assert len(await limited.get_items(limit=5)) == 2


async def test_runner_with_session_settings_limit(hub: Hub) -> None:
    """RunConfig(session_settings=limit) makes the model see only the latest items."""
    model = ScriptedModel([[say("one", 1)], [say("two", 2)]])
    agent = Agent(name="A", model=model)
    session = HubSession("limited", hub)
    await Runner.run(agent, "first", session=session, run_config=NO_TRACING)
    cfg = RunConfig(tracing_disabled=True, session_settings=SessionSettings(limit=1))
    await Runner.run(agent, "second", session=session, run_config=cfg)
    assert [it.get("content") for it in model.inputs[-1]][-1] == "second"
    assert len(model.inputs[-1]) == 2  # the latest stored item + the new input


async def test_lossless_item_types(hub: Hub) -> None:
    """Every kind of SDK item comes back exactly as stored, with readable sessionhub fields."""
    items: list[dict[str, Any]] = [
        {"role": "developer", "content": "Rules."},
        {
            "type": "message",
            "role": "user",
            "content": [
                {"type": "input_text", "text": "Look"},
                {"type": "input_image", "image_url": "https://x/y.png", "detail": "auto"},
            ],
        },
        {
            "type": "reasoning",
            "id": "rs_1",
            "summary": [{"type": "summary_text", "text": "Thinking about it"}],
        },
        {"type": "reasoning", "id": "rs_2", "summary": [], "encrypted_content": "abc"},
        {"type": "function_call", "call_id": "c1", "name": "f", "arguments": "not json"},
        {"type": "function_call_output", "call_id": "c1", "output": [{"type": "input_text", "text": "done"}]},
        {
            "type": "computer_call",
            "id": "cc1",
            "call_id": "c2",
            "action": {"type": "click", "x": 1, "y": 2},
            "pending_safety_checks": [],
            "status": "completed",
        },
        {
            "type": "computer_call_output",
            "call_id": "c2",
            "output": {"type": "computer_screenshot", "image_url": "data:x"},
        },
        {"type": "custom_tool_call", "call_id": "c3", "name": "patch", "input": "diff"},
        {"type": "item_reference", "id": "ref_1"},
        {
            "type": "message",
            "role": "assistant",
            "id": "m1",
            "status": "completed",
            "content": [{"type": "refusal", "refusal": "No."}],
        },
        {"role": "assistant", "content": ""},
    ]
    session = HubSession("kinds", hub)
    await session.add_items(items)  # type: ignore[arg-type]
    assert await session.get_items() == items
    sid = await session.hub_session_id()
    assert sid is not None
    msgs = await hub.get_history(sid, limit=50)
    assert [m.role for m in msgs] == [
        "system", "user", "assistant", "assistant", "assistant", "tool",
        "assistant", "tool", "assistant", "assistant", "assistant", "assistant",
    ]  # fmt: skip
    assert msgs[1].content == "Look\n[image]"
    assert msgs[2].content == "Thinking about it"
    assert msgs[3].content == "[reasoning]"
    assert msgs[4].parts[0].to_dict()["arguments"] == {"_raw": "not json"}
    assert msgs[5].content == "done"
    assert msgs[6].parts[0].to_dict()["name"] == "computer_call"
    assert msgs[8].parts[0].to_dict()["arguments"] == {"input": "diff"}
    assert msgs[9].content == "[item_reference]"
    assert msgs[10].content == "No."
    assert msgs[11].content == "[empty assistant]"
    for expected in reversed(items):
        assert await session.pop_item() == expected
    assert await session.get_items() == []


async def test_messages_from_other_clients_read_as_items(hub: Hub) -> None:
    """A session written through the hub (no kept item) is read as SDK items."""
    s = await hub.create_session()
    await hub.add_message(s.id, "user", "hi")
    await hub.add_message(
        s.id, "assistant", "", parts=[{"type": "tool_call", "id": "t1", "name": "f", "arguments": {"a": 1}}]
    )
    await hub.add_message(
        s.id, "tool", "ok", parts=[{"type": "tool_result", "tool_call_id": "t1", "content": "ok"}]
    )
    session = HubSession(s.id, hub)
    assert session.key is None
    assert await session.get_items() == [
        {"role": "user", "content": "hi"},
        {"type": "function_call", "call_id": "t1", "name": "f", "arguments": '{"a": 1}'},
        {"type": "function_call_output", "call_id": "t1", "output": "ok"},
    ]
    await session.add_items([{"role": "assistant", "content": "fine"}])
    assert (await hub.get_session(s.id)).message_count == 4


async def test_limit_reads_only_the_latest_and_pages_past_1000(hub: Hub) -> None:
    """get_items(limit) returns the latest N in order, also beyond the hub's 1000 page."""
    session = HubSession("long", hub)
    items: list[TResponseInputItem] = [{"role": "user", "content": f"m{i}"} for i in range(1205)]
    await session.add_items(items)
    assert await session.get_items(limit=3) == items[-3:]
    assert await session.get_items(limit=1100) == items[-1100:]
    assert await session.get_items() == items


async def test_pop_item_uses_hub_pop_message(hub: Hub) -> None:
    """pop_item goes through hub.pop_message: the older messages keep their ids, checkpoints clamp."""
    session = HubSession("pop-native", hub)
    items: list[TResponseInputItem] = [{"role": "user", "content": f"m{i}"} for i in range(4)]
    await session.add_items(items)
    sid = await session.hub_session_id()
    assert sid is not None
    cp = await hub.save_checkpoint(sid, "all four")
    before = [m.id for m in await hub.get_history(sid)]
    assert await session.pop_item() == items[3]
    assert [m.id for m in await hub.get_history(sid)] == before[:3]
    assert (await hub.get_checkpoint(cp.id)).at_seq == 3  # clamped, not dropped
    assert await session.get_items() == items[:3]


async def test_concurrent_first_writes_share_one_session(hub: Hub) -> None:
    """Two HubSession objects writing the same new id at once end in one session."""
    a, b = HubSession("race", hub), HubSession("race", hub)
    await asyncio.gather(
        a.add_items([{"role": "user", "content": "from a"}]),
        b.add_items([{"role": "user", "content": "from b"}]),
    )
    assert await a.hub_session_id() == await b.hub_session_id()
    assert len(await a.get_items()) == 2


async def test_archived_or_deleted_session_is_replaced_on_write(hub: Hub) -> None:
    """As for channels: a write after archive/delete starts a new session under the key."""
    session = HubSession("life", hub)
    await session.add_items([{"role": "user", "content": "one"}])
    first = await session.hub_session_id()
    assert first is not None
    await hub.archive(first)
    assert await HubSession("life", hub).get_items() == [{"role": "user", "content": "one"}]
    await session.add_items([{"role": "user", "content": "two"}])
    second = await session.hub_session_id()
    assert second not in (None, first)
    assert await session.get_items() == [{"role": "user", "content": "two"}]
    await hub.delete_session(second)  # type: ignore[arg-type]
    assert await session.get_items() == []
    await session.add_items([{"role": "user", "content": "three"}])
    assert await session.get_items() == [{"role": "user", "content": "three"}]


async def test_create_false_and_bad_input(hub: Hub) -> None:
    """create=False never creates; an unknown ses_ id or agent is a clear error."""
    session = HubSession("nobody", hub, create=False)
    assert await session.get_items() == []
    assert await session.pop_item() is None
    with pytest.raises(NotFound):
        await session.add_items([{"role": "user", "content": "x"}])
    with pytest.raises(NotFound):
        await HubSession(ids.new_id("ses"), hub).get_items()
    from sessionhub.errors import InvalidInput

    with pytest.raises(InvalidInput):
        HubSession("x", hub, agent="nope")
    with pytest.raises(InvalidInput):
        HubSession("", hub)


def test_mapping_helpers_are_inverse() -> None:
    """item_to_message keeps the item; message_to_items gives it back."""
    from sessionhub.model import Message

    item = {"type": "function_call_output", "call_id": "c", "output": "x" * 50}
    data = item_to_message(item, max_chars=10)
    assert data["content"] == "x" * 9 + "…" and data["metadata"]["openai_item"] == item
    m = Message(
        id="msg_x", session_id="ses_x", seq=1, role="tool", content=data["content"], metadata=data["metadata"]
    )
    assert message_to_items(m) == [item]
