"""Regenerate, edit and branches: alternatives of a conversation, kept by pointer.

``Hub`` inherits ``BranchOps`` (built on ``HistoryOps``); the store does the rows
(``store/branches_sql.py``). The rules:

- **Regenerate** assistant message ``seq`` (default: the last assistant message): messages
  ``seq..n`` are kept aside in a new **branch** session and the session ends at ``seq-1``;
  the new reply (the caller's, or the server's agent turn) continues it at ``seq``.
- **Edit** user message ``seq``: the same cut at ``seq``, then the new text is appended as
  the user message ``seq`` (stored as written: a text starting with ``/`` is not a chat
  command here); the agent's answer follows.
- A branch is an archived session (read-only, out of the active list) that reads the shared
  history ``1..seq-1`` by pointer and owns the replaced rows (moved, never copied); its
  metadata has ``branch_of`` and its title ends with ``(branch at #seq)``. A restored
  checkpoint's kept-aside messages are a branch too.
- ``branches(id)`` lists the alternatives forking off the session's visible history, oldest
  first; ``switch_branch(id, branch_id)`` makes one of them the session's continuation and
  keeps the current one as a new branch. The session keeps its id; branch ids are handles
  that a switch may retire (list again after switching).
- Like restore, these stop the session's running turn first (``turn_gate.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from .. import ids
from ..errors import InvalidInput
from ..model import JSON, Branch, Checkpoint, Message, Session
from ..store.history_base import Derive, DerivedSession
from .history import HistoryOps
from .turn_gate import turn_stopped


@dataclass(frozen=True, slots=True)
class BranchResult:
    """What ``regenerate`` / ``edit`` did: the session now, the branch keeping the replaced
    messages, the seq where they differ (the replaced message's) and (edit) the new user
    message."""

    session: Session
    branch: Session | None
    at_seq: int
    message: Message | None = None

    def to_dict(self) -> dict[str, JSON]:
        return {
            "at_seq": self.at_seq,
            "session": self.session.to_dict(),
            "branch": self.branch.to_dict() if self.branch else None,
            "message": self.message.to_dict() if self.message else None,
        }


def _seq(value: object, *, required: bool) -> int | None:
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidInput("seq must be a positive integer (a message's seq)")
    return value


def _deriver(reason: Literal["regenerate", "edit", "switch"]) -> Derive:
    def derive(s: Session, at: int, cp: Checkpoint | None) -> DerivedSession:
        meta = dict(s.metadata)
        meta["branch_of"] = {"session_id": s.id, "at_seq": at + 1, "reason": reason}
        title = f"{s.title or 'Untitled'} (branch at #{at + 1})"
        return DerivedSession(title=title[:500], title_source=s.title_source, metadata=meta)

    return derive


class BranchOps(HistoryOps):
    """Regenerate, edit and branch switching of ``Hub`` (see the module docstring)."""

    async def regenerate(self, session_id: str, seq: int | None = None) -> BranchResult:
        """Keep assistant message ``seq`` (default: the last) and what follows aside as a
        branch; the session then ends just before it, ready for a new reply."""
        sid = self._session_id(session_id)
        at = _seq(seq, required=False)
        async with turn_stopped(self, sid):
            out = await self.store.branch_off(
                self.owner, sid, at, "assistant", ids.new_id("ses"), _deriver("regenerate")
            )
        return BranchResult(out.session, out.branch, out.session.message_count + 1)

    async def edit(
        self, session_id: str, seq: int, content: str, metadata: Mapping[str, Any] | None = None
    ) -> BranchResult:
        """Replace user message ``seq`` by ``content``: the old message and what followed are
        kept aside as a branch, the new text is appended as message ``seq``."""
        sid = self._session_id(session_id)
        at = _seq(seq, required=True)
        if not isinstance(content, str) or not content.strip():
            raise InvalidInput("content must be a non-empty string")
        item = self._new_message({"role": "user", "content": content, "metadata": metadata})
        async with turn_stopped(self, sid):
            out = await self.store.branch_off(
                self.owner, sid, at, "user", ids.new_id("ses"), _deriver("edit")
            )
            (msg,) = await self.store.append(self.owner, sid, [item], self._auto([item]))
        return BranchResult(await self.get_session(sid), out.branch, msg.seq, msg)

    async def branches(self, session_id: str) -> list[Branch]:
        """The alternatives forking off the session's visible history, oldest first."""
        return await self.store.branches(self.owner, self._session_id(session_id))

    async def switch_branch(self, session_id: str, branch_session_id: str) -> Session:
        """Make branch ``branch_session_id`` the session's continuation; the current one is
        kept as a branch. Returns the session (same id)."""
        sid = self._session_id(session_id)
        bid = self._session_id(branch_session_id)
        async with turn_stopped(self, sid):
            out = await self.store.switch_branch(self.owner, sid, bid, ids.new_id("ses"), _deriver("switch"))
        return out.session
