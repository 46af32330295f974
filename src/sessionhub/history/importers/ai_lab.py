"""Importer for AI-Lab (AI-Forge) chat sessions.

Followed: ``MrNova420/AI-Lab``, ``core/logging_system.py`` (``LoggingSystem.start_session``,
``log_message``, ``log_error``) and ``docs/SESSION_STORAGE.md``.

On disk: ``memory/sessions/{YYYY-MM-DD}/{session_id}.json``, one object per session::

    {"session_id": "abc123def456", "user_name": "User",
     "started_at": "2026-02-07T10:00:00.123456", "last_updated": "...",
     "messages": [{"role", "content", "timestamp", "metadata": {}}],
     "metadata": {}, "stats": {"total_messages", "user_messages", "assistant_messages", "errors"},
     "errors": [{"type", "message", "timestamp", "context"}]}

AI-Lab writes naive local times (``datetime.now().isoformat()``); they are read as UTC,
since the writer's timezone is not recorded. The path may be the ``memory`` directory, its
``sessions`` directory, one date directory or one session file. ``user_name``, ``stats``
and ``errors`` are kept under the session metadata key ``ai_lab``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ...model import NewMessage
from ..imported import ImportedSession, Skipped
from ._common import (
    as_role,
    expect_dict,
    expect_list,
    expect_str,
    load_json,
    location,
    opt_dict,
    opt_str,
    parse_time,
    stable_id,
)

NAME = "ai-lab"
_DATE_DIR = re.compile(r"^\d{4}-\d{2}(-\d{2})?$")


def _sessions_dir(path: Path) -> Path:
    if (path / "sessions").is_dir():
        return path / "sessions"
    return path


def _date_dirs(base: Path) -> list[Path]:
    return sorted(p for p in base.iterdir() if p.is_dir() and _DATE_DIR.match(p.name))


def sniff(path: Path) -> bool:
    if not path.is_dir():
        return False
    base = _sessions_dir(path)
    if _DATE_DIR.match(base.name):
        return any(base.glob("*.json"))
    return any(any(d.glob("*.json")) for d in _date_dirs(base))


def discover(path: Path) -> Iterator[Path]:
    if path.is_file():
        yield path
        return
    base = _sessions_dir(path)
    dirs = [base] if _DATE_DIR.match(base.name) else _date_dirs(base)
    for d in dirs:
        yield from sorted(p for p in d.glob("*.json") if p.is_file())


def read(path: Path) -> ImportedSession:
    where = str(path)
    doc = expect_dict(load_json(path), where)
    session_id = opt_str(doc.get("session_id"), f"{where}.session_id") or path.stem
    raw_messages = expect_list(doc.get("messages"), f"{where}.messages")
    metadata = dict(opt_dict(doc.get("metadata"), f"{where}.metadata"))
    stats = opt_dict(doc.get("stats"), f"{where}.stats")
    errors = expect_list(doc.get("errors", []), f"{where}.errors")
    messages: list[NewMessage] = []
    skipped: list[Skipped] = []
    for i, raw in enumerate(raw_messages):
        mwhere = f"{where}.messages[{i}]"
        item = expect_dict(raw, mwhere)
        raw_role = expect_str(item.get("role"), f"{mwhere}.role")
        role = as_role(raw_role)
        if role is None:
            skipped.append(Skipped(f"message {i} (role {raw_role!r})", "role not known to sessionhub"))
            continue
        content = item.get("content")
        messages.append(
            NewMessage(
                role=role,
                content=expect_str("" if content is None else content, f"{mwhere}.content"),
                metadata=dict(opt_dict(item.get("metadata"), f"{mwhere}.metadata")),
                created_at=parse_time(item.get("timestamp"), f"{mwhere}.timestamp"),
            )
        )
    ai_lab: dict[str, Any] = {"session_id": session_id, "stats": stats}
    user_name = opt_str(doc.get("user_name"), f"{where}.user_name")
    if user_name is not None:
        ai_lab["user_name"] = user_name
    if errors:
        ai_lab["errors"] = errors
    title = metadata.get("title") if isinstance(metadata.get("title"), str) else None
    metadata["ai_lab"] = ai_lab
    created = parse_time(doc.get("started_at"), f"{where}.started_at")
    return ImportedSession(
        format=NAME,
        source_id=stable_id(NAME, location(path), session_id),
        source_path=location(path),
        source_session_id=session_id,
        title=title or None,
        created_at=created or (messages[0].created_at if messages else None),
        updated_at=parse_time(doc.get("last_updated"), f"{where}.last_updated"),
        messages=tuple(messages),
        model=metadata["model"] if isinstance(metadata.get("model"), str) else None,
        metadata=metadata,
        skipped=tuple(skipped),
        source_key=session_id,
    )
