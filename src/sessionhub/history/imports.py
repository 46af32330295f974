"""Reading sessions from files: format detection and the all-or-nothing session reader.

``read_sessions(path, fmt)`` yields, per source session, either a complete
``ImportedSession`` or an ``ImportFailure(path, reason)``: a session that cannot be parsed
completely contributes nothing. Nothing here writes anywhere; the caller (hub/CLI) creates
the sessions, dedups on ``ImportedSession.source_id`` and reports ``skipped`` items.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Protocol, cast

from ..errors import InvalidInput
from .imported import ImportedSession, ImportFailure, Skipped
from .importers import ai_lab, openclaw, picoclaw, pocketpaw, sessionhub


class Importer(Protocol):
    NAME: str

    def sniff(self, path: Path) -> bool: ...

    def discover(self, path: Path) -> Iterator[Path]: ...

    def read(self, path: Path) -> ImportedSession: ...


_MODULES: tuple[ModuleType, ...] = (sessionhub, pocketpaw, ai_lab, openclaw, picoclaw)
IMPORTERS: dict[str, Importer] = {m.NAME: cast(Importer, m) for m in _MODULES}
IMPORT_FORMATS: tuple[str, ...] = tuple(IMPORTERS)

# What a failure can be made of: bad data, unreadable files, or shapes our checks missed.
_READ_ERRORS = (
    InvalidInput,
    OSError,
    UnicodeDecodeError,
    json.JSONDecodeError,
    ValueError,
    TypeError,
    KeyError,
)


def importer(fmt: str) -> Importer:
    """The importer for a format name, or ``InvalidInput`` naming the known ones."""
    try:
        return IMPORTERS[fmt]
    except KeyError:
        raise InvalidInput(
            f"unknown import format {fmt!r} (expected one of {', '.join(IMPORT_FORMATS)})"
        ) from None


def detect_format(path: str | Path) -> str:
    """Guess the source format of a file or directory; ``InvalidInput`` if no format fits."""
    p = Path(path).expanduser()
    if not p.exists():
        raise InvalidInput(f"{p}: no such file or directory")
    for name, imp in IMPORTERS.items():
        try:
            if imp.sniff(p):
                return name
        except OSError:
            continue
    raise InvalidInput(
        f"{p}: cannot tell the format; pass one explicitly (one of {', '.join(IMPORT_FORMATS)})"
    )


def read_sessions(
    path: str | Path, fmt: str | None = None
) -> Iterator[ImportedSession | ImportFailure | Skipped]:
    """Yield each source session under ``path``, complete, or an ``ImportFailure`` for it,
    then a ``Skipped`` (``what`` = the file) for each file of the source that is not imported.

    Raises ``InvalidInput`` at once (before yielding) for a missing path, an unknown format
    or a path in which the format finds no session at all.
    """
    p = Path(path).expanduser()
    if not p.exists():
        raise InvalidInput(f"{p}: no such file or directory")
    imp = importer(fmt) if fmt is not None else importer(detect_format(p))
    units = list(imp.discover(p))
    ignored = getattr(imp, "ignored", None)
    notes = list(ignored(p)) if ignored is not None else []
    if not units:
        raise InvalidInput(f"{p}: no {imp.NAME} sessions found")
    return _read_units(imp, units, notes)


def _read_units(
    imp: Importer, units: list[Path], notes: list[Skipped]
) -> Iterator[ImportedSession | ImportFailure | Skipped]:
    for unit in units:
        try:
            yield imp.read(unit)
        except _READ_ERRORS as exc:
            reason = exc.message if isinstance(exc, InvalidInput) else f"{type(exc).__name__}: {exc}"
            yield ImportFailure(path=str(unit), reason=reason)
    yield from notes
