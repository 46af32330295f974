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

Mapping: assistant ``tool_calls`` -> ``ToolCall`` parts (arguments decoded from their JSON
string); a ``tool`` message -> role ``tool`` with a ``ToolResult`` part for ``tool_call_id``.
Lines carry no timestamps, so messages get none (``created_at`` is None). picoclaw
truncates logically (``skip`` lines are hidden, a ``summary`` replaces them); we import
every line, nothing is lost, and keep ``summary``/``skip`` under metadata key ``picoclaw``.
picoclaw silently drops corrupt lines; here any corrupt line fails the session.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ...model import NewMessage, Part, ToolCall, ToolResult
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


def _sessions_dir(path: Path) -> Path:
    if path.is_dir() and (path / "sessions").is_dir():
        return path / "sessions"
    return path


def sniff(path: Path) -> bool:
    if path.is_file():
        first = first_jsonl_object(path) if path.suffix == ".jsonl" else None
        return first is not None and "role" in first and "type" not in first
    base = _sessions_dir(path)
    if not base.is_dir():
        return False
    if any(base.glob("*" + META_SUFFIX)):
        return True
    return any(sniff(p) for p in sorted(base.glob("*.jsonl"))[:3])


def discover(path: Path) -> Iterator[Path]:
    if path.is_file():
        yield path
        return
    yield from sorted(p for p in _sessions_dir(path).glob("*.jsonl") if p.is_file())


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


def read(path: Path) -> ImportedSession:
    meta = _meta(path)
    where = str(path)
    messages: list[NewMessage] = []
    skipped: list[Skipped] = []
    for n, item in iter_jsonl(path):
        message = _message(item, f"{where}: line {n}", n, skipped)
        if message is not None:
            messages.append(message)
    key = opt_str(meta.get("key"), f"{where}: meta key") or path.stem
    info: dict[str, Any] = {"key": key}
    summary = opt_str(meta.get("summary"), f"{where}: meta summary")
    if summary:
        info["summary"] = summary
    if meta.get("skip"):
        info["skip"] = meta["skip"]
    return ImportedSession(
        format=NAME,
        source_id=stable_id(NAME, location(path.parent), key),
        source_path=location(path),
        source_session_id=key,
        title=None,
        created_at=parse_time(meta.get("created_at"), f"{where}: meta created_at"),
        updated_at=parse_time(meta.get("updated_at"), f"{where}: meta updated_at"),
        messages=tuple(messages),
        metadata={"picoclaw": info},
        skipped=tuple(skipped),
    )
