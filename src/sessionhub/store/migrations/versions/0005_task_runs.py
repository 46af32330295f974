"""Scheduled task runs: one row per (task, scheduled time) so each due run happens once.

Revision ID: 0005_task_runs
Revises: 0004_sessions_base
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_task_runs"
down_revision = "0004_sessions_base"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "task_runs",
        sa.Column("task", sa.String(200), primary_key=True),
        sa.Column("scheduled_at", sa.BigInteger, primary_key=True),
        sa.Column("owner", sa.String(200), nullable=False),
        sa.Column("trigger", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("session_id", sa.String(32)),
        sa.Column("started_at", sa.BigInteger, nullable=False),
        sa.Column("finished_at", sa.BigInteger),
        sa.Column("error", sa.Text),
    )


def downgrade() -> None:
    op.drop_table("task_runs")
