"""Routing storage for the SQL backend: key → current session, per-key overrides, seen events.

``RoutingSQLMixin`` is mixed into ``SQLStore``; the hub reaches it through the
``RoutingStore`` protocol (routing_base.py). Tables (schema.py): ``route_keys(owner, key, session_pk,
overrides)`` holds a key's current session and the per-key overrides stored under a
*base* key (the key a message has without overrides); ``seen_events(owner, channel,
account, event_id, seen_at, session_id)`` remembers inbound event ids already stored, per
owner: the same platform event id sent by two users is two events.

Race freedom. ``bind_route`` is one write transaction: it inserts the seen event first
(``ON CONFLICT DO NOTHING``: a duplicate stops there and changes nothing), then makes sure
the key's ``route_keys`` row exists (``INSERT … ON CONFLICT DO NOTHING``) and locks it
(``BEGIN IMMEDIATE`` on SQLite, ``SELECT … FOR UPDATE`` on PostgreSQL), reads the current
session, creates a new one only if there is none, it is archived or deleted, or it is the
one the caller asked to replace (compare and swap), maps the key to it, and appends the
message. Two concurrent first messages for one key therefore end in one session, and a
crash can never store the message without its seen event or the other way round.

Bounded memory of seen ids: rows older than ``SeenLimits.max_age_days`` are deleted on
every insert (an index range delete), and every few inserts the rows beyond the newest
``SeenLimits.max_rows`` are deleted too.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar

from sqlalchemy import Connection, delete, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ..model import NewMessage, Session
from .base import AutoText, NewSession
from .messages_sql import MessagesSQLMixin
from .routing_base import Bound, InboundEvent, RouteState, RoutingStore, SeenLimits
from .schema import route_keys, seen_events, sessions

T = TypeVar("T")

_DAY_US = 86_400 * 1_000_000


class RoutingSQLMixin(MessagesSQLMixin):
    """Routing methods of ``SQLStore`` (see the module docstring)."""

    _seen_counter: Iterator[int] | None = None  # calls of ``_prune`` (the row cap is checked every Nth)

    # -- helpers ----------------------------------------------------------------------------

    def _upsert(self, table: Any) -> Any:
        return (pg_insert if self.dialect == "postgresql" else sqlite_insert)(table)

    def _session_by_pk(self, conn: Connection, owner: str, pk: int | None) -> Session | None:
        if pk is None:
            return None
        row = conn.execute(select(sessions).where(sessions.c.pk == pk, sessions.c.owner == owner)).first()
        return None if row is None else self._session(row)

    def _session_by_id(self, conn: Connection, owner: str, sid: str | None) -> Session | None:
        if not sid:
            return None
        row = conn.execute(select(sessions).where(sessions.c.id == sid, sessions.c.owner == owner)).first()
        return None if row is None else self._session(row)

    def _key_session(self, conn: Connection, owner: str, key: str) -> Session | None:
        pk = conn.execute(
            select(route_keys.c.session_pk).where(route_keys.c.owner == owner, route_keys.c.key == key)
        ).scalar()
        return self._session_by_pk(conn, owner, pk)

    def _seen_where(self, event: InboundEvent) -> Any:
        return (
            (seen_events.c.owner == event.owner)
            & (seen_events.c.channel == event.channel)
            & (seen_events.c.account == event.stored_account())
            & (seen_events.c.event_id == event.stored_id())
        )

    def _insert_seen(
        self, conn: Connection, event: InboundEvent, session_id: str | None, limits: SeenLimits
    ) -> bool:
        """Insert the event; False if it was seen before. Prunes old rows."""
        now = self._now_us()
        # An id remembered longer than the limit is forgotten even before the next prune.
        conn.execute(
            delete(seen_events).where(self._seen_where(event), seen_events.c.seen_at < self._cutoff(limits))
        )
        stmt = self._upsert(seen_events).values(
            owner=event.owner,
            channel=event.channel,
            account=event.stored_account(),
            event_id=event.stored_id(),
            seen_at=now,
            session_id=session_id,
        )
        # RETURNING, not rowcount: psycopg reports -1 for INSERT … ON CONFLICT DO NOTHING.
        if conn.execute(stmt.on_conflict_do_nothing().returning(seen_events.c.seen_at)).first() is None:
            return False
        self._prune(conn, limits, now, keep=event)
        return True

    def _cutoff(self, limits: SeenLimits) -> int:
        return self._now_us() - limits.max_age_days * _DAY_US

    def _prune(self, conn: Connection, limits: SeenLimits, now: int, keep: InboundEvent | None) -> int:
        removed = conn.execute(
            delete(seen_events).where(seen_events.c.seen_at < now - limits.max_age_days * _DAY_US)
        ).rowcount
        counter = self._seen_counter
        if counter is None:
            counter = self._seen_counter = itertools.count(1)
        every = max(1, min(100, limits.max_rows // 10))
        if next(counter) % every:
            return removed
        pk_cols = (seen_events.c.owner, seen_events.c.channel, seen_events.c.account, seen_events.c.event_id)
        extra = conn.execute(
            select(*pk_cols)
            .order_by(seen_events.c.seen_at.desc(), *pk_cols)
            .offset(limits.max_rows)
            .limit(10_000)
        ).all()
        kept = None if keep is None else (keep.owner, keep.channel, keep.stored_account(), keep.stored_id())
        doomed = [tuple(r) for r in extra if tuple(r) != kept]
        if doomed:
            removed += conn.execute(delete(seen_events).where(tuple_(*pk_cols).in_(doomed))).rowcount
        return removed

    # -- reads ------------------------------------------------------------------------------

    async def route_state(
        self,
        owner: str,
        key: str,
        base_key: str,
        event: InboundEvent | None,
        limits: SeenLimits | None = None,
    ) -> RouteState:
        return await self._run(self._route_state, owner, key, base_key, event, limits)

    def _route_state(
        self, owner: str, key: str, base_key: str, event: InboundEvent | None, limits: SeenLimits | None
    ) -> RouteState:
        import json

        with self._read() as conn:
            raw = conn.execute(
                select(route_keys.c.overrides).where(
                    route_keys.c.owner == owner, route_keys.c.key == base_key
                )
            ).scalar()
            session = self._key_session(conn, owner, key)
            seen, seen_session = False, None
            if event is not None:
                row = conn.execute(
                    select(seen_events.c.session_id, seen_events.c.seen_at).where(self._seen_where(event))
                ).first()
                expired = limits is not None and row is not None and row.seen_at < self._cutoff(limits)
                if row is not None and not expired:
                    seen, seen_session = True, self._session_by_id(conn, owner, row.session_id)
        return RouteState(session, json.loads(raw) if raw else {}, seen, seen_session)

    async def sessions_for_key(self, owner: str, key: str, limit: int) -> list[Session]:
        return await self._run(self._sessions_for_key, owner, key, limit)

    def _sessions_for_key(self, owner: str, key: str, limit: int) -> list[Session]:
        with self._read() as conn:
            rows = conn.execute(
                select(sessions)
                .where(sessions.c.owner == owner, sessions.c.key == key)
                .order_by(sessions.c.created_at.desc(), sessions.c.pk.desc())
                .limit(limit)
            ).all()
        return [self._session(r) for r in rows]

    # -- writes -----------------------------------------------------------------------------

    async def update_route_overrides(
        self, owner: str, base_key: str, change: Callable[[Mapping[str, Any]], Mapping[str, Any]]
    ) -> Mapping[str, Any]:
        return await self._run(self._update_route_overrides, owner, base_key, change)

    def _update_route_overrides(
        self, owner: str, base_key: str, change: Callable[[Mapping[str, Any]], Mapping[str, Any]]
    ) -> Mapping[str, Any]:
        """Read, change and write a key's overrides in one transaction (the row locked), so two
        concurrent changes to one key both land; ``change`` gets the current overrides and returns
        the new ones (it may raise to refuse them: nothing is written)."""
        import json

        now = self._now_us()
        where = (route_keys.c.owner == owner, route_keys.c.key == base_key)
        with self._write() as conn:
            conn.execute(  # make sure the row exists, so it can be locked
                self._upsert(route_keys)
                .values(owner=owner, key=base_key, session_pk=None, overrides=None, updated_at=now)
                .on_conflict_do_nothing(index_elements=[route_keys.c.owner, route_keys.c.key])
            )
            query = select(route_keys.c.overrides).where(*where)
            raw = conn.execute(query.with_for_update() if self.dialect == "postgresql" else query).scalar()
            new = dict(change(json.loads(raw) if raw else {}))
            value = json.dumps(new, sort_keys=True) if new else None
            conn.execute(update(route_keys).where(*where).values(overrides=value, updated_at=now))
        return new

    async def bind_route(
        self,
        owner: str,
        key: str,
        replace_id: str | None,
        new: NewSession,
        item: NewMessage | None,
        auto: AutoText | None,
        event: InboundEvent | None,
        limits: SeenLimits,
    ) -> Bound:
        return await self._run(self._bind_route, owner, key, replace_id, new, item, auto, event, limits)

    def _bind_route(
        self,
        owner: str,
        key: str,
        replace_id: str | None,
        new: NewSession,
        item: NewMessage | None,
        auto: AutoText | None,
        event: InboundEvent | None,
        limits: SeenLimits,
    ) -> Bound:
        now = self._now_us()
        with self._write() as conn:
            if event is not None and not self._insert_seen(conn, event, None, limits):
                sid = conn.execute(select(seen_events.c.session_id).where(self._seen_where(event))).scalar()
                original = self._session_by_id(conn, owner, sid) or self._key_session(conn, owner, key)
                return Bound(original, False, None, True)
            conn.execute(
                self._upsert(route_keys)
                .values(owner=owner, key=key, session_pk=None, overrides=None, updated_at=now)
                .on_conflict_do_nothing()
            )
            lock = select(route_keys.c.session_pk).where(route_keys.c.owner == owner, route_keys.c.key == key)
            if self.dialect == "postgresql":
                lock = lock.with_for_update()
            current = self._session_by_pk(conn, owner, conn.execute(lock).scalar())
            keep = current is not None and current.status == "active" and current.id != replace_id
            created = False
            if keep:
                assert current is not None
                session_id = current.id
            else:
                session_id = self._create_session(new).id
                pk = conn.execute(select(sessions.c.pk).where(sessions.c.id == session_id)).scalar()
                conn.execute(
                    update(route_keys)
                    .where(route_keys.c.owner == owner, route_keys.c.key == key)
                    .values(session_pk=pk, updated_at=now)
                )
                created = True
            message = None
            if item is not None:
                (message,) = self._append(owner, session_id, [item], auto)
            if event is not None:
                conn.execute(update(seen_events).where(self._seen_where(event)).values(session_id=session_id))
            session = self._session_by_id(conn, owner, session_id)
        return Bound(session, created, message, False)

    async def mark_seen(self, event: InboundEvent, session_id: str | None, limits: SeenLimits) -> bool:
        return await self._run(self._mark_seen, event, session_id, limits)

    def _mark_seen(self, event: InboundEvent, session_id: str | None, limits: SeenLimits) -> bool:
        with self._write() as conn:
            return self._insert_seen(conn, event, session_id, limits)

    async def prune_seen_events(self, limits: SeenLimits) -> int:
        return await self._run(self._prune_seen_events, limits)

    def _prune_seen_events(self, limits: SeenLimits) -> int:
        with self._write() as conn:
            self._seen_counter = itertools.count(0)  # force the row cap this time
            return self._prune(conn, limits, self._now_us(), None)


__all__ = ["Bound", "InboundEvent", "RouteState", "RoutingSQLMixin", "RoutingStore", "SeenLimits"]
