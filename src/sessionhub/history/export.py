"""Streaming exporters: every exporter is a generator of ``str`` chunks.

Nothing here holds a whole history: messages are read from the iterable one at a time
and each is written out before the next is requested, so memory stays flat however long
the session is (the caller feeds bounded pages from the store). Join the chunks, or
write them to a file or an HTTP response as they come.

Formats (``FORMATS``):

- ``markdown``: a title, an optional metadata header, then one block per message with its
  role and time; tool calls are shown as fenced JSON, tool results as fenced text.
- ``text``: the same, plain.
- ``json``: lossless. ``{"format": "sessionhub", "version": 1, "session": {...},
  "checkpoints": [...], "messages": [...]}`` with every message field (id, seq, role,
  content, parts, status, usage, metadata, created_at). ``messages`` comes last and is
  written one message per chunk; the result is valid JSON only once fully written.
  With ``include_metadata=False`` the session's and messages' ``metadata`` are written as ``{}``.
- ``jsonl``: one line per session in the chat fine-tuning shape ``{"messages": [{"role",
  "content"}, ...]}``. Tool calls follow the OpenAI chat format: an assistant message with
  tool calls gets ``"tool_calls": [{"id", "type": "function", "function": {"name",
  "arguments": "<JSON string>"}}]`` (and ``"content": null`` when it has no text); each tool
  result becomes its own ``{"role": "tool", "tool_call_id", "content"}`` message.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from typing import Any

from ..clock import isoformat
from ..errors import InvalidInput
from ..model import Checkpoint, Message, Session, ToolCall, ToolResult

FORMAT_NAME = "sessionhub"
FORMAT_VERSION = 1

FORMATS: tuple[str, ...] = ("markdown", "json", "jsonl", "text")

_CONTENT_TYPES = {
    "markdown": "text/markdown; charset=utf-8",
    "json": "application/json",
    "jsonl": "application/jsonl",
    "text": "text/plain; charset=utf-8",
}
_EXTENSIONS = {"markdown": "md", "json": "json", "jsonl": "jsonl", "text": "txt"}


def _check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise InvalidInput(f"unknown export format {fmt!r} (expected one of {', '.join(FORMATS)})")
    return fmt


def content_type(fmt: str) -> str:
    """The HTTP Content-Type of an export format."""
    return _CONTENT_TYPES[_check_format(fmt)]


def filename(session: Session, fmt: str) -> str:
    """A safe download file name: the slugged title and the session id, e.g. ``trip-plans-ses_ab12.md``."""
    ext = _EXTENSIONS[_check_format(fmt)]
    slug = re.sub(r"[^a-z0-9]+", "-", session.title.lower()).strip("-")[:50].strip("-")
    safe_id = re.sub(r"[^A-Za-z0-9_]+", "", session.id)[:40] or "session"
    return f"{slug}-{safe_id}.{ext}" if slug else f"{safe_id}.{ext}"


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


# --- json ----------------------------------------------------------------------------


def export_json(
    session: Session,
    messages: Iterable[Message],
    checkpoints: Iterable[Checkpoint] = (),
    include_metadata: bool = True,
) -> Iterator[str]:
    """Lossless JSON export, streamed: the head, then one chunk per message, then the tail."""
    sdict = session.to_dict()
    sdict.pop("group", None)
    if not include_metadata:
        sdict["metadata"] = {}
    head = {"format": FORMAT_NAME, "version": FORMAT_VERSION, "session": sdict}
    cps = [c.to_dict() for c in checkpoints]
    yield _dumps(head)[:-1] + ',"checkpoints":' + _dumps(cps) + ',"messages":['
    first = True
    for message in messages:
        mdict = message.to_dict()
        if not include_metadata:
            mdict["metadata"] = {}
        yield ("\n" if first else ",\n") + _dumps(mdict)
        first = False
    yield "\n]}\n"


# --- jsonl (fine-tuning) -------------------------------------------------------------


def _chat_messages(message: Message) -> list[dict[str, Any]]:
    """One stored message in OpenAI chat form (a tool message may give several)."""
    calls = [p for p in message.parts if isinstance(p, ToolCall)]
    results = [p for p in message.parts if isinstance(p, ToolResult)]
    if message.role == "tool" and results:
        return [{"role": "tool", "tool_call_id": r.tool_call_id, "content": r.content} for r in results]
    out: dict[str, Any] = {"role": message.role, "content": message.content}
    if calls:
        if not message.content:
            out["content"] = None
        out["tool_calls"] = [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": _dumps(c.arguments)}}
            for c in calls
        ]
    extra = [out]
    extra.extend({"role": "tool", "tool_call_id": r.tool_call_id, "content": r.content} for r in results)
    return extra


def export_jsonl(
    sessions_with_messages: Iterable[tuple[Session, Iterable[Message]]],
    include_metadata: bool = False,
) -> Iterator[str]:
    """One JSON line per session, ``{"messages": [...]}``, streamed one message at a time.

    With ``include_metadata`` each line also gets ``"metadata": {"session_id", "title",
    "agent", "provider", "model"}`` (off by default: the plain fine-tuning shape).
    """
    for session, messages in sessions_with_messages:
        yield '{"messages":['
        first = True
        for message in messages:
            for item in _chat_messages(message):
                yield ("" if first else ",") + _dumps(item)
                first = False
        tail = "]"
        if include_metadata:
            meta = {
                "session_id": session.id,
                "title": session.title,
                "agent": session.agent,
                "provider": session.provider,
                "model": session.model,
            }
            tail += ',"metadata":' + _dumps(meta)
        yield tail + "}\n"


# --- markdown and text ---------------------------------------------------------------


def _fence(body: str, lang: str = "") -> str:
    """A fenced block whose fence is longer than any backtick run inside ``body``."""
    longest = max((len(m) for m in re.findall(r"`+", body)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{lang}\n{body}\n{fence}\n"


def _header_lines(session: Session) -> list[tuple[str, str]]:
    rows = [
        ("Session", session.id),
        ("Agent", session.agent),
        ("Provider / model", f"{session.provider} / {session.model}"),
        ("Channel", session.channel),
        ("Key", session.key),
        ("Status", session.status + (", pinned" if session.pinned else "")),
        ("Created", isoformat(session.created_at) or ""),
        ("Updated", isoformat(session.updated_at) or ""),
        ("Messages", str(session.message_count)),
    ]
    if session.metadata:
        rows.append(("Metadata", _dumps(dict(session.metadata))))
    return rows


def _role_label(message: Message) -> str:
    label = message.role.capitalize()
    if message.status != "complete":
        label += f" ({message.status})"
    return label


def export_markdown(
    session: Session, messages: Iterable[Message], include_metadata: bool = True
) -> Iterator[str]:
    """Markdown: ``# title``, an optional metadata list, then one ``###`` block per message."""
    title = session.title or "Untitled session"
    head = f"# {title}\n\n"
    if include_metadata:
        head += "".join(f"- **{k}:** {v}\n" for k, v in _header_lines(session)) + "\n"
    yield head
    for message in messages:
        when = isoformat(message.created_at) or ""
        block = (
            f"---\n\n### {_role_label(message)} · #{message.seq}" + (f" · {when}" if when else "") + "\n\n"
        )
        if message.content:
            block += message.content + "\n\n"
        for part in message.parts:
            if isinstance(part, ToolCall):
                args = json.dumps(dict(part.arguments), ensure_ascii=False, indent=2)
                block += f"**Tool call** `{part.name}` (id `{part.id}`)\n\n" + _fence(args, "json") + "\n"
            else:
                block += f"**Tool result** for `{part.tool_call_id}`\n\n" + _fence(part.content) + "\n"
        if include_metadata and message.metadata:
            block += f"<sub>metadata: `{_dumps(dict(message.metadata))}`</sub>\n\n"
        yield block


