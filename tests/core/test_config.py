"""``config.py``: every section of ``sessionhub.toml`` parsed once into typed, frozen settings.

One row per bad value per section: the error is ``ConfigError``, one line, and starts with
exactly the dotted key that is wrong (CONTRACT §10). Then good files round-trip, the
environment overrides what it promises, and the settings cannot be changed in place.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pydantic
import pytest

from sessionhub.config import (
    AgentSettings,
    EchoProviderSettings,
    OpenAIProviderSettings,
    ServerSettings,
    Settings,
    load_settings,
    settings_from_mapping,
)
from sessionhub.context import AgentContextSettings
from sessionhub.errors import ConfigError

TWO_AGENTS = [{"id": "main"}, {"id": "ops"}]
TASK = {"name": "t", "cron": "0 8 * * *", "prompt": "hi"}

BAD: list[tuple[dict[str, Any], str]] = [
    # top level
    ({"colour": {}}, "colour"),
    ({"source": "x"}, "source"),
    # [database]
    ({"database": "sqlite://"}, "database"),
    ({"database": {"url": 5}}, "database.url"),
    ({"database": {"path": "x"}}, "database.path"),
    # [server]
    ({"pricing": {"gpt-4o": 3}}, "pricing.gpt-4o"),
    ({"pricing": {"gpt-4o": {"input_per_million": -1, "output_per_million": 1}}}, "pricing.gpt-4o.input_per_million"),
    ({"pricing": {"gpt-4o": {"input_per_million": 1, "output_per_million": "x"}}}, "pricing.gpt-4o.output_per_million"),
    ({"pricing": {"gpt-4o": {"input_per_million": 1}}}, "pricing.gpt-4o.output_per_million"),
    ({"pricing": {"gpt-4o": {"input_per_million": 1, "output_per_million": 2, "cached": 1}}}, "pricing.gpt-4o.cached"),
    ({"server": {"port": 0}}, "server.port"),
    ({"server": {"port": 70000}}, "server.port"),
    ({"server": {"port": "http"}}, "server.port"),
    ({"server": {"port": True}}, "server.port"),
    ({"server": {"host": ""}}, "server.host"),
    ({"server": {"host": 1}}, "server.host"),
    ({"server": {"timezone": "Mars/Olympus"}}, "server.timezone"),
    ({"server": {"max_body_bytes": 10}}, "server.max_body_bytes"),
    ({"server": {"tokens": {"short": "alice"}}}, "server.tokens"),
    ({"server": {"tokens": {"a-long-enough-token-1": ""}}}, "server.tokens"),
    ({"server": {"tokens": ["a-long-enough-token-1"]}}, "server.tokens"),
    ({"server": {"allowed_origins": ["*"]}}, "server.allowed_origins"),
    ({"server": {"allowed_origins": ["ftp://x"]}}, "server.allowed_origins"),
    ({"server": {"allowed_origins": "https://x"}}, "server.allowed_origins"),
    ({"server": {"allowed_hosts": [""]}}, "server.allowed_hosts"),
    ({"server": {"request_timeout_seconds": 0}}, "server.request_timeout_seconds"),
    ({"server": {"request_timeout_seconds": "30"}}, "server.request_timeout_seconds"),
    ({"server": {"portt": 1}}, "server.portt"),
    # [session] and [session.reset]
    ({"session": {"scope": "global"}}, "session.scope"),
    ({"session": {"dimensions": ["chat", "thread"]}}, "session.dimensions"),
    ({"session": {"dimensions": ["chat", "chat"]}}, "session.dimensions"),
    ({"session": {"dimensions": "chat"}}, "session.dimensions"),
    ({"session": {"identity_links": {"alice": "telegram:1"}}}, "session.identity_links.alice"),
    ({"session": {"identity_links": {"a": ["x"], "b": ["X"]}}}, "session.identity_links"),
    ({"session": {"identity_links": []}}, "session.identity_links"),
    ({"session": {"title_max_chars": 5}}, "session.title_max_chars"),
    ({"session": {"colour": 1}}, "session.colour"),
    ({"session": {"reset": {"mode": "weekly"}}}, "session.reset.mode"),
    ({"session": {"reset": {"at_hour": 24}}}, "session.reset.at_hour"),
    ({"session": {"reset": {"idle_minutes": 0}}}, "session.reset.idle_minutes"),
    ({"session": {"reset": {"timezone": "Nowhere/City"}}}, "session.reset.timezone"),
    ({"session": {"reset": {"when": 1}}}, "session.reset.when"),
    ({"session": {"reset": "daily"}}, "session.reset"),
    # [[agents]] and [agents.context]
    ({"agents": []}, "agents"),
    ({"agents": {"id": "main"}}, "agents"),
    ({"agents": [{"provider": "echo"}]}, "agents[0].id"),
    ({"agents": [{"id": ""}]}, "agents[0].id"),
    ({"agents": [{"id": "a"}, {"id": "a"}]}, "agents[1].id"),
    ({"agents": [{"id": "a", "model": ""}]}, "agents[0].model"),
    ({"agents": [{"id": "a", "provider": "nowhere"}]}, "agents[0].provider"),
    ({"agents": [{"id": "a", "models": "gpt"}]}, "agents[0].models"),
    ({"agents": [{"id": "a", "system_prompt": 3}]}, "agents[0].system_prompt"),
    ({"agents": [{"id": "a", "temperature": 1}]}, "agents[0].temperature"),
    ({"agents": [{"id": "a", "context": []}]}, "agents[0].context"),
    ({"agents": [{"id": "a", "context": {"max_tokens": 10}}]}, "agents[0].context.max_tokens"),
    ({"agents": [{"id": "a", "context": {"window": 10}}]}, "agents[0].context.window"),
    ({"agents": [{"id": "a", "context": {"strategy": "newest"}}]}, "agents[0].context.strategy"),
    ({"agents": [{"id": "a", "context": {"summarize_token_percent": 120}}]}, "agents[0].context.summarize_token_percent"),
    ({"agents": [{"id": "a", "context": {"summarize_message_threshold": True}}]}, "agents[0].context.summarize_message_threshold"),
    ({"agents": [{"id": "a", "context": {"tokenizer": "bpe"}}]}, "agents[0].context.tokenizer"),
    ({"agents": [{"id": "a", "context": {"encoding": "p50k"}}]}, "agents[0].context.encoding"),
    ({"agents": [{"id": "a", "context": {"summary_max_chars": 10}}]}, "agents[0].context.summary_max_chars"),
    ({"agents": [{"id": "a", "context": {"colour": "red"}}]}, "agents[0].context.colour"),
    # [providers.NAME]
    ({"providers": []}, "providers"),
    ({"providers": {"x": "echo"}}, "providers.x"),
    ({"providers": {"x": {"type": "claude"}}}, "providers.x.type"),
    ({"providers": {"x": {}}}, "providers.x.type"),
    ({"providers": {"e": {"type": "echo", "words_per_chunk": 0}}}, "providers.e.words_per_chunk"),
    ({"providers": {"e": {"type": "echo", "delay_ms": "fast"}}}, "providers.e.delay_ms"),
    ({"providers": {"e": {"type": "echo", "colour": 1}}}, "providers.e.colour"),
    ({"providers": {"echo": {"base_url": "http://h"}}}, "providers.echo.base_url"),
    ({"providers": {"o": {"type": "openai", "base_url": "ftp://h"}}}, "providers.o.base_url"),
    ({"providers": {"o": {"base_url": "http://h", "api_key_env": ""}}}, "providers.o.api_key_env"),
    ({"providers": {"o": {"base_url": "http://h", "max_retries": -1}}}, "providers.o.max_retries"),
    ({"providers": {"o": {"base_url": "http://h", "timeout": 0}}}, "providers.o.timeout"),
    ({"providers": {"o": {"base_url": "http://h", "connect_timeout": 601}}}, "providers.o.connect_timeout"),
    ({"providers": {"o": {"base_url": "http://h", "include_usage": "yes"}}}, "providers.o.include_usage"),
    ({"providers": {"o": {"base_url": "http://h", "headers": {"X": 1}}}}, "providers.o.headers"),
    ({"providers": {"o": {"base_url": "http://h", "extra_body": []}}}, "providers.o.extra_body"),
    ({"providers": {"o": {"base_url": "http://h", "words_per_chunk": 1}}}, "providers.o.words_per_chunk"),
    # [dispatch] and [[dispatch.rules]]
    ({"dispatch": {"rules": {"agent": "main"}}}, "dispatch.rules"),
    ({"dispatch": {"routes": []}}, "dispatch.routes"),
    ({"dispatch": {"rules": [{"when": {}}]}}, "dispatch.rules[0].agent"),
    ({"dispatch": {"rules": [{"agent": "ghost"}]}}, "dispatch.rules[0].agent"),
    ({"dispatch": {"rules": [{"agent": "main", "agents": ["ghost"]}]}}, "dispatch.rules[0].agents"),
    ({"dispatch": {"rules": [{"agent": "main", "agents": "ops"}]}}, "dispatch.rules[0].agents"),
    ({"dispatch": {"rules": [{"agent": "main", "when": {"guild": "1"}}]}}, "dispatch.rules[0].when.guild"),
    ({"dispatch": {"rules": [{"agent": "main", "when": {"chat_type": "dm"}}]}}, "dispatch.rules[0].when.chat_type"),
    ({"dispatch": {"rules": [{"agent": "main", "when": {"channel": []}}]}}, "dispatch.rules[0].when.channel"),
    ({"dispatch": {"rules": [{"agent": "main", "when": {"sender": True}}]}}, "dispatch.rules[0].when.sender"),
    ({"dispatch": {"rules": [{"agent": "main"}, {"agent": "main", "session_dimensions": ["x"]}]}}, "dispatch.rules[1].session_dimensions"),
    ({"dispatch": {"rules": [{"agent": "main", "extra": 1}]}}, "dispatch.rules[0].extra"),
    # [commands]
    ({"commands": {"allow_scope_change": "yes"}}, "commands.allow_scope_change"),
    ({"commands": {"admins": "telegram:1"}}, "commands.admins"),
    ({"commands": {"admin": []}}, "commands.admin"),
    # [[tasks]]
    ({"tasks": {"name": "t"}}, "tasks"),
    ({"tasks": [{**TASK, "cron": "61 * * *"}]}, "tasks[0].cron"),
    ({"tasks": [{**TASK, "name": ""}]}, "tasks[0].name"),
    ({"tasks": [{**TASK, "name": "x" * 201}]}, "tasks[0].name"),
    ({"tasks": [{**TASK, "name": "__retention__"}]}, "tasks[0].name"),
    ({"tasks": [TASK, TASK]}, "tasks[1].name"),
    ({"tasks": [{**TASK, "prompt": " "}]}, "tasks[0].prompt"),
    ({"tasks": [{"name": "t", "cron": "* * * * *"}]}, "tasks[0].prompt"),
    ({"tasks": [{**TASK, "agent": "ghost"}]}, "tasks[0].agent"),
    ({"tasks": [{**TASK, "model": ""}]}, "tasks[0].model"),
    ({"tasks": [{**TASK, "sticky_session": 1}]}, "tasks[0].sticky_session"),
    ({"tasks": [{**TASK, "enabled": "no"}]}, "tasks[0].enabled"),
    ({"tasks": [{**TASK, "user": ""}]}, "tasks[0].user"),
    ({"tasks": [{**TASK, "every": "day"}]}, "tasks[0].every"),
    # [triggers.NAME]
    ({"triggers": {"deploy": {"agent": "ghost"}}}, "triggers.deploy.agent"),
    ({"triggers": {"deploy": {"prompt": 5}}}, "triggers.deploy.prompt"),
    ({"triggers": {"deploy": {"template": "x"}}}, "triggers.deploy.template"),
    ({"triggers": {"deploy": "x"}}, "triggers.deploy"),
    # [channels.NAME]
    ({"channels": {"telegram": {"secret_token": ""}}}, "channels.telegram.secret_token"),
    ({"channels": {"slack": {"signing_secret": 1}}}, "channels.slack.signing_secret"),
    ({"channels": {"slack": {"user": ""}}}, "channels.slack.user"),
    ({"channels": {"slack": {"api_base": "slack.com"}}}, "channels.slack.api_base"),
    ({"channels": {"slack": {"bot_token_env": ""}}}, "channels.slack.bot_token_env"),
    ({"channels": {"slack": {"webhook": "x"}}}, "channels.slack.webhook"),
    # [retention]
    ({"retention": {"auto_archive_after_days": -1}}, "retention.auto_archive_after_days"),
    ({"retention": {"delete_archived_after_days": "30"}}, "retention.delete_archived_after_days"),
    ({"retention": {"seen_events_days": 0}}, "retention.seen_events_days"),
    ({"retention": {"seen_events_max": 0}}, "retention.seen_events_max"),
    ({"retention": {"keep_days": 1}}, "retention.keep_days"),
    # [encryption]
    ({"encryption": {"key_env": ""}}, "encryption.key_env"),
    ({"encryption": {"key_file": 1}}, "encryption.key_file"),
    ({"encryption": {"key_env": "A", "key_file": "/k"}}, "encryption"),
    ({"encryption": {"previous_key_envs": [1]}}, "encryption.previous_key_envs"),
    ({"encryption": {"allow_open_key_file": "yes"}}, "encryption.allow_open_key_file"),
    ({"encryption": {"key": "abc"}}, "encryption.key"),
    # [limits]
    ({"limits": {"max_message_chars": 0}}, "limits.max_message_chars"),
    ({"limits": {"max_chars": 1}}, "limits.max_chars"),
]  # fmt: skip


@pytest.mark.parametrize(("data", "key"), BAD, ids=[f"{i}-{k}" for i, (_, k) in enumerate(BAD)])
def test_a_bad_value_names_its_key_in_one_line(data: dict[str, Any], key: str) -> None:
    """Each bad value: ConfigError, one line, starting with exactly ``key: ``."""
    data = {"agents": TWO_AGENTS, **data} if "agents" not in data else data
    with pytest.raises(ConfigError) as info:
        settings_from_mapping(data, {})
    message = info.value.message
    assert message.startswith(f"{key}: "), message
    assert "\n" not in message and len(message.split(": ", 1)[1]) > 5


@pytest.mark.parametrize(
    ("env", "key"),
    [
        ({"SESSIONHUB_PORT": "eighty"}, "server.port"),
        ({"SESSIONHUB_PORT": "0"}, "server.port"),
        ({"SESSIONHUB_MAX_BODY_BYTES": "12"}, "server.max_body_bytes"),
        ({"SESSIONHUB_TIMEZONE": "Atlantis/Capital"}, "server.timezone"),
        ({"SESSIONHUB_TOKEN": "short"}, "SESSIONHUB_TOKEN"),
    ],
)
def test_a_bad_environment_value_names_the_key_it_overrides(env: dict[str, str], key: str) -> None:
    with pytest.raises(ConfigError) as info:
        settings_from_mapping({}, env)
    assert info.value.message.startswith(f"{key}: ")


FULL = """
[database]
url = "sqlite:////tmp/x.db"

