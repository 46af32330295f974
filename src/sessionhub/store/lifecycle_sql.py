"""Whole sessions in and out of the SQL store: bulk import, and the queries of cleanup and retention.

``import_rows`` writes a session and all its messages in one transaction (an ``import_ref``
seen before makes it a no-op: ``None``); the retention queries only select or archive,
in chunks, and never touch pinned sessions.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, and_, exists, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from ..model import Session
from ._rows import Totals, dumps_json, new_message_id, to_us
from .codec import RowKey, message_values
from .history_base import ImportRows
from .history_sql import HistorySQLMixin
from .schema import checkpoints, messages, route_keys, sessions

_CHUNK = 1000


class LifecycleSQLMixin(HistorySQLMixin):
    """``import_rows`` and the cleanup/retention queries of ``SQLStore``."""

    # -- import -----------------------------------------------------------------------------

    async def import_rows(self, rows: ImportRows) -> Session | None:
        try:
            return await self._run(self._import_rows, rows)
        except _Duplicate:
            return None

    def _import_rows(self, data: ImportRows) -> Session:
        created = to_us(data.created_at)
        totals = Totals()
        msg_rows: list[dict[str, Any]] = []
        last_at: int | None = None
        codec = self.codec
        key = RowKey(data.id, codec.new_key(data.id))
        for seq, m in enumerate(data.messages, start=1):
            at = to_us(m.created_at) if m.created_at is not None else created
            last_at = at
            msg_id = new_message_id()
            msg_rows.append(message_values(codec, key, msg_id, seq, m, at))
            if m.role == "user":
                totals.user += 1
            elif m.role == "assistant":
                totals.assistant += 1
            elif m.role == "tool":
                totals.tool += 1
            totals.errors += m.status == "error"
            totals.input_tokens += m.usage.input_tokens
            totals.output_tokens += m.usage.output_tokens
        values: dict[str, Any] = {
            "id": data.id,
            "owner": data.owner,
            "key": data.key,
            "wrapped_key": key.wrapped,
            "title": codec.seal_session(key, "title", data.title),
            "title_source": data.title_source,
            "agent": data.agent,
            "provider": data.provider,
            "model": data.model,
            "source": data.source,
            "source_ref": data.source_ref,
            "channel": data.channel,
            "status": data.status,
            "pinned": data.pinned,
            "created_at": created,
            "updated_at": to_us(data.updated_at),
            "last_message_at": last_at,
            "activity_at": last_at if last_at is not None else created,
            "message_count": len(msg_rows),
            "preview": codec.seal_session(key, "preview", data.preview),
            "metadata": codec.seal_session(key, "metadata", dumps_json(dict(data.metadata))),
            "import_ref": data.import_ref,
            **totals.values(),
        }
        try:
            with self._write() as conn:
                if data.import_ref is not None:
                    seen = conn.execute(
                        select(sessions.c.pk).where(
                            sessions.c.owner == data.owner, sessions.c.import_ref == data.import_ref
                        )
                    ).first()
                    if seen is not None:
                        raise _Duplicate
                live = self._claim_key(conn, data, values) if data.bind_key else False
                pk = self._insert_session(conn, values)
                if live:
                    conn.execute(
                        update(route_keys)
                        .where(route_keys.c.owner == data.owner, route_keys.c.key == data.key)
                        .values(session_pk=pk, updated_at=self._now_us())
                    )
                for i in range(0, len(msg_rows), _CHUNK):
                    chunk = msg_rows[i : i + _CHUNK]
                    for r in chunk:
                        r["session_pk"] = pk
                    conn.execute(insert(messages), chunk)
                self._reindex_title(conn, pk, data.title)
                self._index_messages(conn, pk, 1, [m.content for m in data.messages])
                if data.checkpoints:
                    conn.execute(
                        insert(checkpoints),
                        [
                            {
                                "id": c.id,
                                "session_pk": pk,
                                **codec.seal_checkpoint(key, c.id, c.name, c.description),
                                "at_seq": c.at_seq,
                                "message_count": c.at_seq,
                                "created_at": to_us(c.created_at) if c.created_at is not None else created,
                            }
                            for c in data.checkpoints
                        ],
                    )
                return self._session(self._row_by_pk(conn, pk))
        except IntegrityError:
            if data.import_ref is not None:
                raise _Duplicate from None
            raise

    def _claim_key(self, conn: Connection, data: ImportRows, values: dict[str, Any]) -> bool:
        """Decide, under the key's lock, whether the imported session becomes the key's live one.

        It does when the key has no active session, or when the active one is an older import
        (not pinned), which is archived. Otherwise the imported session is stored archived:
        the newest conversation of a key is the live one.
        """
        now = self._now_us()
        insert_ = pg_insert if self.dialect == "postgresql" else sqlite_insert
        conn.execute(
            insert_(route_keys)
            .values(owner=data.owner, key=data.key, session_pk=None, overrides=None, updated_at=now)
            .on_conflict_do_nothing()
        )
        lock = select(route_keys.c.session_pk).where(
            route_keys.c.owner == data.owner, route_keys.c.key == data.key
        )
        current_pk = conn.execute(lock.with_for_update() if self.dialect == "postgresql" else lock).scalar()
        current = None
        if current_pk is not None:
            current = conn.execute(
                select(
                    sessions.c.pk, sessions.c.status, sessions.c.pinned, sessions.c.import_ref,
                    sessions.c.activity_at,
                ).where(sessions.c.pk == current_pk)
            ).first()  # fmt: skip
        if values["status"] != "active":
            return False
        if current is None or current.status != "active":
            return True
        newer = values["activity_at"] >= current.activity_at
        if current.import_ref is not None and not current.pinned and newer:
            conn.execute(
                update(sessions).where(sessions.c.pk == current.pk).values(status="archived", updated_at=now)
            )
            return True
        values["status"] = "archived"
        values["pinned"] = False
        return False

    # -- cleanup and retention --------------------------------------------------------------

    async def stale_sessions(
        self, owner: str, before_us: int, keep_checkpoints: bool, status: str | None, limit: int
    ) -> list[str]:
        return await self._run(self._stale_sessions, owner, before_us, keep_checkpoints, status, limit)

    def _stale_sessions(
        self, owner: str, before_us: int, keep_checkpoints: bool, status: str | None, limit: int
    ) -> list[str]:
        conds: list[Any] = [
            sessions.c.owner == owner,
            sessions.c.pinned.is_(False),
            sessions.c.activity_at < before_us,
        ]
        if status is not None:
            conds.append(sessions.c.status == status)
        if keep_checkpoints:
            conds.append(~exists().where(checkpoints.c.session_pk == sessions.c.pk))
        q = (
            select(sessions.c.id)
            .where(and_(*conds))
            .order_by(sessions.c.activity_at, sessions.c.pk)
            .limit(limit)
        )
        with self._read() as conn:
            return [r.id for r in conn.execute(q).all()]

    async def archive_inactive(self, owner: str, before_us: int, dry_run: bool) -> list[str]:
        return await self._run(self._archive_inactive, owner, before_us, dry_run)

    def _archive_inactive(self, owner: str, before_us: int, dry_run: bool) -> list[str]:
        where = and_(
            sessions.c.owner == owner,
            sessions.c.status == "active",
            sessions.c.pinned.is_(False),
            sessions.c.activity_at < before_us,
        )
        with self._write() as conn:
            ids = [
                r.id for r in conn.execute(select(sessions.c.id).where(where).order_by(sessions.c.pk)).all()
            ]
            if ids and not dry_run:
                now = self._now_us()
                for i in range(0, len(ids), _CHUNK):
                    conn.execute(
                        update(sessions)
                        .where(where, sessions.c.id.in_(ids[i : i + _CHUNK]))
                        .values(status="archived", updated_at=now)
                    )
        return ids

    async def archived_before(self, owner: str, before_us: int, limit: int) -> list[str]:
        return await self._run(self._archived_before, owner, before_us, limit)

    def _archived_before(self, owner: str, before_us: int, limit: int) -> list[str]:
        q = (
            select(sessions.c.id)
            .where(
                sessions.c.owner == owner,
                sessions.c.status == "archived",
                sessions.c.pinned.is_(False),
                sessions.c.updated_at < before_us,
            )
            .order_by(sessions.c.updated_at, sessions.c.pk)
            .limit(limit)
        )
        with self._read() as conn:
            return [r.id for r in conn.execute(q).all()]


class _Duplicate(Exception):
    """Internal: the import_ref exists already (the transaction is rolled back)."""
