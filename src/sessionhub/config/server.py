"""``[database]``, ``[server]``, ``[limits]`` and ``[commands]``: the edge's own sections."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import BeforeValidator, Field

from ..section import Flag, Names, NonEmptyStr, Section, Timezone, fail, int_between, number_between

DEFAULT_PORT = 8765
DEFAULT_MAX_BODY = 1024 * 1024
DEFAULT_REQUEST_TIMEOUT = 30.0
MIN_TOKEN_CHARS = 16


def _tokens(value: Any) -> dict[str, str]:
    # The tokens are secrets: an error names ``server.tokens``, never the token itself.
    if not isinstance(value, Mapping):
        raise fail('must be a table of token = "user"')
    out: dict[str, str] = {}
    for token, user in value.items():
        if not isinstance(token, str) or len(token) < MIN_TOKEN_CHARS:
            raise fail(f"each token must be a string of at least {MIN_TOKEN_CHARS} characters")
        if not isinstance(user, str) or not user.strip():
            raise fail("each token's user must be a non-empty string")
        out[token] = user
    return out


def _names(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) and v.strip() for v in value):
        raise fail("must be an array of non-empty strings")
    return tuple(value)


def _origins(value: Any) -> tuple[str, ...]:
    out: list[str] = []
    for raw in _names(value):
        origin = raw.strip().rstrip("/").lower()
        scheme, sep, rest = origin.partition("://")
        if origin == "*" or not sep or scheme not in ("http", "https") or not rest or "/" in rest:
            raise fail(f"{raw!r} is not an origin like https://app.example.com[:port]")
        out.append(origin)
    return tuple(out)


def _hosts(value: Any) -> tuple[str, ...]:
    return tuple(h.lower() for h in _names(value))


def _url(value: Any) -> str | None:
    if value is not None and not isinstance(value, str):
        raise fail("must be a string")
    return value


class DatabaseSettings(Section):
    """``[database]``; no ``url``: the SQLite file in the user data directory."""

    url: Annotated[str | None, BeforeValidator(_url)] = None


class ServerSettings(Section):
    """``[server]``: where the server listens, who may call it, and its limits."""

    host: NonEmptyStr = "127.0.0.1"
    port: Annotated[int, int_between(1, 65535)] = DEFAULT_PORT
    tokens: Annotated[dict[str, str], BeforeValidator(_tokens)] = Field(
        default_factory=dict
    )  # bearer token -> user name
    timezone: Timezone = "UTC"
    max_body_bytes: Annotated[int, int_between(1024, 1024**3)] = DEFAULT_MAX_BODY
    # Origins (scheme://host[:port]) besides the server's own that may open /ws and send
    # state-changing requests; ``*`` is refused (CONTRACT 11.1).
    allowed_origins: Annotated[tuple[str, ...], BeforeValidator(_origins)] = ()
    # Host names answered besides the loopback ones when the server has no tokens.
    allowed_hosts: Annotated[tuple[str, ...], BeforeValidator(_hosts)] = ()
    # Seconds a client has to send a request's headers, and then its body (slowloris).
    request_timeout_seconds: Annotated[float, number_between(0.1, 3600, "a number of seconds")] = (
        DEFAULT_REQUEST_TIMEOUT
    )
    # FastAPI's OpenTelemetry spans and metrics, through the process's global providers. Off:
    # even with no provider configured FastAPI checks for one on every request (~5 µs of the
    # event loop per append, bench/HISTORY.md).
    opentelemetry: Flag = False


class LimitsSettings(Section):
    """``[limits]``."""

    max_message_chars: Annotated[int, int_between(1, 50_000_000)] = 200_000


class CommandSettings(Section):
    """``[commands]``: what chat users may change with chat commands."""

    allow_scope_change: Flag = False
    # Senders who may always run the restricted commands, written like identity links:
    # ``"telegram:123"`` (one channel) or ``"u123"`` (any channel); case-insensitive.
    admins: Names = ()

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


__all__ = [
    "DEFAULT_MAX_BODY",
    "DEFAULT_PORT",
    "DEFAULT_REQUEST_TIMEOUT",
    "MIN_TOKEN_CHARS",
    "CommandSettings",
    "DatabaseSettings",
    "LimitsSettings",
    "ServerSettings",
]
