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
OpenAI API with ``OPENAI_API_KEY``. The tables are parsed (and every bad value named as
``providers.NAME.KEY``) by ``config/agents.py``; building a provider only reads the API key
from the environment.
"""

from __future__ import annotations

from collections.abc import Mapping

from ...config import EchoProviderSettings, OpenAIProviderSettings, ProviderSettings, implicit_provider
from ...errors import ConfigError
from .base import Done, Provider, ProviderError, ProviderEvent, TextDelta, ToolCallEvent, UsageEvent
from .echo import EchoProvider
from .openai import DEFAULT_BASE_URL, OpenAIProvider
from .scripted import ScriptedProvider


def _openai(name: str, settings: OpenAIProviderSettings, env: Mapping[str, str]) -> OpenAIProvider:
    api_key = None
    if settings.api_key_env is not None:
        api_key = env.get(settings.api_key_env)
        if not api_key:
            raise ConfigError(
                f"providers.{name}.api_key_env: environment variable {settings.api_key_env} is not set"
            )
    return OpenAIProvider(
        name=name,
        base_url=settings.base_url,
        api_key=api_key,
        api_key_env=settings.api_key_env,
        timeout=settings.timeout,
        connect_timeout=settings.connect_timeout,
        max_retries=settings.max_retries,
        include_usage=settings.include_usage,
        headers=settings.headers,
        extra_body=settings.extra_body,
    )


def build_provider(
    name: str, providers: Mapping[str, ProviderSettings] | None = None, env: Mapping[str, str] | None = None
) -> Provider:
    """The provider called ``name``: its ``[providers.NAME]`` section (``Settings.providers``,
    already checked by ``config.py``) or the built-in ``echo`` / ``openai``.

    ``env`` is where ``api_key_env`` variables are looked up (pass ``os.environ`` at the edge);
    a variable that is not set is a ``ConfigError`` naming ``providers.NAME.api_key_env``.
    """
    settings = (providers or {}).get(name) or implicit_provider(name)
    if isinstance(settings, EchoProviderSettings):
        return EchoProvider(words_per_chunk=settings.words_per_chunk, delay_ms=settings.delay_ms)
    if isinstance(settings, OpenAIProviderSettings):
        return _openai(name, settings, env or {})
    raise ConfigError(
        f"providers.{name}: no such provider (add a [providers.{name}] table with type = echo or openai)"
    )


class ProviderSet:
    """Providers by name, built on first use and reused; ``check`` builds them all at start-up."""

    def __init__(
        self, providers: Mapping[str, ProviderSettings] | None = None, env: Mapping[str, str] | None = None
    ) -> None:
        self._settings = dict(providers or {})
        self._env = dict(env or {})
        self._built: dict[str, Provider] = {}

    def add(self, name: str, provider: Provider) -> None:
        """Use ``provider`` (any object with the Provider methods) for ``name``."""
        self._built[name] = provider

    def get(self, name: str) -> Provider:
        if name not in self._built:
            self._built[name] = build_provider(name, self._settings, self._env)
        return self._built[name]

    def check(self, names: list[str] | None = None) -> None:
        """Build every configured provider (and ``names``) now, so a missing API key stops start-up."""
        for name in [*self._settings, *(names or [])]:
            self.get(name)

    async def aclose(self) -> None:
        for provider in self._built.values():
            await provider.aclose()


__all__ = [
    "DEFAULT_BASE_URL",
    "Done",
    "EchoProvider",
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
