"""LangChain chat message history stored in sessionhub: ``HubChatMessageHistory``.

    from langchain_core.runnables.history import RunnableWithMessageHistory
    from sessionhub.integrations.langchain import HubChatMessageHistory

    chain = RunnableWithMessageHistory(
        prompt | model, lambda sid: HubChatMessageHistory(sid, hub), input_messages_key="question"
    )
    chain.invoke({"question": "hi"}, config={"configurable": {"session_id": "user-42"}})

``HubChatMessageHistory`` implements ``langchain_core.chat_history.BaseChatMessageHistory``:
the sync ``messages`` / ``add_messages`` / ``clear`` and the async ``aget_messages`` /
``aadd_messages`` / ``aclear`` (``add_message``, ``add_user_message``, ``add_ai_message``
come from the base class and go through ``add_messages``).

Sync methods run the hub's coroutines on one background event loop thread shared by all
adapters in the process (``sessionhub.integrations._keyed.run_sync``), so they work in a
plain script and inside a running loop alike (there they block the loop for the call, as
any sync I/O does; LangChain's ``ainvoke`` uses the async methods).

Which session: a valid sessionhub id (``ses_…``) is used as it is; any other string is
LangChain's session id, kept under the session key ``{agent}:langchain:{session_id}``
(created on the first write; concurrent first writes end in one session).

Mapping, one LangChain message per sessionhub message, lossless: ``message_to_dict(m)``
is kept in ``metadata["langchain_message"]`` and read back with ``messages_from_dict``.
Readable fields: human → user, ai → assistant (``tool_calls`` as ``tool_call`` parts,
``usage_metadata`` as usage), system → system, tool and function → tool (a
``tool_result`` part), chat → its role when it is a sessionhub role, else assistant.
Content lists give their text blocks joined (``[image]`` etc. for the rest). Messages
written by other clients are read back as HumanMessage / AIMessage (with tool calls) /
SystemMessage / ToolMessage.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

try:
    from langchain_core.chat_history import BaseChatMessageHistory
    from langchain_core.messages import (
        AIMessage,
        BaseMessage,
        HumanMessage,
        SystemMessage,
        ToolMessage,
        message_to_dict,
        messages_from_dict,
    )
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "sessionhub.integrations.langchain needs langchain-core: pip install 'sessionhub[langchain]'"
    ) from exc

from ..model import Message, ToolCall, ToolResult
from ._keyed import KeyedSession, run_sync

if TYPE_CHECKING:
    from ..hub import Hub

__all__ = ["HubChatMessageHistory", "close_hub", "message_from_hub", "message_to_hub", "open_hub"]

INTEGRATION = "langchain"
MESSAGE_KEY = "langchain_message"
_ROLES = {"human": "user", "ai": "assistant", "system": "system", "tool": "tool", "function": "tool"}


class HubChatMessageHistory(BaseChatMessageHistory):
    """A LangChain chat history backed by a sessionhub session (module docstring)."""

    def __init__(
        self,
        session_id: str,
        hub: Hub,
        *,
        agent: str | None = None,
        create: bool = True,
        title: str | None = None,
        limit: int | None = None,
    ) -> None:
        """``agent``: the sessionhub agent new sessions belong to (default: the hub's
        default agent). ``create=False``: never create a session (reads of a missing one
        are empty, writes raise ``NotFound``). ``title``: the title of a session this
        creates. ``limit``: read only the latest N messages (None: all)."""
        self._keyed = KeyedSession(hub, INTEGRATION, session_id, agent=agent, create=create, title=title)
        self.session_id = session_id
        self.hub = hub
        self.limit = limit

    @property
    def key(self) -> str | None:
        """The sessionhub session key this id maps to (None for a ``ses_…`` id)."""
        return self._keyed.key

    async def hub_session_id(self) -> str | None:
        """The sessionhub session id (None while nothing was written under the key)."""
        return await self._keyed.session_id(write=False)

    # -- async ------------------------------------------------------------------------------

    async def aget_messages(self) -> list[BaseMessage]:
        """The history (the latest ``limit`` messages), oldest first."""
        return [message_from_hub(m) for m in await self._keyed.read_latest(self.limit)]

    async def aadd_messages(self, messages: Sequence[BaseMessage]) -> None:
        """Append the messages in order, in one transaction."""
        if not messages:
            return
        limit = self.hub.settings.max_message_chars
        await self._keyed.append([message_to_hub(m, limit) for m in messages])

    async def aclear(self) -> None:
        """Delete every message (and the session's checkpoints); the session stays."""
        await self._keyed.clear()

    # -- sync -------------------------------------------------------------------------------

    @property
    def messages(self) -> list[BaseMessage]:  # type: ignore[override]
        """The history, oldest first (sync; see the module docstring)."""
        return run_sync(self.aget_messages())

    def add_messages(self, messages: Sequence[BaseMessage]) -> None:
        """Append the messages in order, in one transaction (sync)."""
        run_sync(self.aadd_messages(list(messages)))

    def clear(self) -> None:
        """Delete every message (sync)."""
        run_sync(self.aclear())


def open_hub(url: str | None = None, **kwargs: Any) -> Hub:
    """``sessionhub.open(url, **kwargs)`` for sync programs (opened on the adapters' loop).

    Close it with ``close_hub(hub)``. Async programs use ``async with sessionhub.open(...)``.
    """
    from ..hub import open as open_

    hub: Hub = run_sync(open_(url, **kwargs))
    return hub


def close_hub(hub: Hub) -> None:
    """Close a hub from sync code."""
    run_sync(hub.close())


# -- mapping --------------------------------------------------------------------------------


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: max(limit - 1, 0)] + "…"


