"""What an importer hands back: frozen, store-agnostic descriptions of sessions to create.

An importer never touches the store. It returns one ``ImportedSession`` per source
session (everything needed to create it, messages included) or one ``ImportFailure``
when the source session cannot be read completely: import is all-or-nothing per session.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple

from ..model import JSON, NewMessage
from ..routing.legacy import Origin


class Skipped(NamedTuple):
    """Something of the source that was not imported, and why."""

    what: str
    why: str


@dataclass(frozen=True, slots=True)
class ImportedCheckpoint:
    """A checkpoint to recreate after the messages are appended.

    ``at_index`` is the number of imported messages the checkpoint covers (it sits after
    ``messages[at_index - 1]``; 0 means before the first message). ``at_seq`` is the seq it
    had in the source, kept for reference only: the new session's seqs are assigned anew.
    """

    name: str
    description: str
    at_index: int
    created_at: datetime | None = None
    at_seq: int | None = None


@dataclass(frozen=True, slots=True)
class ImportedSession:
    """One source session, fully parsed and validated, ready to be created.

    ``source_id`` is stable across re-imports of the same data (a hash of the format, the
    source location and the source's own session id), so the caller can refuse duplicates.
    ``session`` carries the complete exported session object for the ``sessionhub`` format
    (title_source, pinned, status, ...) and is ``None`` for foreign formats.

    For migrations that continue (CONTRACT 11.2): ``source_key`` is the source's own
    session key (kept as ``metadata.source_key``), ``origin`` the chat it took place in as
    far as the source says (None: the hub reads it from a legacy ``agent:`` key, or the
    session stays a web session), and ``archived`` marks an archive the source itself set
    aside (OpenClaw's ``*.jsonl.reset.*``): it is imported as an archived session of its key.
    """

    format: str
    source_id: str
    source_path: str
    source_session_id: str
    title: str | None
    created_at: datetime | None
    updated_at: datetime | None
    messages: tuple[NewMessage, ...]
    agent: str | None = None
    provider: str | None = None
    model: str | None = None
    metadata: Mapping[str, JSON] = field(default_factory=dict)
    checkpoints: tuple[ImportedCheckpoint, ...] = ()
    skipped: tuple[Skipped, ...] = ()
    session: Mapping[str, JSON] | None = None
    source_key: str | None = None
    origin: Origin | None = None
    archived: bool = False


@dataclass(frozen=True, slots=True)
class ImportFailure:
    """A source session that could not be read completely; nothing of it is imported."""

    path: str
    reason: str
