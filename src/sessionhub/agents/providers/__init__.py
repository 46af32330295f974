"""Model providers, built from ``[providers.NAME]`` tables.

    [providers.echo]                      # built in; these are the defaults
    type = "echo"
    words_per_chunk = 3
    delay_ms = 30

    [providers.openrouter]
    type = "openai"                       # any OpenAI-compatible endpoint
    base_url = "https://openrouter.ai/api/v1"
    api_key_env = "OPENROUTER_API_KEY"    # the key is read from this variable, never from the file
    timeout = 60                          # seconds of silence before giving up (read timeout)
    connect_timeout = 10
    max_retries = 3                       # on 429/5xx/network errors, before anything streamed
    include_usage = true                  # send stream_options.include_usage (turn off for old servers)
    headers = {"X-Title" = "my bot"}      # extra request headers
    extra_body = {"temperature" = 0.2}    # merged into every request body

A name with no table: ``echo`` is the echo provider with defaults and ``openai`` is the
OpenAI API with ``OPENAI_API_KEY``; any other name is a ``ConfigError``. Every bad value
raises ``ConfigError`` naming ``providers.NAME.KEY``.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from ...errors import ConfigError
from .base import Done, Provider, ProviderError, ProviderEvent, TextDelta, ToolCallEvent, UsageEvent
from .echo import EchoProvider
from .openai import DEFAULT_BASE_URL, OpenAIProvider
from .scripted import ScriptedProvider

_ECHO_KEYS = frozenset({"type", "words_per_chunk", "delay_ms"})
_OPENAI_KEYS = frozenset(
    {
        "type",
        "base_url",
        "api_key_env",
        "timeout",
        "connect_timeout",
        "max_retries",
        "include_usage",
        "headers",
        "extra_body",
    }
)
_IMPLICIT: dict[str, dict[str, Any]] = {
    "echo": {"type": "echo"},
    "openai": {"type": "openai", "base_url": DEFAULT_BASE_URL, "api_key_env": "OPENAI_API_KEY"},
}


def _int(table: Mapping[str, Any], key: str, where: str, default: int, lo: int, hi: int) -> int:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise ConfigError(f"{where}.{key}: must be an integer between {lo} and {hi}")
    return value


def _number(table: Mapping[str, Any], key: str, where: str, default: float, lo: float, hi: float) -> float:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not lo <= value <= hi:
        raise ConfigError(f"{where}.{key}: must be a number between {lo:g} and {hi:g}")
    return float(value)


def _str_table(table: Mapping[str, Any], key: str, where: str) -> dict[str, str]:
    value = table.get(key, {})
    if not isinstance(value, Mapping) or not all(isinstance(v, str) for v in value.values()):
        raise ConfigError(f"{where}.{key}: must be a table of strings")
    return {str(k): v for k, v in value.items()}


def _check_keys(table: Mapping[str, Any], allowed: frozenset[str], where: str) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise ConfigError(f"{where}.{unknown[0]}: unknown key")


def _openai(name: str, table: Mapping[str, Any], env: Mapping[str, str], where: str) -> OpenAIProvider:
    _check_keys(table, _OPENAI_KEYS, where)
    base_url = table.get("base_url", DEFAULT_BASE_URL)
    if not isinstance(base_url, str) or not base_url.startswith(("http://", "https://")):
        raise ConfigError(f"{where}.base_url: must be an http:// or https:// URL")
    key_env = table.get("api_key_env")
    api_key = None
    if key_env is not None:
        if not isinstance(key_env, str) or not key_env.strip():
            raise ConfigError(f"{where}.api_key_env: must be the name of an environment variable")
        api_key = env.get(key_env)
        if not api_key:
            raise MissingAPIKey(f"{where}.api_key_env: environment variable {key_env} is not set")
    include_usage = table.get("include_usage", True)
    if not isinstance(include_usage, bool):
        raise ConfigError(f"{where}.include_usage: must be true or false")
    extra_body = table.get("extra_body", {})
    if not isinstance(extra_body, Mapping):
        raise ConfigError(f"{where}.extra_body: must be a table")
    return OpenAIProvider(
        name=name,
        base_url=base_url,
        api_key=api_key,
        api_key_env=key_env,
        timeout=_number(table, "timeout", where, 60.0, 0.1, 3600.0),
        connect_timeout=_number(table, "connect_timeout", where, 10.0, 0.1, 600.0),
        max_retries=_int(table, "max_retries", where, 3, 0, 10),
        include_usage=include_usage,
        headers=_str_table(table, "headers", where),
        extra_body=extra_body,
    )


class MissingAPIKey(ConfigError):
    """A provider's API key variable is not set (a warning for providers no agent uses)."""


def build_provider(
    name: str, providers: Mapping[str, Mapping[str, Any]] | None = None, env: Mapping[str, str] | None = None
) -> Provider:
    """The provider called ``name`` from the ``[providers]`` tables (``Settings.providers``).

    ``env`` is where ``api_key_env`` variables are looked up (pass ``os.environ`` at the edge).
    """
    where = f"providers.{name}"
    table = (providers or {}).get(name)
    if table is None:
        table = _IMPLICIT.get(name)
        if table is None:
            raise ConfigError(f"{where}: no such provider (add a [{where}] table with type = echo or openai)")
    if not isinstance(table, Mapping):
        raise ConfigError(f"{where}: must be a table")
    kind = table.get("type", "echo" if name == "echo" else "openai" if "base_url" in table else None)
    if kind == "echo":
        _check_keys(table, _ECHO_KEYS, where)
        return EchoProvider(
            words_per_chunk=_int(table, "words_per_chunk", where, 3, 1, 10_000),
            delay_ms=_int(table, "delay_ms", where, 30, 0, 60_000),
        )
    if kind == "openai":
        return _openai(name, table, env or {}, where)
    raise ConfigError(f"{where}.type: must be 'echo' or 'openai'")


class ProviderSet:
    """Providers by name, built on first use and reused; ``check`` builds them all at start-up."""

    def __init__(
        self, providers: Mapping[str, Mapping[str, Any]] | None = None, env: Mapping[str, str] | None = None
    ) -> None:
        self._tables = dict(providers or {})
        self._env = dict(env or {})
        self._built: dict[str, Provider] = {}

    def add(self, name: str, provider: Provider) -> None:
        """Use ``provider`` (any object with the Provider methods) for ``name``."""
        self._built[name] = provider

    def get(self, name: str) -> Provider:
        if name not in self._built:
            self._built[name] = build_provider(name, self._tables, self._env)
        return self._built[name]

    def check(
        self, names: list[str] | None = None, *, lenient: Collection[str] = ()
    ) -> list[tuple[str, str]]:
        """Build every configured provider (and ``names``) now, so a bad value stops start-up.

        A provider in ``lenient`` (one no agent uses) whose API key is missing does not stop
        it: it is returned as ``(name, problem)`` for the caller to warn about.
        """
        problems: list[tuple[str, str]] = []
        for name in [*self._tables, *(names or [])]:
            try:
                self.get(name)
            except MissingAPIKey as exc:
                if name not in lenient:
                    raise
                problems.append((name, exc.message))
        return problems

    async def aclose(self) -> None:
        for provider in self._built.values():
            await provider.aclose()


__all__ = [
    "Done",
    "EchoProvider",
    "MissingAPIKey",
    "OpenAIProvider",
    "Provider",
    "ProviderError",
    "ProviderEvent",
    "ProviderSet",
    "ScriptedProvider",
    "TextDelta",
    "ToolCallEvent",
    "UsageEvent",
    "build_provider",
]
