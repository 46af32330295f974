"""HubChatMessageHistory against real langchain-core (RunnableWithMessageHistory, fake chat model)."""

from __future__ import annotations

from typing import Any

import pytest

pytest.importorskip(
    "langchain_core.chat_history",
    reason="langchain-core is not installed (pip install 'sessionhub[langchain]')",
)

from langchain_core.chat_history import BaseChatMessageHistory
from langchain_core.language_models.fake_chat_models import FakeListChatModel
from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    ChatMessage,
    FunctionMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.prompt_values import PromptValue
from langchain_core.prompts import ChatPromptTemplate, MessagesPlaceholder
from langchain_core.runnables import RunnableLambda
from langchain_core.runnables.history import RunnableWithMessageHistory

from sessionhub.errors import NotFound
from sessionhub.hub import Hub
from sessionhub.integrations.langchain import HubChatMessageHistory, close_hub, open_hub

pytestmark = pytest.mark.filterwarnings(
    "ignore:RunnableWithMessageHistory is deprecated:langchain_core._api.deprecation.LangChainDeprecationWarning"
)


def make_chain(hub: Hub, replies: list[str], seen: list[list[BaseMessage]]) -> RunnableWithMessageHistory:
    """LangChain's documented pattern: prompt with a history placeholder | model, wrapped."""
    prompt = ChatPromptTemplate.from_messages(
        [("system", "You are helpful."), MessagesPlaceholder("history"), ("human", "{question}")]
    )

    def record(value: PromptValue) -> PromptValue:
        seen.append(value.to_messages())
        return value

    chain = prompt | RunnableLambda(record) | FakeListChatModel(responses=replies)
    return RunnableWithMessageHistory(
        chain,  # type: ignore[arg-type]
        lambda session_id: HubChatMessageHistory(session_id, hub),
        input_messages_key="question",
        history_messages_key="history",
    )


def cfg(session_id: str) -> Any:
    return {"configurable": {"session_id": session_id}}


async def test_ainvoke_two_turns_second_sees_the_first(hub: Hub) -> None:
    """Async: the second turn's prompt holds the first turn's question and answer."""
    seen: list[list[BaseMessage]] = []
    chain = make_chain(hub, ["Hello Ann!", "Your name is Ann."], seen)
    first = await chain.ainvoke({"question": "Hi, I am Ann"}, config=cfg("user-1"))
    assert first.content == "Hello Ann!"
    second = await chain.ainvoke({"question": "What is my name?"}, config=cfg("user-1"))
    assert second.content == "Your name is Ann."
    assert [(m.type, m.content) for m in seen[-1]] == [
        ("system", "You are helpful."),
        ("human", "Hi, I am Ann"),
        ("ai", "Hello Ann!"),
        ("human", "What is my name?"),
    ]
    history = HubChatMessageHistory("user-1", hub)
    assert [m.content for m in await history.aget_messages()] == [
        "Hi, I am Ann",
        "Hello Ann!",
        "What is my name?",
        "Your name is Ann.",
    ]
    sid = await history.hub_session_id()
    assert sid is not None
    s = await hub.get_session(sid)
    assert s.key == "main:langchain:user-1" and s.title == "Hi, I am Ann"
    assert [m.role for m in await hub.get_history(sid)] == ["user", "assistant", "user", "assistant"]
    assert any(h.session.id == sid for h in await hub.search("name ann"))
    # another session id is another conversation
    assert await HubChatMessageHistory("user-2", hub).aget_messages() == []


def test_invoke_sync_without_a_running_loop(db_url: str) -> None:
    """Sync: .invoke in a plain script (no event loop), the hub opened with open_hub."""
    hub = open_hub(db_url)
    try:
        seen: list[list[BaseMessage]] = []
        chain = make_chain(hub, ["Noted: blue.", "Blue."], seen)
        chain.invoke({"question": "My favourite colour is blue"}, config=cfg("sync-1"))
        out = chain.invoke({"question": "What is my favourite colour?"}, config=cfg("sync-1"))
        assert out.content == "Blue."
        assert [m.content for m in seen[-1]][1:3] == ["My favourite colour is blue", "Noted: blue."]
        history = HubChatMessageHistory("sync-1", hub)
        assert len(history.messages) == 4
        history.add_user_message("one more")
        history.add_ai_message("ok")
        assert [m.content for m in history.messages][-2:] == ["one more", "ok"]
        history.clear()
        assert history.messages == []
    finally:
        close_hub(hub)


