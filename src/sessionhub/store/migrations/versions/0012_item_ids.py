"""Messages found by id: an index on ``messages.id``; item ids up to 128 characters.

The OpenAI Conversations API (``/v1``) addresses a conversation's items by id, and an
item's id is its message's id, so ``GET /v1/conversations/{id}/items/{item_id}``, the
``after`` cursor and item deletion look a message up by id: ``ix_messages_id`` on
``(id, session_pk)`` makes that O(log n) instead of a scan of every message (the store asks
for the id in the sessions the conversation reads, each an equality). It is not unique: a
fork's copies and another user's items may carry the same id.

An item created with its own ``id`` keeps it as the message id, and OpenAI's ids are longer
than sessionhub's (``fc_`` + 48 hex digits): on PostgreSQL ``messages.id`` and
``summaries.covers_until_id`` widen to ``VARCHAR(128)`` (no table rewrite: widening a
varchar is a catalog change). SQLite does not enforce lengths and keeps its declared type.

Revision ID: 0012_item_ids
Revises: 0011_branches
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012_item_ids"
down_revision = "0011_branches"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column("messages", "id", type_=sa.String(128), existing_type=sa.String(32))
        op.alter_column("summaries", "covers_until_id", type_=sa.String(128), existing_type=sa.String(32))
    op.create_index("ix_messages_id", "messages", ["id", "session_pk"])


def downgrade() -> None:
    op.drop_index("ix_messages_id", table_name="messages")
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column("summaries", "covers_until_id", type_=sa.String(32), existing_type=sa.String(128))
        op.alter_column("messages", "id", type_=sa.String(32), existing_type=sa.String(128))
