"""Search in every script, and vectors for semantic search.

- SQLite: ``messages_tri``, a contentless FTS5 *trigram* index of the messages that hold
  Chinese, Japanese, Korean, Thai, Lao, Khmer or Burmese text (the ``WHEN`` clause of its
  triggers: Latin-only text is not indexed twice), with a newline appended so every
  two-character substring starts a trigram; ``messages_tri_v`` (fts5vocab) lists its
  trigrams so a two-character query is expanded to the trigrams it starts.
- PostgreSQL: ``sessionhub_bigrams(text)``, the distinct character bigrams of those scripts'
  runs, and a partial GIN index on it (pg_trgm cannot index a two-character substring).
- Both: ``message_vectors`` (one embedding per message, written in the background; ``id``
  grows with every write so a reader can load what is new since its last look).

Revision ID: 0014_search_scripts
Revises: 0013_adk_chatkit
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014_search_scripts"
down_revision = "0013_adk_chatkit"
branch_labels = None
depends_on = None

PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

# Written out (not imported) so the migration keeps meaning what it meant when written;
# sessionhub/searchquery.py GRAM_RANGES holds the same ranges.
_RANGES = (
    (0x0E00, 0x0EFF),
    (0x1000, 0x109F),
    (0x1100, 0x11FF),
    (0x1780, 0x17FF),
    (0x3040, 0x30FF),
    (0x3130, 0x318F),
    (0x31F0, 0x31FF),
    (0x3400, 0x4DBF),
    (0x4E00, 0x9FFF),
    (0xAC00, 0xD7AF),
    (0xF900, 0xFAFF),
    (0xFF66, 0xFF9F),
    (0x20000, 0x3134F),
)
_CLASS = "[" + "".join(f"{chr(lo)}-{chr(hi)}" for lo, hi in _RANGES) + "]"
_GLOB = f"'*{_CLASS}*'"


def _sqlite() -> list[str]:
    new = f"new.content GLOB {_GLOB}"
    old = f"old.content GLOB {_GLOB}"
    return [
        "CREATE VIRTUAL TABLE messages_tri USING fts5(content, content='', tokenize='trigram', detail='none')",
        "CREATE VIRTUAL TABLE messages_tri_v USING fts5vocab(messages_tri, 'row')",
        f"CREATE TRIGGER messages_tri_ai AFTER INSERT ON messages WHEN {new} BEGIN "
        "INSERT INTO messages_tri(rowid, content) VALUES (new.pk, new.content || char(10)); END",
        f"CREATE TRIGGER messages_tri_ad AFTER DELETE ON messages WHEN {old} BEGIN "
        "INSERT INTO messages_tri(messages_tri, rowid, content) "
        "VALUES ('delete', old.pk, old.content || char(10)); END",
        "CREATE TRIGGER messages_tri_au AFTER UPDATE OF content ON messages BEGIN "
        "INSERT INTO messages_tri(messages_tri, rowid, content) "
        f"SELECT 'delete', old.pk, old.content || char(10) WHERE {old}; "
        f"INSERT INTO messages_tri(rowid, content) SELECT new.pk, new.content || char(10) WHERE {new}; END",
        "INSERT INTO messages_tri(rowid, content) SELECT pk, content || char(10) FROM messages "
        f"WHERE content GLOB {_GLOB}",
    ]


def _postgres() -> list[str]:
    return [
        "CREATE OR REPLACE FUNCTION sessionhub_bigrams(t text) RETURNS text[] "
        "LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$ "
        "SELECT coalesce(array_agg(DISTINCT substr(r[1], i, 2)), '{}'::text[]) "
        f"FROM regexp_matches(t, '{_CLASS}{{2,}}', 'g') AS r, "
        "generate_series(1, char_length(r[1]) - 1) AS i $$",
        "CREATE INDEX ix_messages_grams_fts ON messages USING gin (sessionhub_bigrams(content)) "
        f"WHERE content ~ '{_CLASS}'",
    ]


def upgrade() -> None:
    op.create_table(
        "message_vectors",
        sa.Column("id", PK, primary_key=True, autoincrement=True),
        sa.Column(
            "message_pk", PK, sa.ForeignKey("messages.pk", ondelete="CASCADE"), nullable=False, unique=True
        ),
        sa.Column("model", sa.String(64), nullable=False),
        sa.Column("vector", sa.LargeBinary, nullable=False),
    )
    for statement in _sqlite() if op.get_bind().dialect.name == "sqlite" else _postgres():
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for suffix in ("_ai", "_ad", "_au"):
            op.execute(f"DROP TRIGGER IF EXISTS messages_tri{suffix}")
        op.execute("DROP TABLE IF EXISTS messages_tri_v")
        op.execute("DROP TABLE IF EXISTS messages_tri")
    else:
        op.execute("DROP INDEX IF EXISTS ix_messages_grams_fts")
        op.execute("DROP FUNCTION IF EXISTS sessionhub_bigrams(text)")
    op.drop_table("message_vectors")
