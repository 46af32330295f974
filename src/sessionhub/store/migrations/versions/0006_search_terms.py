"""Encryption at rest: the blind-index table, and full-text indexes that skip ciphertext.

With encryption on, message content and titles hold ``"enc1:" + base64`` ciphertext. The
SQLite FTS5 triggers and the PostgreSQL GIN expression indexes would index that base64 as
junk words; they now skip values starting with ``enc1:`` (SQLite: ``WHEN`` clauses, the
update trigger inserting only plaintext; PostgreSQL: partial indexes, and the search queries carry the
same predicate). Encrypted sessions are searched through ``search_terms`` instead.

Revision ID: 0006_search_terms
Revises: 0005_task_runs
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_search_terms"
down_revision = "0005_task_runs"
branch_labels = None
depends_on = None

PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

_PLAIN_NEW = "substr(new.{c}, 1, 5) <> 'enc1:'"
_PLAIN_OLD = "substr(old.{c}, 1, 5) <> 'enc1:'"


def _sqlite_triggers(table: str, col: str) -> list[str]:
    fts = f"{table}_fts"
    new, old = _PLAIN_NEW.format(c=col), _PLAIN_OLD.format(c=col)
    return [
        f"DROP TRIGGER IF EXISTS {fts}_ai",
        f"DROP TRIGGER IF EXISTS {fts}_ad",
        f"DROP TRIGGER IF EXISTS {fts}_au",
        f"CREATE TRIGGER {fts}_ai AFTER INSERT ON {table} WHEN {new} BEGIN "
        f"INSERT INTO {fts}(rowid, {col}) VALUES (new.pk, new.{col}); END",
        f"CREATE TRIGGER {fts}_ad AFTER DELETE ON {table} WHEN {old} BEGIN "
        f"INSERT INTO {fts}({fts}, rowid, {col}) VALUES ('delete', old.pk, old.{col}); END",
        # One update trigger, so the old entry is deleted before the new one is added.
        f"CREATE TRIGGER {fts}_au AFTER UPDATE OF {col} ON {table} BEGIN "
        f"INSERT INTO {fts}({fts}, rowid, {col}) SELECT 'delete', old.pk, old.{col} WHERE {old}; "
        f"INSERT INTO {fts}(rowid, {col}) SELECT new.pk, new.{col} WHERE {new}; END",
    ]


def upgrade() -> None:
    op.create_table(
        "search_terms",
        sa.Column("token", sa.String(16), nullable=False),
        sa.Column("session_pk", PK, sa.ForeignKey("sessions.pk", ondelete="CASCADE"), nullable=False),
        sa.Column("message_pk", PK, sa.ForeignKey("messages.pk", ondelete="CASCADE")),
    )
    op.create_index("ix_search_terms_token", "search_terms", ["token", "session_pk", "message_pk"])
    op.create_index("ix_search_terms_message", "search_terms", ["message_pk"])
    op.create_index("ix_search_terms_session", "search_terms", ["session_pk"])
    if op.get_bind().dialect.name == "sqlite":
        for statement in _sqlite_triggers("messages", "content") + _sqlite_triggers("sessions", "title"):
            op.execute(statement)
    else:
        op.execute("DROP INDEX IF EXISTS ix_messages_fts")
        op.execute("DROP INDEX IF EXISTS ix_sessions_title_fts")
        op.execute(
            "CREATE INDEX ix_messages_fts ON messages USING gin (to_tsvector('simple', content)) "
            "WHERE left(content, 5) <> 'enc1:'"
        )
        op.execute(
            "CREATE INDEX ix_sessions_title_fts ON sessions USING gin (to_tsvector('simple', title)) "
            "WHERE left(title, 5) <> 'enc1:'"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for table, col in (("messages", "content"), ("sessions", "title")):
            fts = f"{table}_fts"
            for suffix in ("_ai", "_ad", "_au"):
                op.execute(f"DROP TRIGGER IF EXISTS {fts}{suffix}")
            op.execute(
                f"CREATE TRIGGER {fts}_ai AFTER INSERT ON {table} BEGIN "
                f"INSERT INTO {fts}(rowid, {col}) VALUES (new.pk, new.{col}); END"
            )
            op.execute(
                f"CREATE TRIGGER {fts}_ad AFTER DELETE ON {table} BEGIN "
                f"INSERT INTO {fts}({fts}, rowid, {col}) VALUES ('delete', old.pk, old.{col}); END"
            )
            op.execute(
                f"CREATE TRIGGER {fts}_au AFTER UPDATE OF {col} ON {table} BEGIN "
                f"INSERT INTO {fts}({fts}, rowid, {col}) VALUES ('delete', old.pk, old.{col}); "
                f"INSERT INTO {fts}(rowid, {col}) VALUES (new.pk, new.{col}); END"
            )
    else:
        op.execute("DROP INDEX IF EXISTS ix_messages_fts")
        op.execute("DROP INDEX IF EXISTS ix_sessions_title_fts")
        op.execute("CREATE INDEX ix_messages_fts ON messages USING gin (to_tsvector('simple', content))")
        op.execute("CREATE INDEX ix_sessions_title_fts ON sessions USING gin (to_tsvector('simple', title))")
    op.drop_table("search_terms")
