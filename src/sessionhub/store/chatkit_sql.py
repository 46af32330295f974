"""OpenAI ChatKit threads and items in the SQL store (``integrations/chatkit.py`` calls it).

A thread is an ordinary sessionhub session plus a ``chatkit_threads`` row (owner, ChatKit
user, thread id → session; the thread's JSON). An item is a ``chatkit_items`` row (the
item's JSON, its ``created_at`` for ordering) and, for items people read, one message of the
session (``seq``): saving an item again rewrites that message in place; deleting it leaves
the message as ``[deleted]`` (seqs stay 1..N). Attachments are ``chatkit_attachments`` rows.

Pages are keysets on ``(created_at, id)`` in either order: ``after`` is the id of the last
row of the previous page (exclusive). JSON columns are sealed with the session's data key
when encryption is on (attachments with a data key of their own, as ADK state rows).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, and_, delete, or_, select, update

from ..errors import NotFound
from ..model import NewMessage, Usage
from .base import AutoText, NewSession, SessionChanges
from .codec import RowKey, own_key_id
from .schema import chatkit_attachments, chatkit_items, chatkit_threads, messages, sessions
from .turns_sql import TurnsSQLMixin


@dataclass(frozen=True, slots=True)
class ChatKitPage:
    """JSON texts of one page, and whether more rows follow."""

    data: list[str]
    has_more: bool


@dataclass(frozen=True, slots=True)
class ChatKitItem:
    """An item to store: its id, time (µs), JSON and readable message (None: no message)."""

    item_id: str
    created_us: int
    data: str
    message: NewMessage | None
    auto: AutoText | None


class ChatKitSQLMixin(TurnsSQLMixin):
    """The ChatKit methods of ``SQLStore`` (see the module docstring)."""

    # -- sealing ----------------------------------------------------------------------------

    def _ck_seal(self, key: RowKey, name: str, text: str) -> str:
        if not self.codec.encrypted:
            return text
        sealed = self.codec.seal_session(key, name, text)
        assert sealed is not None
        return sealed

    def _ck_open(self, key: RowKey, name: str, raw: str) -> str:
        if not self.codec.encrypted:
            return raw
        return self.codec.open_session(key, name, raw) or ""

    # -- threads ----------------------------------------------------------------------------

    def _ck_thread(self, conn: Connection, owner: str, user: str, thread_id: str) -> Any:
        return conn.execute(
            select(chatkit_threads, sessions.c.id.label("session_id"), sessions.c.wrapped_key)
            .join(sessions, sessions.c.pk == chatkit_threads.c.session_pk)
            .where(
                chatkit_threads.c.owner == owner,
                chatkit_threads.c.user_id == user,
                chatkit_threads.c.thread_id == thread_id,
            )
        ).first()

    async def ck_save_thread(
        self, owner: str, user: str, thread_id: str, created_us: int, data: str, title: str, new: NewSession
    ) -> None:
        await self._run(self._ck_save_thread, owner, user, thread_id, created_us, data, title, new)

    def _ck_save_thread(
        self, owner: str, user: str, thread_id: str, created_us: int, data: str, title: str, new: NewSession
    ) -> None:
        with self._write() as conn:
            row = self._ck_thread(conn, owner, user, thread_id)
            if row is None:
                created = self._create_session(new)
                srow = self._find_session(conn, owner, created.id)
                key = RowKey(srow.id, srow.wrapped_key)
                conn.execute(
                    chatkit_threads.insert().values(
                        owner=owner,
                        user_id=user,
                        thread_id=thread_id,
                        session_pk=srow.pk,
                        data=self._ck_seal(key, "chatkit_thread", data),
                        created_at=created_us,
                    )
                )
                return
            key = RowKey(row.session_id, row.wrapped_key)
            conn.execute(
                update(chatkit_threads)
                .where(chatkit_threads.c.session_pk == row.session_pk)
                .values(data=self._ck_seal(key, "chatkit_thread", data))
            )
            if title:
                current = self._session(self._find_session(conn, owner, row.session_id))
                if current.title != title:
                    self._update_session(
                        owner, row.session_id, SessionChanges(title=title, title_source="user"), None
                    )

    async def ck_load_thread(self, owner: str, user: str, thread_id: str) -> str | None:
        return await self._run(self._ck_load_thread, owner, user, thread_id)

    def _ck_load_thread(self, owner: str, user: str, thread_id: str) -> str | None:
        with self._read() as conn:
            row = self._ck_thread(conn, owner, user, thread_id)
        if row is None:
            return None
        return self._ck_open(RowKey(row.session_id, row.wrapped_key), "chatkit_thread", row.data)

    async def ck_load_threads(
        self, owner: str, user: str, limit: int, after: str | None, desc: bool
    ) -> ChatKitPage:
        return await self._run(self._ck_load_threads, owner, user, limit, after, desc)

    def _ck_load_threads(
        self, owner: str, user: str, limit: int, after: str | None, desc: bool
    ) -> ChatKitPage:
        t = chatkit_threads
        with self._read() as conn:
            query = (
                select(t.c.data, sessions.c.id.label("session_id"), sessions.c.wrapped_key)
                .join(sessions, sessions.c.pk == t.c.session_pk)
                .where(t.c.owner == owner, t.c.user_id == user)
            )
            if after is not None:
                mark = conn.execute(
                    select(t.c.created_at).where(
                        t.c.owner == owner, t.c.user_id == user, t.c.thread_id == after
                    )
                ).first()
                if mark is not None:
                    query = query.where(_beyond(t.c.created_at, t.c.thread_id, mark.created_at, after, desc))
            order = (t.c.created_at.desc(), t.c.thread_id.desc()) if desc else (t.c.created_at, t.c.thread_id)
            rows = conn.execute(query.order_by(*order).limit(limit + 1)).all()
        out = [
            self._ck_open(RowKey(r.session_id, r.wrapped_key), "chatkit_thread", r.data) for r in rows[:limit]
        ]
        return ChatKitPage(out, len(rows) > limit)

    async def ck_delete_thread(self, owner: str, user: str, thread_id: str) -> None:
        await self._run(self._ck_delete_thread, owner, user, thread_id)

    def _ck_delete_thread(self, owner: str, user: str, thread_id: str) -> None:
        with self._write() as conn:
            row = self._ck_thread(conn, owner, user, thread_id)
            if row is not None:
                conn.execute(delete(chatkit_items).where(chatkit_items.c.session_pk == row.session_pk))
                conn.execute(delete(chatkit_threads).where(chatkit_threads.c.session_pk == row.session_pk))
                self._delete_session(owner, row.session_id)

    # -- items ------------------------------------------------------------------------------

    async def ck_save_item(
        self, owner: str, user: str, thread_id: str, item: ChatKitItem, replace: bool
    ) -> None:
        await self._run(self._ck_save_item, owner, user, thread_id, item, replace)

    def _ck_save_item(self, owner: str, user: str, thread_id: str, item: ChatKitItem, replace: bool) -> None:
        """Add the item, or (``replace``, or the id exists) rewrite it and its message in place."""
        with self._write() as conn:
            row = self._ck_thread(conn, owner, user, thread_id)
            if row is None:
                raise NotFound(f"thread {thread_id} not found")
            key = RowKey(row.session_id, row.wrapped_key)
            where = (chatkit_items.c.session_pk == row.session_pk, chatkit_items.c.item_id == item.item_id)
            old = conn.execute(select(chatkit_items.c.seq).where(*where)).first()
            sealed = self._ck_seal(key, f"chatkit_item:{item.item_id}", item.data)
            if old is not None:
                conn.execute(update(chatkit_items).where(*where).values(data=sealed))
                if old.seq is not None and item.message is not None:
                    mid = conn.execute(
                        select(messages.c.id).where(
                            messages.c.session_pk == row.session_pk, messages.c.seq == old.seq
                        )
                    ).scalar_one()
                    m = item.message
                    self._update_message(owner, row.session_id, mid, m.content, m.parts, m.status, m.usage)
                return
            seq = None
            if item.message is not None:
                (stored,) = self._append(owner, row.session_id, [item.message], item.auto)
                seq = stored.seq
            conn.execute(
                chatkit_items.insert().values(
                    session_pk=row.session_pk,
                    item_id=item.item_id,
                    seq=seq,
                    created_at=item.created_us,
                    data=sealed,
                )
            )

    async def ck_load_item(self, owner: str, user: str, thread_id: str, item_id: str) -> str | None:
        return await self._run(self._ck_load_item, owner, user, thread_id, item_id)

    def _ck_load_item(self, owner: str, user: str, thread_id: str, item_id: str) -> str | None:
        with self._read() as conn:
            row = self._ck_thread(conn, owner, user, thread_id)
            if row is None:
                return None
            raw = conn.execute(
                select(chatkit_items.c.data).where(
                    chatkit_items.c.session_pk == row.session_pk, chatkit_items.c.item_id == item_id
                )
            ).scalar()
        if raw is None:
            return None
        return self._ck_open(RowKey(row.session_id, row.wrapped_key), f"chatkit_item:{item_id}", raw)

    async def ck_load_items(
        self, owner: str, user: str, thread_id: str, after: str | None, limit: int, desc: bool
    ) -> ChatKitPage:
        return await self._run(self._ck_load_items, owner, user, thread_id, after, limit, desc)

    def _ck_load_items(
        self, owner: str, user: str, thread_id: str, after: str | None, limit: int, desc: bool
    ) -> ChatKitPage:
        c = chatkit_items
        with self._read() as conn:
            row = self._ck_thread(conn, owner, user, thread_id)
            if row is None:
                return ChatKitPage([], False)
            query = select(c.c.item_id, c.c.data).where(c.c.session_pk == row.session_pk)
            if after is not None:
                mark = conn.execute(
                    select(c.c.created_at).where(c.c.session_pk == row.session_pk, c.c.item_id == after)
                ).first()
                if mark is not None:
                    query = query.where(_beyond(c.c.created_at, c.c.item_id, mark.created_at, after, desc))
            order = (c.c.created_at.desc(), c.c.item_id.desc()) if desc else (c.c.created_at, c.c.item_id)
            rows = conn.execute(query.order_by(*order).limit(limit + 1)).all()
        key = RowKey(row.session_id, row.wrapped_key)
        out = [self._ck_open(key, f"chatkit_item:{r.item_id}", r.data) for r in rows[:limit]]
        return ChatKitPage(out, len(rows) > limit)

    async def ck_delete_item(self, owner: str, user: str, thread_id: str, item_id: str) -> None:
        await self._run(self._ck_delete_item, owner, user, thread_id, item_id)

    def _ck_delete_item(self, owner: str, user: str, thread_id: str, item_id: str) -> None:
        with self._write() as conn:
            row = self._ck_thread(conn, owner, user, thread_id)
            if row is None:
                return
            where = (chatkit_items.c.session_pk == row.session_pk, chatkit_items.c.item_id == item_id)
            old = conn.execute(select(chatkit_items.c.seq).where(*where)).first()
            if old is None:
                return
            conn.execute(delete(chatkit_items).where(*where))
            if old.seq is not None:
                mid = conn.execute(
                    select(messages.c.id).where(
                        messages.c.session_pk == row.session_pk, messages.c.seq == old.seq
                    )
                ).scalar()
                if mid is not None:
                    self._update_message(owner, row.session_id, mid, "[deleted]", (), "complete", Usage())

    # -- attachments ------------------------------------------------------------------------

    def _ck_attachment_key(self, owner: str, user: str, attachment_id: str, wrapped: str | None) -> RowKey:
        return RowKey(own_key_id("chatkit", "attachment", owner, user, attachment_id), wrapped)

    async def ck_save_attachment(self, owner: str, user: str, attachment_id: str, data: str) -> None:
        await self._run(self._ck_save_attachment, owner, user, attachment_id, data)

    def _ck_save_attachment(self, owner: str, user: str, attachment_id: str, data: str) -> None:
        a = chatkit_attachments
        where = (a.c.owner == owner, a.c.user_id == user, a.c.attachment_id == attachment_id)
        with self._write() as conn:
            wrapped = conn.execute(select(a.c.wrapped_key).where(*where)).first()
            if wrapped is not None:
                key = self._ck_attachment_key(owner, user, attachment_id, wrapped.wrapped_key)
                conn.execute(
                    update(a).where(*where).values(data=self._ck_seal(key, "chatkit_attachment", data))
                )
                return
            new_key = None
            if self.codec.encrypted:
                new_key = self.codec.new_key(
                    self._ck_attachment_key(owner, user, attachment_id, None).session_id
                )
            key = self._ck_attachment_key(owner, user, attachment_id, new_key)
            conn.execute(
                a.insert().values(
                    owner=owner,
                    user_id=user,
                    attachment_id=attachment_id,
                    data=self._ck_seal(key, "chatkit_attachment", data),
                    wrapped_key=new_key,
                    created_at=self._now_us(),
                )
            )

    async def ck_load_attachment(self, owner: str, user: str, attachment_id: str) -> str | None:
        return await self._run(self._ck_load_attachment, owner, user, attachment_id)

    def _ck_load_attachment(self, owner: str, user: str, attachment_id: str) -> str | None:
        a = chatkit_attachments
        with self._read() as conn:
            row = conn.execute(
                select(a.c.data, a.c.wrapped_key).where(
                    a.c.owner == owner, a.c.user_id == user, a.c.attachment_id == attachment_id
                )
            ).first()
        if row is None:
            return None
        key = self._ck_attachment_key(owner, user, attachment_id, row.wrapped_key)
        return self._ck_open(key, "chatkit_attachment", row.data)

    async def ck_delete_attachment(self, owner: str, user: str, attachment_id: str) -> None:
        await self._run(self._ck_delete_attachment, owner, user, attachment_id)

    def _ck_delete_attachment(self, owner: str, user: str, attachment_id: str) -> None:
        a = chatkit_attachments
        with self._write() as conn:
            conn.execute(
                delete(a).where(a.c.owner == owner, a.c.user_id == user, a.c.attachment_id == attachment_id)
            )


def _beyond(time_col: Any, id_col: Any, at: int, ident: str, desc: bool) -> Any:
    """Rows strictly after ``(at, ident)`` in the page's order (a keyset condition)."""
    if desc:
        return or_(time_col < at, and_(time_col == at, id_col < ident))
    return or_(time_col > at, and_(time_col == at, id_col > ident))


__all__ = ["ChatKitItem", "ChatKitPage", "ChatKitSQLMixin"]
