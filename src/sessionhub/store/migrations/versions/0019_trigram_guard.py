"""SQLite: ASCII text skips the trigram triggers' script test.

The triggers of ``messages_tri`` (0014) test every inserted, deleted or rewritten message with
``content GLOB '*[<13 ranges of CJK, Thai, ...>]*'``: SQLite's GLOB tries the class at every
character, ~30 us for an ordinary 300-character message, which was 18% of an append's store
time although almost every such message is plain ASCII and cannot match. A text whose length
in characters equals its length in bytes is ASCII (and has no NUL: ``length()`` stops at the
first one), so ``length(content) <> length(CAST(content AS BLOB))`` is put first and the GLOB
runs only for text with other characters. Same rows indexed as before.

Revision ID: 0019_trigram_guard
Revises: 0018_title_trigger
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0019_trigram_guard"
down_revision = "0018_title_trigger"
branch_labels = None
depends_on = None

# 0014_search_scripts._RANGES, written out again so this migration keeps its meaning.
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
_GLOB = "'*[" + "".join(f"{chr(lo)}-{chr(hi)}" for lo, hi in _RANGES) + "]*'"


def _triggers(guarded: bool) -> list[str]:
    def test(row: str) -> str:
        glob = f"{row}.content GLOB {_GLOB}"
        if not guarded:
            return glob
        return f"length({row}.content) <> length(CAST({row}.content AS BLOB)) AND {glob}"

    new, old = test("new"), test("old")
    return [
        "DROP TRIGGER IF EXISTS messages_tri_ai",
        "DROP TRIGGER IF EXISTS messages_tri_ad",
        "DROP TRIGGER IF EXISTS messages_tri_au",
        f"CREATE TRIGGER messages_tri_ai AFTER INSERT ON messages WHEN {new} BEGIN "
        "INSERT INTO messages_tri(rowid, content) VALUES (new.pk, new.content || char(10)); END",
        f"CREATE TRIGGER messages_tri_ad AFTER DELETE ON messages WHEN {old} BEGIN "
        "INSERT INTO messages_tri(messages_tri, rowid, content) "
        "VALUES ('delete', old.pk, old.content || char(10)); END",
        "CREATE TRIGGER messages_tri_au AFTER UPDATE OF content ON messages BEGIN "
        "INSERT INTO messages_tri(messages_tri, rowid, content) "
        f"SELECT 'delete', old.pk, old.content || char(10) WHERE {old}; "
        f"INSERT INTO messages_tri(rowid, content) SELECT new.pk, new.content || char(10) WHERE {new}; END",
    ]


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for statement in _triggers(guarded=True):
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for statement in _triggers(guarded=False):
            op.execute(statement)