[server]
host = "0.0.0.0"
port = 9000
timezone = "Europe/Paris"
tokens = {"s3cret-token-alice-1" = "alice"}
allowed_origins = ["https://App.example.com/"]
allowed_hosts = ["Sessions.example.com"]
request_timeout_seconds = 5

[session]
dimensions = ["chat", "topic"]
identity_links = {alice = ["telegram:123"]}
title_max_chars = 80

[session.reset]
mode = "daily+idle"
at_hour = 5

[[agents]]
id = "main"
provider = "local"
model = "llama3.1"
models = ["llama3.1:70b"]
[agents.context]
window = 16000
strategy = "summarize"

[[agents]]
id = "ops"

[providers.local]
base_url = "http://127.0.0.1:11434/v1"
headers = {"X-Title" = "bot"}

[providers.echo]
delay_ms = 0

[[dispatch.rules]]
when = {channel = "slack", chat_type = ["group", "channel"]}
agent = "ops"
agents = ["main"]
session_dimensions = ["chat", "sender"]

[commands]
allow_scope_change = true
admins = ["telegram:123"]

[[tasks]]
name = "digest"
cron = "0 8 * * *"
prompt = "Summarise."
agent = "ops"
user = "alice"

[triggers.deploy]
prompt = "Deployed: {{payload}}"

