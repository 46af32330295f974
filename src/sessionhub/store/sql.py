"""The SQL backend (SQLite and PostgreSQL) on SQLAlchemy Core: ``SQLStore``, composed by concern.

Every part inherits ``SQLBase`` (_db.py); which module holds what is listed in the package
docstring (store/__init__.py).
"""

from __future__ import annotations

from .adk_sql import AdkSQLMixin
from .chatkit_sql import ChatKitSQLMixin
from .context_sql import ContextSQLMixin
from .idempotency_sql import IdempotencySQLMixin
from .interface import Store
from .lifecycle_sql import LifecycleSQLMixin
from .routing_sql import RoutingSQLMixin
from .turns_sql import TurnsSQLMixin
from .usage_sql import UsageSQLMixin
from .vectors_sql import VectorSQLMixin


class SQLStore(
    AdkSQLMixin,
    ChatKitSQLMixin,
    RoutingSQLMixin,
    IdempotencySQLMixin,
    TurnsSQLMixin,
    LifecycleSQLMixin,
    VectorSQLMixin,
    ContextSQLMixin,
    UsageSQLMixin,
    Store,
):
    """SQLite or PostgreSQL through one code path; dialect branches only for search and locking."""


__all__ = ["SQLStore"]
