"""``HubCore``: what every part of the hub shares, and the input checks they all apply.

Each part (``sessions.py``, ``history.py``, ``context.py``, ``routing.py``,
``commands.py``) is a class built on this base, so a part calls a shared check as a
method it inherits, never through a stub redeclared for the type checker. The state is
the store, the settings, the clock, the owner (user) the hub acts for, the routing state
(``Router``: policy, hooks and per-key locks, shared by ``as_user`` views), the
server's turn gate (``turns``; None outside the server) and the summarizer compactions
use (``summarizer``; None: the extractive summary).
"""

from __future__ import annotations

import dataclasses
import operator
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, cast

from .. import ids
from ..clock import Clock, SystemClock
from ..config import AgentSettings, Settings
from ..errors import InvalidInput, NotFound, PayloadTooLarge
from ..model import (
    MESSAGE_STATUSES,
    ROLES,
    Message,
    MessageStatus,
    NewMessage,
    Role,
    Session,
    Usage,
    parts_from_list,
    slot_constructor,
)
from ..store.base import AutoText
from ..store.interface import Store
from ..text import auto_title, preview
from ..timeutil import group_by_starts, local_day_starts, zone
from ..validation import check_json, check_text
from .router import Router
from .turn_gate import TurnGate

Summarizer = Callable[[Session, str | None, Sequence[Message]], Awaitable[str | None]]
"""``await summarizer(session, previous_summary_text, messages_oldest_first) -> new summary
text``, or None to leave this one to the extractive summary (e.g. an ``echo`` agent)."""

Progress = Callable[[int, int | None], None]
"""``on_progress(done, total or None)`` of the long hub operations (import, cleanup)."""


def check_limit(limit: int, hi: int, name: str = "limit") -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= hi:
        raise InvalidInput(f"{name} must be an integer between 1 and {hi}")
    return limit


def check_seq(value: int | None, name: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidInput(f"{name} must be a non-negative integer")
    return value


def check_metadata(value: object, name: str = "metadata") -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidInput(f"{name} must be an object")
    metadata = dict(value)
    check_json(metadata, name)
    return metadata


class HubCore:
    """The shared state and checks of every hub part (see the module docstring)."""

    def __init__(
        self,
        store: Store,
        settings: Settings | None = None,
        *,
        clock: Clock | None = None,
        owner: str = "default",
        summarizer: Summarizer | None = None,
    ) -> None:
        self.store = store
        self.settings = settings or Settings()
        self.clock = clock or SystemClock()
        self.owner = owner
        self.router = Router(self.settings)  # routing policy from the (checked) [session]/[dispatch]
        self.turns: TurnGate | None = None  # the server's running turns (turn_gate.py), if any
        self.summarizer = summarizer  # writes compaction summaries (context.py); None: extractive

    def _session_id(self, session_id: object) -> str:
        if not ids.is_valid(session_id, "ses"):
            raise NotFound(f"session {str(session_id)[:80]!r} not found")
        return cast(str, session_id)

    def _agent(self, agent: str | None) -> AgentSettings:
        if agent is None:
            return self.settings.default_agent
        found = self.settings.agent(agent)
        if found is None:
            known = ", ".join(a.id for a in self.settings.agents)
            raise InvalidInput(f"unknown agent {agent!r} (known: {known})")
        return found

    def _new_message(self, data: Mapping[str, Any] | NewMessage) -> NewMessage:
        if isinstance(data, NewMessage):
            data = {
                "role": data.role,
                "content": data.content,
                "parts": [p.to_dict() for p in data.parts],
                "status": data.status,
                "usage": data.usage.to_dict(),
                "metadata": dict(data.metadata),
                "created_at": data.created_at,
            }
        if not isinstance(data, Mapping):
            raise InvalidInput("each message must be an object")
        role = data.get("role")
        if role not in ROLES:
            raise InvalidInput(f"unknown role {role!r} (expected one of {', '.join(ROLES)})")
        content = data.get("content", "")
        if not isinstance(content, str):
            raise InvalidInput("content must be a string")
        limit = self.settings.max_message_chars
        if len(content) > limit:
            raise PayloadTooLarge(f"content is {len(content)} characters; the limit is {limit}")
        check_text(content, "content")
        parts = parts_from_list(data.get("parts"))
        status = data.get("status", "complete")
        if status not in MESSAGE_STATUSES:
            raise InvalidInput(f"unknown status {status!r}")
        if not content.strip() and not parts and status == "complete":
            raise InvalidInput("a message needs non-empty content or parts")
        created = data.get("created_at")
        if created is not None and not hasattr(created, "tzinfo"):
            raise InvalidInput("created_at must be a datetime")
        return NewMessage(
            role=cast(Role, role),
            content=content,
            parts=parts,
            status=cast(MessageStatus, status),
            usage=Usage.from_dict(data.get("usage")),
            metadata=check_metadata(data.get("metadata")),
            created_at=created,
        )

    def _auto(self, items: Sequence[NewMessage]) -> AutoText | None:
        """The auto title and preview a batch gives its session: from its first user text."""
        for m in items:
            if m.role == "user" and m.content.strip():
                return AutoText(
                    title=auto_title(m.content, self.settings.title_max_chars), preview=preview(m.content)
                )
        return None

    def _grouper(self, tz: str | None, scheduled: bool = False) -> Callable[[Session], Session]:
        """Sets each session's ``group``; the day boundaries are computed once for a whole page."""
        starts = local_day_starts(self.clock.now(), zone(tz, self.settings.server.timezone))

        def with_group(s: Session) -> Session:
            if scheduled and s.source == "scheduled":
                group = s.source_ref or "scheduled"
            elif s.pinned:
                group = "pinned"
            else:
                group = group_by_starts(s.activity_at or s.last_message_at or s.created_at, starts)
            return _regrouped(s, group)

        return with_group

    async def get_session(self, session_id: str, *, tz: str | None = None) -> Session:
        s = await self.store.get_session(self.owner, self._session_id(session_id))
        return self._grouper(tz)(s)


_SESSION_FIELDS = tuple(f.name for f in dataclasses.fields(Session))
_session_values = operator.attrgetter(*_SESSION_FIELDS)
_new_session = slot_constructor(Session)
_GROUP = _SESSION_FIELDS.index("group")


def _regrouped(s: Session, group: str) -> Session:
    """``dataclasses.replace(s, group=group)`` through the slots: ~1.7 us instead of ~5.3 (every
    session of a page or a search is copied once; ``s`` is already valid)."""
    values = list(_session_values(s))
    values[_GROUP] = group
    return _new_session(*values)


__all__ = ["HubCore", "Progress", "Summarizer", "check_limit", "check_metadata", "check_seq"]
