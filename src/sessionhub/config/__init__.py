"""Settings: ``sessionhub.toml`` plus ``SESSIONHUB_*`` environment variables, parsed once.

Only the edges (CLI, server start, ``sessionhub.open(config=...)``) call :func:`load_settings`;
the frozen, typed :class:`Settings` then flows inward and no consumer checks a value again.
Every table of the file is a :class:`~sessionhub.section.Section` (a frozen pydantic model
that refuses unknown keys); a wrong value raises ``ConfigError`` whose one-line message
names the key, e.g. ``server.port: must be an integer between 1 and 65535``.

Where the sections live: the edge's own in ``config/server.py``; agents, providers, tasks
and triggers in ``config/agents.py``; channels, retention and encryption in
``config/data.py``; ``[session]`` and ``[dispatch]`` in ``routing/settings.py`` and
``[agents.context]`` in ``context/settings.py`` (they need those packages' vocabularies).
Adding a section: one ``Section`` subclass and one field of :class:`Settings` below (plus
its row in docs/configuration.md).
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, model_validator

from ..errors import ConfigError
from ..routing.settings import DispatchRule, DispatchSettings, ResetSettings, SessionSettings
from ..section import Section, fail
from ..usage import Price
from .agents import (
    BUILTIN_PROVIDERS,
    DEFAULT_OPENAI_URL,
    RETENTION_TASK,
    AgentSettings,
    EchoProviderSettings,
    OpenAIProviderSettings,
    ProviderSettings,
    TaskSettings,
    TriggerSettings,
    implicit_provider,
    implicit_types,
)
from .data import ChannelSettings, EncryptionSettings, RetentionSettings, SearchSettings
from .server import (
    DEFAULT_MAX_BODY,
    DEFAULT_PORT,
    DEFAULT_REQUEST_TIMEOUT,
    MIN_TOKEN_CHARS,
    CommandSettings,
    DatabaseSettings,
    LimitsSettings,
    ServerSettings,
)

#: Environment variables that override one key each: variable -> (section, key).
ENV_OVERRIDES: dict[str, tuple[str, str]] = {
    "SESSIONHUB_DATABASE_URL": ("database", "url"),
    "SESSIONHUB_HOST": ("server", "host"),
    "SESSIONHUB_PORT": ("server", "port"),
    "SESSIONHUB_TIMEZONE": ("server", "timezone"),
    "SESSIONHUB_MAX_BODY_BYTES": ("server", "max_body_bytes"),
    "SESSIONHUB_ENCRYPTION_KEY_ENV": ("encryption", "key_env"),
    "SESSIONHUB_SEARCH_MODE": ("search", "mode"),
}
_FLAGS = {
    "1": True,
    "true": True,
    "yes": True,
    "on": True,
    "0": False,
    "false": False,
    "no": False,
    "off": False,
}


def _agents(value: Any) -> Any:
    if not isinstance(value, list | tuple) or not value:
        raise fail("must be a non-empty array of tables ([[agents]])")
    return value


def _array_of_tables(name: str) -> BeforeValidator:
    def check(value: Any) -> Any:
        if not isinstance(value, list | tuple):
            raise fail(f"must be an array of tables ([[{name}]])")
        return value

    return BeforeValidator(check)


class Settings(Section):
    """The whole configuration: one field per ``sessionhub.toml`` section."""

    unknown_word = "unknown section"

    database: DatabaseSettings = DatabaseSettings()
    server: ServerSettings = ServerSettings()
    session: SessionSettings = SessionSettings()
    agents: Annotated[tuple[AgentSettings, ...], BeforeValidator(_agents)] = (AgentSettings(id="main"),)
    providers: Annotated[dict[str, ProviderSettings], BeforeValidator(implicit_types)] = Field(
        default_factory=dict
    )
    dispatch: DispatchSettings = DispatchSettings()
    tasks: Annotated[tuple[TaskSettings, ...], _array_of_tables("tasks")] = ()
    triggers: dict[str, TriggerSettings] = Field(default_factory=dict)
    channels: dict[str, ChannelSettings] = Field(default_factory=dict)
    retention: RetentionSettings = RetentionSettings()
    encryption: EncryptionSettings = EncryptionSettings()
    limits: LimitsSettings = LimitsSettings()
    commands: CommandSettings = CommandSettings()
    search: SearchSettings = SearchSettings()
    # [pricing."MODEL"]: cost per million input and output tokens, for usage reports.
    pricing: dict[str, Price] = Field(default_factory=dict)
    # The file these settings were read from (not a key of the file).
    source: Path | None = Field(default=None, exclude=True)

    @model_validator(mode="after")
    def _names_exist(self) -> Settings:
        """Cross-section checks: every name points at something that exists."""
        known: list[str] = []
        for i, agent in enumerate(self.agents):
            if agent.id in known:
                raise ConfigError(f"agents[{i}].id: duplicate agent id {agent.id!r}")
            known.append(agent.id)
            if agent.provider not in self.providers and agent.provider not in BUILTIN_PROVIDERS:
                raise ConfigError(
                    f"agents[{i}].provider: no such provider {agent.provider!r} "
                    f"(add a [providers.{agent.provider}] table with type = echo or openai)"
                )

        def check(where: str, name: str | None) -> None:
            if name is not None and name not in known:
                raise ConfigError(f"{where}: unknown agent {name!r} (known: {', '.join(known)})")

        for i, rule in enumerate(self.dispatch.rules):
            check(f"dispatch.rules[{i}].agent", rule.agent)
            for other in rule.agents:
                check(f"dispatch.rules[{i}].agents", other)
        names: set[str] = set()
        for i, task in enumerate(self.tasks):
            if task.name in names:
                raise ConfigError(f"tasks[{i}].name: duplicate task name {task.name!r}")
            names.add(task.name)
            check(f"tasks[{i}].agent", task.agent)
        for name, trigger in self.triggers.items():
            check(f"triggers.{name}.agent", trigger.agent)
        return self

    # -- shorthands ---------------------------------------------------------------------

    @property
    def database_url(self) -> str | None:
        return self.database.url

    @property
    def title_max_chars(self) -> int:
        return self.session.title_max_chars

    @property
    def max_message_chars(self) -> int:
        return self.limits.max_message_chars

    def agent(self, agent_id: str) -> AgentSettings | None:
        for a in self.agents:
            if a.id == agent_id:
                return a
        return None

    @property
    def default_agent(self) -> AgentSettings:
        return self.agents[0]

    def provider(self, name: str) -> EchoProviderSettings | OpenAIProviderSettings | None:
        """The ``[providers.NAME]`` table, or the built-in ``echo`` / ``openai``; None if neither."""
        table = self.providers.get(name)
        if isinstance(table, EchoProviderSettings | OpenAIProviderSettings):
            return table
        return implicit_provider(name)

    def channel(self, name: str) -> ChannelSettings:
        """``[channels.NAME]``, or the defaults for a channel without a table."""
        return self.channels.get(name) or ChannelSettings()

    @property
    def reset_timezone(self) -> str:
        """``[session.reset] timezone``, else ``[server] timezone``."""
        return self.session.reset.timezone or self.server.timezone


def _with_env(data: Mapping[str, Any], env: Mapping[str, str]) -> dict[str, Any]:
    """``data`` with the ``SESSIONHUB_*`` overrides applied (sections copied, never changed)."""
    out = dict(data)

    def section(name: str) -> dict[str, Any] | None:
        table = out.get(name, {})
        if not isinstance(table, Mapping):
            return None  # the section's own error says it must be a table
        copied = out[name] = dict(table)
        return copied

    for variable, (name, key) in ENV_OVERRIDES.items():
        if env.get(variable):
            table = section(name)
            if table is not None:
                table[key] = env[variable]
    if "SESSIONHUB_SEARCH_SEMANTIC" in env:
        flag = _FLAGS.get(env["SESSIONHUB_SEARCH_SEMANTIC"].strip().lower())
        if flag is None:
            raise ConfigError("SESSIONHUB_SEARCH_SEMANTIC: must be 1 or 0 (true or false)")
        table = section("search")
        if table is not None:
            table["semantic"] = flag
    token = env.get("SESSIONHUB_TOKEN")
    if token:
        if len(token) < MIN_TOKEN_CHARS:
            raise ConfigError(f"SESSIONHUB_TOKEN: must be at least {MIN_TOKEN_CHARS} characters")
        server = section("server")
        tokens = server.get("tokens", {}) if server is not None else None
        if server is not None and isinstance(tokens, Mapping):
            server["tokens"] = {**tokens, token: "default"}
    return out


def settings_from_mapping(data: Mapping[str, Any], env: Mapping[str, str] | None = None) -> Settings:
    """Build settings from a parsed TOML mapping and environment overrides."""
    env = os.environ if env is None else env
    if not isinstance(data, Mapping):
        raise ConfigError("configuration: must be a table")
    if "source" in data:
        raise ConfigError("source: unknown section")
    return Settings.parse(_with_env(data, env))


def load_settings(path: str | Path | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """Read ``path`` (or ``./sessionhub.toml`` / ``$SESSIONHUB_CONFIG`` when present) and the environment."""
    env = os.environ if env is None else env
    chosen: Path | None = None
    if path is not None:
        chosen = Path(path)
        if not chosen.is_file():
            raise ConfigError(f"config file not found: {chosen}")
    elif env.get("SESSIONHUB_CONFIG"):
        chosen = Path(env["SESSIONHUB_CONFIG"])
        if not chosen.is_file():
            raise ConfigError(f"SESSIONHUB_CONFIG: file not found: {chosen}")
    elif Path("sessionhub.toml").is_file():
        chosen = Path("sessionhub.toml")
    data: Mapping[str, Any] = {}
    if chosen is not None:
        try:
            data = tomllib.loads(chosen.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{chosen}: not valid TOML: {exc}") from None
    settings = settings_from_mapping(data, env)
    return settings.replace(source=chosen) if chosen is not None else settings


__all__ = [
    "DEFAULT_MAX_BODY",
    "DEFAULT_OPENAI_URL",
    "DEFAULT_PORT",
    "DEFAULT_REQUEST_TIMEOUT",
    "ENV_OVERRIDES",
    "MIN_TOKEN_CHARS",
    "RETENTION_TASK",
    "AgentSettings",
    "ChannelSettings",
    "CommandSettings",
    "DatabaseSettings",
    "DispatchRule",
    "DispatchSettings",
    "EchoProviderSettings",
    "EncryptionSettings",
    "LimitsSettings",
    "OpenAIProviderSettings",
    "ProviderSettings",
    "ResetSettings",
    "RetentionSettings",
    "SearchSettings",
    "ServerSettings",
    "SessionSettings",
    "Settings",
    "TaskSettings",
    "TriggerSettings",
    "implicit_provider",
    "load_settings",
    "settings_from_mapping",
]
