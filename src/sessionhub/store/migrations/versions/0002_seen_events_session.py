"""Seen inbound events remember the session their message went to (duplicates answer it).

Revision ID: 0002_seen_events_session
Revises: 0001
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_seen_events_session"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("seen_events", sa.Column("session_id", sa.String(32)))


def downgrade() -> None:
    with op.batch_alter_table("seen_events") as batch:
        batch.drop_column("session_id")
