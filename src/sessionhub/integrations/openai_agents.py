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
in ``metadata["openai_item"]`` and ``get_items`` returns exactly that. The mapping is
``sessionhub.openai_items``, shared with the server's ``/v1`` Conversations API (an item
written by either is the same row). The message also gets a readable role, content and
parts for the dashboard, search and exports:

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

from .. import openai_items
from ..model import Message
from ..openai_items import ITEM_KEY, item_to_message
from ._keyed import KeyedSession

if TYPE_CHECKING:
    from agents.items import TResponseInputItem
    from agents.memory.session_settings import SessionSettings

    from ..hub import Hub

__all__ = ["ITEM_KEY", "HubSession", "item_to_message", "message_to_items"]

INTEGRATION = "openai-agents"


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


def message_to_items(m: Message) -> list[TResponseInputItem]:
    """A stored message as SDK items (``sessionhub.openai_items.message_to_items``)."""
    return cast("list[TResponseInputItem]", openai_items.message_to_items(m))
