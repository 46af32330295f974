"""Framework adapters' own tables: Google ADK state scopes and OpenAI ChatKit ids.

ADK (integrations/adk.py): ``adk_sessions`` maps an ADK session (app, user, id) to its
sessionhub session and keeps the session-scoped state, the float ``update_time`` of the last
event and a revision (stale-session detection); ``adk_app_state`` and ``adk_user_state`` hold
the ``app:`` and ``user:`` scopes. All three are written in the transaction that stores the
event's message. ChatKit (integrations/chatkit.py): ``chatkit_threads`` maps a thread id to
its session, ``chatkit_items`` an item id to its message (by seq), ``chatkit_attachments``
keeps attachments. JSON columns are sealed like session fields when encryption is on (each
state row carries its own wrapped data key).

Revision ID: 0013_adk_chatkit
Revises: 0008_stream_owner
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013_adk_chatkit"
down_revision = "0008_stream_owner"
branch_labels = None
depends_on = None

_PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _session_fk() -> sa.Column[int]:
    return sa.Column(
        "session_pk", _PK, sa.ForeignKey("sessions.pk", ondelete="CASCADE"), nullable=False, unique=True
    )


def upgrade() -> None:
    op.create_table(
        "adk_sessions",
        sa.Column("owner", sa.String(200), primary_key=True),
        sa.Column("app_name", sa.String(255), primary_key=True),
        sa.Column("user_id", sa.String(255), primary_key=True),
        sa.Column("adk_id", sa.String(255), primary_key=True),
        _session_fk(),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("update_time", sa.Double, nullable=False),
        sa.Column("revision", sa.Integer, nullable=False),
    )
    op.create_index("ix_adk_sessions_app", "adk_sessions", ["owner", "app_name", "update_time"])
    op.create_index("ix_adk_sessions_user", "adk_sessions", ["owner", "app_name", "user_id", "update_time"])
    op.create_table(
        "adk_app_state",
        sa.Column("owner", sa.String(200), primary_key=True),
        sa.Column("app_name", sa.String(255), primary_key=True),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("wrapped_key", sa.Text),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "adk_user_state",
        sa.Column("owner", sa.String(200), primary_key=True),
        sa.Column("app_name", sa.String(255), primary_key=True),
        sa.Column("user_id", sa.String(255), primary_key=True),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("wrapped_key", sa.Text),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "chatkit_threads",
        sa.Column("owner", sa.String(200), primary_key=True),
        sa.Column("user_id", sa.String(255), primary_key=True),
        sa.Column("thread_id", sa.String(255), primary_key=True),
        _session_fk(),
        sa.Column("data", sa.Text, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
    )
    op.create_index(
        "ix_chatkit_threads_list", "chatkit_threads", ["owner", "user_id", "created_at", "thread_id"]
    )
    op.create_table(
        "chatkit_items",
        sa.Column("session_pk", _PK, sa.ForeignKey("sessions.pk", ondelete="CASCADE"), primary_key=True),
        sa.Column("item_id", sa.String(255), primary_key=True),
        sa.Column("seq", sa.Integer),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("data", sa.Text, nullable=False),
    )
    op.create_index("ix_chatkit_items_order", "chatkit_items", ["session_pk", "created_at", "item_id"])
    op.create_table(
        "chatkit_attachments",
        sa.Column("owner", sa.String(200), primary_key=True),
        sa.Column("user_id", sa.String(255), primary_key=True),
        sa.Column("attachment_id", sa.String(255), primary_key=True),
        sa.Column("data", sa.Text, nullable=False),
        sa.Column("wrapped_key", sa.Text),
        sa.Column("created_at", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("chatkit_attachments")
    op.drop_index("ix_chatkit_items_order", table_name="chatkit_items")
    op.drop_table("chatkit_items")
    op.drop_index("ix_chatkit_threads_list", table_name="chatkit_threads")
    op.drop_table("chatkit_threads")
    op.drop_table("adk_user_state")
    op.drop_table("adk_app_state")
    op.drop_index("ix_adk_sessions_user", table_name="adk_sessions")
    op.drop_index("ix_adk_sessions_app", table_name="adk_sessions")
    op.drop_table("adk_sessions")
