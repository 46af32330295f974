"""Usage per session and UTC day: ``usage_day``, kept by triggers on ``usage_rollup``.

A year of reports over a million messages read every rollup row of the range (one per
session and quarter hour, ~185,000): 170-330 ms. ``usage_day`` holds one row per (owner, UTC
day, session) with the sums and the first and last quarter hour of that day with messages
(~12,000 rows for the same year). A local day meets a UTC day in a prefix or a suffix, so
within a UTC day a session was active on the local days of its first and of its last
quarter hour and no other, and when those are one local day all its sums belong to it;
only the session-days that span a local midnight need the rollup, for their quarter hours
before it (``store/usage_sql.py``; the new index ``ix_usage_rollup_session`` reads those,
and the quarter hours the triggers recompute, from the index alone).

Nothing here is shared between sessions: an append updates its own session's rows only, so
concurrent appends of one owner do not queue on a common row (a per-quarter-hour table
without the session, tried first, took a third of the appends per second away from 16
concurrent writers of one owner on PostgreSQL: bench/HISTORY.md, issue 22).

Triggers on ``usage_rollup`` keep it, so it follows the rollup (and the messages) in the
same transaction on both databases: an insert adds, an update of the sums adds the
difference, a delete subtracts, drops a day that falls to no messages and recomputes the
first or last quarter hour of the day from the rollup when the deleted row was one of them
(a change of a rollup row's key, which nothing does, is a delete and an insert). Existing
rollup rows are summed in once, here.

Revision ID: 0016_usage_days
Revises: 0015_usage_rollup
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016_usage_days"
down_revision = "0015_usage_rollup"
branch_labels = None
depends_on = None

DAY = 96  # quarter hours in a UTC day (schema.USAGE_DAY_BUCKETS)
PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_SUMS = ("messages", "input_tokens", "output_tokens")
_KEY_SAME = " AND ".join(
    f"old.{c} = new.{c}" for c in ("session_pk", "bucket", "owner", "agent", "model", "channel")
)


def _day_where(row: str) -> str:
    return f"owner = {row}.owner AND day = {row}.bucket / {DAY} AND session_pk = {row}.session_pk"


def _add(row: str, least: str, greatest: str) -> str:
    """Sum the rollup row ``row`` into its day (an upsert)."""
    day_sums = ", ".join(f"{c} = usage_day.{c} + excluded.{c}" for c in _SUMS)
    return (
        "INSERT INTO usage_day (owner, day, session_pk, agent, model, channel, messages, input_tokens, "
        "output_tokens, first_bucket, last_bucket) "
        f"VALUES ({row}.owner, {row}.bucket / {DAY}, {row}.session_pk, {row}.agent, {row}.model, "
        f"{row}.channel, {row}.messages, {row}.input_tokens, {row}.output_tokens, {row}.bucket, {row}.bucket) "
        f"ON CONFLICT (owner, day, session_pk) DO UPDATE SET {day_sums}, "
        f"first_bucket = {least}(usage_day.first_bucket, excluded.first_bucket), "
        f"last_bucket = {greatest}(usage_day.last_bucket, excluded.last_bucket);"
    )


def _sub(row: str) -> str:
    """Take the rollup row ``row`` out of its day: an empty day goes, the day's edges follow."""
    minus = ", ".join(f"{c} = {c} - {row}.{c}" for c in _SUMS)
    in_day = (
        f"FROM usage_rollup WHERE session_pk = {row}.session_pk AND bucket >= {row}.bucket / {DAY} * {DAY} "
        f"AND bucket < {row}.bucket / {DAY} * {DAY} + {DAY} AND messages > 0"
    )
    return (
        f"UPDATE usage_day SET {minus} WHERE {_day_where(row)}; "
        f"DELETE FROM usage_day WHERE {_day_where(row)} AND messages <= 0; "
        f"UPDATE usage_day SET first_bucket = (SELECT min(bucket) {in_day}), "
        f"last_bucket = (SELECT max(bucket) {in_day}) "
        f"WHERE {_day_where(row)} AND (first_bucket = {row}.bucket OR last_bucket = {row}.bucket);"
    )


