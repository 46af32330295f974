"""Who streams a reply: ``messages.stream_owner`` and a partial index of streaming replies.

``stream_owner`` is the id of the advisory lock held by the server streaming the reply
(PostgreSQL; NULL on SQLite and for replies written before this revision). Crash recovery
tests that lock to tell a dead server's reply from a live one (store/turns_sql.py). The
partial index covers only ``streaming`` rows, so it stays tiny and that test stays cheap.

Revision ID: 0008_stream_owner
Revises: 0007_per_user_keys
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_stream_owner"
down_revision = "0007_per_user_keys"
branch_labels = None
depends_on = None

_STREAMING = sa.text("status = 'streaming'")


def upgrade() -> None:
    op.add_column("messages", sa.Column("stream_owner", sa.Integer))
    op.create_index(
        "ix_messages_streaming",
        "messages",
        ["stream_owner"],
        sqlite_where=_STREAMING,
        postgresql_where=_STREAMING,
    )


def downgrade() -> None:
    op.drop_index("ix_messages_streaming", table_name="messages")
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("stream_owner")
