"""Settings: ``sessionhub.toml`` plus ``SESSIONHUB_*`` environment variables, read once.

Only the edges (CLI, server start, ``sessionhub.open(config=...)``) call :func:`load_settings`;
the frozen :class:`Settings` then flows inward. A wrong value raises ``ConfigError`` whose
message names the key, e.g. ``server.port: must be an integer between 1 and 65535``.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .errors import ConfigError

DEFAULT_PORT = 8765
DEFAULT_MAX_BODY = 1024 * 1024
DEFAULT_REQUEST_TIMEOUT = 30.0
MIN_TOKEN_CHARS = 16


@dataclass(frozen=True, slots=True)
class AgentSettings:
    id: str
    provider: str = "echo"
    model: str = "echo"
    system_prompt: str = ""
    description: str = ""
    context: Mapping[str, Any] = field(default_factory=dict)
    # The models a chat user may pick with ``/new AGENT MODEL``; empty: only ``model``.
    models: tuple[str, ...] = ()

    def allows_model(self, model: str) -> bool:
        """True when a chat user may start this agent with ``model``."""
        return model == self.model or model in self.models


@dataclass(frozen=True, slots=True)
class ServerSettings:
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    tokens: Mapping[str, str] = field(default_factory=dict)  # bearer token -> user name
    timezone: str = "UTC"
    max_body_bytes: int = DEFAULT_MAX_BODY
    # Origins (scheme://host[:port]) besides the server's own that may open /ws and send
    # state-changing requests; ``*`` is refused (CONTRACT 11.1).
    allowed_origins: tuple[str, ...] = ()
    # Host names answered besides the loopback ones when the server has no tokens.
    allowed_hosts: tuple[str, ...] = ()
    # Seconds a client has to send a request's headers, and then its body (slowloris).
    request_timeout_seconds: float = DEFAULT_REQUEST_TIMEOUT


@dataclass(frozen=True, slots=True)
class CommandSettings:
    """``[commands]``: what chat users may change with chat commands."""

    allow_scope_change: bool = False
    # Senders who may always run the restricted commands, written like identity links:
    # ``"telegram:123"`` (one channel) or ``"u123"`` (any channel); case-insensitive.
    admins: tuple[str, ...] = ()

    def is_admin(self, channel: str | None, sender: str | None) -> bool:
        if not sender:
            return False
        sender = sender.lower()
        for entry in self.admins:
            scope, sep, ident = entry.lower().rpartition(":")
            if (sep and ident == sender and scope == (channel or "").lower()) or (
                not sep and ident == sender
            ):
                return True
        return False


@dataclass(frozen=True, slots=True)
class ImportSettings:
    """``[import]``: sessions migrated from other assistants (CONTRACT 11.2)."""

    # The agent that answers in an imported session whose provider is not configured
    # (None: the default agent).
    chat_agent: str | None = None


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str | None = None
    server: ServerSettings = field(default_factory=ServerSettings)
    title_max_chars: int = 60
    max_message_chars: int = 200_000
    agents: tuple[AgentSettings, ...] = (AgentSettings(id="main"),)
    providers: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    session: Mapping[str, Any] = field(default_factory=dict)
    dispatch: Mapping[str, Any] = field(default_factory=dict)
    tasks: tuple[Mapping[str, Any], ...] = ()
    triggers: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    # [channels.NAME]: webhook options, e.g. slack signing_secret, telegram secret_token, user
    channels: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    retention: Mapping[str, Any] = field(default_factory=dict)
    encryption: Mapping[str, Any] = field(default_factory=dict)
    commands: CommandSettings = field(default_factory=CommandSettings)
    imports: ImportSettings = field(default_factory=ImportSettings)
    source: Path | None = None

    def agent(self, agent_id: str) -> AgentSettings | None:
        for a in self.agents:
            if a.id == agent_id:
                return a
        return None

    @property
    def default_agent(self) -> AgentSettings:
        return self.agents[0]


def _table(data: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = data.get(name, {})
    if not isinstance(value, Mapping):
        raise ConfigError(f"{name}: must be a table")
    return value


def _int(value: Any, name: str, lo: int, hi: int) -> int:
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise ConfigError(f"{name}: must be an integer between {lo} and {hi}")
    return value


def _seconds(value: Any, name: str, lo: float, hi: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not lo <= value <= hi:
        raise ConfigError(f"{name}: must be a number of seconds between {lo:g} and {hi:g}")
    return float(value)


def _str(value: Any, name: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{name}: must be a non-empty string")
    return value


def check_timezone(value: Any, name: str) -> str:
    tz = _str(value, name)
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ConfigError(f"{name}: unknown timezone {tz!r}") from None
    return tz


def _agents(raw: Any) -> tuple[AgentSettings, ...]:
    if raw is None:
        return (AgentSettings(id="main"),)
    if not isinstance(raw, list) or not raw:
        raise ConfigError("agents: must be a non-empty array of tables ([[agents]])")
    out: list[AgentSettings] = []
    for i, a in enumerate(raw):
        where = f"agents[{i}]"
        if not isinstance(a, Mapping):
            raise ConfigError(f"{where}: must be a table")
        unknown = set(a) - {"id", "provider", "model", "models", "system_prompt", "description", "context"}
        if unknown:
            raise ConfigError(f"{where}.{sorted(unknown)[0]}: unknown key")
        agent_id = _str(a.get("id"), f"{where}.id")
        if any(x.id == agent_id for x in out):
            raise ConfigError(f"{where}.id: duplicate agent id {agent_id!r}")
        context = a.get("context", {})
        if not isinstance(context, Mapping):
            raise ConfigError(f"{where}.context: must be a table")
        out.append(
            AgentSettings(
                id=agent_id,
                provider=_str(a.get("provider", "echo"), f"{where}.provider"),
                model=_str(a.get("model", "echo"), f"{where}.model"),
                system_prompt=str(a.get("system_prompt", "")),
                description=str(a.get("description", "")),
                context=dict(context),
                models=_str_list(a.get("models", []), f"{where}.models"),
            )
        )
    return tuple(out)


def _str_list(raw: Any, name: str) -> tuple[str, ...]:
    if not isinstance(raw, list | tuple) or not all(isinstance(v, str) and v.strip() for v in raw):
        raise ConfigError(f"{name}: must be an array of non-empty strings")
    return tuple(raw)


def _origins(raw: Any, name: str) -> tuple[str, ...]:
    out: list[str] = []
    for value in _str_list(raw, name):
        origin = value.strip().rstrip("/").lower()
        scheme, sep, rest = origin.partition("://")
        if origin == "*" or not sep or scheme not in ("http", "https") or not rest or "/" in rest:
            raise ConfigError(f"{name}: {value!r} is not an origin like https://app.example.com[:port]")
        out.append(origin)
    return tuple(out)


def _commands(raw: Mapping[str, Any]) -> CommandSettings:
    unknown = set(raw) - {"allow_scope_change", "admins"}
    if unknown:
        raise ConfigError(f"commands.{sorted(unknown)[0]}: unknown key")
    allow = raw.get("allow_scope_change", False)
    if not isinstance(allow, bool):
        raise ConfigError("commands.allow_scope_change: must be true or false")
    return CommandSettings(
        allow_scope_change=allow, admins=_str_list(raw.get("admins", []), "commands.admins")
    )


def _imports(raw: Mapping[str, Any], agents: tuple[AgentSettings, ...]) -> ImportSettings:
    unknown = set(raw) - {"chat_agent"}
    if unknown:
        raise ConfigError(f"import.{sorted(unknown)[0]}: unknown key")
    chat_agent = raw.get("chat_agent")
    if chat_agent is not None:
        _str(chat_agent, "import.chat_agent")
        if all(a.id != chat_agent for a in agents):
            raise ConfigError(f"import.chat_agent: no such agent {chat_agent!r}")
    return ImportSettings(chat_agent=chat_agent)


def _tokens(raw: Any) -> dict[str, str]:
    if not isinstance(raw, Mapping):
        raise ConfigError('server.tokens: must be a table of token = "user"')
    out: dict[str, str] = {}
    for token, user in raw.items():
        if not isinstance(token, str) or len(token) < MIN_TOKEN_CHARS:
            raise ConfigError(
                f"server.tokens: each token must be a string of at least {MIN_TOKEN_CHARS} characters"
            )
        out[token] = _str(user, "server.tokens.<token>")
    return out


def _channels(raw: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for name, table in raw.items():
        if not isinstance(table, Mapping):
            raise ConfigError(f"channels.{name}: must be a table")
        for key in ("signing_secret", "secret_token", "user", "bot_id", "account"):
            if key in table:
                _str(table[key], f"channels.{name}.{key}")
        if not isinstance(table.get("pin_sessions", False), bool):
            raise ConfigError(f"channels.{name}.pin_sessions: must be true or false")
        out[name] = dict(table)
    return out


def settings_from_mapping(data: Mapping[str, Any], env: Mapping[str, str] | None = None) -> Settings:
    """Build settings from a parsed TOML mapping and environment overrides."""
    env = os.environ if env is None else env
    known = {
        "database", "server", "session", "agents", "providers", "dispatch", "tasks",
        "triggers", "retention", "encryption", "limits", "channels", "commands", "import",
    }  # fmt: skip
    for key in data:
        if key not in known:
            raise ConfigError(f"{key}: unknown section")
    database = _table(data, "database")
    server = _table(data, "server")
    session = _table(data, "session")
    limits = _table(data, "limits")

    url = env.get("SESSIONHUB_DATABASE_URL") or database.get("url")
    if url is not None and not isinstance(url, str):
        raise ConfigError("database.url: must be a string")
    tokens = _tokens(server.get("tokens", {}))
    if env.get("SESSIONHUB_TOKEN"):
        if len(env["SESSIONHUB_TOKEN"]) < MIN_TOKEN_CHARS:
            raise ConfigError(f"SESSIONHUB_TOKEN: must be at least {MIN_TOKEN_CHARS} characters")
        tokens[env["SESSIONHUB_TOKEN"]] = "default"
    srv = ServerSettings(
        host=_str(env.get("SESSIONHUB_HOST", server.get("host", "127.0.0.1")), "server.host"),
        port=_int(env.get("SESSIONHUB_PORT", server.get("port", DEFAULT_PORT)), "server.port", 1, 65535),
        tokens=tokens,
        timezone=check_timezone(
            env.get("SESSIONHUB_TIMEZONE", server.get("timezone", "UTC")), "server.timezone"
        ),
        max_body_bytes=_int(
            env.get("SESSIONHUB_MAX_BODY_BYTES", server.get("max_body_bytes", DEFAULT_MAX_BODY)),
            "server.max_body_bytes",
            1024,
            1024**3,
        ),
        allowed_origins=_origins(server.get("allowed_origins", []), "server.allowed_origins"),
        allowed_hosts=tuple(
            h.lower() for h in _str_list(server.get("allowed_hosts", []), "server.allowed_hosts")
        ),
        request_timeout_seconds=_seconds(
            server.get("request_timeout_seconds", DEFAULT_REQUEST_TIMEOUT),
            "server.request_timeout_seconds",
            0.1,
            3600,
        ),
    )
    providers = _table(data, "providers")
    triggers = _table(data, "triggers")
    for name, spec in triggers.items():
        if isinstance(spec, Mapping) and not isinstance(spec.get("pin", False), bool):
            raise ConfigError(f"triggers.{name}.pin: must be true or false")
    tasks = data.get("tasks", [])
    if not isinstance(tasks, list) or not all(isinstance(t, Mapping) for t in tasks):
        raise ConfigError("tasks: must be an array of tables ([[tasks]])")
    encryption = dict(_table(data, "encryption"))
    agents = _agents(data.get("agents"))
    if env.get("SESSIONHUB_ENCRYPTION_KEY_ENV"):
        encryption["key_env"] = env["SESSIONHUB_ENCRYPTION_KEY_ENV"]
    return Settings(
        database_url=url,
        server=srv,
        title_max_chars=_int(session.get("title_max_chars", 60), "session.title_max_chars", 10, 500),
        max_message_chars=_int(
            limits.get("max_message_chars", 200_000), "limits.max_message_chars", 1, 50_000_000
        ),
        agents=agents,
        providers={k: dict(v) for k, v in providers.items() if isinstance(v, Mapping)},
        session=dict(session),
        dispatch=dict(_table(data, "dispatch")),
        tasks=tuple(dict(t) for t in tasks),
        triggers={k: dict(v) for k, v in triggers.items() if isinstance(v, Mapping)},
        channels=_channels(_table(data, "channels")),
        retention=dict(_table(data, "retention")),
        encryption=encryption,
        commands=_commands(_table(data, "commands")),
        imports=_imports(_table(data, "import"), agents),
    )


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
    if chosen is not None:
        from dataclasses import replace

        settings = replace(settings, source=chosen)
    return settings
