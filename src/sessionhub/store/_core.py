"""What every SQL mixin may call on the ``SQLStore`` it is mixed into (for the type checker).

``SQLStore`` (sql.py) provides these; the mixins (history_sql, routing_sql, context_sql,
crypto_sql, turns_sql) inherit this one declaration instead of repeating it. Nothing here
exists at run time.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import Connection, Engine, Row

from ..model import Message, NewMessage, Session
from .base import AutoText, NewSession, View
from .codec import PlainCodec

T = TypeVar("T")


class SQLCore:
    if TYPE_CHECKING:  # provided by SQLStore
        dialect: str
        codec: PlainCodec
        _engine: Engine

        async def _run(self, fn: Callable[..., T], *args: Any) -> T: ...
        def _read(self) -> AbstractContextManager[Connection]: ...
        def _write(self) -> AbstractContextManager[Connection]: ...
        def _now_us(self) -> int: ...
        def _lock_session(self, conn: Connection, owner: str, session_id: str) -> Row[Any]: ...
        def _lock_writable(self, conn: Connection, owner: str, session_id: str) -> Row[Any]: ...
        def _find_session(self, conn: Connection, owner: str, session_id: str) -> Row[Any]: ...
        def _segments(self, conn: Connection, row: Row[Any]) -> list[tuple[int, int, int]]: ...
        def _create_session(self, new: NewSession) -> Session: ...
        def _insert_session(self, conn: Connection, values: dict[str, Any]) -> int: ...
        def _append(
            self, owner: str, session_id: str, items: Sequence[NewMessage], auto: AutoText | None
        ) -> list[Message]: ...
        def _search_filters(
            self, conn: Connection, owner: str, view: View, agent: str | None, channel: str | None
        ) -> str: ...
