"""OpenAI ChatKit threads stored in sessionhub: ``HubChatKitStore``.

    from chatkit.server import ChatKitServer
    from sessionhub.integrations.chatkit import HubChatKitStore

    store = HubChatKitStore("sqlite:///chat.db")            # or a hub: sessionhub.open(...)
    server = MyChatKitServer(store)                          # your ChatKitServer subclass

``HubChatKitStore`` implements ChatKit's ``Store`` and ``AttachmentStore``: threads
(metadata, title, status), items of every kind with the caller's ids, keyset pages in both
orders (``after`` exclusive, ``has_more`` exact), ``load_item`` / ``save_item`` (replaced in
place), deletes and attachments. Threads and items come back equal by value: their JSON is
stored as ChatKit gives it (naive datetimes stay naive).

The ChatKit user comes from the request context (``context.user_id``, or
``context["user_id"]`` for a mapping; ``default_user=`` when it has none): each user sees
only their threads. Each thread is an ordinary sessionhub session (``source_ref``
``chatkit:{user}/{thread}``) of the adapter's ``owner``, and each item a readable message:
user and assistant messages as their text, client tool calls as a ``tool_call`` part (and a
``tool_result`` message when their output is known), hidden context as a system message,
widgets, tasks, workflows and images as a short label. End-of-turn markers have no message.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Generic

try:
    from chatkit.store import AttachmentStore, NotFoundError, Store, TContext
    from chatkit.types import Attachment, Page, ThreadItem, ThreadMetadata
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "sessionhub.integrations.chatkit needs OpenAI's ChatKit SDK: pip install 'sessionhub[chatkit]'"
    ) from exc
from pydantic import TypeAdapter

from .. import ids
from ..errors import InvalidInput, NotFound
from ..model import ToolCall, ToolResult
from ..store.base import NewSession
from ..store.chatkit_sql import ChatKitItem, ChatKitSQLMixin
from ..timeutil import to_us
from ._hubref import HubRef

if TYPE_CHECKING:
    from ..hub import Hub

__all__ = ["HubChatKitStore", "item_to_message"]

INTEGRATION = "chatkit"
MAX_ID = 255
_ITEM: TypeAdapter[ThreadItem] = TypeAdapter(ThreadItem)
_ATTACHMENT: TypeAdapter[Attachment] = TypeAdapter(Attachment)


class HubChatKitStore(Store[TContext], AttachmentStore[TContext], Generic[TContext]):
    """A ChatKit store backed by sessionhub (module docstring)."""

    def __init__(
        self,
        hub_or_url: Hub | str,
        *,
        owner: str | None = None,
        agent: str | None = None,
        default_user: str | None = None,
    ) -> None:
        """``hub_or_url``: an open hub, or a database URL (opened on first use; ``close()``
        releases it). ``owner``: the sessionhub user the threads belong to (default: the
        hub's). ``agent``: the sessionhub agent they are filed under. ``default_user``: the
        ChatKit user of a request context without one (default: such a request is refused)."""
        self._ref = HubRef(hub_or_url, owner)
        self._agent = agent
        self._default_user = default_user

    async def hub(self) -> Hub:
        """The hub in use (opened from the URL on first call), seen as ``owner``."""
        return await self._ref.get()

    async def _store(self, context: object) -> tuple[Hub, ChatKitSQLMixin, str]:
        hub = await self.hub()
        store = hub.store
        if not isinstance(store, ChatKitSQLMixin):
            raise TypeError("HubChatKitStore needs sessionhub's SQL store")
        return hub, store, self._user(context)

    def _user(self, context: object) -> str:
        user = context.get("user_id") if isinstance(context, Mapping) else getattr(context, "user_id", None)
        if user is None:
            user = self._default_user
        if not isinstance(user, str) or not user:
            raise InvalidInput("the ChatKit request context has no user_id (set default_user= to allow that)")
        return _check("user_id", user)

    async def close(self) -> None:
        """Close the hub if this store opened it from a URL."""
        await self._ref.close()

    aclose = close

    async def __aenter__(self) -> HubChatKitStore[TContext]:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- threads ----------------------------------------------------------------------------

    async def load_thread(self, thread_id: str, context: TContext) -> ThreadMetadata:
        hub, store, user = await self._store(context)
        raw = await store.ck_load_thread(hub.owner, user, _check("thread_id", thread_id))
        if raw is None:
            raise NotFoundError(f"Thread {thread_id} not found")
        return ThreadMetadata.model_validate_json(raw)

    async def save_thread(self, thread: ThreadMetadata, context: TContext) -> None:
        hub, store, user = await self._store(context)
        tid = _check("thread_id", thread.id)
        meta = ThreadMetadata.model_validate(thread.model_dump(include=set(ThreadMetadata.model_fields)))
        spec = hub.settings.agent(self._agent) if self._agent else hub.settings.default_agent
        if spec is None:
            raise InvalidInput(f"unknown agent {self._agent!r}")
        title = (thread.title or "").strip()[:500]
        new = NewSession(
            id=ids.new_id("ses"),
            owner=hub.owner,
            key=f"{spec.id}:{INTEGRATION}:{user}:{tid}",
            title=title,
            title_source="user" if title else "auto",
            agent=spec.id,
            provider=spec.provider,
            model=spec.model,
            source="manual",
            source_ref=f"chatkit:{user}/{tid}",
            channel="web",
            metadata={"integration": {"name": INTEGRATION, "user_id": user, "thread_id": tid}},
        )
        await store.ck_save_thread(
            hub.owner, user, tid, _us(thread.created_at), meta.model_dump_json(), title, new
        )

    async def load_threads(
        self, limit: int, after: str | None, order: str, context: TContext
    ) -> Page[ThreadMetadata]:
        hub, store, user = await self._store(context)
        page = await store.ck_load_threads(hub.owner, user, _limit(limit), after, _desc(order))
        data = [ThreadMetadata.model_validate_json(raw) for raw in page.data]
        return Page(data=data, has_more=page.has_more, after=data[-1].id if page.has_more and data else None)

    async def delete_thread(self, thread_id: str, context: TContext) -> None:
        hub, store, user = await self._store(context)
        await store.ck_delete_thread(hub.owner, user, _check("thread_id", thread_id))

    # -- items ------------------------------------------------------------------------------

    async def load_thread_items(
        self, thread_id: str, after: str | None, limit: int, order: str, context: TContext
    ) -> Page[ThreadItem]:
        hub, store, user = await self._store(context)
        page = await store.ck_load_items(hub.owner, user, thread_id, after, _limit(limit), _desc(order))
        data = [_ITEM.validate_json(raw) for raw in page.data]
        return Page(data=data, has_more=page.has_more, after=data[-1].id if page.has_more and data else None)

    async def add_thread_item(self, thread_id: str, item: ThreadItem, context: TContext) -> None:
        await self._save(thread_id, item, context, replace=False)

    async def save_item(self, thread_id: str, item: ThreadItem, context: TContext) -> None:
        await self._save(thread_id, item, context, replace=True)

    async def _save(self, thread_id: str, item: ThreadItem, context: TContext, replace: bool) -> None:
        hub, store, user = await self._store(context)
        _check("item id", item.id)
        message = item_to_message(item.model_dump(mode="json"), hub.settings.max_message_chars)
        checked, auto = hub.check_messages([message]) if message is not None else ([None], None)
        stored = ChatKitItem(item.id, _us(item.created_at), _ITEM.dump_json(item).decode(), checked[0], auto)
        try:
            await store.ck_save_item(hub.owner, user, _check("thread_id", thread_id), stored, replace)
        except NotFound:
            raise NotFoundError(f"Thread {thread_id} not found") from None

    async def load_item(self, thread_id: str, item_id: str, context: TContext) -> ThreadItem:
        hub, store, user = await self._store(context)
        raw = await store.ck_load_item(hub.owner, user, thread_id, item_id)
        if raw is None:
            raise NotFoundError(f"Item {item_id} not found in thread {thread_id}")
        return _ITEM.validate_json(raw)

    async def delete_thread_item(self, thread_id: str, item_id: str, context: TContext) -> None:
        hub, store, user = await self._store(context)
        await store.ck_delete_item(hub.owner, user, thread_id, item_id)

    # -- attachments ------------------------------------------------------------------------

    async def save_attachment(self, attachment: Attachment, context: TContext) -> None:
        hub, store, user = await self._store(context)
        aid = _check("attachment id", attachment.id)
        await store.ck_save_attachment(hub.owner, user, aid, _ATTACHMENT.dump_json(attachment).decode())

    async def load_attachment(self, attachment_id: str, context: TContext) -> Attachment:
        hub, store, user = await self._store(context)
        raw = await store.ck_load_attachment(hub.owner, user, attachment_id)
        if raw is None:
            raise NotFoundError(f"Attachment {attachment_id} not found")
        return _ATTACHMENT.validate_json(raw)

    async def delete_attachment(self, attachment_id: str, context: TContext) -> None:
        hub, store, user = await self._store(context)
        await store.ck_delete_attachment(hub.owner, user, attachment_id)


# -- helpers --------------------------------------------------------------------------------


def _check(what: str, value: object) -> str:
    if not isinstance(value, str) or not value:
        raise InvalidInput(f"{what} must be a non-empty string")
    if len(value) > MAX_ID:
        raise InvalidInput(f"{what} must be at most {MAX_ID} characters")
    if "\x00" in value:
        raise InvalidInput(f"{what} must not contain NUL characters")
    return value


def _limit(limit: int) -> int:
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 0:
        raise InvalidInput("limit must be a non-negative integer")
    return min(limit, 10_000)


def _desc(order: str) -> bool:
    if order not in ("asc", "desc"):
        raise InvalidInput(f"order must be 'asc' or 'desc', not {order!r}")
    return order == "desc"


def _us(at: datetime) -> int:
    """Microseconds of a ChatKit time (a naive one is taken as UTC), for ordering."""
    return to_us(at if at.tzinfo is not None else at.replace(tzinfo=UTC))


def _cut(text: str, limit: int) -> str:
    text = text.replace("\x00", "")
    return text if len(text) <= limit else text[: max(limit - 1, 0)] + "…"


def _texts(content: object) -> str:
    if not isinstance(content, list):
        return json.dumps(content, ensure_ascii=False) if content not in (None, "") else ""
    out = [str(c.get("text")) for c in content if isinstance(c, Mapping) and isinstance(c.get("text"), str)]
    return "\n".join(t for t in out if t)


def item_to_message(item: Mapping[str, Any], max_chars: int = 200_000) -> dict[str, Any] | None:
    """A ChatKit item (its JSON) as a readable message; None for items with none (end of turn)."""
    kind = item.get("type")
    meta = {"chatkit": {"item_id": item.get("id"), "type": kind}}
    parts: list[dict[str, Any]] = []
    if kind == "end_of_turn":
        return None
    if kind == "user_message":
        role, text = "user", _texts(item.get("content"))
        names = [a.get("name") for a in item.get("attachments") or [] if isinstance(a, Mapping)]
        text = "\n".join([text, *(f"[file {n}]" for n in names if n)]).strip()
    elif kind == "assistant_message":
        role, text = "assistant", _texts(item.get("content"))
    elif kind == "client_tool_call":
        args = item.get("arguments")
        call = ToolCall(
            str(item.get("call_id") or item.get("id")), str(item.get("name") or "tool"), args or {}
        )
        role, text = "assistant", ""
        parts.append(call.to_dict())
        if item.get("status") == "completed":
            output = item.get("output")
            result = output if isinstance(output, str) else json.dumps(output, ensure_ascii=False)
            parts.append(ToolResult(call.id, _cut(result, max_chars)).to_dict())
    elif kind in ("hidden_context_item", "sdk_hidden_context"):
        content = item.get("content")
        role, text = "system", content if isinstance(content, str) else _texts(content)
    elif kind == "widget":
        role, text = "assistant", str(item.get("copy_text") or "") or "[widget]"
    else:
        role, text = "assistant", f"[{kind}]"
    text = _cut(text, max_chars)
    if not text.strip() and not parts:
        text = f"[{kind}]"
    return {"role": role, "content": text, "parts": parts, "metadata": meta}
