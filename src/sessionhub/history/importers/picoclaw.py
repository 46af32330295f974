"""Importer for picoclaw (sipeed/picoclaw) JSONL sessions.

Followed: ``sipeed/picoclaw``, ``pkg/memory/jsonl.go`` (``JSONLStore``: ``sessionMeta``,
``addMsg``, ``readMessages``) and ``pkg/providers/protocoltypes/types.go`` (``Message``,
``ToolCall``, ``FunctionCall``, ``ContentBlock``).

On disk (``{workspace}/sessions/``), two files per session, the key with ``:`` -> ``_``::

    {key}.jsonl       one providers.Message per line:
                      {"role", "content", "content_parts"?: [{"type": "text"|"image_url", ...}],
                       "reasoning_content"?, "system_parts"?, "tool_calls"?: [{"id", "type": "function",
                        "function": {"name", "arguments": "<JSON string>"}}], "tool_call_id"?}
    {key}.meta.json   {"key", "summary", "skip", "count", "created_at", "updated_at"}

Older PicoClaw versions kept one ``{key}.json`` per session instead (``pkg/session``
``Session``: ``{"key", "messages": [providers.Message], "summary"?, "created", "updated"}``);
those import the same way. A ``{key}.json.migrated`` file is one PicoClaw itself already
moved to JSONL (reported, not imported twice), as is a ``{key}.json`` beside its ``.jsonl``.

Keys: ``meta.key`` (or the file name) is the source key. The ``agent:...`` keys of newer
PicoClaw are read by the hub (``routing/legacy.py``); the older ``channel:chat_id`` keys
name the chat here. Either way the session is filed under the canonical key of its chat.

Mapping: assistant ``tool_calls`` -> ``ToolCall`` parts (arguments decoded from their JSON
string); a ``tool`` message -> role ``tool`` with a ``ToolResult`` part for ``tool_call_id``.
Lines carry no timestamps, so messages get none (``created_at`` is None). picoclaw
truncates logically (``skip`` lines are hidden, a ``summary`` replaces them); we import
every line, nothing is lost, and keep ``summary``/``skip`` under metadata key ``picoclaw``.
picoclaw silently drops corrupt lines; here they are dropped too, and named in the report
(the last one as cut off by a crash).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ...errors import InvalidInput
from ...model import CHANNELS, NewMessage, Part, ToolCall, ToolResult
from ...routing.legacy import Origin, is_legacy_key
from ..imported import ImportedSession, Skipped
from ._common import (
    as_role,
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
)

NAME = "picoclaw"
META_SUFFIX = ".meta.json"
MIGRATED_SUFFIX = ".json.migrated"


def _sessions_dir(path: Path) -> Path:
    if path.is_dir() and (path / "sessions").is_dir():
        return path / "sessions"
    return path


def _is_legacy_file(p: Path) -> bool:
    return p.suffix == ".json" and not p.name.endswith(META_SUFFIX) and p.is_file()


def _legacy_doc(p: Path) -> bool:
    """A pre-JSONL PicoClaw session file: an object with ``key`` and ``messages``."""
    try:
        doc = load_json(p)
    except (InvalidInput, RecursionError):  # sniffing: anything unreadable is simply not ours
        return False
    return isinstance(doc, dict) and isinstance(doc.get("key"), str) and isinstance(doc.get("messages"), list)


def sniff(path: Path) -> bool:
    if path.is_file():
        if path.suffix == ".json":
            return _legacy_doc(path)
        first = first_jsonl_object(path) if path.suffix == ".jsonl" else None
        return first is not None and "role" in first and "type" not in first
    base = _sessions_dir(path)
    if not base.is_dir():
        return False
    if any(base.glob("*" + META_SUFFIX)) or any(base.glob("*" + MIGRATED_SUFFIX)):
        return True
    if any(sniff(p) for p in sorted(base.glob("*.jsonl"))[:3]):
        return True
    return any(_legacy_doc(p) for p in sorted(q for q in base.glob("*.json") if _is_legacy_file(q))[:3])


def discover(path: Path) -> Iterator[Path]:
    if path.is_file():
        yield path
        return
    base = _sessions_dir(path)
    found = sorted(p for p in base.glob("*.jsonl") if p.is_file())
    stems = {p.stem for p in found}
    found += [p for p in base.glob("*.json") if _is_legacy_file(p) and p.stem not in stems and _legacy_doc(p)]
    yield from sorted(found)


def ignored(path: Path) -> Iterator[Skipped]:
    """Files of the folder that are not imported, with the reason (nothing is skipped silently)."""
    if path.is_file():
        return
    base = _sessions_dir(path)
    stems = {p.stem for p in base.glob("*.jsonl") if p.is_file()}
    for p in sorted(base.iterdir()):
        if p.name.endswith(MIGRATED_SUFFIX):
            yield Skipped(str(p), "PicoClaw already moved this session to JSONL (imported from there)")
        elif _is_legacy_file(p) and p.stem in stems:
            yield Skipped(str(p), f"older copy of {p.stem}.jsonl (imported from there)")
        elif _is_legacy_file(p) and not _legacy_doc(p):
            yield Skipped(str(p), "not a PicoClaw session file (unreadable, or no key and messages)")
        elif p.name.endswith(META_SUFFIX) and p.name[: -len(META_SUFFIX)] not in stems:
            yield Skipped(str(p), "metadata without its .jsonl transcript")


def _meta(path: Path) -> dict[str, Any]:
    meta_path = path.with_name(path.name[: -len(".jsonl")] + META_SUFFIX)
    if not meta_path.is_file():
        return {}
    return expect_dict(load_json(meta_path), str(meta_path))


def _text_of_blocks(blocks: list[Any], where: str, what: str, skipped: list[Skipped]) -> str:
    texts: list[str] = []
    for j, raw in enumerate(blocks):
        block = expect_dict(raw, f"{where}[{j}]")
        kind = block.get("type")
        if kind == "text":
            texts.append(expect_str(block.get("text", ""), f"{where}[{j}].text"))
        else:
            skipped.append(Skipped(f"{what} block {j} ({kind})", "only text content is imported"))
    return "\n".join(texts)


def _message(item: dict[str, Any], where: str, n: int, skipped: list[Skipped]) -> NewMessage | None:
    raw_role = expect_str(item.get("role"), f"{where}.role")
    role = as_role(raw_role)
    if role is None:
        skipped.append(Skipped(f"line {n} (role {raw_role!r})", "role not known to sessionhub"))
        return None
    content = expect_str(item.get("content") or "", f"{where}.content")
    if item.get("content_parts"):
        blocks = expect_list(item["content_parts"], f"{where}.content_parts")
        text = _text_of_blocks(blocks, f"{where}.content_parts", f"line {n} content", skipped)
        content = content or text
    if item.get("system_parts"):
        blocks = expect_list(item["system_parts"], f"{where}.system_parts")
        text = _text_of_blocks(blocks, f"{where}.system_parts", f"line {n} system", skipped)
        content = content or text
    if item.get("reasoning_content"):
        skipped.append(Skipped(f"line {n} reasoning_content", "model reasoning is not stored"))
    parts: list[Part] = []
    for j, raw in enumerate(expect_list(item.get("tool_calls") or [], f"{where}.tool_calls")):
        call = expect_dict(raw, f"{where}.tool_calls[{j}]")
        function = expect_dict(call.get("function"), f"{where}.tool_calls[{j}].function")
        parts.append(
            ToolCall(
                id=expect_str(call.get("id"), f"{where}.tool_calls[{j}].id"),
                name=expect_str(function.get("name"), f"{where}.tool_calls[{j}].function.name"),
                arguments=json_arguments(function.get("arguments"), f"{where}.tool_calls[{j}].function"),
            )
        )
    call_id = opt_str(item.get("tool_call_id"), f"{where}.tool_call_id")
    if role == "tool" and call_id:
        parts.append(ToolResult(tool_call_id=call_id, content=content))
    return NewMessage(role=role, content=content, parts=tuple(parts))


def _origin(key: str) -> Origin | None:
    """The chat an older ``channel:chat_id`` key names (None for other keys: the hub reads
    ``agent:`` keys itself; ``cli:…`` and the like are no chat sessionhub routes)."""
    if is_legacy_key(key):
        return None
    channel, _, chat = key.partition(":")
    if channel not in CHANNELS or channel == "web" or not chat:
        return None
    if channel == "telegram" and chat.startswith("-"):
        return Origin(channel=channel, chat=chat, chat_type="group")
    return Origin(channel=channel, chat=chat, sender=chat)


def _session(
    path: Path, key: str, raw: list[tuple[int, dict[str, Any]]], meta: dict[str, Any], skipped: list[Skipped]
) -> ImportedSession:
    where = str(path)
    messages: list[NewMessage] = []
    for n, item in raw:
        message = _message(item, f"{where}: line {n}", n, skipped)
        if message is not None:
            messages.append(message)
    info: dict[str, Any] = {"key": key}
    summary = opt_str(meta.get("summary"), f"{where}: summary")
    if summary:
        info["summary"] = summary
    if meta.get("skip"):
        info["skip"] = meta["skip"]
    created = meta.get("created_at", meta.get("created"))
    updated = meta.get("updated_at", meta.get("updated"))
    return ImportedSession(
        format=NAME,
        source_id=stable_id(NAME, location(path.parent), key),
        source_path=location(path),
        source_session_id=key,
        title=None,
        created_at=parse_time(created, f"{where}: created"),
        updated_at=parse_time(updated, f"{where}: updated"),
        messages=tuple(messages),
        metadata={"picoclaw": info},
        skipped=tuple(skipped),
        source_key=key,
        origin=_origin(key),
    )


def read(path: Path) -> ImportedSession:
    skipped: list[Skipped] = []
    if path.suffix == ".json":  # the older one-file-per-session format
        doc = expect_dict(load_json(path), str(path))
        key = expect_str(doc.get("key"), f"{path}: key")
        items = expect_list(doc.get("messages") or [], f"{path}: messages")
        raw = [(i + 1, expect_dict(m, f"{path}: messages[{i}]")) for i, m in enumerate(items)]
        return _session(path, key, raw, doc, skipped)
    meta = _meta(path)
    raw = list(iter_jsonl(path, skipped))
    key = opt_str(meta.get("key"), f"{path}: meta key") or path.stem
    return _session(path, key, raw, meta, skipped)
