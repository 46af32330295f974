"""The cases of test_adk.py: ``HubSessionService`` against the real google-adk: a Runner with an LlmAgent on a scripted
model, and the session-service behaviours ADK's own services are tested for (creation and
ids, GetSessionConfig, listing, the state scopes, temp and partial events, lossless events,
stale sessions), on SQLite, encrypted SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import copy
import math
import time
from collections.abc import AsyncGenerator
from pathlib import Path
from typing import Any

import pytest
from google.adk.agents import LlmAgent
from google.adk.errors import StaleSessionError
from google.adk.errors.already_exists_error import AlreadyExistsError
from google.adk.events import Event, EventActions
from google.adk.models.base_llm import BaseLlm
from google.adk.models.llm_request import LlmRequest
from google.adk.models.llm_response import LlmResponse
from google.adk.runners import Runner
from google.adk.sessions import BaseSessionService
from google.adk.sessions.base_session_service import GetSessionConfig
from google.adk.tools.tool_context import ToolContext
from google.genai import types

import sessionhub
from sessionhub.hub import Hub
from sessionhub.integrations.adk import HubSessionService
from sessionhub.model import ToolCall, ToolResult

APP = "support"
REQUESTS: list[LlmRequest] = []  # what the scripted model was asked


# -- a Runner with an LlmAgent on a scripted model ------------------------------------------


class ScriptedModel(BaseLlm):
    """Answers from a script: a tool call on "remember", else text naming the last tool result."""

    model: str = "scripted"

    async def generate_content_async(
        self, llm_request: LlmRequest, stream: bool = False
    ) -> AsyncGenerator[LlmResponse, None]:
        REQUESTS.append(llm_request)
        last = llm_request.contents[-1]
        part = last.parts[0] if last.parts else None
        if part is not None and part.function_response is not None:
            text = f"saved: {part.function_response.response}"
        elif part is not None and part.text and part.text.startswith("remember "):
            call = types.FunctionCall(id="call-1", name="remember", args={"fact": part.text[9:]})
            yield LlmResponse(content=types.Content(role="model", parts=[types.Part(function_call=call)]))
            return
        else:
            text = f"echo: {part.text if part is not None else ''}"
        yield LlmResponse(
            content=types.Content(role="model", parts=[types.Part(text=text)]),
            usage_metadata=types.GenerateContentResponseUsageMetadata(
                prompt_token_count=7, candidates_token_count=3, total_token_count=10
            ),
        )


def remember(fact: str, tool_context: ToolContext) -> dict[str, Any]:
    """Remember a fact in every state scope."""
    state = tool_context.state
    state["fact"] = fact
    state["user:facts"] = [*state.get("user:facts", []), fact]
    state["app:remembered"] = state.get("app:remembered", 0) + 1
    state["temp:scratch"] = "not stored"
    return {"ok": True, "fact": fact}


async def _turn(runner: Runner, session_id: str, text: str) -> list[Event]:
    message = types.Content(role="user", parts=[types.Part(text=text)])
    return [e async for e in runner.run_async(user_id="u1", session_id=session_id, new_message=message)]


async def case_runner_turns_with_tool_and_state_scopes(service: HubSessionService, hub: Hub) -> None:
    assert isinstance(service, BaseSessionService)
    agent = LlmAgent(name="helper", model=ScriptedModel(), tools=[remember], output_key="last_reply")
    runner = Runner(app_name=APP, agent=agent, session_service=service)
    session = await service.create_session(app_name=APP, user_id="u1", state={"topic": "billing"})

    first = await _turn(runner, session.id, "hello")
    assert first[-1].content is not None and first[-1].content.parts[0].text == "echo: hello"
    events = await _turn(runner, session.id, "remember blue")
    assert [bool(e.get_function_calls()) for e in events][:1] == [True]
    await _turn(runner, session.id, "remember green")

    stored = await service.get_session(app_name=APP, user_id="u1", session_id=session.id)
    assert stored is not None
    # 3 user messages, 2 echo answers... : user, reply / user, call, result, reply (x2)
    assert len(stored.events) == 2 + 4 + 4
    assert stored.state["topic"] == "billing"
    assert stored.state["fact"] == "green"
    assert stored.state["user:facts"] == ["blue", "green"]
    assert stored.state["app:remembered"] == 2
    assert stored.state["last_reply"].startswith("saved: ")
    assert not any(k.startswith("temp:") for k in stored.state)
    assert all("temp:scratch" not in e.actions.state_delta for e in stored.events)
    assert stored.last_update_time == stored.events[-1].timestamp
    assert await service.get_user_state(app_name=APP, user_id="u1") == {"facts": ["blue", "green"]}

    # The model saw the whole history from the store on the third turn (tool call and result too).
    seen = REQUESTS[-1].contents
    assert any(p.function_response is not None for c in seen for p in c.parts or [])

    # An ordinary sessionhub session: readable messages with tool calls and results.
    (s,) = (await hub.list_sessions()).sessions
    assert s.title == "hello" and s.message_count == 10
    msgs = await hub.get_history(s.id, limit=100)
    assert [m.role for m in msgs[:6]] == ["user", "assistant", "user", "assistant", "tool", "assistant"]
    assert msgs[0].content == "hello" and msgs[1].content == "echo: hello"
    assert msgs[3].parts == (ToolCall("call-1", "remember", {"fact": "blue"}),)
    assert isinstance(msgs[4].parts[0], ToolResult) and msgs[4].parts[0].tool_call_id == "call-1"
    assert msgs[1].usage.input_tokens == 7 and msgs[1].usage.output_tokens == 3
    hits = await hub.search("green")
    assert hits and hits[0].session.id == s.id


# -- the session service, as ADK's own services are tested ----------------------------------


def _event(text: str, ts: float | None = None, **actions: Any) -> Event:
    return Event(
        invocation_id="inv",
        author="user" if text.startswith("u:") else "agent",
        content=types.Content(role="user", parts=[types.Part(text=text)]),
        actions=EventActions(**actions),
        timestamp=ts if ts is not None else time.time(),
    )


async def case_create_get_list_delete(service: HubSessionService) -> None:
    s = await service.create_session(app_name=APP, user_id="u1", session_id="s1", state={"k": 1})
    assert (s.id, s.app_name, s.user_id, s.state, s.events) == ("s1", APP, "u1", {"k": 1}, [])
    assert await service.get_session(app_name=APP, user_id="u1", session_id="s1") == s
    with pytest.raises(AlreadyExistsError):
        await service.create_session(app_name=APP, user_id="u1", session_id="s1")
    # ids are scoped per app and user
    other = await service.create_session(app_name=APP, user_id="u2", session_id="s1")
    generated = await service.create_session(app_name=APP, user_id="u1")
    assert generated.id and generated.id != "s1"
    await service.create_session(app_name="other-app", user_id="u1", session_id="s1")
    assert await service.get_session(app_name=APP, user_id="u3", session_id="s1") is None
    assert await service.get_session(app_name=APP, user_id="u1", session_id="nope") is None

    listed = (await service.list_sessions(app_name=APP, user_id="u1")).sessions
    assert [x.id for x in listed] == ["s1", generated.id]
    assert all(x.events == [] for x in listed)
    everyone = (await service.list_sessions(app_name=APP)).sessions
    assert {(x.user_id, x.id) for x in everyone} == {("u1", "s1"), ("u2", "s1"), ("u1", generated.id)}
    # ordered by last update, oldest first: an append moves a session last
    await service.append_event(other, _event("u:hi"))
    assert [x.user_id for x in (await service.list_sessions(app_name=APP)).sessions][-1] == "u2"

    # bad input: one clear error, nothing written
    for bad in ({"app_name": "x" * 300}, {"user_id": ""}, {"state": {"k": float("nan")}}):
        with pytest.raises(sessionhub.InvalidInput):
            await service.create_session(**{"app_name": APP, "user_id": "u1", **bad})
    assert len((await service.list_sessions(app_name=APP, user_id="u1")).sessions) == 2

    await service.delete_session(app_name=APP, user_id="u1", session_id="s1")
    assert await service.get_session(app_name=APP, user_id="u1", session_id="s1") is None
    assert await service.get_session(app_name=APP, user_id="u2", session_id="s1") is not None
    await service.delete_session(app_name=APP, user_id="u1", session_id="s1")  # again: no error


async def case_state_scopes_temp_and_partial(service: HubSessionService) -> None:
    a = await service.create_session(
        app_name=APP, user_id="u1", state={"app:theme": "dark", "user:lang": "fr", "k": "a", "temp:t": 1}
    )
    assert a.state == {"app:theme": "dark", "user:lang": "fr", "k": "a"}
    b = await service.create_session(app_name=APP, user_id="u1")
    c = await service.create_session(app_name=APP, user_id="u2")
    assert b.state == {"app:theme": "dark", "user:lang": "fr"}
    assert c.state == {"app:theme": "dark"}

    delta = {
        "app:theme": "light",
        "user:lang": "de",
        "k": {"x": 1},
        "temp:scratch": 5,
        "n": None,
        "flag": True,
    }
    event = await service.append_event(a, _event("agent says", state_delta=dict(delta)))
    assert a.state["temp:scratch"] == 5  # applied in memory
    assert "temp:scratch" not in event.actions.state_delta  # never stored
    await service.append_event(a, _event("agent again", state_delta={"k": {"y": 2}}))  # a dict replaces
    partial = _event("half", state_delta={"k": "partial"})
    partial.partial = True
    await service.append_event(a, partial)
    assert len(a.events) == 2 and a.state["k"] == {"y": 2}

    got = await service.get_session(app_name=APP, user_id="u1", session_id=a.id)
    assert got is not None and len(got.events) == 2
    assert got.state == {"app:theme": "light", "user:lang": "de", "k": {"y": 2}, "n": None, "flag": True}
    assert got.state["flag"] is True
    assert (await service.get_session(app_name=APP, user_id="u2", session_id=c.id)).state == {  # type: ignore[union-attr]
        "app:theme": "light"
    }
    assert await service.get_user_state(app_name=APP, user_id="u1") == {"lang": "de"}
    assert await service.get_user_state(app_name=APP, user_id="nobody") == {}


async def case_get_session_config_and_lossless_events(service: HubSessionService) -> None:
    s = await service.create_session(app_name=APP, user_id="u1")
    base = 1_700_000_000.123456
    rich = Event(
        invocation_id="inv-7",
        author="agent",
        content=types.Content(
            role="model",
            parts=[
                types.Part(text="look"),
                types.Part(inline_data=types.Blob(mime_type="image/png", data=b"\x89PNG\x00\xff")),
                types.Part(function_call=types.FunctionCall(id="c1", name="f", args={"a": [1, 2.5]})),
            ],
        ),
        usage_metadata=types.GenerateContentResponseUsageMetadata(prompt_token_count=3),
        grounding_metadata=types.GroundingMetadata(web_search_queries=["q"]),
        custom_metadata={"trace": {"id": 1}},
        timestamp=base + 1.000000123,
    )
    for i, ts in enumerate([base, base + 1.000000123, base + 2, base + 3]):
        await service.append_event(s, rich if i == 1 else _event(f"e{i}", ts))
    full = await service.get_session(app_name=APP, user_id="u1", session_id=s.id)
    assert full == s  # equal by value: events, state, last_update_time
    assert full is not None and full.events[1] == rich and full.last_update_time == base + 3

    async def get(**kw: Any) -> list[float]:
        got = await service.get_session(
            app_name=APP, user_id="u1", session_id=s.id, config=GetSessionConfig(**kw)
        )
        assert got is not None
        return [e.timestamp for e in got.events]

    assert await get(num_recent_events=0) == []
    assert await get(num_recent_events=2) == [base + 2, base + 3]
    assert await get(after_timestamp=base + 1.000000123) == [base + 1.000000123, base + 2, base + 3]
    assert await get(after_timestamp=math.nextafter(base + 1.000000123, math.inf)) == [base + 2, base + 3]
    assert await get(after_timestamp=base + 1, num_recent_events=1) == [base + 3]


async def case_stale_session_exactly_one_wins(service: HubSessionService, hub: Hub) -> None:
    s = await service.create_session(app_name=APP, user_id="u1", session_id="race")
    await service.append_event(s, _event("u:first"))
    one = await service.get_session(app_name=APP, user_id="u1", session_id="race")
    assert one is not None
    two = copy.deepcopy(one)
    results = await asyncio.gather(
        service.append_event(one, _event("from one", state_delta={"who": "one"})),
        service.append_event(two, _event("from two", state_delta={"who": "two"})),
        return_exceptions=True,
    )
    errors = [r for r in results if isinstance(r, Exception)]
    assert len(errors) == 1 and isinstance(errors[0], StaleSessionError)
    assert "modified in storage" in str(errors[0])
    got = await service.get_session(app_name=APP, user_id="u1", session_id="race")
    assert got is not None and len(got.events) == 2
    winner = "one" if errors[0] is results[1] else "two"
    assert got.state["who"] == winner and got.events[-1].content.parts[0].text == f"from {winner}"  # type: ignore[union-attr]
    (summary,) = (await hub.list_sessions()).sessions
    assert summary.message_count == 2  # nothing of the loser was stored
    # The stale copy's owner reloads and continues.
    await service.append_event(got, _event("after reload"))
    # Deleted in sessionhub (the dashboard, retention): gone for ADK too.
    hub_id = await service.hub_session_id(app_name=APP, user_id="u1", session_id="race")
    assert hub_id == summary.id
    await hub.delete_session(hub_id)
    assert await service.get_session(app_name=APP, user_id="u1", session_id="race") is None
    assert (await service.list_sessions(app_name=APP)).sessions == []


async def case_url_owner_and_close(adk_db: tuple[str, str | None], tmp_path: Path) -> None:
    url, key = adk_db
    if key is not None:
        pytest.skip("a URL opens the hub without a key")
    async with HubSessionService(url, owner="alice") as service:
        s = await service.create_session(app_name=APP, user_id="u1", session_id="x")
        await service.append_event(s, _event("u:hello alice"))
    async with sessionhub.open(url) as h:
        assert not (await h.list_sessions()).sessions  # the default user sees nothing
        (mine,) = (await h.as_user("alice").list_sessions()).sessions
        assert mine.title == "u:hello alice"
    again = HubSessionService(url, owner="alice")
    try:
        assert await again.get_session(app_name=APP, user_id="u1", session_id="x") is not None
    finally:
        await again.close()
