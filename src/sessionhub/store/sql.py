"""The SQL backend (SQLite and PostgreSQL) on SQLAlchemy Core: ``SQLStore``, composed by concern.

Every part inherits ``SQLBase`` (_db.py: engine, worker threads, transactions, session-row
locks), one concern per module, each on the parts it uses:

- crypto_sql.py: encryption at rest (codec, blind index, row moves, key rotation);
- history_sql.py: checkpoints, restore, forks, pop; lifecycle_sql.py: import, retention;
- sessions_sql.py: session rows and listings; messages_sql.py: append and history (hot paths);
- search_sql.py, context_sql.py, routing_sql.py, idempotency_sql.py, turns_sql.py.

Row <-> value conversions are in _rows.py.
"""

from __future__ import annotations

from .base import Store
from .context_sql import ContextSQLMixin
from .idempotency_sql import IdempotencySQLMixin
from .lifecycle_sql import LifecycleSQLMixin
from .routing_sql import RoutingSQLMixin
from .search_sql import SearchSQLMixin
from .turns_sql import TurnsSQLMixin


class SQLStore(
    RoutingSQLMixin,
    IdempotencySQLMixin,
    TurnsSQLMixin,
    LifecycleSQLMixin,
    SearchSQLMixin,
    ContextSQLMixin,
    Store,
):
    """SQLite or PostgreSQL through one code path; dialect branches only for search and locking."""


__all__ = ["SQLStore"]
