"""The Agents SDK's own ``OpenAIConversationsSession`` against sessionhub's /v1 by base_url alone.

``Runner.run`` with the SDK's ``ScriptedModel`` (agents.testing): several turns with a tool
call, ``get_items``, ``pop_item``, ``clear_session``; the same conversation read through
``/api/sessions/ses_…/messages``. On an encrypted SQLite file and on PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

pytest.importorskip("agents.testing")

from agents import Agent, RunConfig, Runner, function_tool
from agents.memory import OpenAIConversationsSession
from agents.testing import ScriptedModel, assistant_message, function_call
from openai import AsyncOpenAI

from server.live_server import running_server
from sessionhub.config import Settings
from sessionhub.crypto import generate_master_key

OFFLINE = RunConfig(tracing_disabled=True)


@function_tool
def weather(city: str) -> str:
    """The weather in a city."""
    return f"rain in {city}"


@pytest.fixture(params=["sqlite-encrypted", pytest.param("postgresql", marks=pytest.mark.postgres)])
def served(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    if request.param == "postgresql":
        url, key = str(request.getfixturevalue("pg_url")), None
    else:
        url, key = f"sqlite:///{tmp_path}/sdk.db", generate_master_key()
    with running_server(Settings(), url, encryption_key=key) as (addr, _app):
        yield f"http://{addr}"


def _kinds(items: list[Any]) -> list[str]:
    return [f"{i.get('type', 'message')}:{i.get('role', '')}" for i in items]


async def test_openai_conversations_session_on_v1(served: str) -> None:
    async with AsyncOpenAI(
        base_url=f"{served}/v1", api_key="any key", _strict_response_validation=True
    ) as client:
        await _run_on_v1(client, served)


async def _run_on_v1(client: AsyncOpenAI, served: str) -> None:
    model = ScriptedModel(
        [
            [function_call("weather", {"city": "Oslo"}, call_id="call_oslo")],
            [assistant_message("It rains in Oslo.")],
            [assistant_message("Tomorrow too.")],
        ]
    )
    agent = Agent(name="forecaster", instructions="Answer briefly.", model=model, tools=[weather])
    session = OpenAIConversationsSession(openai_client=client)

    first = await Runner.run(agent, "Weather in Oslo?", session=session, run_config=OFFLINE)
    assert first.final_output == "It rains in Oslo."
    second = await Runner.run(agent, "And tomorrow?", session=session, run_config=OFFLINE)
    assert second.final_output == "Tomorrow too."
    # The third model call saw the whole first turn, read back from sessionhub.
    seen = model.calls[2].input
    assert isinstance(seen, list) and any(
        isinstance(i, dict) and i.get("type") == "function_call_output" and i.get("output") == "rain in Oslo"
        for i in seen
    )

    items = await session.get_items()
    assert _kinds(items) == [
        "message:user",
        "function_call:",
        "function_call_output:",
        "message:assistant",
        "message:user",
        "message:assistant",
    ]
    assert all(str(i["id"]).startswith("msg_") for i in items)
    assert items[1]["call_id"] == "call_oslo" and items[2]["output"] == "rain in Oslo"
    assert await session.get_items(limit=2) == items[-2:]

    popped = await session.pop_item()
    assert popped is not None and popped["id"] == items[-1]["id"]
    assert await session.get_items() == items[:-1]

    conv_id = session.session_id
    sid = "ses_" + conv_id.removeprefix("conv_")
    async with httpx.AsyncClient(base_url=served) as h:
        body = (await h.get(f"/api/sessions/{sid}/messages")).json()
        msgs = body["messages"]
        assert [m["role"] for m in msgs] == ["user", "assistant", "tool", "assistant", "user"]
        assert [m["id"] for m in msgs] == [i["id"] for i in items[:-1]]
        assert msgs[1]["parts"][0] == {
            "type": "tool_call",
            "id": "call_oslo",
            "name": "weather",
            "arguments": {"city": "Oslo"},
        }
        assert msgs[2]["parts"][0]["content"] == "rain in Oslo"
        assert (await h.get(f"/api/sessions/{sid}")).json()["title"] == "Weather in Oslo?"

        await session.clear_session()
        assert (await h.get(f"/api/sessions/{sid}")).status_code == 404
    await client.close()
