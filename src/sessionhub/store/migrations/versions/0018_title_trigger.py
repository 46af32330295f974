"""SQLite: a session's title is re-indexed only when it changes.

Every append updates its session row with one statement that also keeps the title
(``title = coalesce(:title, title)``: set only while it is still empty), so ``AFTER UPDATE OF
title`` fired on every append: the title deleted from ``sessions_fts`` and inserted again, and
a second FTS5 segment written at the commit. ``WHEN old.title IS NOT new.title`` keeps the
trigger for real changes: an append 213 -> 187 us of store time at synchronous=NORMAL,
measured. PostgreSQL has no trigger here (an expression index), so nothing changes there.

Revision ID: 0018_title_trigger
Revises: 0017_message_tokens
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0018_title_trigger"
down_revision = "0017_message_tokens"
branch_labels = None
depends_on = None

_BODY = (
    "BEGIN "
    "INSERT INTO sessions_fts(sessions_fts, rowid, title) SELECT 'delete', old.pk, old.title "
    "WHERE substr(old.title, 1, 5) <> 'enc1:'; "
    "INSERT INTO sessions_fts(rowid, title) SELECT new.pk, new.title "
    "WHERE substr(new.title, 1, 5) <> 'enc1:'; END"
)


def _replace(when: str) -> None:
    op.execute("DROP TRIGGER IF EXISTS sessions_fts_au")
    op.execute(f"CREATE TRIGGER sessions_fts_au AFTER UPDATE OF title ON sessions {when}{_BODY}")


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _replace("WHEN old.title IS NOT new.title ")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _replace("")
