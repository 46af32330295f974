"""The live events of a turn (CONTRACT section 7), as plain dicts ready for JSON.

    delta       {session_id, message_id, text}
    tool_call   {session_id, message_id, id, name, arguments}
    tool_result {session_id, message_id, tool_call_id, name, content, is_error}
                (message_id is the persisted tool message)
    message     {session_id, message}            a persisted message, final for this turn
    error       {session_id, code, message}
    stream_end  {session_id, message_id, status} last event of every turn

Every event carries ``type`` and ``session_id``. An :data:`EventSink` receives them in
order; a sink that fails (a client went away) is logged and ignored, never stops a turn.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeAlias

from ..model import Message

Event: TypeAlias = dict[str, Any]
EventSink: TypeAlias = Callable[[Event], Awaitable[None]]


def delta(session_id: str, message_id: str, text: str) -> Event:
    return {"type": "delta", "session_id": session_id, "message_id": message_id, "text": text}


def tool_call(
    session_id: str, message_id: str, call_id: str, name: str, arguments: Mapping[str, Any]
) -> Event:
    return {
        "type": "tool_call",
        "session_id": session_id,
        "message_id": message_id,
        "id": call_id,
        "name": name,
        "arguments": dict(arguments),
    }


def tool_result(
    session_id: str, message_id: str, call_id: str, name: str, content: str, is_error: bool
) -> Event:
    return {
        "type": "tool_result",
        "session_id": session_id,
        "message_id": message_id,
        "tool_call_id": call_id,
        "name": name,
        "content": content,
        "is_error": is_error,
    }


def message(msg: Message) -> Event:
    return {"type": "message", "session_id": msg.session_id, "message": msg.to_dict()}


def error(session_id: str, code: str, text: str) -> Event:
    return {"type": "error", "session_id": session_id, "code": code, "message": text}


def stream_end(session_id: str, message_id: str | None, status: str) -> Event:
    return {"type": "stream_end", "session_id": session_id, "message_id": message_id, "status": status}
