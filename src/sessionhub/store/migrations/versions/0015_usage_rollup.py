"""Usage rollups: ``usage_rollup``, one row per session and quarter hour, kept by triggers.

``GET /api/usage`` sums tokens per day, agent, model, channel or session over months. A plain
aggregate reads every message of the range (about a second over a million rows); the rollup
holds one row per (session, 15-minute bucket) with the message count and token sums, so a
year is a range scan of ``(owner, bucket)``. Quarter hours because every time zone's offset
is a multiple of 15 minutes: a local day is always a whole number of buckets, so sums per
day are exact in any ``tz``.

Triggers on ``messages`` keep it, in the transaction of the change (insert, delete, an
update of the tokens, the timestamp or the session, and the cascade of a session delete), so
the rollup never disagrees with the messages, whichever code path or process wrote them.
``owner``, ``agent``, ``model`` and ``channel`` are copied from the session (they never
change after it is created), so a query needs no join. Rows that fall to zero messages are
deleted. Existing messages are summed in once, here.

Revision ID: 0015_usage_rollup
Revises: 0014_search_scripts
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015_usage_rollup"
down_revision = "0014_search_scripts"
branch_labels = None
depends_on = None

BUCKET_US = 900_000_000  # 15 minutes in microseconds (schema.USAGE_BUCKET_US)
PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

_SQLITE_ADD = (
    "INSERT INTO usage_rollup (session_pk, bucket, owner, agent, model, channel, messages, "
    "input_tokens, output_tokens) "
    f"SELECT new.session_pk, new.created_at / {BUCKET_US}, owner, agent, model, channel, 1, "
    "new.input_tokens, new.output_tokens FROM sessions WHERE pk = new.session_pk "
    "ON CONFLICT (session_pk, bucket) DO UPDATE SET messages = messages + 1, "
    "input_tokens = input_tokens + excluded.input_tokens, "
    "output_tokens = output_tokens + excluded.output_tokens;"
)
_SQLITE_SUB = (
    "UPDATE usage_rollup SET messages = messages - 1, input_tokens = input_tokens - old.input_tokens, "
    "output_tokens = output_tokens - old.output_tokens "
    f"WHERE session_pk = old.session_pk AND bucket = old.created_at / {BUCKET_US}; "
    f"DELETE FROM usage_rollup WHERE session_pk = old.session_pk AND bucket = old.created_at / {BUCKET_US} "
    "AND messages <= 0;"
)
_WATCHED = "session_pk, created_at, input_tokens, output_tokens"

_PG_FUNCTION = f"""
CREATE OR REPLACE FUNCTION usage_rollup_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    UPDATE usage_rollup SET messages = messages - 1,
           input_tokens = input_tokens - OLD.input_tokens,
           output_tokens = output_tokens - OLD.output_tokens
     WHERE session_pk = OLD.session_pk AND bucket = div(OLD.created_at, {BUCKET_US});
    DELETE FROM usage_rollup
     WHERE session_pk = OLD.session_pk AND bucket = div(OLD.created_at, {BUCKET_US}) AND messages <= 0;
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    INSERT INTO usage_rollup (session_pk, bucket, owner, agent, model, channel, messages,
                              input_tokens, output_tokens)
    SELECT NEW.session_pk, div(NEW.created_at, {BUCKET_US}), owner, agent, model, channel, 1,
           NEW.input_tokens, NEW.output_tokens
      FROM sessions WHERE pk = NEW.session_pk
    ON CONFLICT (session_pk, bucket) DO UPDATE SET messages = usage_rollup.messages + 1,
           input_tokens = usage_rollup.input_tokens + EXCLUDED.input_tokens,
           output_tokens = usage_rollup.output_tokens + EXCLUDED.output_tokens;
  END IF;
  RETURN NULL;
END $$;
"""


def upgrade() -> None:
    op.create_table(
        "usage_rollup",
        sa.Column("session_pk", PK, nullable=False),
        sa.Column("bucket", sa.BigInteger, nullable=False),
        sa.Column("owner", sa.String(200), nullable=False),
        sa.Column("agent", sa.String(200), nullable=False),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("messages", sa.Integer, nullable=False),
        sa.Column("input_tokens", sa.BigInteger, nullable=False),
        sa.Column("output_tokens", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("session_pk", "bucket", name="pk_usage_rollup"),
    )
    # Covering: a report reads the index alone (no table lookups), in bucket order.
    op.create_index(
        "ix_usage_rollup_owner",
        "usage_rollup",
        [
            "owner",
            "bucket",
            "model",
            "agent",
            "channel",
            "session_pk",
            "messages",
            "input_tokens",
            "output_tokens",
        ],
    )
    div = "/" if op.get_bind().dialect.name == "sqlite" else "div"
    bucket = f"m.created_at / {BUCKET_US}" if div == "/" else f"div(m.created_at, {BUCKET_US})"
    op.execute(
        "INSERT INTO usage_rollup (session_pk, bucket, owner, agent, model, channel, messages, "
        "input_tokens, output_tokens) "
        f"SELECT m.session_pk, {bucket}, s.owner, s.agent, s.model, s.channel, count(*), "
        "sum(m.input_tokens), sum(m.output_tokens) "
        "FROM messages m JOIN sessions s ON s.pk = m.session_pk "
        f"GROUP BY m.session_pk, {bucket}, s.owner, s.agent, s.model, s.channel"
    )
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"CREATE TRIGGER messages_usage_ai AFTER INSERT ON messages BEGIN {_SQLITE_ADD} END")
        op.execute(f"CREATE TRIGGER messages_usage_ad AFTER DELETE ON messages BEGIN {_SQLITE_SUB} END")
        op.execute(
            f"CREATE TRIGGER messages_usage_au AFTER UPDATE OF {_WATCHED} ON messages "
            f"BEGIN {_SQLITE_SUB} {_SQLITE_ADD} END"
        )
    else:
        op.execute(_PG_FUNCTION)
        op.execute(
            f"CREATE TRIGGER messages_usage AFTER INSERT OR DELETE OR UPDATE OF {_WATCHED} "
            "ON messages FOR EACH ROW EXECUTE FUNCTION usage_rollup_apply()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in ("messages_usage_ai", "messages_usage_ad", "messages_usage_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    else:
        op.execute("DROP TRIGGER IF EXISTS messages_usage ON messages")
        op.execute("DROP FUNCTION IF EXISTS usage_rollup_apply()")
    op.drop_index("ix_usage_rollup_owner", table_name="usage_rollup")
    op.drop_table("usage_rollup")
