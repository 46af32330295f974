"""Small shared helpers for importers: reading files strictly and checking shapes.

Every helper raises ``InvalidInput`` with a message naming the file and the place, so
``read_sessions`` can turn it into a clear ``ImportFailure``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from ...clock import parse_iso
from ...errors import InvalidInput
from ...model import ROLES, Role
from ..imported import Skipped

_MAX_FILE_BYTES = 512 * 1024 * 1024


def read_text(path: Path) -> str:
    """The whole file as UTF-8 text (a BOM is tolerated)."""
    try:
        size = path.stat().st_size
        if size > _MAX_FILE_BYTES:
            raise InvalidInput(f"{path}: file is too large to import ({size} bytes)")
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    except OSError as exc:
        raise InvalidInput(f"{path}: cannot read ({exc.strerror or exc})") from exc


def load_json(path: Path) -> Any:
    """Parse a whole JSON file; truncated or broken JSON is refused with line and column."""
    text = read_text(path)
    if not text.strip():
        raise InvalidInput(f"{path}: empty file")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput(
            f"{path}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
            + (" (truncated file?)" if exc.pos >= len(text.rstrip()) else "")
        ) from exc
    except RecursionError as exc:
        raise InvalidInput(f"{path}: JSON nested too deeply") from exc


def iter_jsonl(path: Path, skipped: list[Skipped] | None = None) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield (line number, object) for each non-blank line.

    Without ``skipped`` any broken line is an error. With it, a line that is not a JSON
    object is left out and named in ``skipped`` (the last one as cut off, the way a crash
    mid-write leaves it), as PicoClaw's and OpenClaw's own readers skip such lines.
    """
    text = read_text(path)
    lines = text.splitlines()
    last = max((i for i, line in enumerate(lines, start=1) if line.strip()), default=0)
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            if skipped is None:
                raise InvalidInput(f"{path}: line {number} is not valid JSON: {exc.msg}") from exc
            why = (
                "the last line is cut off (a crash while writing?); every complete line was imported"
                if number == last
                else f"not valid JSON ({exc.msg}); the other lines were imported"
            )
            skipped.append(Skipped(f"line {number}", why))
            continue
        except RecursionError as exc:
            raise InvalidInput(f"{path}: line {number} is nested too deeply") from exc
        if skipped is not None and not isinstance(value, dict):
            skipped.append(Skipped(f"line {number}", f"expected an object, got {type_name(value)}"))
            continue
        yield number, expect_dict(value, f"{path}: line {number}")


def first_jsonl_object(path: Path) -> dict[str, Any] | None:
    """The first non-blank line of a JSONL file as an object, or None (for sniffing)."""
    try:
        with path.open("r", encoding="utf-8-sig") as fh:
            for line in fh:
                if line.strip():
                    value = json.loads(line)
                    return value if isinstance(value, dict) else None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        return None
    return None


def expect_dict(value: object, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidInput(f"{where}: expected an object, got {type_name(value)}")
    return value


def expect_list(value: object, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise InvalidInput(f"{where}: expected a list, got {type_name(value)}")
    return value


def expect_str(value: object, where: str) -> str:
    if not isinstance(value, str):
        raise InvalidInput(f"{where}: expected a string, got {type_name(value)}")
    return value


def opt_str(value: object, where: str) -> str | None:
    if value is None:
        return None
    return expect_str(value, where)


def opt_dict(value: object, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    return expect_dict(value, where)


def type_name(value: object) -> str:
    if value is None:
        return "null"
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), type(value).__name__
    )


def parse_time(value: object, where: str) -> datetime | None:
    """An ISO 8601 string (naive = UTC) or a Unix time in seconds or milliseconds.

    ``None``, ``""`` and Go's zero time (year 1) mean "unknown" and give ``None``.
    """
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise InvalidInput(f"{where}: expected a timestamp, got a boolean")
    if isinstance(value, int | float):
        seconds = value / 1000 if abs(value) >= 100_000_000_000 else value
        try:
            return datetime.fromtimestamp(seconds, UTC)
        except (OverflowError, OSError, ValueError) as exc:
            raise InvalidInput(f"{where}: timestamp {value!r} is out of range") from exc
    if isinstance(value, str):
        try:
            dt = parse_iso(value.strip())
        except ValueError as exc:
            raise InvalidInput(f"{where}: {value!r} is not an ISO 8601 timestamp") from exc
        return None if dt.year <= 1 else dt
    raise InvalidInput(f"{where}: expected a timestamp, got {type_name(value)}")


def stable_id(*parts: str) -> str:
    """A short, stable hash of the given strings (the source id used for dedup)."""
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()
    return digest[:32]


def location(path: Path) -> str:
    """The absolute, normalised form of a path, for source ids and messages."""
    return str(path.expanduser().resolve())


def json_arguments(raw: object, where: str) -> dict[str, Any]:
    """Tool-call arguments as an object: OpenAI-style JSON strings are decoded.

    A string that is not a JSON object is kept whole under ``"_raw"`` rather than lost.
    """
    if raw is None or raw == "":
        return {}
    if isinstance(raw, Mapping):
        return dict(raw)
    if isinstance(raw, str):
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            return {"_raw": raw}
        return dict(value) if isinstance(value, dict) else {"_raw": raw}
    raise InvalidInput(f"{where}: tool arguments must be an object or a JSON string, got {type_name(raw)}")


def as_role(value: str) -> Role | None:
    """The sessionhub role of a source role name, or None if it is not one of ours."""
    return cast(Role, value) if value in ROLES else None