def _text(content: object) -> str:
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return ""
    out: list[str] = []
    for block in content:
        if isinstance(block, str):
            out.append(block)
        elif isinstance(block, Mapping):
            kind = str(block.get("type", ""))
            if isinstance(block.get("text"), str):
                out.append(block["text"])
            elif kind:
                out.append(f"[{kind.removesuffix('_url')}]")
    return "\n".join(s for s in out if s)


def message_to_hub(message: BaseMessage, max_chars: int = 200_000) -> dict[str, Any]:
    """One LangChain message as the ``hub.add_messages`` dict that keeps it whole."""
    if not isinstance(message, BaseMessage):
        raise TypeError(f"expected a LangChain BaseMessage, not {type(message).__name__}")
    kind = message.type.removesuffix("Chunk").lower().replace("message", "") or message.type
    role = _ROLES.get(kind)
    if role is None:
        chat_role = getattr(message, "role", None)
        role = chat_role if chat_role in ("user", "assistant", "system", "tool") else "assistant"
    text = _cut(_text(message.content), max_chars)
    parts: list[dict[str, Any]] = []
    usage: dict[str, int] | None = None
    if isinstance(message, AIMessage):
        for i, call in enumerate(message.tool_calls):
            args = call.get("args") or {}
            parts.append(
                ToolCall(call.get("id") or f"call_{i}", call["name"] or "tool", dict(args)).to_dict()
            )
        u = message.usage_metadata
        if u:
            usage = {
                "input_tokens": int(u.get("input_tokens", 0)),
                "output_tokens": int(u.get("output_tokens", 0)),
            }
    elif isinstance(message, ToolMessage):
        parts.append(ToolResult(message.tool_call_id or "unknown", text).to_dict())
    elif role == "tool":  # FunctionMessage: answers a call by name
        parts.append(ToolResult(getattr(message, "name", None) or "function", text).to_dict())
    if not text.strip() and not parts:
        text = f"[empty {message.type} message]"
    out: dict[str, Any] = {
        "role": role,
        "content": text,
        "parts": parts,
        "metadata": {MESSAGE_KEY: message_to_dict(message)},
    }
    if usage is not None:
        out["usage"] = usage
    return out


def message_from_hub(m: Message) -> BaseMessage:
    """A stored message as a LangChain message: the kept one, or one built from its fields."""
    kept = m.metadata.get(MESSAGE_KEY)
    if isinstance(kept, Mapping) and "type" in kept and "data" in kept:
        (msg,) = messages_from_dict([json.loads(json.dumps(kept))])
        return msg
    if m.role == "user":
        return HumanMessage(content=m.content, id=m.id)
    if m.role == "system":
        return SystemMessage(content=m.content, id=m.id)
    if m.role == "tool":
        ref = next((p.tool_call_id for p in m.parts if isinstance(p, ToolResult)), "unknown")
        return ToolMessage(content=m.content, tool_call_id=ref, id=m.id)
    calls = [
        {"id": p.id, "name": p.name, "args": dict(p.arguments), "type": "tool_call"}
        for p in m.parts
        if isinstance(p, ToolCall)
    ]
    return AIMessage(content=m.content, tool_calls=calls, id=m.id)
