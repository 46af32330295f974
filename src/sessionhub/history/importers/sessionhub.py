"""Importer for sessionhub's own ``json`` export (``history.export.export_json``).

Shape: ``{"format": "sessionhub", "version": 1, "session": {...}, "checkpoints": [...],
"messages": [...]}``. Everything is validated; a truncated file, a wrong shape or another
version is refused with a clear ``InvalidInput``. The path may be one export file or a
directory of ``*.json`` exports. The source id is derived from the exported session's id
and creation time, so re-importing the same export (wherever the file lives) is detectable.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ...errors import InvalidInput
from ...model import MESSAGE_STATUSES, ROLES, NewMessage, Usage, parts_from_list
from ..export import FORMAT_NAME, FORMAT_VERSION
from ..imported import ImportedCheckpoint, ImportedSession
from ._common import expect_dict, expect_list, expect_str, load_json, location, parse_time, stable_id

NAME = "sessionhub"

_SESSION_STRINGS = ("id", "title", "agent", "provider", "model")


def sniff(path: Path) -> bool:
    """A ``.json`` file that starts like our export."""
    if not (path.is_file() and path.suffix == ".json"):
        return False
    try:
        with path.open("r", encoding="utf-8-sig") as fh:
            start = fh.read(200)
    except (OSError, UnicodeDecodeError):
        return False
    compact = "".join(start.split())
    return f'"format":"{FORMAT_NAME}"' in compact


def discover(path: Path) -> Iterator[Path]:
    if path.is_dir():
        yield from sorted(p for p in path.glob("*.json") if p.is_file())
    else:
        yield path


def _message(raw: object, where: str, prev_seq: int) -> tuple[NewMessage, int]:
    data = expect_dict(raw, where)
    role = data.get("role")
    if role not in ROLES:
        raise InvalidInput(f"{where}: role {role!r} is not one of {', '.join(ROLES)}")
    status = data.get("status", "complete")
    if status not in MESSAGE_STATUSES:
        raise InvalidInput(f"{where}: status {status!r} is not one of {', '.join(MESSAGE_STATUSES)}")
    seq = data.get("seq")
    if isinstance(seq, bool) or not isinstance(seq, int) or seq <= prev_seq:
        raise InvalidInput(f"{where}: 'seq' must be an integer greater than the previous message's")
    try:
        parts = parts_from_list(data.get("parts"))
        usage = Usage.from_dict(data.get("usage"))
    except InvalidInput as exc:
        raise InvalidInput(f"{where}: {exc.message}") from exc
    message = NewMessage(
        role=role,
        content=expect_str(data.get("content"), f"{where}.content"),
        parts=parts,
        status=status,
        usage=usage,
        metadata=expect_dict(data.get("metadata", {}), f"{where}.metadata"),
        created_at=parse_time(data.get("created_at"), f"{where}.created_at"),
    )
    return message, seq


def _checkpoint(raw: object, where: str, seqs: list[int]) -> ImportedCheckpoint:
    data = expect_dict(raw, where)
    at_seq = data.get("at_seq")
    if isinstance(at_seq, bool) or not isinstance(at_seq, int) or at_seq < 0:
        raise InvalidInput(f"{where}: 'at_seq' must be a non-negative integer")
    description = data.get("description") or ""
    return ImportedCheckpoint(
        name=expect_str(data.get("name"), f"{where}.name"),
        description=expect_str(description, f"{where}.description"),
        at_index=sum(1 for s in seqs if s <= at_seq),
        created_at=parse_time(data.get("created_at"), f"{where}.created_at"),
        at_seq=at_seq,
    )


def parse_export(data: Any, where: str = "export") -> ImportedSession:
    """Validate an already-decoded export object (e.g. a REST request body)."""
    return _build(data, where, source_path="")


def _build(data: Any, where: str, source_path: str) -> ImportedSession:
    doc = expect_dict(data, where)
    if doc.get("format") != FORMAT_NAME:
        raise InvalidInput(f"{where}: not a sessionhub export ('format' is {doc.get('format')!r})")
    version = doc.get("version")
    if version != FORMAT_VERSION:
        raise InvalidInput(
            f"{where}: unsupported export version {version!r} (this sessionhub reads {FORMAT_VERSION})"
        )
    session = expect_dict(doc.get("session"), f"{where}.session")
    for name in _SESSION_STRINGS:
        expect_str(session.get(name), f"{where}.session.{name}")
    expect_dict(session.get("metadata", {}), f"{where}.session.metadata")
    messages: list[NewMessage] = []
    seqs: list[int] = []
    prev = 0
    for i, raw in enumerate(expect_list(doc.get("messages"), f"{where}.messages")):
        message, prev = _message(raw, f"{where}.messages[{i}]", prev)
        messages.append(message)
        seqs.append(prev)
    checkpoints = tuple(
        _checkpoint(raw, f"{where}.checkpoints[{i}]", seqs)
        for i, raw in enumerate(expect_list(doc.get("checkpoints", []), f"{where}.checkpoints"))
    )
    created_at = parse_time(session.get("created_at"), f"{where}.session.created_at")
    return ImportedSession(
        format=NAME,
        source_id=stable_id(NAME, session["id"], str(session.get("created_at"))),
        source_path=source_path,
        source_session_id=session["id"],
        title=session["title"],
        created_at=created_at,
        updated_at=parse_time(session.get("updated_at"), f"{where}.session.updated_at"),
        messages=tuple(messages),
        agent=session["agent"],
        provider=session["provider"],
        model=session["model"],
        metadata=dict(session.get("metadata", {})),
        checkpoints=checkpoints,
        session=session,
    )


def read(path: Path) -> ImportedSession:
    return _build(load_json(path), str(path), location(path))
