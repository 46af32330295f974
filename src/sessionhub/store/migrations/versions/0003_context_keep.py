"""Context windows: a flag on messages the window keeps (system, important) and a summary anchor.

``messages.context_keep`` is 1 for system messages and messages marked
``metadata.important``, NULL otherwise; the partial index ``ix_messages_keep`` makes
"the session's system and important messages" one small index range scan.
``summaries.covers_until_id`` is the id of the message at ``covers_until_seq`` when the
summary was written: a summary whose anchor no longer matches (history cleared or
restored to an earlier checkpoint, then continued) is ignored.

Revision ID: 0003_context_keep
Revises: 0002_seen_events_session
Create Date: 2026-11-22
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0003_context_keep"
down_revision = "0002_seen_events_session"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("messages", sa.Column("context_keep", sa.SmallInteger))
    op.add_column("summaries", sa.Column("covers_until_id", sa.String(32)))
    bind = op.get_bind()
    bind.execute(sa.text("UPDATE messages SET context_keep = 1 WHERE role = 'system'"))
    rows = bind.execute(
        sa.text("SELECT pk, metadata FROM messages WHERE metadata LIKE '%\"important\"%'")
    ).all()
    for pk, raw in rows:
        try:
            important = bool(json.loads(raw).get("important"))
        except (ValueError, AttributeError):
            important = False
        if important:
            bind.execute(sa.text("UPDATE messages SET context_keep = 1 WHERE pk = :pk"), {"pk": pk})
    op.create_index(
        "ix_messages_keep",
        "messages",
        ["session_pk", "seq"],
        sqlite_where=sa.text("context_keep IS NOT NULL"),
        postgresql_where=sa.text("context_keep IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_messages_keep", table_name="messages")
    with op.batch_alter_table("summaries") as batch:
        batch.drop_column("covers_until_id")
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("context_keep")
