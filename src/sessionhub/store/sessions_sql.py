"""Sessions in the SQL store: create, read, change, delete, clear, list, count.

A listing is keyset-paginated on (pinned, activity_at, pk), served by ``ix_sessions_list``;
its cursor is opaque (``encode_cursor``). ``_delete_session`` and ``_clear`` first hand the
messages a fork still reads over to that fork (``_release_children``, history_sql.py).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row, case, delete, func, select, update

from ..model import Session, Stats
from ._rows import decode_cursor, dumps_json
from .base import Check, NewSession, SessionChanges, View
from .branches_sql import BranchesSQLMixin
from .codec import RowKey
from .fastpath import list_page, list_params, next_cursor
from .schema import checkpoints, messages, sessions


class SessionsSQLMixin(BranchesSQLMixin):
    """Session rows of ``SQLStore``: one transaction per public method."""

    # -- sessions ---------------------------------------------------------------------------

    async def create_session(self, new: NewSession) -> Session:
        return await self._run(self._create_session, new)

    def _create_session(self, new: NewSession) -> Session:
        now = self._now_us()
        values: dict[str, Any] = {
            "id": new.id,
            "owner": new.owner,
            "key": new.key,
            "title": new.title,
            "title_source": new.title_source,
            "agent": new.agent,
            "provider": new.provider,
            "model": new.model,
            "source": new.source,
            "source_ref": new.source_ref,
            "channel": new.channel,
            "status": "active",
            "pinned": new.pinned,
            "created_at": now,
            "updated_at": now,
            "last_message_at": None,
            "activity_at": now,
            "message_count": 0,
            "preview": "",
            "user_messages": 0,
            "assistant_messages": 0,
            "tool_messages": 0,
            "errors": 0,
            "input_tokens": 0,
            "output_tokens": 0,
            "metadata": dumps_json(dict(new.metadata)),
        }
        codec = self.codec
        if codec.encrypted:
            key = RowKey(new.id, codec.new_key(new.id))
            values["wrapped_key"] = key.wrapped
            for name in ("title", "preview", "metadata"):
                values[name] = codec.seal_session(key, name, values[name])
        with self._write() as conn:
            pk = self._insert_session(conn, values)
            self._reindex_title(conn, pk, new.title)
            row = self._find_session(conn, new.owner, new.id)
        return self._session(row)

    async def get_session(self, owner: str, session_id: str) -> Session:
        return await self._run(self._get_session, owner, session_id)

    def _get_session(self, owner: str, session_id: str) -> Session:
        with self._read() as conn:
            return self._session(self._find_session(conn, owner, session_id))

    async def update_session(
        self, owner: str, session_id: str, changes: SessionChanges, check: Check | None = None
    ) -> Session:
        return await self._run(self._update_session, owner, session_id, changes, check)

    def _update_session(
        self, owner: str, session_id: str, changes: SessionChanges, check: Check | None
    ) -> Session:
        with self._write() as conn:
            locked = self._lock_session(conn, owner, session_id)
            current = self._session(locked)
            if check is not None:
                check(current)
            values: dict[str, Any] = {}
            if changes.title is not None:
                values["title"] = changes.title
            if changes.title_source is not None:
                values["title_source"] = changes.title_source
            if changes.pinned is not None:
                values["pinned"] = changes.pinned
            if changes.status is not None:
                values["status"] = changes.status
            if changes.metadata is not None:
                values["metadata"] = dumps_json(dict(changes.metadata))
            if self.codec.encrypted:
                for name in ("title", "metadata"):
                    if name in values:
                        values[name] = self.codec.seal_session(self._row_key(locked), name, values[name])
                if changes.title is not None:
                    self._reindex_title(conn, locked.pk, changes.title)
            if values:
                values["updated_at"] = self._now_us()
                conn.execute(
                    update(sessions)
                    .where(sessions.c.id == session_id, sessions.c.owner == owner)
                    .values(**values)
                )
            row = self._find_session(conn, owner, session_id)
        return self._session(row)

    async def delete_session(self, owner: str, session_id: str) -> None:
        await self._run(self._delete_session, owner, session_id)

    def _delete_session(self, owner: str, session_id: str) -> None:
        with self._write() as conn:
            row = self._lock_session(conn, owner, session_id)
            pk = row.pk
            self._release_children(conn, row)  # forks keep what they read (history_sql.py)
            self._orphan_branches(conn, pk)  # its branches stay, as archived sessions (branches_sql.py)
            conn.execute(delete(messages).where(messages.c.session_pk == pk))
            conn.execute(delete(checkpoints).where(checkpoints.c.session_pk == pk))
            conn.execute(delete(sessions).where(sessions.c.pk == pk))
        self.codec.forget(session_id)

    async def clear(self, owner: str, session_id: str) -> None:
        await self._run(self._clear, owner, session_id)

    def _clear(self, owner: str, session_id: str) -> None:
        with self._write() as conn:
            row = self._lock_writable(conn, owner, session_id)
            self._release_children(conn, row)  # forks keep what they read (history_sql.py)
            conn.execute(delete(messages).where(messages.c.session_pk == row.pk))
            conn.execute(delete(checkpoints).where(checkpoints.c.session_pk == row.pk))
            now = self._now_us()
            conn.execute(
                update(sessions)
                .where(sessions.c.pk == row.pk)
                .values(
                    message_count=0,
                    base_session_pk=None,
                    base_seq=0,
                    preview=self.codec.seal_session(self._row_key(row), "preview", ""),
                    user_messages=0,
                    assistant_messages=0,
                    tool_messages=0,
                    errors=0,
                    input_tokens=0,
                    output_tokens=0,
                    last_message_at=None,
                    updated_at=now,
                )
            )

    # -- listings ---------------------------------------------------------------------------

    async def list_sessions(
        self,
        owner: str,
        view: View,
        limit: int,
        cursor: str | None,
        agent: str | None,
        channel: str | None,
    ) -> tuple[list[Session], str | None]:
        after = decode_cursor(cursor) if cursor else None
        if self.readers is not None and not agent and not channel:  # SQLite: on this thread (fastpath.py)
            page = self.readers.sessions_page(self.codec, owner, view, limit, after)
            if page is not None:
                return page
        return await self._run(self._list, owner, view, limit, after, agent, channel)

    def _list(
        self,
        owner: str,
        view: View,
        limit: int,
        after: list[int] | None,
        agent: str | None,
        channel: str | None,
    ) -> tuple[list[Session], str | None]:
        statement = list_page(view, after is not None, bool(agent), bool(channel))
        params = list_params(owner, view, limit, after, agent=agent or None, channel=channel or None)
        with self._read() as conn:
            rows = conn.execute(statement, params).all()
        return [self._session(r) for r in rows[:limit]], next_cursor(rows, limit)

    async def recent(self, owner: str, limit: int) -> list[Session]:
        return await self._run(self._recent, owner, limit)

    def _recent(self, owner: str, limit: int) -> list[Session]:
        # Served by ix_sessions_list per status; merged here to stay an index scan.
        with self._read() as conn:
            rows: list[Row[Any]] = []
            for status in ("active", "archived"):
                for pinned in (True, False):
                    rows.extend(
                        conn.execute(
                            select(sessions)
                            .where(
                                sessions.c.owner == owner,
                                sessions.c.status == status,
                                sessions.c.pinned == pinned,
                                sessions.c.message_count > 0,
                            )
                            .order_by(sessions.c.activity_at.desc(), sessions.c.pk.desc())
                            .limit(limit)
                        ).all()
                    )
        rows.sort(key=lambda r: (r.activity_at, r.pk), reverse=True)
        return [self._session(r) for r in rows[:limit]]

    # -- stats ------------------------------------------------------------------------------

    async def counts(self, owner: str, today_start_us: int, week_start_us: int) -> Stats:
        return await self._run(self._counts, owner, today_start_us, week_start_us)

    def _counts(self, owner: str, today_start_us: int, week_start_us: int) -> Stats:
        one, zero = 1, 0
        q = select(
            func.count(),
            func.coalesce(func.sum(case((sessions.c.created_at >= today_start_us, one), else_=zero)), 0),
            func.coalesce(func.sum(case((sessions.c.created_at >= week_start_us, one), else_=zero)), 0),
            func.coalesce(func.sum(sessions.c.message_count), 0),
            func.coalesce(func.sum(case((sessions.c.status == "active", one), else_=zero)), 0),
            func.coalesce(func.sum(case((sessions.c.status == "archived", one), else_=zero)), 0),
            func.coalesce(func.sum(case((sessions.c.pinned.is_(True), one), else_=zero)), 0),
        ).where(sessions.c.owner == owner)
        with self._read() as conn:
            r = conn.execute(q).one()
        return Stats(*(int(v) for v in r))
