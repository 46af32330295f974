"""Per-key overrides set by chat commands (``/session scope``, ``reset-time``, ``idle-reset``).

They are stored by the hub under the key the message has *without* overrides
(``Route.base_key``), so they survive resets and changing the scope does not lose them.
``None`` means "inherit the policy"; ``"off"`` switches that reset off for the key.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias

from ..errors import InvalidInput
from .reset import ResetPolicy

OverrideScope: TypeAlias = Literal["main", "channel", "peer"]
OVERRIDE_SCOPES: tuple[str, ...] = ("main", "channel", "peer")
_HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


def parse_hhmm(value: str) -> tuple[int, int]:
    """``"4:05"`` → ``(4, 5)``; ``InvalidInput`` unless a 24-hour ``HH:MM``."""
    match = _HHMM.match(value.strip()) if isinstance(value, str) else None
    if match is None:
        raise InvalidInput(f"reset time must be HH:MM (24-hour) or off, not {value!r}")
    return int(match.group(1)), int(match.group(2))


@dataclass(frozen=True, slots=True)
class KeyOverrides:
    """Overrides for one key: ``scope``, a daily ``reset_time`` ("HH:MM"), ``idle_minutes``."""

    scope: OverrideScope | None = None
    reset_time: str | None = None
    idle_minutes: int | Literal["off"] | None = None

    def __post_init__(self) -> None:
        if self.scope is not None and self.scope not in OVERRIDE_SCOPES:
            raise InvalidInput(f"scope must be main, channel or peer, not {self.scope!r}")
        if self.reset_time is not None and self.reset_time != "off":
            hour, minute = parse_hhmm(self.reset_time)
            object.__setattr__(self, "reset_time", f"{hour:02d}:{minute:02d}")
        minutes = self.idle_minutes
        if (
            minutes is not None
            and minutes != "off"
            and (isinstance(minutes, bool) or not isinstance(minutes, int) or minutes <= 0)
        ):
            raise InvalidInput(f"idle reset must be a positive number of minutes or off, not {minutes!r}")

    def apply(self, base: ResetPolicy) -> ResetPolicy:
        """The reset policy for the key: ``base`` with these overrides on top."""
        daily, idle = base.daily, base.idle
        hour, minute, idle_minutes = base.at_hour, base.at_minute, base.idle_minutes
        if self.reset_time == "off":
            daily = False
        elif self.reset_time is not None:
            daily = True
            hour, minute = parse_hhmm(self.reset_time)
        if self.idle_minutes == "off":
            idle = False
        elif isinstance(self.idle_minutes, int):
            idle, idle_minutes = True, self.idle_minutes
        mode = {
            (False, False): "none",
            (True, False): "daily",
            (False, True): "idle",
            (True, True): "daily+idle",
        }
        return ResetPolicy(
            mode=mode[(daily, idle)],  # type: ignore[arg-type]
            at_hour=hour,
            at_minute=minute,
            idle_minutes=idle_minutes,
            timezone=base.timezone,
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON form for storage (only the fields that are set)."""
        data: dict[str, Any] = {}
        if self.scope is not None:
            data["scope"] = self.scope
        if self.reset_time is not None:
            data["reset_time"] = self.reset_time
        if self.idle_minutes is not None:
            data["idle_minutes"] = self.idle_minutes
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> KeyOverrides:
        if not data:
            return cls()
        if not isinstance(data, Mapping):
            raise InvalidInput("key overrides must be an object")
        unknown = sorted(set(data) - {"scope", "reset_time", "idle_minutes"})
        if unknown:
            raise InvalidInput(f"unknown key override {unknown[0]!r}")
        return cls(
            scope=data.get("scope"), reset_time=data.get("reset_time"), idle_minutes=data.get("idle_minutes")
        )


__all__ = ["OVERRIDE_SCOPES", "KeyOverrides", "OverrideScope", "parse_hhmm"]
