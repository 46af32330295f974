"""Initial schema: sessions, messages, checkpoints, routing keys, seen events, summaries, meta.

Revision ID: 0001
Revises:
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

SQLITE_FTS = [
    "CREATE VIRTUAL TABLE messages_fts USING fts5(content, content='messages', content_rowid='pk', "
    "tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER messages_fts_ai AFTER INSERT ON messages BEGIN "
    "INSERT INTO messages_fts(rowid, content) VALUES (new.pk, new.content); END",
    "CREATE TRIGGER messages_fts_ad AFTER DELETE ON messages BEGIN "
    "INSERT INTO messages_fts(messages_fts, rowid, content) VALUES ('delete', old.pk, old.content); END",
    "CREATE TRIGGER messages_fts_au AFTER UPDATE OF content ON messages BEGIN "
    "INSERT INTO messages_fts(messages_fts, rowid, content) VALUES ('delete', old.pk, old.content); "
    "INSERT INTO messages_fts(rowid, content) VALUES (new.pk, new.content); END",
    "CREATE VIRTUAL TABLE sessions_fts USING fts5(title, content='sessions', content_rowid='pk', "
    "tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER sessions_fts_ai AFTER INSERT ON sessions BEGIN "
    "INSERT INTO sessions_fts(rowid, title) VALUES (new.pk, new.title); END",
    "CREATE TRIGGER sessions_fts_ad AFTER DELETE ON sessions BEGIN "
    "INSERT INTO sessions_fts(sessions_fts, rowid, title) VALUES ('delete', old.pk, old.title); END",
    "CREATE TRIGGER sessions_fts_au AFTER UPDATE OF title ON sessions BEGIN "
    "INSERT INTO sessions_fts(sessions_fts, rowid, title) VALUES ('delete', old.pk, old.title); "
    "INSERT INTO sessions_fts(rowid, title) VALUES (new.pk, new.title); END",
]

POSTGRES_FTS = [
    "CREATE INDEX ix_messages_fts ON messages USING gin (to_tsvector('simple', content))",
    "CREATE INDEX ix_sessions_title_fts ON sessions USING gin (to_tsvector('simple', title))",
]


def upgrade() -> None:
    op.create_table(
        "sessions",
        sa.Column("pk", PK, primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(32), nullable=False, unique=True),
        sa.Column("owner", sa.String(200), nullable=False),
        sa.Column("key", sa.Text, nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("title_source", sa.String(8), nullable=False),
        sa.Column("agent", sa.String(200), nullable=False),
        sa.Column("provider", sa.String(200), nullable=False),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("source_ref", sa.Text),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("pinned", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
        sa.Column("last_message_at", sa.BigInteger),
        sa.Column("activity_at", sa.BigInteger, nullable=False),
        sa.Column("message_count", sa.Integer, nullable=False),
        sa.Column("preview", sa.Text, nullable=False),
        sa.Column("user_messages", sa.Integer, nullable=False),
        sa.Column("assistant_messages", sa.Integer, nullable=False),
        sa.Column("tool_messages", sa.Integer, nullable=False),
        sa.Column("errors", sa.Integer, nullable=False),
        sa.Column("input_tokens", sa.BigInteger, nullable=False),
        sa.Column("output_tokens", sa.BigInteger, nullable=False),
        sa.Column("metadata", sa.Text),
        sa.Column("base_session_pk", PK, sa.ForeignKey("sessions.pk", ondelete="RESTRICT")),
        sa.Column("base_seq", sa.Integer, nullable=False, server_default=sa.text("0")),
        sa.Column("wrapped_key", sa.Text),
        sa.Column("import_ref", sa.Text),
    )
    op.create_index("ix_sessions_list", "sessions", ["owner", "status", "pinned", "activity_at", "pk"])
    op.create_index("ix_sessions_key", "sessions", ["owner", "key"])
    op.create_index("ix_sessions_created", "sessions", ["owner", "created_at"])
    op.create_index(
        "ix_sessions_empty",
        "sessions",
        ["owner", "status", "pk"],
        sqlite_where=sa.text("message_count = 0"),
        postgresql_where=sa.text("message_count = 0"),
    )
    op.create_index(
        "ix_sessions_import_ref",
        "sessions",
        ["owner", "import_ref"],
        unique=True,
        sqlite_where=sa.text("import_ref IS NOT NULL"),
        postgresql_where=sa.text("import_ref IS NOT NULL"),
    )
    op.create_table(
        "messages",
        sa.Column("pk", PK, primary_key=True, autoincrement=True),
        sa.Column("session_pk", PK, sa.ForeignKey("sessions.pk", ondelete="CASCADE"), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("content", sa.Text, nullable=False),
        sa.Column("parts", sa.Text),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("input_tokens", sa.Integer, nullable=False),
        sa.Column("output_tokens", sa.Integer, nullable=False),
        sa.Column("metadata", sa.Text),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("token_count", sa.Integer),
        sa.UniqueConstraint("session_pk", "seq", name="uq_messages_session_seq"),
    )
    op.create_table(
        "checkpoints",
        sa.Column("pk", PK, primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(32), nullable=False, unique=True),
        sa.Column("session_pk", PK, sa.ForeignKey("sessions.pk", ondelete="CASCADE"), nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("at_seq", sa.Integer, nullable=False),
        sa.Column("message_count", sa.Integer, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_checkpoints_session", "checkpoints", ["session_pk", "created_at"])
    op.create_table(
        "route_keys",
        sa.Column("owner", sa.String(200), primary_key=True),
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("session_pk", PK, sa.ForeignKey("sessions.pk", ondelete="SET NULL")),
        sa.Column("overrides", sa.Text),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "seen_events",
        sa.Column("channel", sa.String(32), primary_key=True),
        sa.Column("account", sa.String(200), primary_key=True),
        sa.Column("event_id", sa.String(200), primary_key=True),
        sa.Column("seen_at", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_seen_events_time", "seen_events", ["seen_at"])
    op.create_table(
        "summaries",
        sa.Column("pk", PK, primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(32), nullable=False, unique=True),
        sa.Column("session_pk", PK, sa.ForeignKey("sessions.pk", ondelete="CASCADE"), nullable=False),
        sa.Column("covers_until_seq", sa.Integer, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("method", sa.String(16), nullable=False),
        sa.Column("token_count", sa.Integer, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("session_pk", "covers_until_seq", name="uq_summaries_session_seq"),
    )
    op.create_table(
        "meta",
        sa.Column("name", sa.String(100), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    dialect = op.get_bind().dialect.name
    for statement in SQLITE_FTS if dialect == "sqlite" else POSTGRES_FTS:
        op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for name in ("messages_fts", "sessions_fts"):
            op.execute(f"DROP TABLE IF EXISTS {name}")
    for table in ("meta", "summaries", "seen_events", "route_keys", "checkpoints", "messages", "sessions"):
        op.drop_table(table)
