"""The base of every typed configuration section, and its one-line errors.

A section of ``sessionhub.toml`` is a :class:`Section`: a frozen pydantic model that refuses
unknown keys. Adding a section is one small model (fields with the checked types below) and
one field on ``config.Settings``. Whatever goes wrong while a section is parsed becomes one
``ConfigError`` whose message starts with the dotted path of the bad key, as CONTRACT §10
promises::

    server.port: must be an integer between 1 and 65535
    agents[0].context.strategy: must be 'recent', 'smart' or 'summarize', not 'newest'
    commands.colour: unknown key

The checked types (``Annotated[int, int_between(1, 65535)]``, :data:`NonEmptyStr`, :data:`Flag`, …) carry their own
message, so a key's message says what the key accepts rather than what pydantic expected.
This module sits at the bottom (it imports ``errors.py`` only): the modules that own a
concept (``context/settings.py``, ``routing/settings.py``) define their sections on it and
``config.py`` assembles them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextvars import ContextVar
from typing import Annotated, Any, ClassVar, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, BeforeValidator, ConfigDict, Strict, ValidationError
from pydantic_core import PydanticCustomError

from .errors import ConfigError

#: Marks the loc entry pydantic adds for the chosen member of a tagged union (dropped from paths).
TAG_PREFIX = "type="

# Messages for pydantic's own error types; a checked type's own message wins.
_MESSAGES = {
    "extra_forbidden": "unknown key",
    "missing": "is required",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "string_type": "must be a string",
    "int_type": "must be an integer",
    "int_parsing": "must be an integer",
    "int_from_float": "must be an integer",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "dict_type": "must be a table",
    "model_type": "must be a table",
    "model_attributes_type": "must be a table",
    "list_type": "must be an array",
    "tuple_type": "must be an array",
    "frozen_instance": "cannot be changed",
}


def fail(message: str) -> PydanticCustomError:
    """The error a checked type raises: ``message`` becomes the text after the key's path."""
    return PydanticCustomError("config", "{reason}", {"reason": message})


def path_of(loc: Sequence[int | str], where: str = "") -> str:
    """``("agents", 0, "context", "strategy")`` → ``agents[0].context.strategy``."""
    out = where
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part.startswith(TAG_PREFIX):
            continue
        else:
            out += f".{part}" if out else part
    return out


def config_error(exc: ValidationError, where: str = "", unknown_top: str = "unknown key") -> ConfigError:
    """The first error of ``exc`` as one line: ``path.of.key: what is wrong``.

    ``unknown_top`` is the word for an unknown key at the top (``Settings`` says "unknown section").
    """
    err = exc.errors(include_url=False)[0]
    path = path_of(err["loc"], where) or "configuration"
    kind = err["type"]
    ctx = err.get("ctx") or {}
    if kind == "config":
        message = str(ctx["reason"])
    elif kind == "extra_forbidden" and not where and len(err["loc"]) == 1:
        message = unknown_top
    elif kind == "literal_error":
        message = f"must be {ctx.get('expected')}, not {err['input']!r}"
    elif kind == "union_tag_invalid":
        message = f"must be {ctx.get('expected_tags')}, not {ctx.get('tag')!r}"
    else:
        message = _MESSAGES.get(kind, err["msg"])
    return ConfigError(f"{path}: {message}")


# How many ``Section`` validations are running in this context: pydantic calls a nested
# section's ``__init__`` too, and there the error must stay a ``ValidationError`` so that
# pydantic puts the outer path in front of it.
_depth: ContextVar[int] = ContextVar("sessionhub_section_depth", default=0)


class Section(BaseModel):
    """A frozen, typed configuration table that refuses unknown keys.

    Building one from Python (``ServerSettings(port=0)``) or from a parsed table
    (``Section.parse(table, "server")``) raises ``ConfigError`` naming the bad key.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")
    #: What an unknown key directly in this table is called in an error.
    unknown_word: ClassVar[str] = "unknown key"

    def __init__(self, /, **data: Any) -> None:
        token = _depth.set(_depth.get() + 1)
        try:
            super().__init__(**data)
        except ValidationError as exc:
            if _depth.get() > 1:
                raise
            raise config_error(exc, "", self.unknown_word) from None
        finally:
            _depth.reset(token)

    @classmethod
    def parse(cls, data: Any, where: str = "") -> Self:
        """Validate a parsed table; ``where`` prefixes the key path of an error."""
        token = _depth.set(_depth.get() + 1)
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise config_error(exc, where, cls.unknown_word) from None
        finally:
            _depth.reset(token)

    def replace(self, **changes: Any) -> Self:
        """A copy with ``changes`` applied and validated (like ``dataclasses.replace``)."""
        values = {name: getattr(self, name) for name in type(self).model_fields}
        return type(self)(**{**values, **changes})


# ---------------------------------------------------------------------------- checked types


def _checked(check: Callable[[Any], Any]) -> BeforeValidator:
    return BeforeValidator(check)


def int_between(lo: int, hi: int) -> BeforeValidator:
    """``Annotated[int, int_between(lo, hi)]``: an integer in ``lo..hi`` (a string of digits,
    as environment variables give, counts)."""

    def check(value: Any) -> int:
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value.strip())
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            raise fail(f"must be an integer between {lo} and {hi}")
        return value

    return _checked(check)


def number_between(lo: float, hi: float, unit: str = "a number") -> BeforeValidator:
    """``Annotated[float, number_between(lo, hi)]``: a number (integer or float) in ``lo..hi``."""

    def check(value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float) or not lo <= value <= hi:
            raise fail(f"must be {unit} between {lo:g} and {hi:g}")
        return float(value)

    return _checked(check)


def _non_empty(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise fail("must be a non-empty string")
    return value


def _names(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) and v.strip() for v in value):
        raise fail("must be an array of non-empty strings")
    return tuple(value)


def _timezone(value: Any) -> str:
    tz = _non_empty(value)
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise fail(f"unknown timezone {tz!r}") from None
    return tz


def _str_table(value: Any) -> dict[str, str]:
    if not isinstance(value, Mapping) or not all(isinstance(v, str) for v in value.values()):
        raise fail("must be a table of strings")
    return {str(k): v for k, v in value.items()}


def _table(value: Any) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise fail("must be a table")
    return dict(value)


def _env_name(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise fail("must be the name of an environment variable")
    return value


#: Any string, empty included.
Text = Annotated[str, Strict()]
#: A string with something in it.
NonEmptyStr = Annotated[str, _checked(_non_empty)]
#: ``true`` or ``false`` (not ``"yes"``, not 1).
Flag = Annotated[bool, Strict()]
#: An array of non-empty strings.
Names = Annotated[tuple[str, ...], _checked(_names)]
#: An IANA timezone name.
Timezone = Annotated[str, _checked(_timezone)]
#: A table of string values (HTTP headers, …).
StrTable = Annotated[dict[str, str], _checked(_str_table)]
#: Any table (passed on as it is, e.g. ``extra_body``).
AnyTable = Annotated[dict[str, Any], _checked(_table)]
#: The name of an environment variable (its value is read where it is used).
EnvName = Annotated[str, _checked(_env_name)]


__all__ = [
    "TAG_PREFIX",
    "AnyTable",
    "EnvName",
    "Flag",
    "Names",
    "NonEmptyStr",
    "Section",
    "StrTable",
    "Text",
    "Timezone",
    "config_error",
    "fail",
    "int_between",
    "number_between",
    "path_of",
]
