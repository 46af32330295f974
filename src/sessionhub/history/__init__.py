"""History formats: streaming exports and importers of other assistants' session files.

Pure code, no database: the hub passes a ``Session``, an iterable of ``Message`` (read in
bounded pages) and checkpoints to the exporters, and creates sessions from what
``read_sessions`` yields.
"""

from __future__ import annotations

from .export import (
    FORMAT_NAME,
    FORMAT_VERSION,
    FORMATS,
    content_type,
    export_json,
    export_jsonl,
    export_markdown,
    export_session,
    export_text,
    filename,
)
from .imported import ImportedCheckpoint, ImportedSession, ImportFailure, Skipped
from .importers.sessionhub import parse_export
from .imports import IMPORT_FORMATS, detect_format, read_sessions

__all__ = [
    "FORMATS",
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "IMPORT_FORMATS",
    "ImportFailure",
    "ImportedCheckpoint",
    "ImportedSession",
    "Skipped",
    "content_type",
    "detect_format",
    "export_json",
    "export_jsonl",
    "export_markdown",
    "export_session",
    "export_text",
    "filename",
    "parse_export",
    "read_sessions",
]
