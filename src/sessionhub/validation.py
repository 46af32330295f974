"""Strict JSON and the text rules every stored value obeys, on SQLite and PostgreSQL alike.

Python's ``json`` accepts more than JSON: ``NaN``, ``Infinity``, ``-Infinity`` (and ``1e999``,
which becomes infinity), and ``"\\ud800"`` escapes that decode to lone surrogates. None of
them can be stored and read back: a non-finite float breaks every later response of the
row (JSON has no such number), a lone surrogate cannot be encoded as UTF-8, and NUL cannot
be held by PostgreSQL text. So values are refused where they enter:

- ``loads`` parses a request body strictly (the server's edge: REST, webhooks, triggers,
  ``/ws``);
- ``check_text`` and ``check_json`` check the values the core stores (hub and model), so
  the Python API refuses what the server refuses, with ``InvalidInput``;
  ``check_session_text`` also holds a session's strings to their column's length (a longer
  value is an error on PostgreSQL and silently kept on SQLite: refused on both).
"""

from __future__ import annotations

import json
import math
from typing import Any, NoReturn

from .errors import InvalidInput
from .store.schema import sessions

MAX_DEPTH = 64
"""How deeply metadata and tool arguments may nest (deeper is refused, never a RecursionError)."""


def _describe(value: str) -> str:
    return repr(value[:40]) + ("…" if len(value) > 40 else "")


def check_text(value: str, name: str, max_chars: int | None = None) -> str:
    """``value`` if it can be stored as text on every backend; else ``InvalidInput`` naming ``name``."""
    if "\x00" in value:
        raise InvalidInput(f"{name} must not contain NUL (\\u0000) characters")
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidInput(
                f"{name} contains a lone surrogate (an unpaired \\ud800-\\udfff escape): not valid Unicode"
            ) from None
    if max_chars is not None and len(value) > max_chars:
        raise InvalidInput(f"{name} must be at most {max_chars} characters (got {len(value)})")
    return value


def check_json(value: object, name: str) -> None:
    """Refuse what JSON text cannot hold: NaN/Infinity, non-string keys, other types, bad text.

    Iterative (a deep value cannot exhaust the stack); ``name`` and the path inside the value
    are named in the message, e.g. ``metadata.scores[2]``.
    """
    stack: list[tuple[object, str, int]] = [(value, name, 0)]
    while stack:
        item, where, depth = stack.pop()
        if isinstance(item, str):
            check_text(item, where)
        elif item is None or isinstance(item, (bool, int)):
            continue
        elif isinstance(item, float):
            if not math.isfinite(item):
                raise InvalidInput(f"{where} is {item!r}: JSON numbers must be finite (no NaN or Infinity)")
        elif depth >= MAX_DEPTH:
            raise InvalidInput(f"{name} is nested more than {MAX_DEPTH} levels deep")
        elif isinstance(item, dict):
            for key, sub in item.items():
                if not isinstance(key, str):
                    raise InvalidInput(f"{where} has a non-string key {key!r}: JSON object keys are strings")
                check_text(key, f"a key of {where}")
                stack.append((sub, f"{where}.{key[:40]}", depth + 1))
        elif isinstance(item, (list, tuple)):
            stack.extend((sub, f"{where}[{i}]", depth + 1) for i, sub in enumerate(item))
        else:
            raise InvalidInput(f"{where} is a {type(item).__name__}: not a JSON value")


def check_session_text(**values: str | None) -> None:
    """Check a new session's strings (``model="..."``, ``key=...``): text, and the length of
    their ``sessions`` column where it has one (``String(n)``)."""
    for name, value in values.items():
        if value is not None:
            check_text(value, name, getattr(sessions.c[name].type, "length", None))


def _refuse_constant(token: str) -> NoReturn:
    raise InvalidInput(f"{token} is not valid JSON: numbers must be finite")


def _finite_float(token: str) -> float:
    number = float(token)
    if not math.isfinite(number):
        raise InvalidInput(f"the number {_describe(token)} is too large for a JSON number")
    return number


_DECODER = json.JSONDecoder(parse_constant=_refuse_constant, parse_float=_finite_float)


def loads(body: bytes | str, name: str = "the JSON body") -> Any:
    """Parse strict JSON: malformed JSON, non-finite numbers, lone surrogates, NUL and nesting
    past the parser's limit are ``InvalidInput``.

    Lone surrogates and NUL can only come from ``\\u`` escapes (raw control characters are
    malformed JSON, raw surrogates malformed UTF-8), so the deeper check runs only when the
    text holds one: the common body costs one substring search.
    """
    try:
        value = _DECODER.decode(body.decode("utf-8") if isinstance(body, bytes) else body)
    except InvalidInput as exc:
        raise InvalidInput(f"{name}: {exc.message}") from None
    except RecursionError:
        raise InvalidInput(f"{name} is nested too deeply") from None
    except UnicodeDecodeError:
        raise InvalidInput(f"{name} is not valid UTF-8") from None
    except ValueError as exc:
        raise InvalidInput(f"{name} is malformed JSON: {exc}") from None
    escaped = b"\\u" in body if isinstance(body, bytes) else "\\u" in body
    if escaped:
        _check_strings(value, name)
    return value


def _check_strings(value: Any, name: str) -> None:
    """Every string (and key) of a parsed value is storable text; iterative, depth unbounded."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            check_text(item, f"a string in {name}")
        elif isinstance(item, dict):
            for key, sub in item.items():
                check_text(key, f"a key in {name}")
                stack.append(sub)
        elif isinstance(item, list):
            stack.extend(item)


__all__ = ["MAX_DEPTH", "check_json", "check_session_text", "check_text", "loads"]
