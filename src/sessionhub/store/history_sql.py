"""SQL for checkpoints, forks, pop and fork-safe deletion.

Part of ``SQLStore`` (on the transactions and ``_segments`` of _db.py, the row moves of
crypto_sql.py; restore, regenerate, edit and branch switches are in branches_sql.py, bulk
import and cleanup in lifecycle_sql.py). The rules of the row moves, all O(rows moved) and
never O(history):

- **Fork** at seq ``k``: a new session row with ``base_session_pk``/``base_seq`` pointing
  at the session that *owns* the row ``k`` (the pointer is normalised down the chain, so
  forking a fork before its fork point skips it). No message row is copied.
- **Restore** checkpoint at ``k`` of a session with ``n`` messages: a new archived branch
  session gets the history ``1..n`` (the session's own rows after ``k`` are moved to it by
  ``UPDATE session_pk``; its base is the session at ``k``, or the session's own base when
  ``k`` is at or before the session's fork point). Checkpoints after ``k`` and forks that
  read beyond ``k`` move with the branch. The session is cut to ``k``; new messages get
  ``k+1…``. Counters are adjusted by the moved range only (branches_sql.py ``_keep_aside``).
- **Delete / clear** of a session that others read from: the child reading furthest (the
  heir) receives the parent's rows it needs (moved, not copied) and takes over the
  parent's own base; the other children re-point to the heir, whose history is the same
  up to their fork points. Nothing any child can see is lost.
- **Pop** of the last message ``n``: when a fork reads ``n``, the children are released
  as for a delete and the session reads ``1..n-1`` from the heir; with no own rows it reads
  one message less from its base; otherwise its row ``n`` is deleted. Counters change by
  that one message; checkpoints at ``n`` or later are clamped to ``n-1``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Row, case, delete, func, insert, select, update

from ..errors import InvalidInput, NotFound
from ..model import Checkpoint, Message, Session
from ..text import preview as make_preview
from ._rows import MESSAGE_COLUMNS, Totals, dumps_json, from_us
from .codec import PlainCodec, RowKey
from .crypto_sql import CryptoSQLMixin
from .history_base import Derive
from .schema import checkpoints, messages, sessions


def checkpoint_from_row(r: Row[Any], session_id: str, codec: PlainCodec, key: RowKey) -> Checkpoint:
    created = from_us(r.created_at)
    name, description = codec.open_checkpoint(key, r.id, r.name, r.description)
    return Checkpoint(
        id=r.id,
        session_id=session_id,
        name=name,
        description=description,
        message_count=r.message_count,
        at_seq=r.at_seq,
        created_at=created,
    )


class HistorySQLMixin(CryptoSQLMixin):
    """Checkpoint, restore, fork and pop transactions for ``SQLStore``, and fork-safe release."""

    # -- helpers (run inside a transaction) -------------------------------------------------

    def _totals(self, conn: Connection, segs: Sequence[tuple[int, int, int]], lo: int, hi: int) -> Totals:
        """Counters over the visible seqs ``lo..hi`` (one grouped range scan per segment)."""
        t = Totals()
        one, zero = 1, 0
        for pk, first, last in segs:
            a, b = max(first, lo), min(last, hi)
            if a > b:
                continue
            q = (
                select(
                    messages.c.role,
                    func.count(),
                    func.coalesce(func.sum(case((messages.c.status == "error", one), else_=zero)), 0),
                    func.coalesce(func.sum(messages.c.input_tokens), 0),
                    func.coalesce(func.sum(messages.c.output_tokens), 0),
                )
                .where(messages.c.session_pk == pk, messages.c.seq >= a, messages.c.seq <= b)
                .group_by(messages.c.role)
            )
            for role, count, errors, tin, tout in conn.execute(q).all():
                if role == "user":
                    t.user += int(count)
                elif role == "assistant":
                    t.assistant += int(count)
                elif role == "tool":
                    t.tool += int(count)
                t.errors += int(errors)
                t.input_tokens += int(tin)
                t.output_tokens += int(tout)
        return t

    def _prefix_totals(
        self, conn: Connection, row: Row[Any], segs: Sequence[tuple[int, int, int]], k: int
    ) -> dict[str, int]:
        """Counters of ``1..k``: summed directly or as the row's totals minus ``k+1..n``."""
        n = row.message_count
        if k <= n - k:
            return self._totals(conn, segs, 1, k).values()
        tail = self._totals(conn, segs, k + 1, n).values()
        return {name: int(getattr(row, name)) - value for name, value in tail.items()}

    def _first_user_preview(self, conn: Connection, segs: Sequence[tuple[int, int, int]], hi: int) -> str:
        for pk, first, last in reversed(segs):
            b = min(last, hi)
            if first > b:
                continue
            key = self._key_of(conn, pk)
            q = (
                select(messages.c.id, messages.c.seq, messages.c.content)
                .where(
                    messages.c.session_pk == pk,
                    messages.c.seq >= first,
                    messages.c.seq <= b,
                    messages.c.role == "user",
                )
                .order_by(messages.c.seq)
                .limit(50)
            )
            for mid, mseq, value in conn.execute(q).all():
                content = self.codec.open_content(key, mid, mseq, value)
                if content.strip():
                    return make_preview(content)
        return ""

    def _created_at_of(self, conn: Connection, segs: Sequence[tuple[int, int, int]], seq: int) -> int | None:
        if seq <= 0:
            return None
        for pk, first, last in segs:
            if first <= seq <= last:
                value = conn.execute(
                    select(messages.c.created_at).where(messages.c.session_pk == pk, messages.c.seq == seq)
                ).scalar()
                return None if value is None else int(value)
        return None

    def _row_by_pk(self, conn: Connection, pk: int) -> Row[Any]:
        return conn.execute(select(sessions).where(sessions.c.pk == pk)).one()

    def _find_checkpoint(self, conn: Connection, owner: str, checkpoint_id: str) -> Row[Any]:
        row = conn.execute(
            select(checkpoints, sessions.c.id.label("session_id"), sessions.c.wrapped_key.label("session_wk"))
            .join(sessions, sessions.c.pk == checkpoints.c.session_pk)
            .where(checkpoints.c.id == checkpoint_id, sessions.c.owner == owner)
        ).first()
        if row is None:
            raise NotFound(f"checkpoint {checkpoint_id} not found")
        return row

    def _release_children(self, conn: Connection, row: Row[Any]) -> int | None:
        """Before ``row``'s own messages go: hand what its forks read to the furthest one.

        Returns the heir's pk (None when no session reads from ``row``).
        """
        children = conn.execute(
            select(sessions.c.pk, sessions.c.base_seq)
            .where(sessions.c.base_session_pk == row.pk)
            .order_by(sessions.c.base_seq.desc(), sessions.c.pk)
        ).all()
        if not children:
            return None
        heir, jmax = children[0].pk, children[0].base_seq
        if jmax > row.base_seq:
            self._move_messages(conn, row.pk, heir, messages.c.seq <= jmax)
            new_base, new_seq = row.base_session_pk, row.base_seq
        else:
            new_base, new_seq = row.base_session_pk, jmax
        if new_seq == 0:
            new_base = None
        conn.execute(
            update(sessions)
            .where(sessions.c.base_session_pk == row.pk, sessions.c.pk != heir)
            .values(base_session_pk=heir)
        )
        conn.execute(
            update(sessions).where(sessions.c.pk == heir).values(base_session_pk=new_base, base_seq=new_seq)
        )
        return int(heir)

    def _base_for(self, conn: Connection, pk: int | None, at: int) -> tuple[int | None, int]:
        """``(base_session_pk, base_seq)`` reading ``1..at`` from session ``pk``, normalised as
        forks are: the pointer goes to the session that owns row ``at`` (None, 0 when empty)."""
        if at <= 0 or pk is None:
            return None, 0
        base = self._row_by_pk(conn, pk)
        while at <= base.base_seq and base.base_session_pk is not None:
            base = self._row_by_pk(conn, base.base_session_pk)
        return int(base.pk), at

    # -- checkpoints ------------------------------------------------------------------------

    async def save_checkpoint(
        self, owner: str, session_id: str, checkpoint_id: str, name: str, description: str
    ) -> Checkpoint:
        return await self._run(self._save_checkpoint, owner, session_id, checkpoint_id, name, description)

    def _save_checkpoint(
        self, owner: str, session_id: str, checkpoint_id: str, name: str, description: str
    ) -> Checkpoint:
        now = self._now_us()
        with self._write() as conn:
            row = self._lock_session(conn, owner, session_id)
            values = {
                "id": checkpoint_id,
                "session_pk": row.pk,
                **self.codec.seal_checkpoint(self._row_key(row), checkpoint_id, name, description),
                "at_seq": row.message_count,
                "message_count": row.message_count,
                "created_at": now,
            }
            conn.execute(insert(checkpoints).values(**values))
            found = self._find_checkpoint(conn, owner, checkpoint_id)
            return checkpoint_from_row(found, session_id, self.codec, self._row_key(row))

    async def list_checkpoints(self, owner: str, session_id: str) -> list[Checkpoint]:
        return await self._run(self._list_checkpoints, owner, session_id)

    def _list_checkpoints(self, owner: str, session_id: str) -> list[Checkpoint]:
        with self._read() as conn:
            row = self._find_session(conn, owner, session_id)
            rows = conn.execute(
                select(checkpoints)
                .where(checkpoints.c.session_pk == row.pk)
                .order_by(checkpoints.c.created_at, checkpoints.c.pk)
            ).all()
        key = self._row_key(row)
        return [checkpoint_from_row(r, session_id, self.codec, key) for r in rows]

    async def get_checkpoint(self, owner: str, checkpoint_id: str) -> Checkpoint:
        return await self._run(self._get_checkpoint, owner, checkpoint_id)

    def _get_checkpoint(self, owner: str, checkpoint_id: str) -> Checkpoint:
        with self._read() as conn:
            r = self._find_checkpoint(conn, owner, checkpoint_id)
        return checkpoint_from_row(r, r.session_id, self.codec, RowKey(r.session_id, r.session_wk))

    async def delete_checkpoint(self, owner: str, checkpoint_id: str) -> None:
        await self._run(self._delete_checkpoint, owner, checkpoint_id)

    def _delete_checkpoint(self, owner: str, checkpoint_id: str) -> None:
        with self._write() as conn:
            r = self._find_checkpoint(conn, owner, checkpoint_id)
            conn.execute(delete(checkpoints).where(checkpoints.c.pk == r.pk))

    # -- forks ------------------------------------------------------------------------------

    async def fork(
        self,
        owner: str,
        session_id: str,
        at_seq: int | None,
        checkpoint_id: str | None,
        new_id: str,
        derive: Derive,
    ) -> Session:
        return await self._run(self._fork, owner, session_id, at_seq, checkpoint_id, new_id, derive)

    def _fork(
        self,
        owner: str,
        session_id: str,
        at_seq: int | None,
        checkpoint_id: str | None,
        new_id: str,
        derive: Derive,
    ) -> Session:
        now = self._now_us()
        with self._write() as conn:
            row = self._lock_session(conn, owner, session_id)
            cp: Checkpoint | None = None
            if checkpoint_id is not None:
                cpr = self._find_checkpoint(conn, owner, checkpoint_id)
                if cpr.session_pk != row.pk:
                    raise NotFound(f"checkpoint {checkpoint_id} not found in session {session_id}")
                cp = checkpoint_from_row(cpr, session_id, self.codec, self._row_key(row))
                at = cp.at_seq
            else:
                at = row.message_count if at_seq is None else at_seq
            if at > row.message_count:
                raise InvalidInput(f"at_seq {at} is beyond the session's last message ({row.message_count})")
            segs = self._segments(conn, row)
            counters = self._prefix_totals(conn, row, segs, at)
            last_at = self._created_at_of(conn, segs, at)
            base = row
            while at <= base.base_seq and base.base_session_pk is not None:
                base = self._row_by_pk(conn, base.base_session_pk)
            spec = derive(self._session(row), at, cp)
            fkey = RowKey(new_id, self.codec.new_key(new_id))
            values = {c.name: getattr(row, c.name) for c in sessions.columns if c.name != "pk"}
            values.update(counters)
            values.update(
                id=new_id,
                key=new_id,
                wrapped_key=fkey.wrapped,
                title=self.codec.seal_session(fkey, "title", spec.title),
                title_source=spec.title_source,
                metadata=self.codec.seal_session(fkey, "metadata", dumps_json(dict(spec.metadata))),
                status="active",
                pinned=False,
                source="manual",
                source_ref=None,
                created_at=now,
                updated_at=now,
                activity_at=now,
                last_message_at=last_at,
                message_count=at,
                preview=self.codec.seal_session(fkey, "preview", self._first_user_preview(conn, segs, at)),
                base_session_pk=base.pk if at > 0 else None,
                base_seq=at,
                import_ref=None,
                branch_of_pk=None,
            )
            fork_pk = self._insert_session(conn, values)
            self._reindex_title(conn, fork_pk, spec.title)
            return self._session(self._find_session(conn, owner, new_id))

    async def forks(self, owner: str, session_id: str) -> list[Session]:
        return await self._run(self._forks, owner, session_id)

    def _forks(self, owner: str, session_id: str) -> list[Session]:
        with self._read() as conn:
            row = self._find_session(conn, owner, session_id)
            rows = conn.execute(
                select(sessions)
                .where(sessions.c.base_session_pk == row.pk, sessions.c.owner == owner)
                .order_by(sessions.c.created_at, sessions.c.pk)
            ).all()
        return [self._session(r) for r in rows]

    # -- pop --------------------------------------------------------------------------------

    async def pop_message(self, owner: str, session_id: str) -> Message | None:
        return await self._run(self._pop_message, owner, session_id)

    def _pop_message(self, owner: str, session_id: str) -> Message | None:
        """Remove message ``n`` (the last) in one transaction: O(1) plus the rows a fork needs.

        Everything is read first with the current segments (the history ``1..n-1`` is the
        same before and after): the message, the new ``last_message_at`` and preview. Then
        one of three row changes, the counters, and the checkpoints clamped to ``n-1``.
        """
        now = self._now_us()
        with self._write() as conn:
            row = self._lock_writable(conn, owner, session_id)
            n = row.message_count
            if n == 0:
                return None
            k = n - 1
            segs = self._segments(conn, row)
            holder = next(pk for pk, first, last in segs if first <= n <= last)
            found = conn.execute(
                select(*MESSAGE_COLUMNS).where(messages.c.session_pk == holder, messages.c.seq == n)
            ).one()
            key = self._row_key(row)
            popped: Message = self.codec.message(
                found, session_id, key if holder == row.pk else self._key_of(conn, holder)
            )
            last_at = self._created_at_of(conn, segs, k)
            values: dict[str, Any] = {
                "message_count": k,
                "input_tokens": sessions.c.input_tokens - popped.usage.input_tokens,
                "output_tokens": sessions.c.output_tokens - popped.usage.output_tokens,
                "last_message_at": last_at,
                "activity_at": last_at if last_at is not None else row.created_at,
                "updated_at": now,
            }
            counter = {"user": "user_messages", "assistant": "assistant_messages", "tool": "tool_messages"}
            if popped.role in counter:
                values[counter[popped.role]] = getattr(sessions.c, counter[popped.role]) - 1
            if popped.status == "error":
                values["errors"] = sessions.c.errors - 1
            if k == 0:
                values["preview"] = self.codec.seal_session(key, "preview", "")
            elif popped.role == "user":
                values["preview"] = self.codec.seal_session(
                    key, "preview", self._first_user_preview(conn, segs, k)
                )
            reader = conn.execute(
                select(sessions.c.pk)
                .where(sessions.c.base_session_pk == row.pk, sessions.c.base_seq >= n)
                .limit(1)
            ).first()
            if reader is not None:
                # A fork reads row n: it keeps it. The heir takes this session's rows (n among
                # them) and this session reads its first n-1 messages from the heir.
                heir = self._release_children(conn, row)
                values["base_session_pk"], values["base_seq"] = self._base_for(conn, heir, k)
            elif n <= row.base_seq:
                # No own rows: read one message less from the base.
                values["base_session_pk"], values["base_seq"] = self._base_for(conn, row.base_session_pk, k)
            else:
                # Own row, nobody else reads it. Its FTS entry (trigger) and blind-index terms
                # (ON DELETE CASCADE) go with it.
                conn.execute(delete(messages).where(messages.c.session_pk == row.pk, messages.c.seq == n))
            conn.execute(update(sessions).where(sessions.c.pk == row.pk).values(**values))
            # Checkpoints past the end point at the new end: a saved checkpoint is never lost.
            conn.execute(
                update(checkpoints)
                .where(checkpoints.c.session_pk == row.pk, checkpoints.c.at_seq >= n)
                .values(at_seq=k, message_count=k)
            )
        return popped