def _delta() -> str:
    """An update of a rollup row's sums (its key unchanged): add the difference."""
    plus = ", ".join(f"{c} = {c} + new.{c} - old.{c}" for c in _SUMS)
    return f"UPDATE usage_day SET {plus} WHERE {_day_where('new')};"


_PG_FUNCTION = f"""
CREATE OR REPLACE FUNCTION usage_days_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' THEN
    IF {_KEY_SAME} THEN
      {_delta()}
      RETURN NULL;
    END IF;
  END IF;
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    {_sub("old")}
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    {_add("new", "LEAST", "GREATEST")}
  END IF;
  RETURN NULL;
END $$;
"""

_SQLITE_TRIGGERS = {
    "usage_rollup_ai": f"AFTER INSERT ON usage_rollup BEGIN {_add('new', 'min', 'max')} END",
    "usage_rollup_ad": f"AFTER DELETE ON usage_rollup BEGIN {_sub('old')} END",
    "usage_rollup_au": f"AFTER UPDATE ON usage_rollup WHEN {_KEY_SAME} BEGIN {_delta()} END",
    "usage_rollup_ak": (
        f"AFTER UPDATE ON usage_rollup WHEN NOT ({_KEY_SAME}) "
        f"BEGIN {_sub('old')} {_add('new', 'min', 'max')} END"
    ),
}


def _sums() -> list[sa.Column[int]]:
    return [
        sa.Column("messages", sa.Integer, nullable=False),
        sa.Column("input_tokens", sa.BigInteger, nullable=False),
        sa.Column("output_tokens", sa.BigInteger, nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "usage_day",
        sa.Column("owner", sa.String(200), nullable=False),
        sa.Column("day", sa.BigInteger, nullable=False),
        sa.Column("session_pk", PK, nullable=False),
        sa.Column("agent", sa.String(200), nullable=False),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        *_sums(),
        sa.Column("first_bucket", sa.BigInteger, nullable=False),
        sa.Column("last_bucket", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("owner", "day", "session_pk", name="pk_usage_day"),
        sqlite_with_rowid=False,
    )
    # A session's quarter hours of one day with their sums, from the index alone: the
    # session-days a report reads quarter by quarter, and the edges the triggers recompute.
    op.create_index(
        "ix_usage_rollup_session",
        "usage_rollup",
        ["session_pk", "bucket", "messages", "input_tokens", "output_tokens"],
    )
    op.execute(
        "INSERT INTO usage_day (owner, day, session_pk, agent, model, channel, messages, input_tokens, "
        "output_tokens, first_bucket, last_bucket) "
        f"SELECT owner, bucket / {DAY}, session_pk, agent, model, channel, sum(messages), sum(input_tokens), "
        "sum(output_tokens), min(bucket), max(bucket) FROM usage_rollup "
        f"GROUP BY owner, bucket / {DAY}, session_pk, agent, model, channel"
    )
    if op.get_bind().dialect.name == "sqlite":
        for name, body in _SQLITE_TRIGGERS.items():
            op.execute(f"CREATE TRIGGER {name} {body}")
    else:
        op.execute(_PG_FUNCTION)
        op.execute(
            "CREATE TRIGGER usage_rollup_days AFTER INSERT OR UPDATE OR DELETE ON usage_rollup "
            "FOR EACH ROW EXECUTE FUNCTION usage_days_apply()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in _SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    else:
        op.execute("DROP TRIGGER IF EXISTS usage_rollup_days ON usage_rollup")
        op.execute("DROP FUNCTION IF EXISTS usage_days_apply()")
    op.drop_index("ix_usage_rollup_session", table_name="usage_rollup")
    op.drop_table("usage_day")
