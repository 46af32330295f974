"""SQL for branches: a continuation kept aside, alternatives listed, switched between.

Part of ``SQLStore`` (on the counters and pointer helpers of history_sql.py and the row
moves of crypto_sql.py). Nothing is ever copied; every change is O(rows moved):

- **Keep aside** at ``k`` (``_keep_aside``: checkpoint restore, regenerate, edit): a new
  archived *branch* session (``branch_of_pk`` = the session) gets the history ``1..n``: the
  session's own rows after ``k`` move to it (``UPDATE session_pk``), its base is the session
  at ``k`` (or the session's own base when ``k`` is at or before the session's fork point).
  Checkpoints after ``k`` and sessions reading beyond ``k`` move with it; a reply still
  marked ``streaming`` there becomes ``interrupted``. The session is cut to ``k`` (its base
  normalised to the owner of row ``k``); new messages get ``k+1…``.
- **Branches** of a session: the sessions marked ``branch_of`` it whose history shares a
  prefix ``1..j`` with the session's (the same rows, found by comparing the two pointer
  chains) and goes on differently at ``at_seq = j+1``. Branches that reach ``at_seq`` through
  the same row (a branch kept aside inside another branch) are one alternative there: the
  one owning that row stands for them, and the others show up once it is switched to.
- **Switch** to branch ``b`` diverging at ``j``: the session's continuation after ``j`` is
  kept aside (a new branch), then ``b``'s rows after ``j`` move into the session (or, when
  ``b`` reads them from further down, the session takes ``b``'s base pointer and its own
  rows); what read those rows from ``b`` now reads them from the session. ``b``, left with
  nothing of its own that anyone reads, is deleted: the old continuation lives on in the new
  branch, the chosen one in the session, whose id and URL never change.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Row, delete, func, select, update

from ..errors import Conflict, InvalidInput, NotFound
from ..model import Branch
from ..text import preview as make_preview
from ._rows import dumps_json, from_us
from .codec import RowKey
from .history_base import Derive, DerivedSession, RestoreOutcome
from .history_sql import HistorySQLMixin, checkpoint_from_row
from .schema import checkpoints, messages, sessions

Segments = Sequence[tuple[int, int, int]]


def common_prefix(a: Segments, b: Segments) -> int:
    """How many leading seqs two histories read from the same rows (segments newest first)."""
    ra = [s for s in reversed(a) if s[1] <= s[2]]
    rb = [s for s in reversed(b) if s[1] <= s[2]]
    i = k = 0
    upto = 0
    while i < len(ra) and k < len(rb) and ra[i][0] == rb[k][0]:
        end = min(ra[i][2], rb[k][2])
        upto = end
        if ra[i][2] == end:
            i += 1
        if rb[k][2] == end:
            k += 1
    return upto


def holder_of(segs: Segments, seq: int) -> int:
    """The session pk whose row ``seq`` a history reads."""
    return next(pk for pk, first, last in segs if first <= seq <= last)


class BranchesSQLMixin(HistorySQLMixin):
    """Restore, regenerate/edit cuts, branch listing and switching for ``SQLStore``."""

    # -- keep aside (one transaction's step) ------------------------------------------------

    def _keep_aside(
        self, conn: Connection, row: Row[Any], k: int, branch_id: str, spec: DerivedSession, now: int
    ) -> int:
        """Move ``row``'s history after ``k`` into a new archived branch; cut ``row`` to ``k``.

        Returns the branch's pk. ``row`` must be locked and have more than ``k`` messages.
        """
        n = row.message_count
        segs = self._segments(conn, row)
        moved = self._totals(conn, segs, k + 1, n).values()
        if k <= row.base_seq:
            branch_base, branch_base_seq = row.base_session_pk, row.base_seq
        else:
            branch_base, branch_base_seq = row.pk, k
        key = self._row_key(row)
        bkey = RowKey(branch_id, self.codec.new_key(branch_id))
        values = {c.name: getattr(row, c.name) for c in sessions.columns if c.name != "pk"}
        values.update(
            id=branch_id,
            key=branch_id,
            wrapped_key=bkey.wrapped,
            title=self.codec.seal_session(bkey, "title", spec.title),
            preview=self.codec.seal_session(bkey, "preview", self._session(row).preview),
            title_source=spec.title_source,
            metadata=self.codec.seal_session(bkey, "metadata", dumps_json(dict(spec.metadata))),
            status="archived",
            pinned=False,
            source="manual",
            source_ref=None,
            created_at=now,
            updated_at=now,
            base_session_pk=branch_base,
            base_seq=branch_base_seq,
            import_ref=None,
            branch_of_pk=row.pk,
        )
        branch_pk = self._insert_session(conn, values)
        self._reindex_title(conn, branch_pk, spec.title)
        self._move_messages(conn, row.pk, branch_pk, messages.c.seq > max(k, row.base_seq))
        # A reply still streaming (its turn on another process) is cut here: its turn can no
        # longer save it, so it is kept aside as interrupted rather than streaming forever.
        conn.execute(
            update(messages)
            .where(messages.c.session_pk == branch_pk, messages.c.status == "streaming")
            .values(status="interrupted")
        )
        self._move_checkpoints(conn, row.pk, branch_pk, checkpoints.c.at_seq > k)
        conn.execute(
            update(sessions)
            .where(
                sessions.c.base_session_pk == row.pk,
                sessions.c.base_seq > k,
                sessions.c.pk != branch_pk,
            )
            .values(base_session_pk=branch_pk)
        )
        cut: dict[str, Any] = {"message_count": k, "updated_at": now}
        if k <= row.base_seq:
            cut["base_session_pk"], cut["base_seq"] = self._base_for(conn, row.base_session_pk, k)
        for name, value in moved.items():
            cut[name] = getattr(sessions.c, name) - value
        conn.execute(update(sessions).where(sessions.c.pk == row.pk).values(**cut))
        self._refresh_listing(conn, row.pk, key, k, None)
        return branch_pk

    def _orphan_branches(self, conn: Connection, pk: int) -> None:
        """Before session ``pk`` is deleted: its branches become plain archived sessions (the
        column has no foreign key, see migration 0011, so a reused pk never adopts them)."""
        conn.execute(update(sessions).where(sessions.c.branch_of_pk == pk).values(branch_of_pk=None))

    def _refresh_listing(self, conn: Connection, pk: int, key: RowKey, n: int, activity: int | None) -> None:
        """Preview, ``last_message_at`` and ``activity_at`` of a session whose history changed.

        ``activity``: the least activity time to keep (None: the last message's time).
        """
        row = self._row_by_pk(conn, pk)
        segs = self._segments(conn, row)
        last_at = self._created_at_of(conn, segs, n)
        active = last_at if last_at is not None else row.created_at
        conn.execute(
            update(sessions)
            .where(sessions.c.pk == pk)
            .values(
                preview=self.codec.seal_session(key, "preview", self._first_user_preview(conn, segs, n)),
                last_message_at=last_at,
                activity_at=active if activity is None else max(activity, active),
            )
        )

    # -- restore ----------------------------------------------------------------------------

    async def restore_checkpoint(
        self, owner: str, checkpoint_id: str, branch_id: str, derive: Derive
    ) -> RestoreOutcome:
        return await self._run(self._restore_checkpoint, owner, checkpoint_id, branch_id, derive)

    def _restore_checkpoint(
        self, owner: str, checkpoint_id: str, branch_id: str, derive: Derive
    ) -> RestoreOutcome:
        now = self._now_us()
        with self._write() as conn:
            cp = self._find_checkpoint(conn, owner, checkpoint_id)
            row = self._lock_writable(conn, owner, cp.session_id)
            k, n = cp.at_seq, row.message_count
            if k >= n:
                return RestoreOutcome(self._session(row), None, 0)
            spec = derive(
                self._session(row), k, checkpoint_from_row(cp, row.id, self.codec, self._row_key(row))
            )
            branch_pk = self._keep_aside(conn, row, k, branch_id, spec, now)
            restored = self._session(self._row_by_pk(conn, row.pk))
            branch = self._session(self._row_by_pk(conn, branch_pk))
        return RestoreOutcome(restored, branch, n - k)

    # -- regenerate / edit ------------------------------------------------------------------

    async def branch_off(
        self, owner: str, session_id: str, seq: int | None, role: str, branch_id: str, derive: Derive
    ) -> RestoreOutcome:
        """Keep messages ``seq..n`` aside as a branch; ``seq`` must be a ``role`` message
        (None: the last one of that role). The session then ends at ``seq - 1``."""
        return await self._run(self._branch_off, owner, session_id, seq, role, branch_id, derive)

    def _branch_off(
        self, owner: str, session_id: str, seq: int | None, role: str, branch_id: str, derive: Derive
    ) -> RestoreOutcome:
        now = self._now_us()
        with self._write() as conn:
            row = self._lock_writable(conn, owner, session_id)
            n = row.message_count
            segs = self._segments(conn, row)
            if seq is None:
                seq = self._last_of_role(conn, segs, role)
                if seq is None:
                    raise InvalidInput(f"session {session_id} has no {role} message")
            if not 1 <= seq <= n:
                raise InvalidInput(f"session {session_id} has no message #{seq} (its messages are 1..{n})")
            found = conn.execute(
                select(messages.c.role).where(
                    messages.c.session_pk == holder_of(segs, seq), messages.c.seq == seq
                )
            ).scalar_one()
            if found != role:
                raise InvalidInput(f"message #{seq} has role {found}, not {role}")
            spec = derive(self._session(row), seq - 1, None)
            branch_pk = self._keep_aside(conn, row, seq - 1, branch_id, spec, now)
            session = self._session(self._row_by_pk(conn, row.pk))
            branch = self._session(self._row_by_pk(conn, branch_pk))
        return RestoreOutcome(session, branch, n - seq + 1)

    def _last_of_role(self, conn: Connection, segs: Segments, role: str) -> int | None:
        for pk, first, last in segs:
            if first > last:
                continue
            found = conn.execute(
                select(func.max(messages.c.seq)).where(
                    messages.c.session_pk == pk,
                    messages.c.seq >= first,
                    messages.c.seq <= last,
                    messages.c.role == role,
                )
            ).scalar()
            if found is not None:
                return int(found)
        return None

    # -- listing ----------------------------------------------------------------------------

    async def branches(self, owner: str, session_id: str) -> list[Branch]:
        """The alternatives forking off the session's visible history, oldest first."""
        return await self._run(self._branches, owner, session_id)

    def _branches(self, owner: str, session_id: str) -> list[Branch]:
        with self._read() as conn:
            row = self._find_session(conn, owner, session_id)
            segs = self._segments(conn, row)
            candidates = conn.execute(
                select(sessions)
                .where(sessions.c.branch_of_pk == row.pk, sessions.c.owner == owner)
                .order_by(sessions.c.created_at, sessions.c.pk)
            ).all()
            # (at_seq, pk holding the branch's row there) -> (preference, branch row)
            groups: dict[tuple[int, int], tuple[int, Row[Any]]] = {}
            for c in candidates:
                csegs = self._segments(conn, c)
                j = common_prefix(segs, csegs)
                if j >= c.message_count:
                    continue  # nothing of its own after the shared part
                holder = holder_of(csegs, j + 1)
                rank = 0 if c.pk == holder else 1 if c.base_seq == j else 2
                slot = (j + 1, holder)
                if slot not in groups or rank < groups[slot][0]:
                    groups[slot] = (rank, c)
            out: list[Branch] = []
            for (at, holder), (_, c) in groups.items():
                r = conn.execute(
                    select(messages.c.id, messages.c.role, messages.c.content, messages.c.created_at).where(
                        messages.c.session_pk == holder, messages.c.seq == at
                    )
                ).one()
                content = self.codec.open_content(self._key_of(conn, holder), r.id, at, r.content)
                created = from_us(r.created_at)
                assert created is not None
                out.append(Branch(at, c.id, make_preview(content), c.message_count, created, r.id, r.role))
        out.sort(key=lambda b: (b.created_at, b.at_seq))
        return out

    # -- switching --------------------------------------------------------------------------

    async def switch_branch(
        self, owner: str, session_id: str, branch_id: str, kept_id: str, derive: Derive
    ) -> RestoreOutcome:
        """Make branch ``branch_id`` the session's continuation; the current one is kept aside
        in a new branch ``kept_id`` (``RestoreOutcome.branch``; None when nothing followed)."""
        return await self._run(self._switch_branch, owner, session_id, branch_id, kept_id, derive)

    def _switch_branch(
        self, owner: str, session_id: str, branch_id: str, kept_id: str, derive: Derive
    ) -> RestoreOutcome:
        now = self._now_us()
        with self._write() as conn:
            row = self._lock_writable(conn, owner, session_id)
            b = conn.execute(
                select(sessions).where(
                    sessions.c.id == branch_id,
                    sessions.c.owner == owner,
                    sessions.c.branch_of_pk == row.pk,
                )
            ).first()
            if b is None:
                raise NotFound(f"session {session_id} has no branch {branch_id}")
            bsegs = self._segments(conn, b)
            j = common_prefix(self._segments(conn, row), bsegs)
            m = b.message_count
            if j >= m:
                raise Conflict(f"branch {branch_id} has nothing after message #{j} to switch to")
            takes_base = b.base_seq > j
            if takes_base and j > row.base_seq:
                raise Conflict(
                    f"branch {branch_id} reads its messages after #{j} from another session; fork it instead"
                )
            tail = self._totals(conn, bsegs, j + 1, m).values()
            kept = None
            if row.message_count > j:
                spec = derive(self._session(row), j, None)
                kept = self._keep_aside(conn, row, j, kept_id, spec, now)
            values: dict[str, Any] = {"message_count": m, "updated_at": now}
            if takes_base:
                values["base_session_pk"], values["base_seq"] = b.base_session_pk, b.base_seq
                self._move_messages(conn, b.pk, row.pk)
            else:
                self._move_messages(conn, b.pk, row.pk, messages.c.seq > j)
            for name, value in tail.items():
                values[name] = getattr(sessions.c, name) + value
            conn.execute(update(sessions).where(sessions.c.pk == row.pk).values(**values))
            conn.execute(
                update(sessions)
                .where(sessions.c.base_session_pk == b.pk, sessions.c.base_seq > j)
                .values(base_session_pk=row.pk)
            )
            self._move_checkpoints(conn, b.pk, row.pk, checkpoints.c.at_seq > j)
            self._refresh_listing(conn, row.pk, self._row_key(row), m, row.activity_at)
            deleted = self._settle(conn, b, row.pk, j, tail, now)
            session = self._session(self._row_by_pk(conn, row.pk))
            branch = None if kept is None else self._session(self._row_by_pk(conn, kept))
        if deleted:
            self.codec.forget(b.id)
        return RestoreOutcome(session, branch, m - j)

    def _settle(
        self, conn: Connection, b: Row[Any], into: int, j: int, tail: dict[str, int], now: int
    ) -> bool:
        """After a switch took ``b``'s rows after ``j``: delete ``b`` (True) when nothing of it
        is left that anyone reads (its remaining checkpoints go to ``into``), else leave it the
        shared prefix ``1..j``, no longer a branch (False)."""
        reader = conn.execute(
            select(sessions.c.pk).where(sessions.c.base_session_pk == b.pk).limit(1)
        ).first()
        own = conn.execute(select(messages.c.pk).where(messages.c.session_pk == b.pk).limit(1)).first()
        if reader is None and own is None:
            self._move_checkpoints(conn, b.pk, into)
            self._orphan_branches(conn, b.pk)
            conn.execute(delete(sessions).where(sessions.c.pk == b.pk))
            return True
        values: dict[str, Any] = {"message_count": j, "updated_at": now, "branch_of_pk": None}
        if b.base_seq > j:
            values["base_session_pk"], values["base_seq"] = self._base_for(conn, b.base_session_pk, j)
        for name, value in tail.items():
            values[name] = getattr(sessions.c, name) - value
        conn.execute(update(sessions).where(sessions.c.pk == b.pk).values(**values))
        self._refresh_listing(conn, b.pk, self._row_key(b), j, None)
        return False
