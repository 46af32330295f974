"""OpenAI items in a session: the hub side of the Conversations API (``/v1``).

``ItemOps`` adds, reads, pages and deletes a session's messages as OpenAI items, through
the one mapping of ``sessionhub.openai_items`` (the same rows ``HubSession`` writes):

- ``add_items``: up to 20 items in one transaction; an item's own ``id`` becomes its
  message id (unique in the session: ``DuplicateItem``), an ``item_reference`` copies the
  session's referenced item (another session's id: ``NotFound``);
- ``list_items``: keyset pages of items (``after`` exclusive, in the requested order),
  each one bounded read of the history (O(page) plus one index lookup of ``after``);
  ``item_page`` is the same over messages;
- ``read_item`` / ``get_item`` / ``delete_item``: one item or message by id
  (``ix_messages_id``); deleting the last message is ``pop_message``, any other moves the
  later ones down a seq.

A message written through ``/v1`` or ``HubSession`` is one item. A message written any
other way (``/api``, the agent runtime, imports) is one item per piece: its text, then each
tool call and tool result (``openai_items.conversation_items``); the first has the message's
id, the k-th ``{message id}~{k}``. Such a derived item is read, listed and referenced like
any other; deleting one of its pieces alone is refused (400): its message is deleted whole by
the message's id.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from ..errors import InvalidInput, NotFound
from ..model import Message, NewMessage
from ..openai_items import conversation_items, item_to_message, split_item_id
from ..store.base import Appended, IdempotencyKey
from ..store.schema import MAX_MESSAGE_ID
from ._core import check_limit
from .history import HistoryOps
from .turn_gate import turn_stopped

MAX_ITEMS_PER_CALL = 20
MAX_ITEMS_PAGE = 100
ITEM_ID = re.compile(rf"^[A-Za-z0-9][A-Za-z0-9_.:\-]{{0,{MAX_MESSAGE_ID - 1}}}$")


def check_item_id(value: object, name: str = "id") -> str:
    """An item id given by a client: 1..128 characters of letters, digits, ``_ . : -``."""
    if not isinstance(value, str) or not ITEM_ID.match(value):
        raise InvalidInput(
            f"{name} must be 1 to {MAX_MESSAGE_ID} characters of letters, digits, '_', '.', ':' or '-'"
        )
    return value


class ItemOps(HistoryOps):
    """A session's messages as OpenAI items (see the module docstring)."""

    async def add_items(
        self, session_id: str, items: Sequence[Mapping[str, Any]], *, idempotency_key: str | None = None
    ) -> list[Message]:
        """Append OpenAI items (dicts, as the API takes them) in one transaction.

        With ``idempotency_key``: once per key, as ``append_once`` (see ``add_items_once``)."""
        return (await self.add_items_once(session_id, items, idempotency_key)).messages

    async def add_items_once(
        self, session_id: str, items: Sequence[Mapping[str, Any]], idempotency_key: str | None
    ) -> Appended:
        """``add_items``; with a key, a retry (same user, session, items, within 24 hours)
        stores nothing and gives the first call's items (``replayed=True``)."""
        sid = self._session_id(session_id)
        if isinstance(items, (str, bytes, Mapping)) or not isinstance(items, Sequence):
            raise InvalidInput("items must be a list")
        if not items:
            raise InvalidInput("items must not be empty")
        if len(items) > MAX_ITEMS_PER_CALL:
            raise InvalidInput(f"at most {MAX_ITEMS_PER_CALL} items per call")
        limit = self.settings.max_message_chars
        batch: list[NewMessage] = []
        for item in items:
            if not isinstance(item, Mapping):
                raise InvalidInput("each item must be an object")
            if item.get("type") == "item_reference":
                ref_id = item.get("id")
                if not isinstance(ref_id, str):
                    raise InvalidInput("item_reference id must be a string")
                ref, k, pieces = await self._find(sid, ref_id)
                if len(pieces) > 1:  # one piece of a message written elsewhere: that item alone
                    data: dict[str, Any] = item_to_message(
                        {n: v for n, v in pieces[k].items() if n != "id"}, limit
                    )
                else:
                    data = {
                        "role": ref.role,
                        "content": ref.content,
                        "parts": [p.to_dict() for p in ref.parts],
                        "metadata": dict(ref.metadata),
                    }
                given = None
            else:
                data = item_to_message(item, limit)
                given = None if item.get("id") is None else check_item_id(item.get("id"))
            new = self._new_message(data)
            batch.append(
                NewMessage(new.role, new.content, new.parts, new.status, new.usage, new.metadata, id=given)
            )
        key = None if idempotency_key is None else IdempotencyKey.of(idempotency_key, batch)
        return await self.store.append_items(self.owner, sid, batch, self._auto(batch), key)

    async def get_item(self, session_id: str, item_id: str) -> Message:
        """The session's message with this id; ``NotFound`` when it has none."""
        sid = self._session_id(session_id)
        found = None
        if isinstance(item_id, str) and ITEM_ID.match(item_id):
            found = await self.store.find_message(self.owner, sid, item_id)
        if found is None:
            raise NotFound(f"No item found with id '{str(item_id)[:MAX_MESSAGE_ID]}'.")
        return found

    async def _find(self, sid: str, item_id: str) -> tuple[Message, int, list[dict[str, Any]]]:
        """The message holding item ``item_id``, the item's index in it, and its items."""
        mid, k = split_item_id(item_id) if isinstance(item_id, str) else ("", 0)
        found = None
        if ITEM_ID.match(mid):
            found = await self.store.find_message(self.owner, sid, mid)
        pieces = [] if found is None else conversation_items(found)
        if found is None or k >= len(pieces):
            raise NotFound(f"No item found with id '{str(item_id)[: MAX_MESSAGE_ID + 6]}'.")
        return found, k, pieces

    async def read_item(self, session_id: str, item_id: str) -> dict[str, Any]:
        """One Conversations API item by id; ``NotFound`` when the session has none."""
        _m, k, pieces = await self._find(self._session_id(session_id), item_id)
        return pieces[k]

    async def list_items(
        self,
        session_id: str,
        after: str | None = None,
        limit: int = 20,
        order: Literal["asc", "desc"] = "desc",
    ) -> tuple[list[dict[str, Any]], bool]:
        """One page of Conversations API items in ``order`` after the item ``after``
        (exclusive), and whether more follow: at most ``limit`` messages are read (each is
        one item or more)."""
        sid = self._session_id(session_id)
        check_limit(limit, MAX_ITEMS_PAGE)
        rest: list[dict[str, Any]] = []
        seq: int | None = None
        if after is not None:
            m, k, pieces = await self._find(sid, after)
            seq = m.seq
            rest = pieces[k + 1 :] if order == "asc" else pieces[:k][::-1]
        msgs, more = await self._message_page(sid, seq, limit, order)
        for m in msgs:
            pieces = conversation_items(m)
            rest += pieces if order == "asc" else pieces[::-1]
        return rest[:limit], more or len(rest) > limit

    async def item_page(
        self,
        session_id: str,
        after: str | None = None,
        limit: int = 20,
        order: Literal["asc", "desc"] = "desc",
    ) -> tuple[list[Message], bool]:
        """One page in ``order`` (``desc``: newest first) after the item ``after`` (exclusive),
        and whether more items follow in that order."""
        sid = self._session_id(session_id)
        check_limit(limit, MAX_ITEMS_PAGE)
        seq = None if after is None else (await self.get_item(sid, after)).seq
        return await self._message_page(sid, seq, limit, order)

    async def _message_page(
        self, sid: str, seq: int | None, limit: int, order: Literal["asc", "desc"]
    ) -> tuple[list[Message], bool]:
        """Up to ``limit`` messages after ``seq`` (exclusive; None: from the start or the end)."""
        if order not in ("asc", "desc"):
            raise InvalidInput("order must be 'asc' or 'desc'")
        if order == "asc":
            msgs, more = await self.store.history(self.owner, sid, limit, None, seq or 0)
            return msgs, more
        msgs, more = await self.store.history(self.owner, sid, limit, seq, None)
        msgs.reverse()
        return msgs, more

    async def delete_item(self, session_id: str, item_id: str) -> Message:
        """Delete the item (its message); ``NotFound`` when the session has none with this id.
        A piece of a message written elsewhere (``msg~k``) cannot be deleted alone: ``InvalidInput``."""
        sid = self._session_id(session_id)
        if isinstance(item_id, str) and split_item_id(item_id)[1] > 0:
            m, _k, _pieces = await self._find(sid, item_id)
            raise InvalidInput(
                f"Item '{item_id}' is one part of message '{m.id}', written outside /v1; "
                f"delete '{m.id}' to remove the whole message."
            )
        gone = None
        if isinstance(item_id, str) and ITEM_ID.match(item_id):
            async with turn_stopped(self, sid):
                gone = await self.store.delete_message(self.owner, sid, item_id)
        if gone is None:
            raise NotFound(f"No item found with id '{str(item_id)[:MAX_MESSAGE_ID]}'.")
        return gone


__all__ = ["MAX_ITEMS_PAGE", "MAX_ITEMS_PER_CALL", "ItemOps", "check_item_id"]
