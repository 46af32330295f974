"""Small typed accessors for untrusted JSON payloads; every failure is an ``InvalidInput``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from ...clock import parse_iso
from ...errors import InvalidInput

Payload = Mapping[str, Any]


class Reader:
    """Reads fields of one platform's payload, naming the platform and path in errors."""

    def __init__(self, platform: str) -> None:
        self.platform = platform

    def fail(self, message: str) -> InvalidInput:
        return InvalidInput(f"{self.platform} payload: {message}")

    def obj(self, data: Payload, name: str, path: str = "") -> Payload:
        value = data.get(name)
        if not isinstance(value, Mapping):
            raise self.fail(f"{path}{name} must be an object")
        return value

    def opt_obj(self, data: Payload, name: str, path: str = "") -> Payload | None:
        value = data.get(name)
        if value is None:
            return None
        if not isinstance(value, Mapping):
            raise self.fail(f"{path}{name} must be an object")
        return value

    def items(self, data: Payload, name: str, path: str = "") -> Sequence[Payload]:
        value = data.get(name, [])
        if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
            raise self.fail(f"{path}{name} must be a list of objects")
        return value

    def ident(self, data: Payload, name: str, path: str = "") -> str:
        """A required id: a non-empty string or an integer (kept as its decimal text)."""
        value = self.opt_ident(data, name, path)
        if value is None:
            raise self.fail(f"{path}{name} is missing")
        return value

    def opt_ident(self, data: Payload, name: str, path: str = "") -> str | None:
        value = data.get(name)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (str, int)) or value == "":
            raise self.fail(f"{path}{name} must be a non-empty string or an integer")
        return str(value)

    def opt_str(self, data: Payload, name: str, path: str = "") -> str | None:
        value = data.get(name)
        if value is None:
            return None
        if not isinstance(value, str):
            raise self.fail(f"{path}{name} must be a string")
        return value

    def epoch(self, data: Payload, name: str, path: str = "", *, scale: float = 1.0) -> datetime | None:
        """Unix time in seconds (``scale=1000`` for milliseconds); numbers or numeric strings."""
        value = data.get(name)
        if value is None:
            return None
        try:
            seconds = float(value) / scale if not isinstance(value, bool) else None
        except (TypeError, ValueError):
            seconds = None
        if seconds is None:
            raise self.fail(f"{path}{name} must be a unix timestamp")
        try:
            return datetime.fromtimestamp(seconds, UTC)
        except (OverflowError, OSError, ValueError) as exc:
            raise self.fail(f"{path}{name} is out of range") from exc

    def iso(self, data: Payload, name: str, path: str = "") -> datetime | None:
        value = data.get(name)
        if value is None:
            return None
        if not isinstance(value, str):
            raise self.fail(f"{path}{name} must be an ISO 8601 timestamp")
        try:
            return parse_iso(value)
        except ValueError as exc:
            raise self.fail(f"{path}{name} must be an ISO 8601 timestamp") from exc


def require_mapping(payload: object, platform: str) -> Payload:
    if not isinstance(payload, Mapping):
        raise InvalidInput(f"{platform} payload must be a JSON object")
    return payload
