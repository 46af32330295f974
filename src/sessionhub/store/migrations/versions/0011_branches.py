"""Branches: ``sessions.branch_of_pk``, the session an alternative continuation belongs to.

Regenerating a reply, editing a user message and restoring a checkpoint keep the replaced
continuation aside in an archived session that reads the shared history by pointer (no copy).
``branch_of_pk`` names the session whose branch it is, so ``GET /api/sessions/{id}/branches``
finds a session's alternatives with one index lookup. NULL for every other session (and for
restore branches written before this revision). No foreign key: SQLite can add one to an
existing table only by rebuilding it (its full-text triggers and the other tables' cascading
keys make that unsafe), so the store clears the pointer when it deletes a session: its
branches stay ordinary archived sessions, as restore branches always were.

Revision ID: 0011_branches
Revises: 0008_stream_owner
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_branches"
down_revision = "0008_stream_owner"
branch_labels = None
depends_on = None

_SET = sa.text("branch_of_pk IS NOT NULL")


def upgrade() -> None:
    op.add_column("sessions", sa.Column("branch_of_pk", sa.BigInteger().with_variant(sa.Integer(), "sqlite")))
    op.create_index(
        "ix_sessions_branch_of", "sessions", ["branch_of_pk"], sqlite_where=_SET, postgresql_where=_SET
    )


def downgrade() -> None:
    op.drop_index("ix_sessions_branch_of", table_name="sessions")
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE sessions DROP COLUMN branch_of_pk")  # SQLite >= 3.35, no rebuild
    else:
        op.drop_column("sessions", "branch_of_pk")