async def test_sync_methods_inside_a_running_loop(hub: Hub) -> None:
    """Sync methods and .invoke also work when called from inside a running event loop."""
    history = HubChatMessageHistory("in-loop", hub)
    history.add_messages([HumanMessage("a"), AIMessage("b")])
    assert [m.content for m in history.messages] == ["a", "b"]
    seen: list[list[BaseMessage]] = []
    chain = make_chain(hub, ["c"], seen)
    chain.invoke({"question": "next"}, config=cfg("in-loop"))
    assert [m.content for m in await history.aget_messages()] == ["a", "b", "next", "c"]
    history.clear()
    assert await history.aget_messages() == []


async def test_every_message_type_round_trips(hub: Hub) -> None:
    """Each message type comes back equal to what was stored, with readable fields."""
    messages: list[BaseMessage] = [
        SystemMessage("Be terse.", id="s1"),
        HumanMessage(
            content=[
                {"type": "text", "text": "What is this?"},
                {"type": "image_url", "image_url": {"url": "https://x/a.png"}},
            ],
            additional_kwargs={"k": 1},
            name="ann",
        ),
        AIMessage(
            content="",
            tool_calls=[{"id": "call_1", "name": "lookup", "args": {"q": "a.png"}, "type": "tool_call"}],
            usage_metadata={"input_tokens": 12, "output_tokens": 3, "total_tokens": 15},
            response_metadata={"model_name": "fake"},
        ),
        ToolMessage("a cat", tool_call_id="call_1", name="lookup", artifact={"raw": [1, 2]}),
        AIMessage("It is a cat."),
        ChatMessage(content="critique", role="critic"),
        ChatMessage(content="as user", role="user"),
        FunctionMessage(content="42", name="answer"),
    ]
    history = HubChatMessageHistory("types", hub)
    await history.aadd_messages(messages)
    assert await history.aget_messages() == messages
    assert history.messages == messages
    sid = await history.hub_session_id()
    assert sid is not None
    stored = await hub.get_history(sid)
    assert [m.role for m in stored] == [
        "system",
        "user",
        "assistant",
        "tool",
        "assistant",
        "assistant",
        "user",
        "tool",
    ]
    assert stored[1].content == "What is this?\n[image]"
    assert stored[2].parts[0].to_dict() == {
        "type": "tool_call",
        "id": "call_1",
        "name": "lookup",
        "arguments": {"q": "a.png"},
    }
    assert stored[2].usage.input_tokens == 12 and stored[2].usage.output_tokens == 3
    assert stored[3].parts[0].to_dict() == {
        "type": "tool_result",
        "tool_call_id": "call_1",
        "content": "a cat",
    }
    assert stored[7].parts[0].to_dict()["tool_call_id"] == "answer"
    assert (await hub.get_session(sid)).stats.input_tokens == 12


async def test_messages_from_other_clients_read_as_langchain_messages(hub: Hub) -> None:
    """A session written through the hub reads as Human/AI (with tool calls)/Tool/System messages."""
    s = await hub.create_session()
    await hub.add_message(s.id, "system", "rules")
    await hub.add_message(s.id, "user", "hi")
    await hub.add_message(
        s.id, "assistant", "", parts=[{"type": "tool_call", "id": "t1", "name": "f", "arguments": {"a": 1}}]
    )
    await hub.add_message(
        s.id, "tool", "ok", parts=[{"type": "tool_result", "tool_call_id": "t1", "content": "ok"}]
    )
    got = await HubChatMessageHistory(s.id, hub).aget_messages()
    assert [type(m) for m in got] == [SystemMessage, HumanMessage, AIMessage, ToolMessage]
    assert isinstance(got[2], AIMessage) and got[2].tool_calls[0]["args"] == {"a": 1}
    assert isinstance(got[3], ToolMessage) and got[3].tool_call_id == "t1"


async def test_limit_create_false_and_isinstance(hub: Hub) -> None:
    """limit reads only the latest N; create=False never creates; it is a BaseChatMessageHistory."""
    history = HubChatMessageHistory("lim", hub, limit=2)
    assert isinstance(history, BaseChatMessageHistory)
    await history.aadd_messages([HumanMessage(str(i)) for i in range(5)])
    assert [m.content for m in await history.aget_messages()] == ["3", "4"]
    missing = HubChatMessageHistory("nobody", hub, create=False)
    assert await missing.aget_messages() == []
    with pytest.raises(NotFound):
        await missing.aadd_messages([HumanMessage("x")])
    await missing.aclear()
    await history.aclear()
    assert await HubChatMessageHistory("lim", hub).aget_messages() == []
