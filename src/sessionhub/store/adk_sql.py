"""Google ADK sessions in the SQL store: the state scopes and the stale-session check.

``AdkSQLMixin`` is mixed into ``SQLStore``; ``integrations/adk.py`` is its only caller. An ADK
session (app, user, id) is an ordinary sessionhub session (its events are messages) plus one
``adk_sessions`` row: the session-scoped state, the float ``update_time`` of the last event
and a ``revision`` bumped by every append. ``adk_app_state`` and ``adk_user_state`` hold the
``app:`` and ``user:`` scopes (keys without their prefix, as ADK stores them).

``adk_append`` is one write transaction: it locks the ``adk_sessions`` row (``BEGIN
IMMEDIATE`` on SQLite, ``FOR UPDATE`` on PostgreSQL), refuses a stale writer (its revision
is not the stored one: ``AdkStale``, nothing written), appends the event's message with the
ordinary append (counters, search index, encryption) and merges the three state deltas.

Encryption: the session state is sealed with the session's data key; each app and user state
row has a data key of its own (``wrapped_key``), bound to a name of the row. Known limit: key
rotation re-wraps session keys, not these rows' keys (they stay readable while the old master
key is in the keyring).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Table, delete, select, update

from ..bulk import building
from ..errors import Conflict, NotFound
from ..model import NewMessage
from ._rows import MESSAGE_COLUMNS, message_from_columns
from .base import AutoText, NewSession
from .codec import RowKey, own_key_id
from .routing_sql import RoutingSQLMixin
from .schema import adk_app_state, adk_sessions, adk_user_state, messages, sessions

_EVENTS_MAX = 1_000_000  # no limit asked: all events (bounded to keep one query sane)


class AdkStale(Conflict):
    """The session was modified in storage since this copy was loaded (nothing was written)."""


class AdkExists(Conflict):
    """An ADK session with this id already exists for this app and user."""


@dataclass(frozen=True, slots=True)
class AdkName:
    """Which ADK session: its app, user and id (scoped per owner by the caller)."""

    app_name: str
    user_id: str
    adk_id: str


@dataclass(frozen=True, slots=True)
class AdkRecord:
    """One ADK session as stored: its scopes' state, time and revision (events separately)."""

    name: AdkName
    session_id: str
    state: dict[str, Any]
    update_time: float
    revision: int
    app_state: dict[str, Any] = field(default_factory=dict)
    user_state: dict[str, Any] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class AdkDeltas:
    """State changes of one call, per scope (app and user keys without their prefix)."""

    app: Mapping[str, Any]
    user: Mapping[str, Any]
    session: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class EventWindow:
    """Which events ``adk_get`` reads: the latest ``limit`` (None: all) from ``after_us`` on.

    ``after_us`` is the microsecond of the first wanted timestamp (messages keep event times
    in microseconds); ``keep`` is the exact test on the event's float timestamp for rows in
    that same microsecond.
    """

    limit: int | None = None
    after_us: int | None = None
    after: float | None = None


def _dumps(value: Mapping[str, Any]) -> str:
    return json.dumps(dict(value), ensure_ascii=False, separators=(",", ":"), allow_nan=False)


