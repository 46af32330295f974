"""Smaller gaps a migrating user meets (issue 17, point 10): camelCase usage keys, providers no
agent uses, and the new configuration keys checked at start."""

from __future__ import annotations

import logging

import pytest

from sessionhub.agents.runtime import AgentRuntime
from sessionhub.config import settings_from_mapping
from sessionhub.errors import ConfigError, InvalidInput
from sessionhub.hub import Hub


async def test_camel_case_usage_is_refused(hub: Hub) -> None:
    """The Python API refuses `inputTokens` with a clear error instead of dropping it; nothing is stored."""
    s = await hub.create_session()
    with pytest.raises(
        InvalidInput, match="unknown usage key 'inputTokens' \\(did you mean 'input_tokens'\\?\\)"
    ):
        await hub.add_message(s.id, "assistant", "hi", usage={"inputTokens": 5, "outputTokens": 2})
    with pytest.raises(InvalidInput, match="unknown usage key 'total'"):
        await hub.add_messages(s.id, [{"role": "assistant", "content": "x", "usage": {"total": 1}}])
    assert (await hub.get_session(s.id)).message_count == 0
    m = await hub.add_message(s.id, "assistant", "hi", usage={"input_tokens": 5, "output_tokens": 2})
    assert m.usage.to_dict() == {"input_tokens": 5, "output_tokens": 2}


def test_unused_provider_without_key_warns(caplog: pytest.LogCaptureFixture) -> None:
    """A provider no agent uses may lack its API key (a warning); one an agent uses may not."""
    table = {"type": "openai", "base_url": "http://127.0.0.1:9/v1", "api_key_env": "SH_TEST_MISSING_KEY"}
    unused = settings_from_mapping({"providers": {"spare": table}}, env={})
    with caplog.at_level(logging.WARNING, logger="sessionhub.agents.runtime"):
        AgentRuntime(unused, env={}).check()
    assert "provider 'spare' is not usable" in caplog.text and "SH_TEST_MISSING_KEY" in caplog.text
    used = settings_from_mapping(
        {"providers": {"spare": table}, "agents": [{"id": "main", "provider": "spare", "model": "m"}]}, env={}
    )
    with pytest.raises(ConfigError, match=r"providers\.spare\.api_key_env"):
        AgentRuntime(used, env={}).check()
    with pytest.raises(ConfigError, match=r"providers\.spare\.base_url"):  # other mistakes still stop it
        settings_from_mapping({"providers": {"spare": {**table, "base_url": "ftp://x"}}}, env={})


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        ({"import": {"chat_agent": "ghost"}}, "import.chat_agent: no such agent 'ghost'"),
        ({"import": {"agent": "main"}}, "import.agent: unknown key"),
        ({"channels": {"telegram": {"pin_sessions": "yes"}}}, "channels.telegram.pin_sessions"),
        ({"triggers": {"deploy": {"pin": 1}}}, "triggers.deploy.pin: must be true or false"),
    ],
)
def test_new_keys_are_checked(data: dict[str, object], needle: str) -> None:
    with pytest.raises(ConfigError) as err:
        settings_from_mapping(data, env={})
    assert needle in err.value.message


def test_new_keys_parse() -> None:
    s = settings_from_mapping(
        {
            "agents": [{"id": "main"}, {"id": "helper"}],
            "import": {"chat_agent": "helper"},
            "channels": {"telegram": {"pin_sessions": True}},
            "triggers": {"deploy": {"pin": True}},
        },
        env={},
    )
    assert s.imports.chat_agent == "helper" and s.channels["telegram"].pin_sessions is True


async def test_repeated_compactions_never_nest_the_prefix(hub: Hub) -> None:
    """Each extractive summary folds the previous one in once: no `Earlier: Earlier: …`."""
    s = await hub.create_session()
    for round_ in range(4):
        await hub.add_messages(
            s.id,
            [
                {"role": "user", "content": f"question {round_}"},
                {"role": "assistant", "content": f"answer {round_}"},
            ],
        )
        record = await hub.compact(s.id)
        assert record is not None and record.method == "extractive"
        assert record.text.count("Earlier:") == (1 if round_ else 0), record.text
    assert "question 0" in record.text and "answer 3" in record.text