def export_text(
    session: Session, messages: Iterable[Message], include_metadata: bool = True
) -> Iterator[str]:
    """Plain text: the title underlined, an optional header, then ``[time] role:`` blocks."""
    title = session.title or "Untitled session"
    head = f"{title}\n{'=' * max(3, len(title))}\n\n"
    if include_metadata:
        head += "".join(f"{k}: {v}\n" for k, v in _header_lines(session)) + "\n"
    yield head
    for message in messages:
        when = isoformat(message.created_at) or "?"
        status = "" if message.status == "complete" else f" ({message.status})"
        block = f"[{when}] {message.role}{status}:\n"
        if message.content:
            block += message.content + "\n"
        for part in message.parts:
            if isinstance(part, ToolCall):
                block += f"  -> tool call {part.name} [{part.id}] {_dumps(dict(part.arguments))}\n"
            else:
                block += f"  <- tool result [{part.tool_call_id}]: {part.content}\n"
        yield block + "\n"


def export_session(
    fmt: str,
    session: Session,
    messages: Iterable[Message],
    checkpoints: Iterable[Checkpoint] = (),
    include_metadata: bool = True,
) -> Iterator[str]:
    """Dispatch one session to the exporter of ``fmt``.

    ``jsonl`` gives a single line in the plain fine-tuning shape (``include_metadata`` does
    not apply to it here; call ``export_jsonl`` directly for the metadata variant).
    """
    _check_format(fmt)
    if fmt == "json":
        return export_json(session, messages, checkpoints, include_metadata)
    if fmt == "markdown":
        return export_markdown(session, messages, include_metadata)
    if fmt == "text":
        return export_text(session, messages, include_metadata)
    return export_jsonl([(session, messages)])