[channels.telegram]
secret_token = "a-long-random-secret"

[retention]
auto_archive_after_days = 30
seen_events_days = 3

[encryption]
key_env = "SH_KEY"
previous_key_env = "SH_OLD"

[limits]
max_message_chars = 1000
"""


def test_a_full_file_round_trips(tmp_path: Path) -> None:
    """Every section of a complete file comes back typed, with its values and implied defaults."""
    path = tmp_path / "sessionhub.toml"
    path.write_text(FULL, encoding="utf-8")
    s = load_settings(path, env={})
    assert s.source == path and s.database_url == "sqlite:////tmp/x.db"
    assert (s.server.host, s.server.port, s.server.timezone) == ("0.0.0.0", 9000, "Europe/Paris")
    assert s.server.tokens == {"s3cret-token-alice-1": "alice"}
    assert s.server.allowed_origins == ("https://app.example.com",)
    assert s.server.allowed_hosts == ("sessions.example.com",)
    assert s.server.request_timeout_seconds == 5.0
    assert s.session.dimensions == ("chat", "topic") and s.title_max_chars == 80
    assert s.session.identity_links == {"alice": ("telegram:123",)}
    assert (s.session.reset.mode, s.session.reset.at_hour, s.reset_timezone) == (
        "daily+idle",
        5,
        "Europe/Paris",
    )
    main = s.default_agent
    assert (main.id, main.provider, main.models) == ("main", "local", ("llama3.1:70b",))
    assert main.context == AgentContextSettings(max_tokens=16000, strategy="summarize")
    assert s.agent("ops") is not None and s.agent("ops").context == AgentContextSettings()  # type: ignore[union-attr]
    local = s.providers["local"]
    assert isinstance(local, OpenAIProviderSettings) and local.headers == {"X-Title": "bot"}
    assert s.provider("echo") == EchoProviderSettings(delay_ms=0)
    assert s.provider("openai") == OpenAIProviderSettings(api_key_env="OPENAI_API_KEY")
    assert s.provider("nowhere") is None
    rule = s.dispatch.rules[0]
    assert rule.when.conditions() == {"channel": ("slack",), "chat_type": ("group", "channel")}
    assert (rule.agent, rule.agents, rule.session_dimensions) == ("ops", ("main",), ("chat", "sender"))
    assert s.commands.allow_scope_change and s.commands.is_admin("telegram", "123")
    task = s.tasks[0]
    assert (task.name, task.agent, task.user, task.enabled, task.sticky_session) == (
        "digest",
        "ops",
        "alice",
        True,
        False,
    )
    assert s.triggers["deploy"].prompt == "Deployed: {{payload}}" and s.triggers["deploy"].agent is None
    assert s.channel("telegram").secret_token == "a-long-random-secret"
    assert s.channel("slack").user == "default"
    assert (s.retention.auto_archive_after_days, s.retention.delete_archived_after_days) == (30.0, None)
    assert (s.retention.seen_events_days, s.retention.seen_events_max) == (3, 100_000)
    assert s.encryption.key_env == "SH_KEY" and s.encryption.previous_envs == ("SH_OLD",)
    assert s.max_message_chars == 1000


def test_no_file_gives_the_documented_defaults() -> None:
    s = settings_from_mapping({}, {})
    assert s == Settings()
    assert [a.id for a in s.agents] == ["main"] and s.default_agent.provider == "echo"
    assert (s.server.host, s.server.port, s.server.timezone) == ("127.0.0.1", 8765, "UTC")
    assert s.server.max_body_bytes == 1024 * 1024 and s.title_max_chars == 60
    assert s.session.dimensions == ("chat",) and s.session.reset.mode == "none"
    assert s.database_url is None and s.max_message_chars == 200_000


def test_environment_overrides_the_file() -> None:
    """Each ``SESSIONHUB_*`` variable replaces its key; the token is added for user default."""
    data = {
        "server": {"port": 1234, "tokens": {"file-token-for-bob-1": "bob"}},
        "database": {"url": "sqlite://"},
    }
    env = {
        "SESSIONHUB_DATABASE_URL": "postgresql://h/db",
        "SESSIONHUB_HOST": "0.0.0.0",
        "SESSIONHUB_PORT": "9999",
        "SESSIONHUB_TIMEZONE": "Asia/Tokyo",
        "SESSIONHUB_MAX_BODY_BYTES": "2048",
        "SESSIONHUB_TOKEN": "env-token-of-default-1",
        "SESSIONHUB_ENCRYPTION_KEY_ENV": "MY_KEY",
    }
    s = settings_from_mapping(data, env)
    assert s.database_url == "postgresql://h/db"
    assert (s.server.host, s.server.port, s.server.timezone, s.server.max_body_bytes) == (
        "0.0.0.0",
        9999,
        "Asia/Tokyo",
        2048,
    )
    assert s.server.tokens == {"file-token-for-bob-1": "bob", "env-token-of-default-1": "default"}
    assert s.encryption.key_env == "MY_KEY"
    assert data == {
        "server": {"port": 1234, "tokens": {"file-token-for-bob-1": "bob"}},
        "database": {"url": "sqlite://"},
    }


def test_config_file_from_the_environment(tmp_path: Path) -> None:
    path = tmp_path / "other.toml"
    path.write_text("[server]\nport = 4321\n", encoding="utf-8")
    assert load_settings(env={"SESSIONHUB_CONFIG": str(path)}).server.port == 4321
    with pytest.raises(ConfigError, match=r"^SESSIONHUB_CONFIG: file not found"):
        load_settings(env={"SESSIONHUB_CONFIG": str(tmp_path / "none.toml")})
    with pytest.raises(ConfigError, match=r"^config file not found"):
        load_settings(tmp_path / "none.toml", env={})
    broken = tmp_path / "broken.toml"
    broken.write_text("[server\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(broken, env={})


def test_settings_are_frozen_and_replace_validates() -> None:
    """No section changes in place; ``replace`` gives a checked copy."""
    s = Settings()
    with pytest.raises(pydantic.ValidationError):
        s.server.port = 1  # type: ignore[misc]
    moved = s.replace(server=ServerSettings(port=9000))
    assert moved.server.port == 9000 and s.server.port == 8765
    with pytest.raises(ConfigError, match=r"^server\.port: "):
        s.replace(server={"port": -1})
    with pytest.raises(ConfigError, match=r"^port: "):
        ServerSettings(port=-1)
    with pytest.raises(ConfigError, match=r"^agents\[1\]\.context\.strategy: "):
        Settings(agents=(AgentSettings(id="a"), {"id": "b", "context": {"strategy": "x"}}))
