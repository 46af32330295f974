"""The store: sessions and messages in SQLite or PostgreSQL (``sql.SQLStore``) or in memory.

Layers, lowest first (each module imports only those above it in this list):

- base.py, history_base.py, context_base.py, items_base.py, …: the interface the hub calls
  and its value types (interface.py: ``Store``, all of them);
- schema.py, engine.py (tables, connection, migrations), codec.py (encryption of row values),
  _rows.py (row <-> value conversions), group_commit.py, fastpath.py (the SQLite hot paths'
  SQL, compiled from Core statements, and the inline readers), fastpath_pg.py (PostgreSQL's,
  compiled for psycopg);
- _db.py: ``SQLBase``, the engine, worker threads, transactions and session-row locks;
- one module per concern, each class on the ones it uses: crypto_sql.py, history_sql.py,
  branches_sql.py, sessions_sql.py, messages_sql.py (the append and history hot paths), lifecycle_sql.py,
  search_match.py, search_sql.py, vectors_sql.py, context_sql.py, routing_sql.py, idempotency_sql.py,
  turns_sql.py, usage_sql.py, items_sql.py (messages by id, for /v1), and the framework adapters'
  tables: adk_sql.py (Google ADK), chatkit_sql.py (OpenAI ChatKit);
- sql.py: ``SQLStore``, all of them composed.
"""
