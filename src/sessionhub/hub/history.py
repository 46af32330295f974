"""History tools of the hub: checkpoints, forks, pop, cleanup and retention.

``Hub`` inherits ``HistoryOps`` (built on ``SessionOps``); this module holds the rules, the store does the rows
(``store/history_sql.py``). The rules, in one place:

- **Checkpoint**: a pointer ``(session, at_seq = message_count)``; saving costs one row.
- **Restore** a checkpoint: the session's visible history returns to ``at_seq``; the
  messages after it are *kept aside* in a new **branch** session (archived, so read-only
  and out of the active list; listed by ``hub.forks(session_id)`` and the archived view;
  its metadata has ``kept_aside_from``). The branch is a fork of the session at
  ``at_seq``: it shows the whole history as it was before the restore. Checkpoints after
  ``at_seq`` move to the branch with the messages they point into. New messages continue
  at ``at_seq + 1``. Restoring when nothing follows the checkpoint changes nothing, so
  restoring twice is safe. Unarchive the branch (``hub.restore``) to continue it.
- **Fork** at a seq (default: the end) or a checkpoint of the same session: a new active
  session with the same agent/provider/model whose history ``1..at_seq`` is read from the
  source by pointer; both continue independently. Title ``"<title> (fork)"``; metadata
  gets ``forked_from``.
- **Deleting** (or clearing) a session that forks read from never breaks them: the fork
  that reads furthest inherits the rows (moved, not copied) and the other forks read from
  it. The deleted session's own checkpoints go with it.
- **Pop** removes the last message in one transaction (a fork reading it keeps it, as on
  delete); checkpoints past the new end are clamped to it, never deleted.
- **Export** and **import**: ``transfer.py``.
- **Cleanup** deletes sessions whose last activity is older than ``older_than``; pinned
  ones never, and with ``keep_checkpoints`` none that has a checkpoint. **Retention**
  archives active unpinned sessions idle for ``auto_archive_after_days`` and deletes
  archived unpinned sessions unchanged for ``delete_archived_after_days``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import cast

from .. import ids
from ..errors import InvalidInput, NotFound
from ..model import JSON, Checkpoint, Message, Session
from ..store.history_base import DerivedSession
from ..text import collapse
from ..timeutil import parse_duration, to_us
from ..validation import check_text
from ._core import Progress
from .sessions import SessionOps
from .turn_gate import turn_stopped

MAX_NAME_CHARS = 200
MAX_DESCRIPTION_CHARS = 2000


# --- reports -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RestoreResult:
    """What ``restore_checkpoint_detailed`` did: the session, the branch keeping the later
    messages (``None`` when none followed the checkpoint) and how many were kept aside."""

    session: Session
    branch: Session | None
    moved: int

    def to_dict(self) -> dict[str, JSON]:
        return {
            "session": self.session.to_dict(),
            "branch": self.branch.to_dict() if self.branch else None,
            "moved": self.moved,
        }


@dataclass(frozen=True, slots=True)
class CleanupReport:
    """``deleted``: how many sessions were deleted (would be, on a dry run)."""

    deleted: int
    session_ids: tuple[str, ...]
    dry_run: bool = False

    def to_dict(self) -> dict[str, JSON]:
        return {"deleted": self.deleted, "session_ids": list(self.session_ids), "dry_run": self.dry_run}


@dataclass(frozen=True, slots=True)
class RetentionReport:
    archived: tuple[str, ...] = ()
    deleted: tuple[str, ...] = ()
    dry_run: bool = False
    settings: Mapping[str, float | None] = field(default_factory=dict)

    def to_dict(self) -> dict[str, JSON]:
        return {
            "archived": list(self.archived),
            "deleted": list(self.deleted),
            "dry_run": self.dry_run,
            "settings": dict(self.settings),
        }


def _clean_text(value: object, name: str, limit: int, *, required: bool) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        raise InvalidInput(f"{name} must be a string")
    text = value.strip() if required else value
    if required and not text:
        raise InvalidInput(f"{name} must not be empty")
    return check_text(text, name, limit)


def _days(value: object, name: str) -> float | None:
    if value is None or value == 0:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise InvalidInput(f"retention.{name} must be a positive number of days")
    return float(value)


class HistoryOps(SessionOps):
    """The history half of ``Hub`` (see the module docstring for the rules)."""

    def _checkpoint_id(self, checkpoint_id: object) -> str:
        if not ids.is_valid(checkpoint_id, "chk"):
            raise NotFound(f"checkpoint {str(checkpoint_id)[:80]!r} not found")
        return cast(str, checkpoint_id)

    # -- checkpoints ------------------------------------------------------------------------

    async def save_checkpoint(self, session_id: str, name: str, description: str | None = None) -> Checkpoint:
        """Record a pointer at the session's current last message (no copy)."""
        clean = collapse(_clean_text(name, "name", MAX_NAME_CHARS, required=True))
        desc = _clean_text(description, "description", MAX_DESCRIPTION_CHARS, required=False)
        return await self.store.save_checkpoint(
            self.owner, self._session_id(session_id), ids.new_id("chk"), clean, desc
        )

    async def list_checkpoints(self, session_id: str) -> list[Checkpoint]:
        """The session's checkpoints, oldest first."""
        return await self.store.list_checkpoints(self.owner, self._session_id(session_id))

    async def get_checkpoint(self, checkpoint_id: str) -> Checkpoint:
        return await self.store.get_checkpoint(self.owner, self._checkpoint_id(checkpoint_id))

    async def delete_checkpoint(self, checkpoint_id: str) -> None:
        """Delete the pointer; no message is touched."""
        await self.store.delete_checkpoint(self.owner, self._checkpoint_id(checkpoint_id))

    async def restore_checkpoint(self, checkpoint_id: str) -> Session:
        """Return the session's history to the checkpoint; later messages are kept aside."""
        return (await self.restore_checkpoint_detailed(checkpoint_id)).session

    async def restore_checkpoint_detailed(self, checkpoint_id: str) -> RestoreResult:
        """Like ``restore_checkpoint``, also giving the branch that keeps the later messages."""

        def derive(s: Session, at: int, cp: Checkpoint | None) -> DerivedSession:
            name = cp.name if cp else str(at)
            meta = dict(s.metadata)
            meta["kept_aside_from"] = {
                "session_id": s.id,
                "checkpoint_id": cp.id if cp else None,
                "checkpoint_name": name,
                "at_seq": at,
            }
            title = f"{s.title or 'Untitled'} (kept aside by restore to {name})"
            return DerivedSession(title=title[:500], title_source=s.title_source, metadata=meta)

        cid = self._checkpoint_id(checkpoint_id)
        sid = (await self.get_checkpoint(cid)).session_id if self.turns is not None else ""
        async with turn_stopped(self, sid):
            out = await self.store.restore_checkpoint(self.owner, cid, ids.new_id("ses"), derive)
        return RestoreResult(out.session, out.branch, out.moved)

    # -- forks ------------------------------------------------------------------------------

    async def fork(
        self,
        session_id: str,
        at_seq: int | None = None,
        checkpoint_id: str | None = None,
        *,
        title: str | None = None,
    ) -> Session:
        """A new session sharing the history up to ``at_seq`` (default: all) or a checkpoint."""
        sid = self._session_id(session_id)
        if at_seq is not None and checkpoint_id is not None:
            raise InvalidInput("give at_seq or checkpoint_id, not both")
        if at_seq is not None and (isinstance(at_seq, bool) or not isinstance(at_seq, int) or at_seq < 0):
            raise InvalidInput("at_seq must be a non-negative integer")
        cid = self._checkpoint_id(checkpoint_id) if checkpoint_id is not None else None
        if title is not None and (not isinstance(title, str) or not collapse(title)):
            raise InvalidInput("title must be a non-empty string")
        if title is not None:
            check_text(title, "title")

        def derive(s: Session, at: int, cp: Checkpoint | None) -> DerivedSession:
            meta = dict(s.metadata)
            meta["forked_from"] = {"session_id": s.id, "at_seq": at, "checkpoint_id": cp.id if cp else None}
            if title is not None:
                return DerivedSession(collapse(title)[:500], "user", meta)
            derived = f"{s.title} (fork)" if s.title else ""
            return DerivedSession(derived[:500], s.title_source, meta)

        return await self.store.fork(self.owner, sid, at_seq, cid, ids.new_id("ses"), derive)

    async def forks(self, session_id: str) -> list[Session]:
        """Sessions reading part of their history from this one: forks and restore branches."""
        return await self.store.forks(self.owner, self._session_id(session_id))

    # -- pop --------------------------------------------------------------------------------

    async def pop_message(self, session_id: str) -> Message | None:
        """Remove and return the session's last message (None when it has none).

        One transaction, O(1) (plus the rows handed over when a fork reads that message:
        the fork keeps it). Counters, preview and ``last_message_at`` follow; checkpoints at
        or after the removed seq are clamped to the new last seq; the next message gets the
        removed seq again. Archived: ``SessionReadOnly``; unknown or malformed id: ``NotFound``.
        """
        sid = self._session_id(session_id)
        async with turn_stopped(self, sid):
            return await self.store.pop_message(self.owner, sid)

    # -- cleanup and retention --------------------------------------------------------------

    async def _delete_ids(self, session_ids: Sequence[str], on_progress: Progress | None) -> list[str]:
        deleted: list[str] = []
        for n, sid in enumerate(session_ids, start=1):
            try:
                await self.delete_session(sid)
            except NotFound:
                pass  # deleted meanwhile
            else:
                deleted.append(sid)
            if on_progress is not None:
                on_progress(n, len(session_ids))
        return deleted

    async def cleanup(
        self,
        older_than: str | timedelta = "30d",
        keep_checkpoints: bool = True,
        dry_run: bool = False,
        *,
        on_progress: Progress | None = None,
    ) -> CleanupReport:
        """Delete sessions whose last activity is older than ``older_than`` (``90m``, ``12h``,
        ``30d``, ``2w``); never pinned ones; with ``keep_checkpoints`` never those with a
        checkpoint. ``dry_run`` reports the sessions without deleting."""
        age = older_than if isinstance(older_than, timedelta) else parse_duration(older_than)
        if age <= timedelta(0):
            raise InvalidInput("older_than must be positive")

        before = to_us(self.clock.now() - age)
        found = await self.store.stale_sessions(self.owner, before, bool(keep_checkpoints), None, 10_000_000)
        if dry_run:
            return CleanupReport(len(found), tuple(found), True)
        deleted = await self._delete_ids(found, on_progress)
        return CleanupReport(len(deleted), tuple(deleted), False)

    def retention_settings(self) -> dict[str, float | None]:
        """``auto_archive_after_days`` and ``delete_archived_after_days`` from the settings."""
        retention = self.settings.retention
        return {
            "auto_archive_after_days": retention.auto_archive_after_days,
            "delete_archived_after_days": retention.delete_archived_after_days,
        }

    async def apply_retention(
        self,
        auto_archive_after_days: float | None = None,
        delete_archived_after_days: float | None = None,
        *,
        dry_run: bool = False,
        on_progress: Progress | None = None,
    ) -> RetentionReport:
        """Archive idle unpinned sessions and delete long-archived ones.

        A ``None`` argument takes the value of ``[retention]`` in the settings; 0 turns the
        step off. Archived sessions are deleted once unchanged for ``delete_archived_after_days``
        (archiving counts as a change, so the clock starts when a session is archived).
        """
        conf = self.retention_settings()
        archive_days = (
            conf["auto_archive_after_days"]
            if auto_archive_after_days is None
            else _days(auto_archive_after_days, "auto_archive_after_days")
        )
        delete_days = (
            conf["delete_archived_after_days"]
            if delete_archived_after_days is None
            else _days(delete_archived_after_days, "delete_archived_after_days")
        )

        now = self.clock.now()
        archived: list[str] = []
        deleted: list[str] = []
        if delete_days is not None:
            cutoff = to_us(now - timedelta(days=delete_days))
            found = await self.store.archived_before(self.owner, cutoff, 10_000_000)
            deleted = found if dry_run else await self._delete_ids(found, on_progress)
        if archive_days is not None:
            cutoff = to_us(now - timedelta(days=archive_days))
            archived = await self.store.archive_inactive(self.owner, cutoff, dry_run)
        return RetentionReport(
            tuple(archived),
            tuple(deleted),
            dry_run,
            {"auto_archive_after_days": archive_days, "delete_archived_after_days": delete_days},
        )
