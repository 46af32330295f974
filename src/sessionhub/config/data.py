"""``[channels.NAME]``, ``[retention]`` and ``[encryption]``: where messages come from and
how they are kept."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, model_validator

from ..section import EnvName, Flag, NonEmptyStr, Section, fail, int_between, number_between


def _http_url(value: Any) -> str:
    if not isinstance(value, str) or not value.startswith(("http://", "https://")):
        raise fail("must be an http:// or https:// URL")
    return value


class ChannelSettings(Section):
    """``[channels.NAME]``: a platform webhook's secrets, acting user and reply API."""

    secret_token: NonEmptyStr | None = None  # telegram: X-Telegram-Bot-Api-Secret-Token
    signing_secret: NonEmptyStr | None = None  # slack: request signatures
    user: NonEmptyStr = "default"  # the user a verified webhook acts as
    account: NonEmptyStr = "default"  # the account part of the session key
    bot_id: NonEmptyStr | None = None  # the bot's own id, so its own messages are ignored
    api_base: Annotated[str, BeforeValidator(_http_url)] | None = None
    bot_token_env: EnvName | None = None
    pin_sessions: Flag = False  # pin the sessions this channel creates (Yapflows' Telegram sessions)


def _days(value: Any) -> float | None:
    if value is None or (value == 0 and not isinstance(value, bool)):
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise fail("must be a positive number of days (0 = off)")
    return float(value)


Days = Annotated[float | None, BeforeValidator(_days)]


class RetentionSettings(Section):
    """``[retention]``: automatic archiving and deletion, and how long event ids are kept."""

    auto_archive_after_days: Days = None
    delete_archived_after_days: Days = None
    seen_events_days: Annotated[int, int_between(1, 3650)] = 7
    seen_events_max: Annotated[int, int_between(1, 10**9)] = 100_000


def _one_or_more(value: Any) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list | tuple) or not all(isinstance(v, str) and v for v in items):
        raise fail("must be a string or a list of strings")
    return tuple(items)


def _path(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise fail("must be a path")
    return value


OneOrMore = Annotated[tuple[str, ...], BeforeValidator(_one_or_more)]


class EncryptionSettings(Section):
    """``[encryption]``: where the master key (and older keys during a rotation) come from.

    No current key (``key_env`` / ``key_file``) means encryption off; the keys themselves are
    read when the store is opened (``crypto/config.py``).
    """

    key_env: EnvName | None = None
    key_file: Annotated[str, BeforeValidator(_path)] | None = None
    previous_key_env: OneOrMore = ()
    previous_key_envs: OneOrMore = ()
    previous_key_file: OneOrMore = ()
    previous_key_files: OneOrMore = ()
    allow_open_key_file: Flag = False
    # MB of recently opened plaintext (SQLite message records, session fields) kept in memory
    # so what is read again is not decrypted again (crypto/opened.py); 0: none
    read_cache_mb: Annotated[int, int_between(0, 65_536)] = 16

    @model_validator(mode="after")
    def _one_current_key(self) -> EncryptionSettings:
        if self.key_env and self.key_file:
            raise fail("set key_env or key_file, not both")
        return self

    @property
    def previous_envs(self) -> tuple[str, ...]:
        return self.previous_key_env + self.previous_key_envs

    @property
    def previous_files(self) -> tuple[str, ...]:
        return self.previous_key_file + self.previous_key_files


__all__ = ["ChannelSettings", "EncryptionSettings", "RetentionSettings"]


class SearchSettings(Section):
    """``[search]``: the default mode, whether messages are embedded, the semantic cut-off."""

    # auto: hybrid when the semantic extra is installed (and the database is not encrypted)
    mode: Literal["auto", "keyword", "semantic", "hybrid"] = "auto"
    semantic: Flag = True  # embed messages in the background when the extra is installed
    min_similarity: Annotated[float, number_between(-1, 1)] = 0.3  # cosine below: no hit