class AdkSQLMixin(RoutingSQLMixin):
    """The ADK methods of ``SQLStore`` (see the module docstring)."""

    # -- sealing ----------------------------------------------------------------------------

    def _scope_key(self, kind: str, owner: str, name: tuple[str, ...], wrapped: str | None) -> RowKey:
        return RowKey(own_key_id("adk", kind, owner, *name), wrapped)

    def _open_state(self, key: RowKey, raw: str) -> dict[str, Any]:
        text = self.codec.open_session(key, "adk_state", raw) if self.codec.encrypted else raw
        value = json.loads(text) if text else {}
        return value if isinstance(value, dict) else {}

    def _seal_state(self, key: RowKey, state: Mapping[str, Any]) -> str:
        text = _dumps(state)
        if not self.codec.encrypted:
            return text
        sealed = self.codec.seal_session(key, "adk_state", text)
        assert sealed is not None
        return sealed

    # -- scopes -----------------------------------------------------------------------------

    def _scope_where(self, table: Table, owner: str, name: tuple[str, ...]) -> list[Any]:
        where = [table.c.owner == owner, table.c.app_name == name[0]]
        if len(name) > 1:
            where.append(table.c.user_id == name[1])
        return where

    def _read_scope(
        self, conn: Connection, table: Table, owner: str, name: tuple[str, ...]
    ) -> dict[str, Any]:
        row = conn.execute(
            select(table.c.state, table.c.wrapped_key).where(*self._scope_where(table, owner, name))
        ).first()
        if row is None:
            return {}
        kind = "app" if table is adk_app_state else "user"
        return self._open_state(self._scope_key(kind, owner, name, row.wrapped_key), row.state)

    def _merge_scope(
        self, conn: Connection, table: Table, owner: str, name: tuple[str, ...], delta: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Apply ``delta`` to the scope's stored state (created if missing), the row locked."""
        kind = "app" if table is adk_app_state else "user"
        where = self._scope_where(table, owner, name)
        query = select(table.c.state, table.c.wrapped_key).where(*where)
        if self.dialect == "postgresql":
            query = query.with_for_update()
        row = conn.execute(query).first()
        if row is None:
            wrapped = None
            if self.codec.encrypted:
                ident = self._scope_key(kind, owner, name, None).session_id
                wrapped = self._confirm_own_key(conn, ident, self.codec.new_key(ident))
            key = self._scope_key(kind, owner, name, wrapped)
            state = dict(delta)
            values: dict[str, Any] = {"owner": owner, "app_name": name[0], "wrapped_key": wrapped}
            if len(name) > 1:
                values["user_id"] = name[1]
            values.update(state=self._seal_state(key, state), updated_at=self._now_us())
            # A concurrent first write of the same scope loses on the primary key: retry reads it.
            stmt = self._upsert(table).values(**values).on_conflict_do_nothing()
            if conn.execute(stmt.returning(table.c.owner)).first() is not None:
                return state
            row = conn.execute(query).one()
        key = self._scope_key(kind, owner, name, row.wrapped_key)
        state = self._open_state(key, row.state)
        if delta:
            state.update(delta)
            conn.execute(
                update(table)
                .where(*where)
                .values(state=self._seal_state(key, state), updated_at=self._now_us())
            )
        return state

    # -- sessions ---------------------------------------------------------------------------

    def _adk_where(self, owner: str, name: AdkName) -> list[Any]:
        return [
            adk_sessions.c.owner == owner,
            adk_sessions.c.app_name == name.app_name,
            adk_sessions.c.user_id == name.user_id,
            adk_sessions.c.adk_id == name.adk_id,
        ]

    def _adk_row(self, conn: Connection, owner: str, name: AdkName, lock: bool) -> Any:
        query = (
            select(adk_sessions, sessions.c.id.label("session_id"), sessions.c.wrapped_key)
            .join(sessions, sessions.c.pk == adk_sessions.c.session_pk)
            .where(*self._adk_where(owner, name))
        )
        if lock and self.dialect == "postgresql":
            query = query.with_for_update(of=adk_sessions)
        return conn.execute(query).first()

    def _adk_record(self, row: Any, name: AdkName) -> AdkRecord:
        state = self._open_state(RowKey(row.session_id, row.wrapped_key), row.state)
        return AdkRecord(name, row.session_id, state, float(row.update_time), int(row.revision))

    async def adk_create(
        self, owner: str, name: AdkName, new: NewSession, deltas: AdkDeltas, update_time: float
    ) -> AdkRecord:
        return await self._run(self._adk_create, owner, name, new, deltas, update_time)

    def _adk_create(
        self, owner: str, name: AdkName, new: NewSession, deltas: AdkDeltas, update_time: float
    ) -> AdkRecord:
        with self._write() as conn:
            if self._adk_row(conn, owner, name, lock=False) is not None:
                raise AdkExists(f"Session with id {name.adk_id} already exists.")
            created = self._create_session(new)
            row = self._find_session(conn, owner, created.id)
            key = RowKey(row.id, row.wrapped_key)
            state = dict(deltas.session)
            inserted = conn.execute(
                self._upsert(adk_sessions)
                .values(
                    owner=owner,
                    app_name=name.app_name,
                    user_id=name.user_id,
                    adk_id=name.adk_id,
                    session_pk=row.pk,
                    state=self._seal_state(key, state),
                    update_time=update_time,
                    revision=0,
                )
                .on_conflict_do_nothing()
                .returning(adk_sessions.c.owner)
            ).first()
            if inserted is None:  # a concurrent create of the same id won
                raise AdkExists(f"Session with id {name.adk_id} already exists.")
            app = self._merge_scope(conn, adk_app_state, owner, (name.app_name,), deltas.app)
            user = self._merge_scope(conn, adk_user_state, owner, (name.app_name, name.user_id), deltas.user)
        return AdkRecord(name, created.id, state, update_time, 0, app, user)

    async def adk_get(self, owner: str, name: AdkName, window: EventWindow) -> AdkRecord | None:
        return await self._run(self._adk_get, owner, name, window)

    def _adk_get(self, owner: str, name: AdkName, window: EventWindow) -> AdkRecord | None:
        with self._read() as conn:
            row = self._adk_row(conn, owner, name, lock=False)
            if row is None:
                return None
            record = self._adk_record(row, name)
            events = self._adk_events(conn, row, window) if window.limit != 0 else []
            app = self._read_scope(conn, adk_app_state, owner, (name.app_name,))
            user = self._read_scope(conn, adk_user_state, owner, (name.app_name, name.user_id))
        return AdkRecord(
            name, record.session_id, record.state, record.update_time, record.revision, app, user, events
        )

    def _adk_events(self, conn: Connection, row: Any, window: EventWindow) -> list[dict[str, Any]]:
        """The event JSON of the wanted messages, oldest first; reads only those rows."""
        limit = _EVENTS_MAX if window.limit is None else window.limit
        base = select(*MESSAGE_COLUMNS).where(messages.c.session_pk == row.session_pk)
        if window.after_us is None:
            found = list(conn.execute(base.order_by(messages.c.seq.desc()).limit(limit)).all())
        else:
            # Rows after the boundary microsecond all qualify; rows in it are tested exactly.
            later = conn.execute(
                base.where(messages.c.created_at > window.after_us)
                .order_by(messages.c.seq.desc())
                .limit(limit)
            ).all()
            edge = conn.execute(base.where(messages.c.created_at == window.after_us)).all()
            found = sorted([*later, *edge], key=lambda r: -int(r.seq))
        key = RowKey(row.session_id, row.wrapped_key)
        out: list[dict[str, Any]] = []
        for r in found:
            cols = tuple(r)
            if self.codec.encrypted:
                content, parts, meta = self.codec.open_message_columns(key, r.id, r.seq, r[3], r[4], r[8])
                cols = (*cols[:3], content, parts, *cols[5:8], meta, cols[9])
            event = message_from_columns(cols, row.session_id).metadata.get("adk_event")
            if not isinstance(event, dict):
                continue  # a message another client added: not an ADK event
            if window.after is not None and not float(event.get("timestamp", 0.0)) >= window.after:
                continue
            out.append(event)
            if len(out) >= limit:
                break
        out.reverse()
        return out

    async def adk_list(self, owner: str, app_name: str, user_id: str | None) -> list[AdkRecord]:
        return await self._run(self._adk_list, owner, app_name, user_id)

    def _adk_list(self, owner: str, app_name: str, user_id: str | None) -> list[AdkRecord]:
        where = [adk_sessions.c.owner == owner, adk_sessions.c.app_name == app_name]
        if user_id is not None:
            where.append(adk_sessions.c.user_id == user_id)
        a = adk_sessions.c
        query = (
            select(
                a.user_id, a.adk_id, a.state, a.update_time, a.revision, sessions.c.id, sessions.c.wrapped_key
            )
            .join(sessions, sessions.c.pk == a.session_pk)
            .where(*where)
            .order_by(a.update_time, a.user_id, a.adk_id)
        )
        with self._read() as conn:
            rows = conn.execute(query).all()
            app = self._read_scope(conn, adk_app_state, owner, (app_name,))
            users: dict[str, dict[str, Any]] = {}
            if user_id is not None:
                users[user_id] = self._read_scope(conn, adk_user_state, owner, (app_name, user_id))
            else:
                for u in conn.execute(
                    select(
                        adk_user_state.c.user_id, adk_user_state.c.state, adk_user_state.c.wrapped_key
                    ).where(adk_user_state.c.owner == owner, adk_user_state.c.app_name == app_name)
                ):
                    key = self._scope_key("user", owner, (app_name, u.user_id), u.wrapped_key)
                    users[u.user_id] = self._open_state(key, u.state)
        out = []
        plain = not self.codec.encrypted
        with building():
            for user, adk_id, raw, at, revision, sid, wrapped in rows:  # the hot loop: one record each
                state = json.loads(raw) if plain else self._open_state(RowKey(sid, wrapped), raw)
                name = AdkName(app_name, user, adk_id)
                out.append(AdkRecord(name, sid, state, float(at), int(revision), app, users.get(user, {})))
        return out

    async def adk_delete(self, owner: str, name: AdkName) -> None:
        await self._run(self._adk_delete, owner, name)

    def _adk_delete(self, owner: str, name: AdkName) -> None:
        with self._write() as conn:
            row = self._adk_row(conn, owner, name, lock=True)
            if row is None:
                return
            conn.execute(delete(adk_sessions).where(*self._adk_where(owner, name)))
            self._delete_session(owner, row.session_id)

    async def adk_user_state(self, owner: str, app_name: str, user_id: str) -> dict[str, Any]:
        return await self._run(self._adk_user_state, owner, app_name, user_id)

    def _adk_user_state(self, owner: str, app_name: str, user_id: str) -> dict[str, Any]:
        with self._read() as conn:
            return self._read_scope(conn, adk_user_state, owner, (app_name, user_id))

    async def adk_append(
        self,
        owner: str,
        name: AdkName,
        expect: tuple[int | None, float],
        item: NewMessage,
        auto: AutoText | None,
        deltas: AdkDeltas,
        update_time: float,
    ) -> AdkRecord:
        """Store one event; ``expect`` is (revision, update_time) of the caller's copy
        (revision None: a copy this store did not load, checked by time only)."""
        return await self._run(self._adk_append, owner, name, expect, item, auto, deltas, update_time)

    def _adk_append(
        self,
        owner: str,
        name: AdkName,
        expect: tuple[int | None, float],
        item: NewMessage,
        auto: AutoText | None,
        deltas: AdkDeltas,
        update_time: float,
    ) -> AdkRecord:
        revision, seen_time = expect
        with self._write() as conn:
            row = self._adk_row(conn, owner, name, lock=True)
            if row is None:
                raise NotFound(f"Session {name.adk_id} not found.")
            stale = row.revision != revision if revision is not None else row.update_time > seen_time
            if stale:
                raise AdkStale(
                    "The session has been modified in storage since it was loaded. "
                    "Please reload the session before appending more events."
                )
            self._append(owner, row.session_id, [item], auto)
            record = self._adk_record(row, name)
            state = record.state
            if deltas.session:
                state.update(deltas.session)
            new_revision = record.revision + 1
            conn.execute(
                update(adk_sessions)
                .where(*self._adk_where(owner, name))
                .values(
                    state=self._seal_state(RowKey(row.session_id, row.wrapped_key), state),
                    update_time=update_time,
                    revision=new_revision,
                )
            )
            if deltas.app:
                self._merge_scope(conn, adk_app_state, owner, (name.app_name,), deltas.app)
            if deltas.user:
                self._merge_scope(conn, adk_user_state, owner, (name.app_name, name.user_id), deltas.user)
        return AdkRecord(name, row.session_id, state, update_time, new_revision)


__all__ = ["AdkDeltas", "AdkExists", "AdkName", "AdkRecord", "AdkSQLMixin", "AdkStale", "EventWindow"]
