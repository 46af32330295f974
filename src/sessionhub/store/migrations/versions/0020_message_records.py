"""SQLite: encrypted messages stored as one sealed record (bytes) are kept out of FTS5.

From this revision an encrypted SQLite database stores each new message as one envelope of
its content, parts and metadata, as bytes in ``content`` (``parts`` and ``metadata`` NULL;
see store/codec.py). The text triggers told ciphertext from text by its ``"enc1:"`` prefix;
a BLOB has none, so ``messages_fts`` would index the record's bytes, and the blind index row
(``message_tokens``) would outlive its message. The triggers now also test the value's type:
``typeof(content) = 'text'`` before anything goes to ``messages_fts``, and a BLOB's delete
removes its ``message_tokens`` row. The trigram triggers need nothing: their ASCII guard
(0019) is false for a BLOB. PostgreSQL keeps the ``"enc1:"`` texts: nothing changes there.

The downgrade restores the previous triggers, and refuses while a record is stored: code
before this revision cannot read one, and no migration holds the key to rewrite it.

Revision ID: 0020_message_records
Revises: 0019_trigram_guard
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import text

revision = "0020_message_records"
down_revision = "0019_trigram_guard"
branch_labels = None
depends_on = None


def _fts_triggers(plain_new: str, plain_old: str, sealed_old: str) -> list[str]:
    return [
        f"CREATE TRIGGER messages_fts_ai AFTER INSERT ON messages WHEN {plain_new} BEGIN "
        "INSERT INTO messages_fts(rowid, content) VALUES (new.pk, new.content); END",
        f"CREATE TRIGGER messages_fts_ad AFTER DELETE ON messages WHEN {plain_old} BEGIN "
        "INSERT INTO messages_fts(messages_fts, rowid, content) VALUES ('delete', old.pk, old.content); END",
        "CREATE TRIGGER messages_fts_au AFTER UPDATE OF content ON messages BEGIN "
        "INSERT INTO messages_fts(messages_fts, rowid, content) SELECT 'delete', old.pk, old.content "
        f"WHERE {plain_old}; "
        f"INSERT INTO messages_fts(rowid, content) SELECT new.pk, new.content WHERE {plain_new}; END",
        f"CREATE TRIGGER message_tokens_ad AFTER DELETE ON messages WHEN {sealed_old} BEGIN "
        "DELETE FROM message_tokens WHERE rowid = old.pk; END",
    ]


_NAMES = ("messages_fts_ai", "messages_fts_ad", "messages_fts_au", "message_tokens_ad")


def _replace(statements: list[str]) -> None:
    for name in _NAMES:
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    for statement in statements:
        op.execute(statement)


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    _replace(
        _fts_triggers(
            "typeof(new.content) = 'text' AND substr(new.content, 1, 5) <> 'enc1:'",
            "typeof(old.content) = 'text' AND substr(old.content, 1, 5) <> 'enc1:'",
            "typeof(old.content) = 'blob' OR substr(old.content, 1, 5) = 'enc1:'",
        )
    )


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    if bind.execute(text("SELECT 1 FROM messages WHERE typeof(content) = 'blob' LIMIT 1")).first():
        raise RuntimeError(
            "cannot downgrade below 0020_message_records: this database holds encrypted messages "
            "stored as one record each, which earlier versions cannot read"
        )
    _replace(
        _fts_triggers(
            "substr(new.content, 1, 5) <> 'enc1:'",
            "substr(old.content, 1, 5) <> 'enc1:'",
            "substr(old.content, 1, 5) = 'enc1:'",
        )
    )
