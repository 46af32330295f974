"""The cases of test_chatkit.py: ``HubChatKitStore`` against the real openai-chatkit: a ``ChatKitServer`` subclass answering
``threads.create`` / ``threads.add_user_message`` / ``threads.list`` requests with our store,
and the ``Store`` operations (pages, items in place, deletes, attachments, per-user
isolation), on SQLite, encrypted SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from chatkit.server import ChatKitServer, NonStreamingResult, StreamingResult
from chatkit.store import NotFoundError
from chatkit.types import (
    AssistantMessageContent,
    AssistantMessageItem,
    ClientToolCallItem,
    ClosedStatus,
    EndOfTurnItem,
    FileAttachment,
    HiddenContextItem,
    InferenceOptions,
    ThreadItemDoneEvent,
    ThreadMetadata,
    UserMessageItem,
    UserMessageTextContent,
)

import sessionhub
from sessionhub.hub import Hub
from sessionhub.integrations.chatkit import HubChatKitStore
from sessionhub.model import ToolCall, ToolResult


@dataclass
class Ctx:
    user_id: str


class EchoServer(ChatKitServer[Ctx]):
    """Answers each user message with its text."""

    async def respond(
        self, thread: ThreadMetadata, input_user_message: UserMessageItem | None, context: Ctx
    ) -> AsyncIterator[Any]:
        assert input_user_message is not None
        text = " ".join(c.text for c in input_user_message.content if isinstance(c, UserMessageTextContent))
        now = datetime.now(UTC)
        yield ThreadItemDoneEvent(
            item=AssistantMessageItem(
                id=self.store.generate_item_id("message", thread, context),
                thread_id=thread.id,
                created_at=now,
                content=[AssistantMessageContent(text=f"echo: {text}")],
            )
        )


async def _stream(server: EchoServer, request: dict[str, Any], ctx: Ctx) -> list[dict[str, Any]]:
    result = await server.process(json.dumps(request), ctx)
    assert isinstance(result, StreamingResult)
    events = []
    async for chunk in result:
        for line in chunk.decode().splitlines():
            if line.startswith("data: "):
                events.append(json.loads(line[6:]))
    return events


def _user_input(text: str) -> dict[str, Any]:
    return {"content": [{"type": "input_text", "text": text}], "attachments": [], "inference_options": {}}


async def case_chatkit_server_with_hub_store(store: HubChatKitStore[Ctx], hub: Hub) -> None:
    server = EchoServer(store, attachment_store=store)
    alice, bob = Ctx("alice"), Ctx("bob")
    events = await _stream(
        server, {"type": "threads.create", "params": {"input": _user_input("hello there")}}, alice
    )
    created = next(e for e in events if e["type"] == "thread.created")
    tid = created["thread"]["id"]
    assert any(e["type"] == "thread.item.done" and e["item"]["type"] == "assistant_message" for e in events)
    await _stream(
        server,
        {"type": "threads.add_user_message", "params": {"thread_id": tid, "input": _user_input("again")}},
        alice,
    )
    listed = await server.process(json.dumps({"type": "threads.list", "params": {"limit": 10}}), alice)
    assert isinstance(listed, NonStreamingResult)
    assert [t["id"] for t in json.loads(listed.json)["data"]] == [tid]
    theirs = await server.process(json.dumps({"type": "threads.list", "params": {}}), bob)
    assert isinstance(theirs, NonStreamingResult) and json.loads(theirs.json)["data"] == []
    with pytest.raises(NotFoundError):
        await store.load_thread(tid, bob)
    page = await store.load_thread_items(tid, None, 50, "asc", alice)
    kinds = [i.type for i in page.data]
    assert kinds.count("user_message") == 2 and kinds.count("assistant_message") == 2

    # an ordinary sessionhub session with readable messages
    (s,) = (await hub.list_sessions()).sessions
    assert s.title == "hello there"
    msgs = await hub.get_history(s.id, limit=50)
    assert [(m.role, m.content) for m in msgs] == [
        ("user", "hello there"),
        ("assistant", "echo: hello there"),
        ("user", "again"),
        ("assistant", "echo: again"),
    ]


def _msg(thread_id: str, item_id: str, at: datetime, text: str) -> UserMessageItem:
    return UserMessageItem(
        id=item_id,
        thread_id=thread_id,
        created_at=at,
        content=[UserMessageTextContent(text=text)],
        inference_options=InferenceOptions(),
    )


async def case_store_pages_items_and_isolation(store: HubChatKitStore[Ctx], hub: Hub) -> None:
    ctx, other = Ctx("u1"), Ctx("u2")
    t0 = datetime(2026, 1, 1, 12, 0, 0)  # naive, as ChatKit may give
    threads = [
        ThreadMetadata(id=f"thread-{i}", created_at=t0 + timedelta(seconds=i), title=None) for i in range(5)
    ]
    for t in threads:
        await store.save_thread(t, ctx)
    assert await store.load_thread("thread-2", ctx) == threads[2]  # naive datetime kept
    first = await store.load_threads(2, None, "desc", ctx)
    assert (
        [t.id for t in first.data] == ["thread-4", "thread-3"]
        and first.has_more
        and first.after == "thread-3"
    )
    second = await store.load_threads(2, first.after, "desc", ctx)
    third = await store.load_threads(2, second.after, "desc", ctx)
    assert [t.id for t in second.data + third.data] == ["thread-2", "thread-1", "thread-0"]
    assert not third.has_more and third.after is None
    asc = await store.load_threads(3, "thread-1", "asc", ctx)
    assert [t.id for t in asc.data] == ["thread-2", "thread-3", "thread-4"] and not asc.has_more
    assert (await store.load_threads(10, None, "asc", other)).data == []

    # title and status updates in place
    titled = threads[0].model_copy(
        update={"title": "Trip plans", "metadata": {"k": 1}, "status": ClosedStatus(reason="done")}
    )
    await store.save_thread(titled, ctx)
    assert await store.load_thread("thread-0", ctx) == titled

    tid = "thread-0"
    items: list[Any] = [
        _msg(tid, "m1", t0, "first"),
        AssistantMessageItem(
            id="m2",
            thread_id=tid,
            created_at=t0 + timedelta(seconds=1),
            content=[AssistantMessageContent(text="reply")],
        ),
        ClientToolCallItem(
            id="tc1",
            thread_id=tid,
            created_at=t0 + timedelta(seconds=2),
            call_id="call-9",
            name="get_weather",
            arguments={"city": "Oslo"},
        ),
        HiddenContextItem(
            id="h1", thread_id=tid, created_at=t0 + timedelta(seconds=3), content="the user is on mobile"
        ),
        EndOfTurnItem(id="e1", thread_id=tid, created_at=t0 + timedelta(seconds=4)),
    ]
    for item in items:
        await store.add_thread_item(tid, item, ctx)
    page = await store.load_thread_items(tid, None, 3, "asc", ctx)
    assert page.data == items[:3] and page.has_more and page.after == "tc1"
    rest = await store.load_thread_items(tid, page.after, 3, "asc", ctx)
    assert rest.data == items[3:] and not rest.has_more and rest.after is None
    newest = await store.load_thread_items(tid, None, 2, "desc", ctx)
    assert [i.id for i in newest.data] == ["e1", "h1"]
    assert (await store.load_thread_items(tid, None, 10, "asc", other)).data == []
    with pytest.raises(NotFoundError):
        await store.load_item(tid, "m1", other)
    with pytest.raises(NotFoundError):
        await store.load_item(tid, "nope", ctx)

    # save_item replaces in place (the tool call completes); its message follows
    done = items[2].model_copy(update={"status": "completed", "output": {"temp": 3}})
    await store.save_item(tid, done, ctx)
    assert await store.load_item(tid, "tc1", ctx) == done
    assert [i.id for i in (await store.load_thread_items(tid, None, 10, "asc", ctx)).data] == [
        "m1",
        "m2",
        "tc1",
        "h1",
        "e1",
    ]
    (s,) = [x for x in (await hub.list_sessions()).sessions if x.title == "Trip plans"]
    msgs = await hub.get_history(s.id, limit=50)
    assert [m.role for m in msgs] == ["user", "assistant", "assistant", "system"]  # end of turn: no message
    assert msgs[2].parts == (
        ToolCall("call-9", "get_weather", {"city": "Oslo"}),
        ToolResult("call-9", '{"temp": 3}'),
    )

    await store.delete_thread_item(tid, "m2", ctx)
    assert [i.id for i in (await store.load_thread_items(tid, None, 10, "asc", ctx)).data] == [
        "m1",
        "tc1",
        "h1",
        "e1",
    ]
    await store.delete_thread(tid, ctx)
    with pytest.raises(NotFoundError):
        await store.load_thread(tid, ctx)
    with pytest.raises(NotFoundError):
        await store.add_thread_item(tid, _msg(tid, "m9", t0, "late"), ctx)

    # attachments, per user
    att = FileAttachment(id="atc_1", name="notes.txt", mime_type="text/plain")
    await store.save_attachment(att, ctx)
    assert await store.load_attachment("atc_1", ctx) == att
    with pytest.raises(NotFoundError):
        await store.load_attachment("atc_1", other)
    await store.delete_attachment("atc_1", ctx)
    with pytest.raises(NotFoundError):
        await store.load_attachment("atc_1", ctx)


async def case_context_mapping_url_and_owner(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/ck.db"
    async with HubChatKitStore[dict[str, str]](url, owner="carol") as store:
        thread = ThreadMetadata(id="t1", created_at=datetime.now(UTC))
        await store.save_thread(thread, {"user_id": "x"})
        assert await store.load_thread("t1", {"user_id": "x"}) == thread
        with pytest.raises(sessionhub.InvalidInput):
            await store.load_thread("t1", {})
    async with sessionhub.open(url) as h:
        assert len((await h.as_user("carol").list_sessions()).sessions) == 1
        assert not (await h.list_sessions()).sessions
