"""The echo provider and building providers from [providers.NAME] tables."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from sessionhub.agents import (
    Done,
    EchoProvider,
    OpenAIProvider,
    TextDelta,
    ToolCallEvent,
    UsageEvent,
    build_provider,
)
from sessionhub.agents.providers import ProviderSet, echo
from sessionhub.agents.providers.base import ProviderEvent
from sessionhub.config import Settings
from sessionhub.errors import ConfigError


async def run(provider: Any, messages: list[dict[str, Any]]) -> list[ProviderEvent]:
    return [e async for e in provider.stream("echo", messages)]


async def test_echo_chunks_words() -> None:
    """Seven words at three per chunk come back as three deltas that join to the collapsed text."""
    events = await run(
        EchoProvider(delay_ms=0), [{"role": "user", "content": "one two  three\nfour five six seven"}]
    )
    deltas = [e.text for e in events if isinstance(e, TextDelta)]
    assert deltas == ["one two three", " four five six", " seven"]
    assert events[-2:] == [UsageEvent(input_tokens=7, output_tokens=7), Done("stop")]


async def test_echo_waits_between_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """delay_ms separates chunks, not before the first: 4 chunks wait 60 ms three times, in between."""
    timeline: list[str | float] = []
    real_sleep = asyncio.sleep

    async def recorded_sleep(seconds: float) -> None:
        timeline.append(seconds)
        await real_sleep(0)

    monkeypatch.setattr(echo.asyncio, "sleep", recorded_sleep)
    provider = EchoProvider(words_per_chunk=1, delay_ms=60)
    async for event in provider.stream("echo", [{"role": "user", "content": "a b c d"}]):
        if isinstance(event, TextDelta):
            timeline.append(event.text.strip())
    assert timeline == ["a", 0.06, "b", 0.06, "c", 0.06, "d"]


async def test_echo_repeats_the_last_user_message() -> None:
    """Only the last user message is echoed; an empty one gets a fixed placeholder."""
    messages: list[dict[str, Any]] = [
        {"role": "user", "content": "old"},
        {"role": "assistant", "content": "x"},
        {"role": "user", "content": "new"},
    ]
    assert [e for e in await run(EchoProvider(), messages) if isinstance(e, TextDelta)] == [TextDelta("new")]
    empty = [
        e for e in await run(EchoProvider(), [{"role": "user", "content": "  "}]) if isinstance(e, TextDelta)
    ]
    assert "".join(e.text for e in empty) == "(echo: nothing to repeat)"


@pytest.mark.parametrize(
    "text",
    [
        '/tool current_time {"timezone": "Europe/Paris"}',
        'please [[tool:current_time {"timezone": "Europe/Paris"}]] now',
    ],
)
async def test_echo_tool_call_mode(text: str) -> None:
    """'/tool NAME {json}' or the [[tool:NAME {json}]] marker makes echo ask for that tool."""
    events = await run(EchoProvider(), [{"role": "user", "content": text}])
    call = events[0]
    assert isinstance(call, ToolCallEvent)
    assert call.name == "current_time" and call.arguments == {"timezone": "Europe/Paris"}
    assert events[-1] == Done("tool_calls")


async def test_echo_answers_a_tool_result() -> None:
    """After a tool message, echo streams 'NAME returned: CONTENT' so a tool round trip ends."""
    messages: list[dict[str, Any]] = [
        {"role": "user", "content": "/tool current_time"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "current_time", "arguments": "{}"}}
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": "noon"},
    ]
    text = "".join(e.text for e in await run(EchoProvider(delay_ms=0), messages) if isinstance(e, TextDelta))
    assert text == "current_time returned: noon"


def providers(tables: dict[str, Any]) -> Any:
    """``[providers]`` tables parsed the way ``config.py`` does at start-up."""
    return Settings(providers=tables).providers


def test_build_provider_defaults_to_echo() -> None:
    """With nothing configured, 'echo' is the echo provider with words_per_chunk 3 and delay_ms 30."""
    provider = build_provider("echo", {}, {})
    assert isinstance(provider, EchoProvider)
    assert (provider.words_per_chunk, provider.delay_ms) == (3, 30)
    custom = build_provider(
        "fast", providers({"fast": {"type": "echo", "words_per_chunk": 1, "delay_ms": 0}}), {}
    )
    assert isinstance(custom, EchoProvider) and (custom.words_per_chunk, custom.delay_ms) == (1, 0)


@pytest.mark.parametrize(
    ("tables_", "name", "env", "named"),
    [
        ({"e": {"type": "echo", "words_per_chunk": 0}}, "e", {}, "providers.e.words_per_chunk"),
        ({"e": {"type": "echo", "delay_ms": "fast"}}, "e", {}, "providers.e.delay_ms"),
        ({"e": {"type": "echo", "colour": 1}}, "e", {}, "providers.e.colour"),
        ({"x": {"type": "claude"}}, "x", {}, "providers.x.type"),
        ({"o": {"type": "openai", "base_url": "ftp://h"}}, "o", {}, "providers.o.base_url"),
        (
            {"o": {"type": "openai", "base_url": "http://h", "api_key_env": "NOPE"}},
            "o",
            {},
            "providers.o.api_key_env",
        ),
        (
            {"o": {"type": "openai", "base_url": "http://h", "max_retries": -1}},
            "o",
            {},
            "providers.o.max_retries",
        ),
        ({"o": {"type": "openai", "base_url": "http://h", "timeout": 0}}, "o", {}, "providers.o.timeout"),
        ({}, "missing", {}, "providers.missing"),
    ],
)
def test_bad_provider_config_names_the_key(tables_: Any, name: str, env: Any, named: str) -> None:
    """Every bad value raises ConfigError whose message starts with providers.NAME.KEY."""
    with pytest.raises(ConfigError) as info:
        build_provider(name, providers(tables_), env)
    assert info.value.message.startswith(named)


async def test_openai_without_table_uses_openai_api_key() -> None:
    """'openai' with no table is the OpenAI API with $OPENAI_API_KEY; a table with base_url implies type openai."""
    provider = build_provider("openai", {}, {"OPENAI_API_KEY": "sk"})
    assert isinstance(provider, OpenAIProvider) and provider.base_url == "https://api.openai.com/v1"
    await provider.aclose()
    ollama = build_provider("ollama", providers({"ollama": {"base_url": "http://127.0.0.1:11434/v1"}}), {})
    assert isinstance(ollama, OpenAIProvider)
    await ollama.aclose()


async def test_provider_set_builds_once_and_checks_at_start() -> None:
    """ProviderSet reuses built providers and check() surfaces a bad table at start-up."""
    built = ProviderSet(providers({"e": {"type": "echo"}}), {})
    assert built.get("e") is built.get("e")
    built.check(["echo"])
    with pytest.raises(ConfigError, match=r"providers\.bad\.type"):
        ProviderSet(providers({"bad": {"type": "?"}}), {}).check()
    await built.aclose()
