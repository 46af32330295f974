"""The agent runtime gives the hub its model summarizer: compactions of a session on an
OpenAI-compatible provider are written by that model (``method = "model"``, CONTRACT 11.3);
echo sessions and a failing provider get the extractive summary."""

from __future__ import annotations

from sessionhub.agents.runtime import AgentRuntime
from sessionhub.agents.summarizer import ModelSummarizer
from sessionhub.config import Settings
from sessionhub.context.summary import SUMMARY_INSTRUCTIONS
from sessionhub.testing import open_memory

from .fake_openai import SSE, FakeOpenAI, Status, finish_chunk, text_chunk


def settings_for(base_url: str) -> Settings:
    return Settings(
        agents=({"id": "main"}, {"id": "gpt", "provider": "fake", "model": "m-1"}),
        providers={
            "fake": {"type": "openai", "base_url": base_url, "api_key_env": "FAKE_KEY", "max_retries": 0}
        },
    )


async def fill(hub: object, session_id: str, n: int) -> None:
    for i in range(n):
        role = "user" if i % 2 == 0 else "assistant"
        await hub.add_message(session_id, role, f"message number {i} about the launch plan")  # type: ignore[attr-defined]


async def test_runtime_wires_the_model_summarizer() -> None:
    script = [SSE([text_chunk("The user plans "), text_chunk("a launch."), finish_chunk("stop")])]
    async with FakeOpenAI(script) as fake:
        settings = settings_for(fake.base_url)
        runtime = AgentRuntime(settings, env={"FAKE_KEY": "sk-test"})
        try:
            async with open_memory(settings=settings) as hub:
                assert hub.summarizer is None
                runtime.bind(hub)
                assert isinstance(hub.summarizer, ModelSummarizer)
                view = hub.as_user("alice")
                assert view.summarizer is hub.summarizer
                s = await view.create_session("gpt")
                await fill(view, s.id, 6)
                record = await view.compact(s.id)
                assert (record.method, record.text) == ("model", "The user plans a launch.")
                (request,) = fake.requests
                assert request.body["model"] == "m-1"
                assert request.headers["authorization"] == "Bearer sk-test"
                system, user = request.body["messages"]
                assert system == {"role": "system", "content": SUMMARY_INSTRUCTIONS}
                assert "message number 0 about the launch plan" in user["content"]
                # The next compaction folds the previous summary into the request.
                await fill(view, s.id, 4)
                await view.compact(s.id)
                assert (
                    "Previous summary:\nThe user plans a launch."
                    in fake.requests[1].body["messages"][1]["content"]
                )
                # An echo session is summarised without a model call.
                echo = await view.create_session("main")
                await fill(view, echo.id, 6)
                assert (await view.compact(echo.id)).method == "extractive"
                assert len(fake.requests) == 2
        finally:
            await runtime.aclose()


async def test_a_failing_model_falls_back_to_the_extractive_summary() -> None:
    async with FakeOpenAI([Status(500, {"error": {"message": "down"}})]) as fake:
        settings = settings_for(fake.base_url)
        runtime = AgentRuntime(settings, env={"FAKE_KEY": "sk-test"})
        try:
            async with open_memory(settings=settings) as hub:
                runtime.bind(hub)
                s = await hub.create_session("gpt")
                await fill(hub, s.id, 6)
                record = await hub.compact(s.id)
                assert record.method == "extractive" and record.text and fake.requests
        finally:
            await runtime.aclose()
