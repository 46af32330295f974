"""The schema, defined once with SQLAlchemy Core for SQLite and PostgreSQL.

Layout choices (see docs/operations.md for the distribution notes):

- ``sessions`` carries denormalised counters, preview and ``activity_at`` so every listing
  is one index range scan; ``message_count`` is also the last ``seq`` (seq is 1..N).
- ``messages`` rows reference their session by the integer ``session_pk`` (small rows and
  a small ``(session_pk, seq)`` index); history reads are by session and seq. The public
  id (``msg_…``, or an OpenAI item's own id given through ``/v1``) has its own index
  (``ix_messages_id``, migration 0012) for the Conversations API's lookups by item id.
- Full-text search is a dialect branch created by the migrations: an FTS5 external-content
  table kept in step by triggers on SQLite, an expression GIN index on PostgreSQL.
- Timestamps are integer microseconds since the epoch (UTC): identical on both backends,
  cheap to compare and to index.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Double,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

metadata = MetaData()

# INTEGER PRIMARY KEY on SQLite (the rowid), BIGINT identity on PostgreSQL.
PK = BigInteger().with_variant(Integer(), "sqlite")
# A message id: ``msg_…`` (29 characters) or an item id given through /v1 (up to 128).
# SQLite does not enforce the length and keeps the declared 32 (0012 widened PostgreSQL only).
MAX_MESSAGE_ID = 128
MESSAGE_ID = String(32).with_variant(String(MAX_MESSAGE_ID), "postgresql")

sessions = Table(
    "sessions",
    metadata,
    Column("pk", PK, primary_key=True, autoincrement=True),
    Column("id", String(32), nullable=False, unique=True),
    Column("owner", String(200), nullable=False),
    Column("key", Text, nullable=False),
    Column("title", Text, nullable=False),
    Column("title_source", String(8), nullable=False),
    Column("agent", String(200), nullable=False),
    Column("provider", String(200), nullable=False),
    Column("model", String(200), nullable=False),
    Column("source", String(16), nullable=False),
    Column("source_ref", Text),
    Column("channel", String(32), nullable=False),
    Column("status", String(16), nullable=False),
    Column("pinned", Boolean, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    Column("last_message_at", BigInteger),
    Column("activity_at", BigInteger, nullable=False),
    Column("message_count", Integer, nullable=False),
    Column("preview", Text, nullable=False),
    Column("user_messages", Integer, nullable=False),
    Column("assistant_messages", Integer, nullable=False),
    Column("tool_messages", Integer, nullable=False),
    Column("errors", Integer, nullable=False),
    Column("input_tokens", BigInteger, nullable=False),
    Column("output_tokens", BigInteger, nullable=False),
    Column("metadata", Text),
    # Forks share history: seqs 1..base_seq are read from base_session_pk (recursively).
    Column("base_session_pk", PK, ForeignKey("sessions.pk", ondelete="RESTRICT")),
    Column("base_seq", Integer, nullable=False, server_default=text("0")),
    # Encryption (wrapped per-session data key) and import de-duplication.
    Column("wrapped_key", Text),
    Column("import_ref", Text),
    # The session this one is an alternative continuation of (regenerate, edit, restore; 0011).
    # No foreign key (SQLite cannot add one to an existing table without rebuilding it):
    # deleting a session clears its branches' pointer in the same transaction.
    Column("branch_of_pk", PK),
)
Index(
    "ix_sessions_list",
    sessions.c.owner,
    sessions.c.status,
    sessions.c.pinned,
    sessions.c.activity_at,
    sessions.c.pk,
)
Index("ix_sessions_key", sessions.c.owner, sessions.c.key)
Index("ix_sessions_created", sessions.c.owner, sessions.c.created_at)
# Forks of a session (fork-safe delete, restore); migration 0004.
Index(
    "ix_sessions_base",
    sessions.c.base_session_pk,
    sqlite_where=sessions.c.base_session_pk.isnot(None),
    postgresql_where=sessions.c.base_session_pk.isnot(None),
)
# Branches of a session (GET /api/sessions/{id}/branches); migration 0011.
Index(
    "ix_sessions_branch_of",
    sessions.c.branch_of_pk,
    sqlite_where=sessions.c.branch_of_pk.isnot(None),
    postgresql_where=sessions.c.branch_of_pk.isnot(None),
)
Index(
    "ix_sessions_empty",
    sessions.c.owner,
    sessions.c.status,
    sessions.c.pk,
    sqlite_where=sessions.c.message_count == 0,
    postgresql_where=sessions.c.message_count == 0,
)
Index(
    "ix_sessions_import_ref",
    sessions.c.owner,
    sessions.c.import_ref,
    unique=True,
    sqlite_where=sessions.c.import_ref.isnot(None),
    postgresql_where=sessions.c.import_ref.isnot(None),
)

messages = Table(
    "messages",
    metadata,
    Column("pk", PK, primary_key=True, autoincrement=True),
    Column("session_pk", PK, ForeignKey("sessions.pk", ondelete="CASCADE"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("id", MESSAGE_ID, nullable=False),
    Column("role", String(16), nullable=False),
    Column("content", Text, nullable=False),
    Column("parts", Text),
    Column("status", String(16), nullable=False),
    Column("input_tokens", Integer, nullable=False),
    Column("output_tokens", Integer, nullable=False),
    Column("metadata", Text),
    Column("created_at", BigInteger, nullable=False),
    Column("token_count", Integer),
    # 1 for system and metadata.important messages (the context window keeps them), else NULL (0003).
    Column("context_keep", SmallInteger),
    # The server streaming this reply: the id of its advisory lock (PostgreSQL), else NULL (0008).
    Column("stream_owner", Integer),
    UniqueConstraint("session_pk", "seq", name="uq_messages_session_seq"),
)
# Replies still streaming, by owner: crash recovery reads only these (0008).
Index(
    "ix_messages_streaming",
    messages.c.stream_owner,
    sqlite_where=messages.c.status == "streaming",
    postgresql_where=messages.c.status == "streaming",
)
# Messages by public id (the /v1 item lookups); not unique: filtered by conversation (0012).
Index("ix_messages_id", messages.c.id, messages.c.session_pk)
Index(
    "ix_messages_keep",
    messages.c.session_pk,
    messages.c.seq,
    sqlite_where=messages.c.context_keep.isnot(None),
    postgresql_where=messages.c.context_keep.isnot(None),
)

checkpoints = Table(
    "checkpoints",
    metadata,
    Column("pk", PK, primary_key=True, autoincrement=True),
    Column("id", String(32), nullable=False, unique=True),
    Column("session_pk", PK, ForeignKey("sessions.pk", ondelete="CASCADE"), nullable=False),
    Column("name", Text, nullable=False),
    Column("description", Text, nullable=False),
    Column("at_seq", Integer, nullable=False),
    Column("message_count", Integer, nullable=False),
    Column("created_at", BigInteger, nullable=False),
)
Index("ix_checkpoints_session", checkpoints.c.session_pk, checkpoints.c.created_at)

# A routing key's current session and the per-key overrides set by chat commands.
route_keys = Table(
    "route_keys",
    metadata,
    Column("owner", String(200), primary_key=True),
    Column("key", Text, primary_key=True),
    Column("session_pk", PK, ForeignKey("sessions.pk", ondelete="SET NULL")),
    Column("overrides", Text),
    Column("updated_at", BigInteger, nullable=False),
)

# Inbound webhook event ids already stored, per owner (bounded; oldest pruned). The owner
# joined the key in 0007: one user's event id never hides another user's message.
seen_events = Table(
    "seen_events",
    metadata,
    Column("owner", String(200), primary_key=True),
    Column("channel", String(32), primary_key=True),
    Column("account", String(200), primary_key=True),
    Column("event_id", String(200), primary_key=True),
    Column("seen_at", BigInteger, nullable=False),
    Column("session_id", String(32)),  # where the event's message went (0002)
)
Index("ix_seen_events_time", seen_events.c.seen_at)

# ``Idempotency-Key`` of appends (0007), per owner and session, kept 24 hours. Bounded in
# bytes: the request's SHA-256 and where its messages went (first seq, count, first and last
# message id), never the response; a replay reads the messages back.
idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("owner", String(200), primary_key=True),
    Column(
        "session_pk",
        PK,
        ForeignKey("sessions.pk", ondelete="CASCADE"),
        primary_key=True,
        autoincrement=False,
    ),
    Column("key", String(255), primary_key=True),
    Column("fingerprint", String(64), nullable=False),
    Column("first_seq", Integer, nullable=False),
    Column("count", Integer, nullable=False),
    Column("first_id", String(32), nullable=False),
    Column("last_id", String(32), nullable=False),
    Column("created_at", BigInteger, nullable=False),
)
Index("ix_idempotency_keys_time", idempotency_keys.c.created_at)

# Context summaries: a record covers messages 1..covers_until_seq; never deletes messages.
summaries = Table(
    "summaries",
    metadata,
    Column("pk", PK, primary_key=True, autoincrement=True),
    Column("id", String(32), nullable=False, unique=True),
    Column("session_pk", PK, ForeignKey("sessions.pk", ondelete="CASCADE"), nullable=False),
    Column("covers_until_seq", Integer, nullable=False),
    Column("text", Text, nullable=False),
    Column("method", String(16), nullable=False),
    Column("token_count", Integer, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("covers_until_id", MESSAGE_ID),  # id of the message at covers_until_seq (0003)
    UniqueConstraint("session_pk", "covers_until_seq", name="uq_summaries_session_seq"),
)

# Key/value facts about the database itself (encryption marker, key rotation progress).
meta = Table(
    "meta",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("value", Text, nullable=False),
)

# Runs of scheduled tasks: one row per (task, scheduled time), inserted with ON CONFLICT DO
# NOTHING, so with several replicas each due run happens exactly once (0005).
task_runs = Table(
    "task_runs",
    metadata,
    Column("task", String(200), primary_key=True),
    Column("scheduled_at", BigInteger, primary_key=True),
    Column("owner", String(200), nullable=False),
    Column("trigger", String(16), nullable=False),  # cron | manual
    Column("status", String(16), nullable=False),  # running | complete | error | interrupted
    Column("session_id", String(32)),
    Column("started_at", BigInteger, nullable=False),
    Column("finished_at", BigInteger),
    Column("error", Text),
)

# Blind index of encrypted sessions (0006): one row per distinct term of a message (or of a
# session title: message_pk NULL), the term as a keyed HMAC token (16 hex chars). On SQLite
# it holds titles only: messages' tokens are in the FTS5 table message_tokens (0017). Empty when
# encryption is off (full-text search indexes the text then). See docs/encryption.md.
search_terms = Table(
    "search_terms",
    metadata,
    Column("token", String(16), nullable=False),
    Column("session_pk", PK, ForeignKey("sessions.pk", ondelete="CASCADE"), nullable=False),
    Column("message_pk", PK, ForeignKey("messages.pk", ondelete="CASCADE")),
)
Index("ix_search_terms_token", search_terms.c.token, search_terms.c.session_pk, search_terms.c.message_pk)
Index("ix_search_terms_message", search_terms.c.message_pk)
Index("ix_search_terms_session", search_terms.c.session_pk)

# One embedding per message for semantic search (0014), written in the background after the
# append commits (store/vectors_sql.py). ``id`` grows with every write, so an in-memory index
# loads only what is new since its last look; ``vector`` is int8 (see semantic/vectors.py).
message_vectors = Table(
    "message_vectors",
    metadata,
    Column("id", PK, primary_key=True, autoincrement=True),
    Column("message_pk", PK, ForeignKey("messages.pk", ondelete="CASCADE"), nullable=False, unique=True),
    Column("model", String(64), nullable=False),
    Column("vector", LargeBinary, nullable=False),
)

# -- framework adapters (0013): Google ADK state scopes, OpenAI ChatKit ids -----------------

# An ADK session (app, user, id) → its sessionhub session, with the session-scoped state, the
# last event's float timestamp and a revision bumped by every append (stale-session check).
adk_sessions = Table(
    "adk_sessions",
    metadata,
    Column("owner", String(200), primary_key=True),
    Column("app_name", String(255), primary_key=True),
    Column("user_id", String(255), primary_key=True),
    Column("adk_id", String(255), primary_key=True),
    Column("session_pk", PK, ForeignKey("sessions.pk", ondelete="CASCADE"), nullable=False, unique=True),
    Column("state", Text, nullable=False),
    Column("update_time", Double, nullable=False),
    Column("revision", Integer, nullable=False),
)
Index("ix_adk_sessions_app", adk_sessions.c.owner, adk_sessions.c.app_name, adk_sessions.c.update_time)
Index(
    "ix_adk_sessions_user",
    adk_sessions.c.owner,
    adk_sessions.c.app_name,
    adk_sessions.c.user_id,
    adk_sessions.c.update_time,
)
# The ``app:`` and ``user:`` state scopes; ``wrapped_key`` seals ``state`` when encryption is on.
adk_app_state = Table(
    "adk_app_state",
    metadata,
    Column("owner", String(200), primary_key=True),
    Column("app_name", String(255), primary_key=True),
    Column("state", Text, nullable=False),
    Column("wrapped_key", Text),
    Column("updated_at", BigInteger, nullable=False),
)
adk_user_state = Table(
    "adk_user_state",
    metadata,
    Column("owner", String(200), primary_key=True),
    Column("app_name", String(255), primary_key=True),
    Column("user_id", String(255), primary_key=True),
    Column("state", Text, nullable=False),
    Column("wrapped_key", Text),
    Column("updated_at", BigInteger, nullable=False),
)
# A ChatKit thread (per user of the request context) → its session; ``data`` is the thread's
# JSON (sealed with the session's key when encryption is on).
chatkit_threads = Table(
    "chatkit_threads",
    metadata,
    Column("owner", String(200), primary_key=True),
    Column("user_id", String(255), primary_key=True),
    Column("thread_id", String(255), primary_key=True),
    Column("session_pk", PK, ForeignKey("sessions.pk", ondelete="CASCADE"), nullable=False, unique=True),
    Column("data", Text, nullable=False),
    Column("created_at", BigInteger, nullable=False),
)
Index(
    "ix_chatkit_threads_list",
    chatkit_threads.c.owner,
    chatkit_threads.c.user_id,
    chatkit_threads.c.created_at,
    chatkit_threads.c.thread_id,
)
# A ChatKit item id → the message (seq) holding it; ordering by the item's created_at.
chatkit_items = Table(
    "chatkit_items",
    metadata,
    Column("session_pk", PK, ForeignKey("sessions.pk", ondelete="CASCADE"), primary_key=True),
    Column("item_id", String(255), primary_key=True),
    Column("seq", Integer),  # NULL: an item without a readable message (end of turn)
    Column("created_at", BigInteger, nullable=False),
    Column("data", Text, nullable=False),  # the item's JSON (sealed with the session's key)
)
Index(
    "ix_chatkit_items_order", chatkit_items.c.session_pk, chatkit_items.c.created_at, chatkit_items.c.item_id
)
chatkit_attachments = Table(
    "chatkit_attachments",
    metadata,
    Column("owner", String(200), primary_key=True),
    Column("user_id", String(255), primary_key=True),
    Column("attachment_id", String(255), primary_key=True),
    Column("data", Text, nullable=False),
    Column("wrapped_key", Text),
    Column("created_at", BigInteger, nullable=False),
)

# Usage per session and quarter hour, kept by triggers on messages (migration 0015): sums per
# local day are exact in every time zone (offsets are multiples of 15 minutes).
USAGE_BUCKET_US = 900_000_000
usage_rollup = Table(
    "usage_rollup",
    metadata,
    Column("session_pk", PK, primary_key=True),
    Column("bucket", BigInteger, primary_key=True),
    Column("owner", String(200), nullable=False),
    Column("agent", String(200), nullable=False),
    Column("model", String(200), nullable=False),
    Column("channel", String(32), nullable=False),
    Column("messages", Integer, nullable=False),
    Column("input_tokens", BigInteger, nullable=False),
    Column("output_tokens", BigInteger, nullable=False),
)
Index(
    "ix_usage_rollup_owner",
    *(usage_rollup.c[name] for name in ("owner", "bucket", "model", "agent", "channel", "session_pk")),
    *(usage_rollup.c[name] for name in ("messages", "input_tokens", "output_tokens")),
)

# The daily level above the rollup, kept by triggers on usage_rollup (migration 0016), so a
# year is read from about sessions x active days rows instead of every quarter hour: per
# session and UTC day (``day = bucket // 96``), with the first and last quarter hour of the
# day that has messages (a local day meets a UTC day in a prefix or a suffix, so those two
# say which local days the session was active on). The primary key starts with the owner
# and the day, and on SQLite it is the table itself (WITHOUT ROWID): a report is one range
# scan with no lookups.
USAGE_DAY_BUCKETS = 96
# A session's quarter hours with their sums from the index alone (the session-days a report
# reads quarter by quarter, the first and last quarter hours the triggers recompute).
Index(
    "ix_usage_rollup_session",
    *(usage_rollup.c[name] for name in ("session_pk", "bucket", "messages", "input_tokens", "output_tokens")),
)
usage_day = Table(
    "usage_day",
    metadata,
    Column("owner", String(200), primary_key=True),
    Column("day", BigInteger, primary_key=True),
    Column("session_pk", PK, primary_key=True),
    Column("agent", String(200), nullable=False),
    Column("model", String(200), nullable=False),
    Column("channel", String(32), nullable=False),
    Column("messages", Integer, nullable=False),
    Column("input_tokens", BigInteger, nullable=False),
    Column("output_tokens", BigInteger, nullable=False),
    Column("first_bucket", BigInteger, nullable=False),
    Column("last_bucket", BigInteger, nullable=False),
    sqlite_with_rowid=False,
)
