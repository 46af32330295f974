"""OpenAI Agents SDK sessions stored in sessionhub: ``HubSession``.

    from agents import Agent, Runner
    from sessionhub.integrations.openai_agents import HubSession

    async with sessionhub.open("sqlite:///chat.db") as hub:
        session = HubSession("user-42", hub)
        result = await Runner.run(agent, "hello", session=session)

``HubSession`` implements the SDK's ``Session`` protocol (``session_id``,
``session_settings``, ``get_items``, ``add_items``, ``pop_item``, ``clear_session``).

Which session: a valid sessionhub id (``ses_…``) is used as it is; any other string is
the SDK's conversation id, kept under the session key
``{agent}:openai-agents:{session_id}`` (created on the first write; concurrent first
writes from several processes end in one session). ``session_id`` stays the string given.

Mapping, one SDK item per sessionhub message, lossless: the item's JSON is kept as it is
in ``metadata["openai_item"]`` and ``get_items`` returns exactly that. The message also
gets a readable role, content and parts for the dashboard, search and exports:

- a message (``role`` user/assistant/system/developer): that role (developer → system)
  and the text of its content (text parts joined; images and files as ``[image]`` /
  ``[file]``; a refusal as its text);
- ``function_call``: an assistant message with a ``tool_call`` part (id = ``call_id``,
  arguments parsed from JSON; a non-object is kept under ``{"_raw": …}``);
- ``function_call_output``: a tool message with a ``tool_result`` part and the output text;
- ``reasoning``: an assistant message with the summary text (``[reasoning]`` if none);
- other ``*_call`` / ``*_call_output`` items (computer, shell, MCP, custom tools, …):
  a ``tool_call`` / ``tool_result`` part named after the item, ``[type]`` otherwise.

Readable text longer than the hub's ``max_message_chars`` is cut (the item is whole in
metadata). Messages written by other clients (no ``openai_item``) are read back as SDK
items: user/assistant/system text messages, ``function_call`` for tool_call parts and
``function_call_output`` for tool_result parts.

``pop_item`` uses ``hub.pop_message``: O(1), the older messages keep their ids.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, cast

try:
    import agents.memory  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "sessionhub.integrations.openai_agents needs the OpenAI Agents SDK: "
        "pip install 'sessionhub[openai-agents]'"
    ) from exc
try:  # SessionSettings is newer than the Session protocol; HubSession works without it
    from agents.memory.session_settings import SessionSettings as _SessionSettings
except ImportError:  # pragma: no cover - older SDKs
    _SessionSettings = None  # type: ignore[assignment,misc]

from ..model import Message, ToolCall, ToolResult
from ._keyed import KeyedSession

if TYPE_CHECKING:
    from agents.items import TResponseInputItem
    from agents.memory.session_settings import SessionSettings

    from ..hub import Hub

__all__ = ["HubSession", "item_to_message", "message_to_items"]

INTEGRATION = "openai-agents"
ITEM_KEY = "openai_item"


class HubSession:
    """An OpenAI Agents SDK ``Session`` backed by a sessionhub session (module docstring)."""

    session_settings: SessionSettings | None

    def __init__(
        self,
        session_id_or_key: str,
        hub: Hub,
        *,
        agent: str | None = None,
        create: bool = True,
        title: str | None = None,
        session_settings: SessionSettings | None = None,
    ) -> None:
        """``agent``: the sessionhub agent new sessions belong to (default: the hub's
        default agent, ``main`` unless configured). ``create=False``: never create a
        session (reads of a missing one are empty, writes raise ``NotFound``).
        ``title``: the title of a session this creates (else the first user message)."""
        self._keyed = KeyedSession(
            hub, INTEGRATION, session_id_or_key, agent=agent, create=create, title=title
        )
        self.session_id = session_id_or_key
        if session_settings is None and _SessionSettings is not None:
            session_settings = _SessionSettings()
        self.session_settings = session_settings
        self.hub = hub

    @property
    def key(self) -> str | None:
        """The sessionhub session key this id maps to (None for a ``ses_…`` id)."""
        return self._keyed.key

    async def hub_session_id(self) -> str | None:
        """The sessionhub session id (None while nothing was written under the key)."""
        return await self._keyed.session_id(write=False)

    async def get_items(self, limit: int | None = None) -> list[TResponseInputItem]:
        """The latest ``limit`` items (default ``session_settings.limit``; None: all), oldest
        first; only those messages are read."""
        n = limit if limit is not None else _settings_limit(self.session_settings)
        if n is not None and n < 0:
            n = None  # SQLiteSession: a negative limit means no limit
        items: list[TResponseInputItem] = []
        for m in await self._keyed.read_latest(n):
            items += message_to_items(m)
        return items if n is None else items[-n:] if n > 0 else []

    async def add_items(self, items: list[TResponseInputItem]) -> None:
        """Append the items in order, in one transaction."""
        if not items:
            return
        limit = self.hub.settings.max_message_chars
        await self._keyed.append([item_to_message(cast(Mapping[str, Any], it), limit) for it in items])

    async def pop_item(self) -> TResponseInputItem | None:
        """Remove and return the newest item, None if the session is empty."""
        m = await self._keyed.pop_last()
        if m is None:
            return None
        items = message_to_items(m)
        return items[-1] if items else None

    async def clear_session(self) -> None:
        """Delete every item (and the session's checkpoints); the session stays."""
        await self._keyed.clear()


def _settings_limit(settings: object) -> int | None:
    """``settings.limit`` of a SessionSettings (or a dict, as the SDK also accepts)."""
    value = settings.get("limit") if isinstance(settings, Mapping) else getattr(settings, "limit", None)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


# -- mapping --------------------------------------------------------------------------------


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: max(limit - 1, 0)] + "…"


