"""Per-user keys: seen inbound events carry their owner; idempotency keys live in the database.

``seen_events`` gains ``owner`` in its primary key (owner, channel, account, event_id), so one
user's event id never hides another user's message. Existing rows take the owner of the
session their message went to, or ``default`` when they name none (a command's event). The
table is copied (SQLite cannot change a primary key in place).

``idempotency_keys`` holds an ``Idempotency-Key`` of an append for 24 hours: per owner and
session, the request body's SHA-256 and where the appended messages are (first seq, count,
first and last message id), never the response itself.

Revision ID: 0007_per_user_keys
Revises: 0006_search_terms
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_per_user_keys"
down_revision = "0006_search_terms"
branch_labels = None
depends_on = None

PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

_COPY_UP = (
    "INSERT INTO seen_events_0007 (owner, channel, account, event_id, seen_at, session_id) "
    "SELECT COALESCE((SELECT s.owner FROM sessions s WHERE s.id = e.session_id), 'default'), "
    "e.channel, e.account, e.event_id, e.seen_at, e.session_id FROM seen_events e"
)
# Down: one row per (channel, account, event_id); another owner's copy of an id is dropped.
_COPY_DOWN = (
    "INSERT INTO seen_events_0007 (channel, account, event_id, seen_at, session_id) "
    "SELECT e.channel, e.account, e.event_id, MAX(e.seen_at), MAX(e.session_id) FROM seen_events e "
    "GROUP BY e.channel, e.account, e.event_id"
)


def _swap_seen_events(columns: list[sa.Column[object]], copy: str) -> None:
    """Build ``seen_events`` anew with ``columns`` (its primary key) and the rows ``copy`` selects."""
    op.create_table(
        "seen_events_0007",
        *columns,
        sa.Column("seen_at", sa.BigInteger, nullable=False),
        sa.Column("session_id", sa.String(32)),
    )
    op.execute(copy)
    op.drop_index("ix_seen_events_time", table_name="seen_events")
    op.drop_table("seen_events")
    op.rename_table("seen_events_0007", "seen_events")
    if op.get_bind().dialect.name == "postgresql":  # the primary key's index keeps the old name
        op.execute("ALTER INDEX seen_events_0007_pkey RENAME TO seen_events_pkey")
    op.create_index("ix_seen_events_time", "seen_events", ["seen_at"])


def _event_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("channel", sa.String(32), primary_key=True),
        sa.Column("account", sa.String(200), primary_key=True),
        sa.Column("event_id", sa.String(200), primary_key=True),
    ]


def upgrade() -> None:
    _swap_seen_events([sa.Column("owner", sa.String(200), primary_key=True), *_event_columns()], _COPY_UP)
    op.create_table(
        "idempotency_keys",
        sa.Column("owner", sa.String(200), primary_key=True),
        sa.Column(
            "session_pk",
            PK,
            sa.ForeignKey("sessions.pk", ondelete="CASCADE"),
            primary_key=True,
            autoincrement=False,
        ),
        sa.Column("key", sa.String(255), primary_key=True),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("first_seq", sa.Integer, nullable=False),
        sa.Column("count", sa.Integer, nullable=False),
        sa.Column("first_id", sa.String(32), nullable=False),
        sa.Column("last_id", sa.String(32), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_idempotency_keys_time", "idempotency_keys", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_idempotency_keys_time", table_name="idempotency_keys")
    op.drop_table("idempotency_keys")
    _swap_seen_events(_event_columns(), _COPY_DOWN)
