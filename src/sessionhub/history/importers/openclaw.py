"""Importer for OpenClaw JSONL transcripts (the pi coding-agent session format).

Followed: ``openclaw/openclaw`` (``src/config/sessions/``: ``sessions.json`` index of
``SessionEntry`` keyed by session key) and the pi session format it writes
(``packages/coding-agent/src/core/session-manager.ts``, ``CURRENT_SESSION_VERSION = 3``;
message types from ``@mariozechner/pi-ai``).

On disk: ``~/.openclaw/agents/<agentId>/sessions/`` with ``sessions.json`` and one
``<sessionId>.jsonl`` per session (``<sessionId>-topic-<threadId>.jsonl`` for threads)::

    {"type": "session", "version": 3, "id": "<uuid>", "timestamp": "<ISO>", "cwd": "..."}
    {"type": "message", "id": "a1", "parentId": null, "timestamp": "<ISO>",
     "message": {"role": "user", "content": "hi" | [{"type": "text", "text"} | {"type": "image", ...}],
                 "timestamp": 1740000000000}}
    {"type": "message", "id": "a2", "parentId": "a1", "timestamp": "<ISO>",
     "message": {"role": "assistant", "content": [{"type": "text"}, {"type": "thinking"},
                 {"type": "toolCall", "id", "name", "arguments": {}}], "provider", "model",
                 "usage": {"input", "output", "cacheRead", "cacheWrite", "totalTokens", "cost"},
                 "stopReason": "stop" | "toolUse" | "length" | "error" | "aborted"}}
    {"type": "message", ..., "message": {"role": "toolResult", "toolCallId", "toolName",
                 "content": [{"type": "text", "text"}], "isError": false}}
    {"type": "model_change", "provider", "modelId"}   {"type": "thinking_level_change", ...}
    {"type": "compaction", ...}  {"type": "custom", ...}  {"type": "session_info", "name"?} ...

Reset archives: ``/new`` renames the transcript to ``<sessionId>.jsonl.reset.<ts>``; it
imports as an archived session (of its key when ``sessions.json`` still names its id).
``*.jsonl.deleted.<ts>`` / ``*.jsonl.bak.<ts>`` (deleted sessions, compaction backups) are
reported, not imported. Lines that are not JSON (a write cut by a crash) are left out and
reported, as OpenClaw's own reader skips them.

Keys and origin: the index key (``agent:main:telegram:group:-100…:topic:42``) is the source
key; for ``agent:<a>:main`` / per-peer keys the chat comes from the entry's
``deliveryContext`` (``channel``, ``to``, ``accountId``, ``threadId``) or ``last*`` fields.

Entries form a tree (``id``/``parentId``, version >= 2): the active branch is the path from
the last entry back to the root; entries on abandoned branches are reported as skipped.
Mapping: ``toolCall`` blocks -> ``ToolCall`` parts; a ``toolResult`` message -> role ``tool``
with a ``ToolResult`` part; ``stopReason`` error/aborted -> status error/interrupted; usage
input/output tokens -> ``Usage``. Thinking and image blocks and non-message entries are
skipped with a reason.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ...errors import InvalidInput
from ...model import MessageStatus, NewMessage, Part, Role, ToolCall, ToolResult, Usage
from ...routing.inbound import ChatType
from ...routing.legacy import Origin, is_legacy_key, parse_legacy_key
from ..imported import ImportedSession, Skipped
from ._common import (
    expect_dict,
    expect_list,
    expect_str,
    first_jsonl_object,
    iter_jsonl,
    json_arguments,
    load_json,
    location,
    opt_str,
    parse_time,
    stable_id,
    type_name,
)

NAME = "openclaw"
INDEX = "sessions.json"
MAX_VERSION = 3
_ROLES: dict[str, Role] = {"user": "user", "assistant": "assistant", "toolResult": "tool", "system": "system"}
_STATUS: dict[str, MessageStatus] = {"error": "error", "aborted": "interrupted"}
_ARCHIVE = re.compile(r"\.jsonl\.(reset|deleted|bak)\.[^/]+$")
_TOPIC = re.compile(r"-topic-([^.]+)\.jsonl")


def _is_transcript(p: Path) -> bool:
    return p.is_file() and (p.suffix == ".jsonl" or bool(re.search(r"\.jsonl\.reset\.", p.name)))


def _is_header(obj: dict[str, Any] | None) -> bool:
    return obj is not None and obj.get("type") == "session"


def _session_dirs(path: Path) -> list[Path]:
    if (path / "agents").is_dir():
        return sorted(p for p in (path / "agents").glob("*/sessions") if p.is_dir())
    if (path / "sessions").is_dir():
        return [path / "sessions"]
    return [path]


def sniff(path: Path) -> bool:
    if path.is_file():
        return path.suffix == ".jsonl" and _is_header(first_jsonl_object(path))
    return any(
        _is_header(first_jsonl_object(p)) for d in _session_dirs(path) for p in sorted(d.glob("*.jsonl"))[:3]
    )


def discover(path: Path) -> Iterator[Path]:
    if path.is_file():
        yield path
        return
    for d in _session_dirs(path):
        yield from sorted(p for p in d.iterdir() if _is_transcript(p))


def ignored(path: Path) -> Iterator[Skipped]:
    """Archived files not imported, with the reason (nothing is skipped silently)."""
    if path.is_file():
        return
    for d in _session_dirs(path):
        for p in sorted(d.iterdir()):
            m = _ARCHIVE.search(p.name)
            if m and m.group(1) == "deleted":
                yield Skipped(str(p), "a session deleted in OpenClaw (its archived transcript)")
            elif m and m.group(1) == "bak":
                yield Skipped(str(p), "a backup OpenClaw made before compacting (the transcript is imported)")


def _index_entry(path: Path, session_id: str, archived: bool) -> tuple[str | None, dict[str, Any], bool]:
    """The index key and entry of a transcript, and whether the key was inferred.

    A reset archive is no longer named in ``sessions.json`` (its key got a new session id);
    when the index has a single key (one conversation per agent, OpenClaw's default
    ``dmScope = main``), that key is the archive's.
    """
    index_path = path.parent / INDEX
    if not index_path.is_file():
        return None, {}, False
    index = expect_dict(load_json(index_path), str(index_path))
    for key, raw in index.items():
        if isinstance(raw, dict) and raw.get("sessionId") == session_id:
            return key, raw, False
    entries = [(k, v) for k, v in index.items() if isinstance(v, dict)]
    if archived and len(entries) == 1:
        return entries[0][0], entries[0][1], True
    return None, {}, False


def _active_branch(entries: list[dict[str, Any]], skipped: list[Skipped]) -> list[dict[str, Any]]:
    """The entries on the path from the last entry to the root (file order if no tree)."""
    if not entries or not all(isinstance(e.get("id"), str) and "parentId" in e for e in entries):
        return entries
    by_id = {e["id"]: e for e in entries}
    on_path: set[str] = set()
    current: dict[str, Any] | None = entries[-1]
    while current is not None and current["id"] not in on_path:
        on_path.add(current["id"])
        parent = current.get("parentId")
        if parent is None:
            current = None
        elif parent in by_id:
            current = by_id[parent]
        else:
            skipped.append(Skipped(f"parent entry {parent!r}", "missing from the file; file order used"))
            return entries
    dropped = len(entries) - len(on_path)
    if dropped:
        skipped.append(Skipped(f"{dropped} entries", "on abandoned branches (not the active one)"))
    return [e for e in entries if e["id"] in on_path]


def _content(raw: object, where: str, skipped: list[Skipped]) -> tuple[str, list[Part]]:
    if isinstance(raw, str):
        return raw, []
    texts: list[str] = []
    parts: list[Part] = []
    for j, item in enumerate(expect_list(raw, where)):
        block = expect_dict(item, f"{where}[{j}]")
        kind = block.get("type")
        if kind == "text":
            texts.append(expect_str(block.get("text", ""), f"{where}[{j}].text"))
        elif kind == "toolCall":
            parts.append(
                ToolCall(
                    id=expect_str(block.get("id"), f"{where}[{j}].id"),
                    name=expect_str(block.get("name"), f"{where}[{j}].name"),
                    arguments=json_arguments(block.get("arguments"), f"{where}[{j}].arguments"),
                )
            )
        elif kind == "thinking":
            skipped.append(Skipped(f"{where}[{j}] thinking", "model reasoning is not stored"))
        else:
            skipped.append(Skipped(f"{where}[{j}] {kind}", "only text and tool calls are imported"))
    return "\n".join(texts), parts


def _usage(raw: object) -> Usage:
    if not isinstance(raw, dict):
        return Usage()
    values = [raw.get(k, 0) for k in ("input", "output")]
    ints = [v if isinstance(v, int) and not isinstance(v, bool) and v >= 0 else 0 for v in values]
    return Usage(ints[0], ints[1])


def _message(entry: dict[str, Any], n: int, skipped: list[Skipped]) -> NewMessage | None:
    where = f"entry {n}"
    msg = expect_dict(entry.get("message"), f"{where}.message")
    raw_role = expect_str(msg.get("role"), f"{where}.message.role")
    role = _ROLES.get(raw_role)
    if role is None:
        skipped.append(Skipped(f"{where} (role {raw_role!r})", "not a conversation message"))
        return None
    text, parts = _content(msg.get("content", ""), f"{where}.message.content", skipped)
    metadata: dict[str, Any] = {}
    if role == "tool":
        call_id = expect_str(msg.get("toolCallId"), f"{where}.message.toolCallId")
        parts = [*parts, ToolResult(tool_call_id=call_id, content=text)]
        if isinstance(msg.get("toolName"), str):
            metadata["tool_name"] = msg["toolName"]
        if msg.get("isError") is True:
            metadata["is_error"] = True
    status: MessageStatus = _STATUS.get(str(msg.get("stopReason")), "complete")
    if isinstance(msg.get("errorMessage"), str):
        metadata["error"] = msg["errorMessage"]
    created = parse_time(entry.get("timestamp"), f"{where}.timestamp") or parse_time(
        msg.get("timestamp"), f"{where}.message.timestamp"
    )
    return NewMessage(
        role=role,
        content=text,
        parts=tuple(parts),
        status=status,
        usage=_usage(msg.get("usage")),
        metadata=metadata,
        created_at=created,
    )


def _origin(key: str | None, entry: dict[str, Any], topic: str | None) -> Origin | None:
    """The chat of a session: from its key when the key names one, else from the entry's
    delivery context (``agent:<a>:main`` gathers every DM: the last one is the chat)."""
    legacy: Origin | None = None
    if key and is_legacy_key(key):
        try:
            legacy = parse_legacy_key(key)
        except InvalidInput:
            legacy = None
    if legacy is not None and legacy.kind == "chat":
        return legacy if topic is None or legacy.topic else Origin(**{**_fields(legacy), "topic": topic})
    raw_ctx = entry.get("deliveryContext")
    ctx: dict[str, Any] = raw_ctx if isinstance(raw_ctx, dict) else {}
    channel = ctx.get("channel") or entry.get("lastChannel") or entry.get("channel")
    to = ctx.get("to") or entry.get("lastTo")
    if not isinstance(channel, str) or not isinstance(to, str | int) or isinstance(to, bool):
        return legacy
    chat = str(to)
    for prefix in (f"{channel}:", "user:", "chat:", "group:", "channel:"):
        chat = chat.removeprefix(prefix)
    account = ctx.get("accountId") or entry.get("lastAccountId") or "default"
    thread = ctx.get("threadId") or entry.get("lastThreadId") or topic
    kind: ChatType = "group" if entry.get("chatType") == "group" else "direct"
    if entry.get("chatType") == "channel":
        kind = "channel"
    return Origin(
        agent=legacy.agent if legacy is not None else None,
        channel=channel,
        account=str(account),
        chat=chat,
        chat_type=kind,
        topic=None if thread in (None, "") else str(thread),
        sender=chat if kind == "direct" else None,
    )


def _fields(o: Origin) -> dict[str, Any]:
    return {name: getattr(o, name) for name in Origin.__slots__}


def read(path: Path) -> ImportedSession:
    lenient: list[Skipped] = []
    lines = list(iter_jsonl(path, lenient))
    if not lines or not _is_header(lines[0][1]):
        raise InvalidInput(f"{path}: not an OpenClaw transcript (first line is not a session header)")
    header = lines[0][1]
    version = header.get("version", 1)
    if not isinstance(version, int) or isinstance(version, bool) or not 1 <= version <= MAX_VERSION:
        raise InvalidInput(f"{path}: unsupported transcript version {version!r} (reads 1..{MAX_VERSION})")
    session_id = expect_str(header.get("id"), f"{path}: header id")
    skipped: list[Skipped] = lenient
    entries = _active_branch([e for _, e in lines[1:]], skipped)
    numbers = {id(e): n for n, e in lines[1:]}
    messages: list[NewMessage] = []
    other: Counter[str] = Counter()
    provider = model = title = None
    for entry in entries:
        kind = entry.get("type")
        if kind == "message":
            message = _message(entry, numbers[id(entry)], skipped)
            if message is not None:
                messages.append(message)
                msg = entry["message"]
                if message.role == "assistant" and isinstance(msg.get("model"), str):
                    provider = msg.get("provider") if isinstance(msg.get("provider"), str) else provider
                    model = msg["model"]
        elif kind == "model_change" and isinstance(entry.get("modelId"), str):
            provider = entry.get("provider") if isinstance(entry.get("provider"), str) else provider
            model = entry["modelId"]
        elif kind == "session_info" and isinstance(entry.get("name"), str):
            title = entry["name"]
        else:
            other[kind if isinstance(kind, str) else type_name(kind)] += 1
    for kind, count in sorted(other.items()):
        skipped.append(Skipped(f"{count} '{kind}' entries", "not conversation messages"))
    archived = ".jsonl.reset." in path.name
    key, index, inferred = _index_entry(path, session_id, archived)
    for name in ("label", "displayName", "subject"):
        if not title and isinstance(index.get(name), str):
            title = index[name]
    metadata: dict[str, Any] = {"session_id": session_id, "version": version}
    if key:
        metadata["session_key"] = key
    for name in ("cwd", "parentSession"):
        if isinstance(header.get(name), str):
            metadata[name] = header[name]
    if isinstance(index.get("channel"), str):
        metadata["channel"] = index["channel"]
    agent = path.parent.parent.name if path.parent.name == "sessions" else None
    if archived and key is None:
        skipped.append(
            Skipped("session key", "reset archive no longer named in sessions.json; kept archived on its own")
        )
    elif inferred:
        skipped.append(
            Skipped("session key", f"reset archive filed under {key}, the only key of sessions.json")
        )
    topic_match = _TOPIC.search(path.name)
    topic = topic_match.group(1) if topic_match else None
    created = parse_time(header.get("timestamp"), f"{path}: header timestamp")
    updated = (
        parse_time(index.get("updatedAt"), f"{path}: index updatedAt") if index and not inferred else None
    )
    return ImportedSession(
        format=NAME,
        source_id=stable_id(NAME, location(path), session_id),
        source_path=location(path),
        source_session_id=session_id,
        title=opt_str(title, f"{path}: title"),
        created_at=created,
        updated_at=updated or (messages[-1].created_at if messages else created),
        messages=tuple(messages),
        agent=agent,
        provider=provider if isinstance(provider, str) else None,
        model=model,
        metadata={"openclaw": metadata},
        skipped=tuple(skipped),
        source_key=key,
        origin=_origin(key, index, topic),
        archived=archived,
    )
