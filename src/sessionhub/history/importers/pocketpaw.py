"""Importer for PocketPaw (desktop assistant) session files.

Followed: ``pocketpaw/pocketpaw``, ``src/pocketpaw/memory/file_store.py``
(``FileMemoryStore._save_session_entry``, ``_update_session_index``, ``rebuild_session_index``).

On disk (``~/.pocketpaw/memory/sessions/``)::

    {safe_key}.json          a JSON array, one object per message:
                             {"id", "role", "content", "timestamp" (ISO), "metadata": {}}
    _index.json              {safe_key: {"title", "channel", "created", "last_activity",
                              "message_count", "preview", "user_title"?}}
    _aliases.json            chat aliases (not sessions)
    {safe_key}_compaction.json   a derived compaction cache (not imported)

``safe_key`` is the session key (``channel:chat_id``; ``/new`` starts ``channel:chat_id:<id>``
and points the chat to it in ``_aliases.json``) with ``:`` and ``/`` replaced by ``_``.
The chat of each session (its origin) comes from the alias table, else from the key; the
hub files it under the canonical key of that chat, so the next message from the chat
continues it (CONTRACT 11.2). ``websocket`` and ``cli`` sessions stay web sessions.
The path given may be the ``memory`` directory, its ``sessions`` directory, or one session
file. A session missing from ``_index.json`` is still imported (no title: the hub's
own rule titles it from the first user message). PocketPaw silently treated corrupt
files as empty; here a corrupt file is an ``ImportFailure``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ...model import CHANNELS, NewMessage
from ...routing.legacy import Origin
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

NAME = "pocketpaw"
INDEX = "_index.json"
ALIASES = "_aliases.json"


def _sessions_dir(path: Path) -> Path:
    if path.is_dir() and (path / "sessions").is_dir() and not (path / INDEX).exists():
        return path / "sessions"
    return path


def sniff(path: Path) -> bool:
    return path.is_dir() and (_sessions_dir(path) / INDEX).is_file()


def _is_session_file(p: Path) -> bool:
    return p.is_file() and not p.name.startswith("_") and not p.name.endswith("_compaction.json")


def discover(path: Path) -> Iterator[Path]:
    if path.is_file():
        yield path
        return
    base = _sessions_dir(path)
    yield from sorted(p for p in base.glob("*.json") if _is_session_file(p))


def _index_entry(directory: Path, safe_key: str) -> dict[str, Any]:
    index_path = directory / INDEX
    if not index_path.is_file():
        return {}
    index = expect_dict(load_json(index_path), str(index_path))
    return opt_dict(index.get(safe_key), f"{index_path}: entry {safe_key!r}")


def _safe(key: str) -> str:
    return key.replace(":", "_").replace("/", "_")


def _keys(directory: Path, safe_key: str) -> tuple[str, str] | None:
    """(the session's own key, the ``channel:chat_id`` key of its chat) from ``_aliases.json``."""
    path = directory / ALIASES
    if not path.is_file():
        return None
    aliases = expect_dict(load_json(path), str(path))
    for source, target in aliases.items():
        if _safe(source) == safe_key:
            return source, source
        if isinstance(target, str) and _safe(target) == safe_key:
            return target, source
    return None


def _origin(directory: Path, safe_key: str, channel: str | None) -> tuple[str, Origin | None]:
    """The source key and the chat of a session (None for web and CLI sessions)."""
    keys = _keys(directory, safe_key)
    if keys is not None:
        source_key, chat_key = keys
        ch, _, rest = chat_key.partition(":")
        channel = channel or ch
        chat = rest.split(":", 1)[0]
    elif channel is not None and safe_key.startswith(channel + "_"):
        rest = safe_key[len(channel) + 1 :]
        chat = rest.split("_", 1)[0]
        source_key = f"{channel}:{rest}"
    else:
        source_key, chat = safe_key, ""
    if channel not in CHANNELS or channel == "web" or not chat:
        return source_key, None
    if channel == "telegram" and chat.startswith("-"):  # Telegram groups have negative ids
        return source_key, Origin(channel=channel, chat=chat, chat_type="group")
    return source_key, Origin(channel=channel, chat=chat, sender=chat)


def read(path: Path) -> ImportedSession:
    safe_key = path.stem
    entry = _index_entry(path.parent, safe_key)
    raw_messages = expect_list(load_json(path), str(path))
    messages: list[NewMessage] = []
    skipped: list[Skipped] = []
    for i, raw in enumerate(raw_messages):
        where = f"{path}: message {i}"
        item = expect_dict(raw, where)
        raw_role = expect_str(item.get("role"), f"{where}.role")
        role = as_role(raw_role)
        if role is None:
            skipped.append(Skipped(f"message {i} (role {raw_role!r})", "role not known to sessionhub"))
            continue
        content = item.get("content")
        if content is None:
            content = ""
        metadata = dict(opt_dict(item.get("metadata"), f"{where}.metadata"))
        if item.get("id") is not None:
            metadata.setdefault("pocketpaw_id", str(item["id"]))
        messages.append(
            NewMessage(
                role=role,
                content=expect_str(content, f"{where}.content"),
                metadata=metadata,
                created_at=parse_time(item.get("timestamp"), f"{where}.timestamp"),
            )
        )
    compaction = path.with_name(f"{safe_key}_compaction.json")
    if compaction.exists():
        skipped.append(
            Skipped(compaction.name, "compaction cache derived from the history; full history imported")
        )

    title = opt_str(entry.get("user_title"), f"{path}: index user_title") or opt_str(
        entry.get("title"), f"{path}: index title"
    )
    channel = opt_str(entry.get("channel"), f"{path}: index channel")
    if channel is None and "_" in safe_key:
        channel = safe_key.split("_", 1)[0]
    created = parse_time(entry.get("created"), f"{path}: index created") if entry else None
    if created is None and messages:
        created = messages[0].created_at
    updated = parse_time(entry.get("last_activity"), f"{path}: index last_activity") if entry else None
    if updated is None and messages:
        updated = messages[-1].created_at
    source_key, origin = _origin(path.parent, safe_key, channel)
    return ImportedSession(
        format=NAME,
        source_id=stable_id(NAME, location(path.parent), safe_key),
        source_path=location(path),
        source_session_id=safe_key,
        title=title,
        created_at=created,
        updated_at=updated,
        messages=tuple(messages),
        metadata={"pocketpaw": {"session_key": safe_key, "channel": channel}},
        skipped=tuple(skipped),
        source_key=source_key,
        origin=origin,
    )
