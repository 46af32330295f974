"""``[[agents]]``, ``[providers.NAME]``, ``[[tasks]]`` and ``[triggers.NAME]``.

Whether a name points at something that exists (an agent's provider, a task's agent) is
checked by ``Settings``, which sees every section.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from croniter import croniter
from pydantic import BeforeValidator, Discriminator, Field, Tag

from ..context.settings import AgentContextSettings
from ..section import (
    TAG_PREFIX,
    AnyTable,
    EnvName,
    Flag,
    Names,
    NonEmptyStr,
    Section,
    StrTable,
    Text,
    fail,
    int_between,
    number_between,
)

DEFAULT_OPENAI_URL = "https://api.openai.com/v1"
#: The task name the scheduler uses for its daily retention run (no ``[[tasks]]`` may take it).
RETENTION_TASK = "__retention__"
#: Providers that exist without a ``[providers.NAME]`` table.
BUILTIN_PROVIDERS = ("echo", "openai")


class AgentSettings(Section):
    """One ``[[agents]]`` table; the first agent is the default one."""

    id: NonEmptyStr
    provider: NonEmptyStr = "echo"
    model: NonEmptyStr = "echo"
    system_prompt: Text = ""
    description: Text = ""
    context: AgentContextSettings = AgentContextSettings()
    # The models a chat user may pick with ``/new AGENT MODEL``; empty: only ``model``.
    models: Names = ()

    def allows_model(self, model: str) -> bool:
        """True when a chat user may start this agent with ``model``."""
        return model == self.model or model in self.models


# ---------------------------------------------------------------------------- providers


def _http_url(value: Any) -> str:
    if not isinstance(value, str) or not value.startswith(("http://", "https://")):
        raise fail("must be an http:// or https:// URL")
    return value


class EchoProviderSettings(Section):
    """``type = "echo"``: streams the user's words back (offline; demos and tests)."""

    type: Literal["echo"] = "echo"
    words_per_chunk: Annotated[int, int_between(1, 10_000)] = 3
    delay_ms: Annotated[int, int_between(0, 60_000)] = 30


class OpenAIProviderSettings(Section):
    """``type = "openai"``: any OpenAI-compatible chat completions endpoint."""

    type: Literal["openai"] = "openai"
    base_url: Annotated[str, BeforeValidator(_http_url)] = DEFAULT_OPENAI_URL
    # The variable holding the API key; its value is read when the provider is built.
    api_key_env: EnvName | None = None
    timeout: Annotated[float, number_between(0.1, 3600.0)] = 60.0
    connect_timeout: Annotated[float, number_between(0.1, 600.0)] = 10.0
    max_retries: Annotated[int, int_between(0, 10)] = 3
    include_usage: Flag = True
    headers: StrTable = Field(default_factory=dict)
    extra_body: AnyTable = Field(default_factory=dict)


def _bad_type(value: Any) -> str:
    raise fail("must be 'echo' or 'openai'")


class _UnknownProviderType(Section):
    """Stands for a table whose ``type`` is neither: its only job is the error."""

    type: Annotated[str, BeforeValidator(_bad_type), Field(validate_default=True)] = ""


def _kind(value: Any) -> str:
    kind = value.get("type") if isinstance(value, Mapping) else getattr(value, "type", None)
    return TAG_PREFIX + (kind if kind in BUILTIN_PROVIDERS else "?")


ProviderSettings = Annotated[
    Annotated[EchoProviderSettings, Tag(TAG_PREFIX + "echo")]
    | Annotated[OpenAIProviderSettings, Tag(TAG_PREFIX + "openai")]
    | Annotated[_UnknownProviderType, Tag(TAG_PREFIX + "?")],
    Discriminator(_kind),
]


def implicit_types(value: Any) -> Any:
    """Fill in a table's ``type`` when it is implied: ``echo`` for the name ``echo``,
    ``openai`` when ``base_url`` is set."""
    if not isinstance(value, Mapping):
        raise fail("must be a table of [providers.NAME] tables")
    out: dict[Any, Any] = {}
    for name, table in value.items():
        if isinstance(table, Mapping) and "type" not in table:
            kind = "echo" if name == "echo" else "openai" if "base_url" in table else None
            table = {**table, "type": kind} if kind else table
        out[name] = table
    return out


def implicit_provider(name: str) -> EchoProviderSettings | OpenAIProviderSettings | None:
    """The settings of a provider that exists without a table (``echo``, ``openai``)."""
    if name == "echo":
        return EchoProviderSettings()
    if name == "openai":
        return OpenAIProviderSettings(api_key_env="OPENAI_API_KEY")
    return None


# ---------------------------------------------------------------------------- tasks, triggers


def _task_name(value: Any) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > 200 or value == RETENTION_TASK:
        raise fail("must be a non-empty string of at most 200 characters")
    return value


def _cron(value: Any) -> str:
    if not isinstance(value, str) or not croniter.is_valid(value):
        raise fail(f"not a valid cron expression: {value!r}")
    return value


class TaskSettings(Section):
    """One ``[[tasks]]`` table: a prompt the scheduler sends to an agent on a cron schedule."""

    name: Annotated[str, BeforeValidator(_task_name)]
    cron: Annotated[str, BeforeValidator(_cron)]
    prompt: NonEmptyStr
    agent: NonEmptyStr | None = None
    model: NonEmptyStr | None = None
    sticky_session: Flag = False
    enabled: Flag = True
    user: NonEmptyStr = "default"


class TriggerSettings(Section):
    """One ``[triggers.NAME]`` table (``POST /api/triggers/NAME``)."""

    agent: NonEmptyStr | None = None
    model: NonEmptyStr | None = None
    # The first message; ``{{payload}}`` is replaced by the request body.
    prompt: Text = "{{payload}}"


__all__ = [
    "BUILTIN_PROVIDERS",
    "DEFAULT_OPENAI_URL",
    "RETENTION_TASK",
    "AgentSettings",
    "EchoProviderSettings",
    "OpenAIProviderSettings",
    "ProviderSettings",
    "TaskSettings",
    "TriggerSettings",
    "implicit_provider",
    "implicit_types",
]
