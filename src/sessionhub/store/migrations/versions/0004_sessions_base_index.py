"""Index the fork pointer: deleting a session finds its forks without scanning every session.

Revision ID: 0004_sessions_base
Revises: 0003_context_keep
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_sessions_base"
down_revision = "0003_context_keep"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_sessions_base",
        "sessions",
        ["base_session_pk"],
        sqlite_where=sa.text("base_session_pk IS NOT NULL"),
        postgresql_where=sa.text("base_session_pk IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_sessions_base", table_name="sessions")
