"""The part of the Store interface behind checkpoints, forks, import and cleanup.

``Store`` inherits ``HistoryStore``; a backend that does not implement these raises
``NotImplementedError``. The rules (names, validation, titles of forks and branches)
live in the hub and reach the store as plain values or a ``derive`` callable run inside
the transaction, so they are decided atomically with the change.

Pointers, never copies: a checkpoint is (session, seq); a fork is a session whose seqs
``1..base_seq`` are read from ``base_session_pk``; restoring a checkpoint moves the later
rows (``UPDATE session_pk``) into a new archived *branch* session that forks the restored
one at the checkpoint, so nothing is copied and nothing is lost.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

from ..model import Branch, Checkpoint, Message, NewMessage, Session


@dataclass(frozen=True, slots=True)
class DerivedSession:
    """Title, title source and metadata of a session the store derives from another."""

    title: str
    title_source: Literal["auto", "user"]
    metadata: Mapping[str, Any]


# derive(source session, seq it starts from / is cut at, checkpoint or None) -> fields
Derive = Callable[[Session, int, Checkpoint | None], DerivedSession]


@dataclass(frozen=True, slots=True)
class RestoreOutcome:
    """The restored session, the branch holding the kept-aside messages (None when nothing
    followed the checkpoint) and how many messages were moved there."""

    session: Session
    branch: Session | None
    moved: int


@dataclass(frozen=True, slots=True)
class NewCheckpoint:
    """A checkpoint to create with an imported session: covers messages ``1..at_seq``."""

    id: str
    name: str
    description: str
    at_seq: int
    created_at: datetime | None


@dataclass(frozen=True, slots=True)
class ImportRows:
    """Everything of one imported session, written in one transaction with its timestamps."""

    id: str
    owner: str
    key: str
    title: str
    title_source: Literal["auto", "user"]
    agent: str
    provider: str
    model: str
    source: str
    source_ref: str | None
    channel: str
    status: Literal["active", "archived"]
    pinned: bool
    preview: str
    metadata: Mapping[str, Any]
    created_at: datetime
    updated_at: datetime
    messages: Sequence[NewMessage]
    checkpoints: Sequence[NewCheckpoint] = ()
    import_ref: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)
    # Map ``key`` to this session in the routing table (a migrated chat that continues,
    # CONTRACT 11.2): it becomes the key's live session when it is the newest there, else
    # it is stored archived. An older *imported* live session of the key is archived.
    bind_key: bool = False


class HistoryStore(Protocol):
    """Checkpoints, forks, branches, bulk import and the selections behind cleanup and
    retention (``hub/history.py``, ``hub/branches.py``, ``hub/transfer.py``)."""

    async def save_checkpoint(
        self, owner: str, session_id: str, checkpoint_id: str, name: str, description: str
    ) -> Checkpoint:
        """A pointer at the session's current last seq."""
        ...

    async def list_checkpoints(self, owner: str, session_id: str) -> list[Checkpoint]:
        """The session's checkpoints, oldest first."""
        ...

    async def get_checkpoint(self, owner: str, checkpoint_id: str) -> Checkpoint:
        """The checkpoint, or ``NotFound`` (also when it belongs to another owner)."""
        ...

    async def delete_checkpoint(self, owner: str, checkpoint_id: str) -> None: ...

    async def restore_checkpoint(
        self, owner: str, checkpoint_id: str, branch_id: str, derive: Derive
    ) -> RestoreOutcome:
        """Cut the session back to the checkpoint; later messages move to a new branch."""
        ...

    async def branch_off(
        self, owner: str, session_id: str, seq: int | None, role: str, branch_id: str, derive: Derive
    ) -> RestoreOutcome:
        """Keep messages ``seq..n`` aside in a new branch; ``seq`` must be a ``role`` message
        (None: the last one of that role), else ``InvalidInput``. The session ends at ``seq-1``."""
        ...

    async def branches(self, owner: str, session_id: str) -> list[Branch]:
        """The alternatives forking off the session's visible history, oldest first."""
        ...

    async def switch_branch(
        self, owner: str, session_id: str, branch_id: str, kept_id: str, derive: Derive
    ) -> RestoreOutcome:
        """Make the branch the session's continuation; the current one goes to branch ``kept_id``."""
        ...

    async def fork(
        self,
        owner: str,
        session_id: str,
        at_seq: int | None,
        checkpoint_id: str | None,
        new_id: str,
        derive: Derive,
    ) -> Session:
        """A new session sharing ``1..at_seq`` of the source by pointer."""
        ...

    async def forks(self, owner: str, session_id: str) -> list[Session]:
        """Sessions that read part of their history from this one (forks and branches)."""
        ...

    async def pop_message(self, owner: str, session_id: str) -> Message | None:
        """Remove and return the last message (None when empty), in one transaction.

        Forks reading it keep it; checkpoints past the new end are clamped to it.
        """
        ...

    async def import_rows(self, rows: ImportRows) -> Session | None:
        """Create the session, its messages and checkpoints in one transaction.

        Returns ``None`` (and writes nothing) when ``rows.import_ref`` was imported before.
        """
        ...

    async def stale_sessions(
        self, owner: str, before_us: int, keep_checkpoints: bool, status: str | None, limit: int
    ) -> list[str]:
        """Ids of unpinned sessions with last activity before ``before_us``, oldest first."""
        ...

    async def archive_inactive(self, owner: str, before_us: int, dry_run: bool) -> list[str]:
        """Archive active, unpinned sessions inactive since before ``before_us``; their ids."""
        ...

    async def archived_before(self, owner: str, before_us: int, limit: int) -> list[str]:
        """Ids of archived, unpinned sessions unchanged since before ``before_us``."""
        ...
