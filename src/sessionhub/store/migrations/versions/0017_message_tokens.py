"""SQLite: the blind index of encrypted messages in an FTS5 table, ``message_tokens``.

Until now every distinct word of an encrypted message was a ``search_terms`` row (token,
session, message) with three index entries. The token index is keyed by a random HMAC, so
the ~30 rows of one message land on ~30 different pages, all written again at the commit:
an encrypted append took twice a plaintext one and the blind index was 80% of the file
(3,000 messages: 9.9 MB against 1.9 MB in plaintext). FTS5 keeps the same postings as
segments written once per commit and merged a little at a time by later writes:

- ``message_tokens``: one row per encrypted message, ``rowid`` = the message's pk, its
  tokens joined by spaces (``detail=none``: AND of tokens is all search needs, no positions;
  ``columnsize=0``: nothing ranks by length). The tokens are kept in the table's content so
  a message's entry can be deleted by rowid: the HMAC cannot be recomputed in SQL.
- ``message_tokens_ad``: deleting an encrypted message (one by one, a clear, or a session's
  cascade) deletes its entry. A message moved to another session keeps its pk and tokens
  (they do not depend on the session), so moves change nothing here.
- ``search_terms`` keeps the session titles' tokens (``message_pk`` NULL) on SQLite, and
  everything on PostgreSQL, where this migration does nothing (a GIN-indexed array is the
  equivalent there; not done).

Existing message rows of ``search_terms`` move into ``message_tokens``; the downgrade moves
them back.

Revision ID: 0017_message_tokens
Revises: 0016_usage_days
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0017_message_tokens"
down_revision = "0016_usage_days"
branch_labels = None
depends_on = None

TOKEN_CHARS = 16  # blindindex.TOKEN_HEX_CHARS when written


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute(
        "CREATE VIRTUAL TABLE message_tokens USING fts5(tokens, detail='none', columnsize=0, tokenize='ascii')"
    )
    op.execute(
        "CREATE TRIGGER message_tokens_ad AFTER DELETE ON messages "
        "WHEN substr(old.content, 1, 5) = 'enc1:' BEGIN "
        "DELETE FROM message_tokens WHERE rowid = old.pk; END"
    )
    op.execute(
        "INSERT INTO message_tokens (rowid, tokens) "
        "SELECT message_pk, group_concat(token, ' ') FROM search_terms "
        "WHERE message_pk IS NOT NULL GROUP BY message_pk"
    )
    op.execute("DELETE FROM search_terms WHERE message_pk IS NOT NULL")


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    step = TOKEN_CHARS + 1  # a token and its separating space
    op.execute(
        "INSERT INTO search_terms (token, session_pk, message_pk) "
        "WITH RECURSIVE split(pk, tokens, i) AS ("
        "  SELECT rowid, tokens, 0 FROM message_tokens WHERE tokens <> '' "
        f"  UNION ALL SELECT pk, tokens, i + {step} FROM split WHERE i + {step} < length(tokens)"
        ") "
        f"SELECT substr(s.tokens, s.i + 1, {TOKEN_CHARS}), m.session_pk, s.pk "
        "FROM split s JOIN messages m ON m.pk = s.pk"
    )
    op.execute("DROP TRIGGER IF EXISTS message_tokens_ad")
    op.execute("DROP TABLE IF EXISTS message_tokens")
