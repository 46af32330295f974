"""The items part of the store interface (``ItemStore``): messages addressed by id.

What ``hub/items.py`` needs for OpenAI's Conversations API (``/v1``), where an item's id is
its message's id. ``items_sql.py`` implements it (index ``ix_messages_id``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from ..model import Message, NewMessage
from .base import Appended, AutoText, IdempotencyKey


class ItemStore(Protocol):
    """Find, append with given ids, and delete one message anywhere in a session's history."""

    async def find_message(self, owner: str, session_id: str, message_id: str) -> Message | None:
        """The message of the session's visible history with this id (O(log n)), or None."""

    async def append_items(
        self,
        owner: str,
        session_id: str,
        items: Sequence[NewMessage],
        auto: AutoText | None,
        key: IdempotencyKey | None = None,
    ) -> Appended:
        """``append`` where items may carry their own ids: an id already in the session's
        history, or given twice, raises ``DuplicateItem`` (``InvalidInput``) and stores nothing.
        With ``key``: once per key, as ``append_once``."""

    async def delete_message(self, owner: str, session_id: str, message_id: str) -> Message | None:
        """Delete one message anywhere in the history (later ones move down a seq); the
        deleted message, or None when the session has none with this id."""


__all__ = ["ItemStore"]