def _content_text(content: object) -> str:
    """Readable text of a message's content: a string, or a list of content parts."""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return ""
    out: list[str] = []
    for part in content:
        if isinstance(part, str):
            out.append(part)
        elif isinstance(part, Mapping):
            kind = str(part.get("type", ""))
            if isinstance(part.get("text"), str):
                out.append(part["text"])
            elif isinstance(part.get("refusal"), str):
                out.append(part["refusal"])
            elif "image" in kind:
                out.append("[image]")
            elif "file" in kind:
                name = part.get("filename")
                out.append(f"[file {name}]" if isinstance(name, str) and name else "[file]")
            elif "audio" in kind:
                out.append("[audio]")
            elif kind:
                out.append(f"[{kind}]")
    return "\n".join(s for s in out if s)


def _arguments(raw: object) -> dict[str, Any]:
    if isinstance(raw, Mapping):
        return dict(raw)
    if isinstance(raw, str):
        try:
            parsed = json.loads(raw) if raw.strip() else {}
        except ValueError:
            return {"_raw": raw}
        return dict(parsed) if isinstance(parsed, dict) else {"_raw": raw}
    return {} if raw is None else {"_raw": raw}


def _call_id(item: Mapping[str, Any]) -> str:
    for name in ("call_id", "id"):
        value = item.get(name)
        if isinstance(value, str) and value:
            return value
    return "unknown"


def item_to_message(item: Mapping[str, Any], max_chars: int = 200_000) -> dict[str, Any]:
    """One SDK input item as the ``hub.add_messages`` dict that keeps it whole."""
    if not isinstance(item, Mapping):
        raise TypeError(f"an SDK item must be a dict, not {type(item).__name__}")
    kind = item.get("type")
    role = item.get("role")
    meta = {ITEM_KEY: dict(item)}
    parts: list[dict[str, Any]] = []
    if (kind is None or kind == "message") and isinstance(role, str):
        hub_role = {"developer": "system"}.get(role, role)
        if hub_role not in ("user", "assistant", "system"):
            hub_role = "user"
        text = _content_text(item.get("content"))
    elif kind == "function_call":
        hub_role, text = "assistant", ""
        name = item.get("name") if isinstance(item.get("name"), str) and item.get("name") else "function"
        parts.append(ToolCall(_call_id(item), cast(str, name), _arguments(item.get("arguments"))).to_dict())
    elif kind == "function_call_output":
        hub_role = "tool"
        output = item.get("output")
        text = output if isinstance(output, str) else _content_text(output)
        parts.append(ToolResult(_call_id(item), _cut(text, max_chars)).to_dict())
    elif kind == "reasoning":
        hub_role = "assistant"
        text = _content_text(item.get("summary")) or _content_text(item.get("content")) or "[reasoning]"
    elif isinstance(kind, str) and kind.endswith("_output"):
        hub_role = "tool"
        output = item.get("output")
        text = output if isinstance(output, str) else _content_text(output) or f"[{kind}]"
        parts.append(ToolResult(_call_id(item), _cut(text, max_chars)).to_dict())
    elif isinstance(kind, str) and kind.endswith("_call"):
        hub_role, text = "assistant", ""
        name = item.get("name")
        args: dict[str, Any] = {}
        if isinstance(item.get("arguments"), str | Mapping):
            args = _arguments(item.get("arguments"))
        elif isinstance(item.get("input"), str):
            args = {"input": item["input"]}
        label = name if isinstance(name, str) and name else kind
        parts.append(ToolCall(_call_id(item), label, args).to_dict())
    else:
        hub_role = "assistant"
        text = f"[{kind if isinstance(kind, str) and kind else 'item'}]"
    text = _cut(text, max_chars)
    if not text.strip() and not parts:
        text = f"[{kind if isinstance(kind, str) and kind else 'empty ' + str(role or 'message')}]"
    return {"role": hub_role, "content": text, "parts": parts, "metadata": meta}


def message_to_items(m: Message) -> list[TResponseInputItem]:
    """A stored message as SDK items: its kept item, or one derived from role/content/parts."""
    kept = m.metadata.get(ITEM_KEY)
    if isinstance(kept, Mapping):
        return [cast("TResponseInputItem", dict(kept))]
    out: list[dict[str, Any]] = []
    if m.role == "tool":
        for p in m.parts:
            if isinstance(p, ToolResult):
                out.append({"type": "function_call_output", "call_id": p.tool_call_id, "output": p.content})
        if not out and m.content:
            out.append({"role": "user", "content": m.content})
    else:
        if m.content:
            out.append({"role": m.role, "content": m.content})
        for p in m.parts:
            if isinstance(p, ToolCall):
                out.append(
                    {
                        "type": "function_call",
                        "call_id": p.id,
                        "name": p.name,
                        "arguments": json.dumps(dict(p.arguments)),
                    }
                )
            else:
                out.append({"type": "function_call_output", "call_id": p.tool_call_id, "output": p.content})
    return cast("list[TResponseInputItem]", out)
