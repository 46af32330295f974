"""SQL for context windows and summaries (``ContextSQLMixin``, part of ``SQLStore``).

- The newest messages are read newest-first in keyset pages (64 rows, then 256) over the
  fork segments (``_segments``), lazily, inside one read transaction: the pure builder
  stops pulling when the window is full, so a build touches O(window) rows.
- System and important messages come from the partial index ``ix_messages_keep``
  (``context_keep`` is set at append time: 1 for ``role == "system"`` or a truthy
  ``metadata.important``), at most ``KEEP_LIMIT`` of them, newest kept.
- ``messages.token_count`` caches a message's count packed with its counter's tag
  (``context_base.pack_count``); counts made during a build are saved in one short write
  transaction afterwards (a failure there is ignored: it is only a cache).
- A summary is valid while the message at ``covers_until_seq`` is still the one it was
  written against (``covers_until_id``): after a clear, or a restore followed by new
  messages, stale summaries are ignored (and replaced by the next save).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

from sqlalchemy import Connection, Row, bindparam, delete, insert, select, text, update

from ..errors import InvalidInput
from ..model import Message, SummaryRecord
from ._rows import MESSAGE_COLUMNS, from_us, message_from_columns, sqlite_cursor
from .codec import PlainCodec, RowKey
from .context_base import ContextSource, NewSummary
from .crypto_sql import CryptoSQLMixin
from .schema import messages, summaries

T = TypeVar("T")

FIRST_PAGE = 64
PAGE = 256
KEEP_LIMIT = 500
"""At most this many system + important messages are offered to a build (the newest)."""


# Hot statements, written once. Rows come back as tuples in this column order (the latest-N
# order of messages_sql.py plus token_count), decoded by position.
_COLUMNS = (
    "id, seq, role, content, parts, status, input_tokens, output_tokens, metadata, created_at, token_count"
)
_NEWEST = (
    f"SELECT {_COLUMNS} FROM messages WHERE session_pk = :pk AND seq >= :lo AND seq <= :hi "
    "ORDER BY seq DESC LIMIT :n"
)
_KEPT = (  # the partial index ix_messages_keep
    f"SELECT {_COLUMNS} FROM messages WHERE session_pk = :pk AND context_keep IS NOT NULL "
    "AND seq >= :lo AND seq <= :hi ORDER BY seq DESC LIMIT :n"
)
_TEXT = {sql: text(sql) for sql in (_NEWEST, _KEPT)}
_SUMMARIES = (
    select(summaries)
    .where(summaries.c.session_pk == bindparam("pk"), summaries.c.covers_until_seq <= bindparam("last"))
    .order_by(summaries.c.covers_until_seq.desc())
    .limit(4)
)
_ID_AT = select(messages.c.id).where(
    messages.c.session_pk == bindparam("pk"), messages.c.seq == bindparam("seq")
)


def _summary(r: Row[Any], session_id: str, codec: PlainCodec, key: RowKey) -> SummaryRecord:
    return SummaryRecord(
        id=r.id,
        session_id=session_id,
        covers_until_seq=r.covers_until_seq,
        text=codec.open_summary(key, r.id, r.text),
        method=r.method,
        token_count=r.token_count,
        created_at=from_us(r.created_at),
    )


class ContextSQLMixin(CryptoSQLMixin):
    """Context reads and summary writes for ``SQLStore``."""

    _context_rows = 0  # message rows read by context builds (``rows_fetched``); set per store on first use

    # -- helpers (inside a transaction) -----------------------------------------------------

    def _count_rows(self, n: int) -> None:
        self._context_rows += n

    def rows_fetched(self) -> int:
        """Message rows read by context builds and ranges so far (for tests and benchmarks)."""
        return self._context_rows

    def _id_at(self, conn: Connection, segs: Sequence[tuple[int, int, int]], seq: int) -> str | None:
        for pk, first, last in segs:
            if first <= seq <= last:
                found = conn.execute(_ID_AT, {"pk": pk, "seq": seq}).scalar()
                return None if found is None else str(found)
        return None

    def _valid_summary(
        self, conn: Connection, row: Row[Any], segs: Sequence[tuple[int, int, int]]
    ) -> SummaryRecord | None:
        """The latest summary whose anchor message is still in the session's history."""
        candidates: list[Row[Any]] = []
        for pk, _first, last in segs:
            candidates.extend(conn.execute(_SUMMARIES, {"pk": pk, "last": last}).all())
        candidates.sort(key=lambda r: r.covers_until_seq, reverse=True)
        for r in candidates:
            if (
                r.covers_until_id is not None
                and self._id_at(conn, segs, r.covers_until_seq) == r.covers_until_id
            ):
                return _summary(r, row.id, self.codec, self._key_of(conn, r.session_pk))
        return None

    def _rows(self, conn: Connection, sql: str, params: dict[str, int]) -> list[tuple[Any, ...]]:
        if self.dialect == "sqlite":  # the driver cursor of this transaction (see messages_sql.py)
            return sqlite_cursor(conn).execute(sql, params).fetchall()
        return [tuple(r) for r in conn.execute(_TEXT[sql], params)]

    def _decode(self, r: tuple[Any, ...], session_id: str, key: RowKey) -> Message:
        """A row of ``_COLUMNS`` as a Message (decrypted when the store is encrypted)."""
        mid, seq, role, content, parts, status, in_tok, out_tok, meta, created, _count = r
        if self.codec.encrypted:
            content, parts, meta = self.codec.open_message_columns(key, mid, seq, content, parts, meta)
        return message_from_columns(
            (mid, seq, role, content, parts, status, in_tok, out_tok, meta, created), session_id
        )

    def _newest(
        self, conn: Connection, source: ContextSource, segs: Sequence[tuple[int, int, int]], session_id: str
    ) -> Iterator[Message]:
        size = FIRST_PAGE
        for pk, first, last in segs:
            key = self._key_of(conn, pk)
            hi = last
            while hi >= first:
                rows = self._rows(conn, _NEWEST, {"pk": pk, "lo": first, "hi": hi, "n": size})
                source.rows_read += len(rows)
                self._count_rows(len(rows))
                if not rows:
                    break
                for r in rows:
                    source.stored[r[0]] = r[10]
                    source.located[r[0]] = (pk, r[1])
                    yield self._decode(r, session_id, key)
                hi = rows[-1][1] - 1
                size = PAGE

    def _kept(
        self, conn: Connection, source: ContextSource, segs: Sequence[tuple[int, int, int]], session_id: str
    ) -> list[Message]:
        found: list[tuple[int, tuple[Any, ...]]] = []
        for pk, first, last in segs:
            if len(found) >= KEEP_LIMIT:
                break
            params = {"pk": pk, "lo": first, "hi": last, "n": KEEP_LIMIT - len(found)}
            found.extend((pk, r) for r in self._rows(conn, _KEPT, params))
        self._count_rows(len(found))
        out = []
        keys = self._keys_of(conn, sorted({pk for pk, _r in found})) if found else {}
        for pk, r in reversed(found):
            source.stored[r[0]] = r[10]
            source.located[r[0]] = (pk, r[1])
            out.append(self._decode(r, session_id, keys[pk]))
        return out

    # -- reads ------------------------------------------------------------------------------

    async def read_context(self, owner: str, session_id: str, consume: Callable[[ContextSource], T]) -> T:
        return await self._run(self._read_context, owner, session_id, consume)

    def _read_context(self, owner: str, session_id: str, consume: Callable[[ContextSource], T]) -> T:
        with self._read() as conn:
            row = self._find_session(conn, owner, session_id)
            segs = self._segments(conn, row)
            source = ContextSource(
                session=self._session(row),
                first_seq=1,
                last_seq=row.message_count,
                summary=self._valid_summary(conn, row, segs),
                system=[],
                important=[],
                newest=iter(()),
            )
            kept = self._kept(conn, source, segs, session_id)
            source.system = [m for m in kept if m.role == "system"]
            source.important = [m for m in kept if m.role != "system"]
            source.newest = self._newest(conn, source, segs, session_id)
            result = consume(source)
        if source.fresh:
            self._save_counts(row.pk, segs, source)
        return result

    def _save_counts(self, own_pk: int, segs: Sequence[tuple[int, int, int]], source: ContextSource) -> None:
        """Write the counts made during a build into ``messages.token_count`` (best effort)."""
        from sqlalchemy.exc import SQLAlchemyError

        rows = [
            {"k": source.located[mid][0], "s": source.located[mid][1], "tc": tc}
            for mid, tc in source.fresh.items()
            if mid in source.located
        ]
        try:
            with self._write() as conn:  # by (session_pk, seq): the unique index
                conn.execute(
                    update(messages)
                    .where(messages.c.session_pk == bindparam("k"), messages.c.seq == bindparam("s"))
                    .values(token_count=bindparam("tc")),
                    rows,
                )
        except SQLAlchemyError:
            pass  # only a cache; the next build counts again

    async def message_range(
        self, owner: str, session_id: str, from_seq: int, until_seq: int, limit: int
    ) -> list[Message]:
        return await self._run(self._message_range, owner, session_id, from_seq, until_seq, limit)

    def _message_range(
        self, owner: str, session_id: str, from_seq: int, until_seq: int, limit: int
    ) -> list[Message]:
        found: list[tuple[int, Row[Any]]] = []
        with self._read() as conn:
            row = self._find_session(conn, owner, session_id)
            segs = self._segments(conn, row)
            keys = self._keys_of(conn, [pk for pk, _f, _l in segs], row)
            for pk, first, last in segs:
                lo, hi = max(first, from_seq), min(last, until_seq)
                if lo > hi or len(found) >= limit:
                    continue
                found.extend(
                    (pk, r)
                    for r in conn.execute(
                        select(*MESSAGE_COLUMNS)
                        .where(messages.c.session_pk == pk, messages.c.seq >= lo, messages.c.seq <= hi)
                        .order_by(messages.c.seq.desc())
                        .limit(limit - len(found))
                    ).all()
                )
        self._count_rows(len(found))
        return [self.codec.message(r, session_id, keys[pk]) for pk, r in reversed(found)]

    async def latest_summary(self, owner: str, session_id: str) -> SummaryRecord | None:
        return await self._run(self._latest_summary, owner, session_id)

    def _latest_summary(self, owner: str, session_id: str) -> SummaryRecord | None:
        with self._read() as conn:
            row = self._find_session(conn, owner, session_id)
            return self._valid_summary(conn, row, self._segments(conn, row))

    async def list_summaries(self, owner: str, session_id: str) -> list[SummaryRecord]:
        return await self._run(self._list_summaries, owner, session_id)

    def _list_summaries(self, owner: str, session_id: str) -> list[SummaryRecord]:
        with self._read() as conn:
            row = self._find_session(conn, owner, session_id)
            rows = conn.execute(
                select(summaries)
                .where(summaries.c.session_pk == row.pk)
                .order_by(summaries.c.covers_until_seq)
            ).all()
        key = self._row_key(row)
        return [_summary(r, session_id, self.codec, key) for r in rows]

    # -- writes -----------------------------------------------------------------------------

    async def save_summary(
        self, owner: str, session_id: str, new: NewSummary, expect_previous: int
    ) -> tuple[SummaryRecord | None, bool]:
        return await self._run(self._save_summary, owner, session_id, new, expect_previous)

    def _save_summary(
        self, owner: str, session_id: str, new: NewSummary, expect_previous: int
    ) -> tuple[SummaryRecord | None, bool]:
        with self._write() as conn:
            # The row lock (FOR UPDATE; BEGIN IMMEDIATE on SQLite) serialises compactions.
            row = self._lock_session(conn, owner, session_id)
            segs = self._segments(conn, row)
            latest = self._valid_summary(conn, row, segs)
            covered = latest.covers_until_seq if latest else 0
            if covered != expect_previous or new.covers_until_seq <= covered:
                return latest, False
            if new.covers_until_seq > row.message_count:
                raise InvalidInput(f"covers_until_seq {new.covers_until_seq} is beyond the last message")
            if self._id_at(conn, segs, new.covers_until_seq) != new.covers_until_id:
                return latest, False  # the history changed under the compaction
            # Rows at or past the new seq are stale (their anchor is gone): replace them.
            conn.execute(
                delete(summaries).where(
                    summaries.c.session_pk == row.pk, summaries.c.covers_until_seq >= new.covers_until_seq
                )
            )
            conn.execute(
                insert(summaries).values(
                    id=new.id,
                    session_pk=row.pk,
                    covers_until_seq=new.covers_until_seq,
                    covers_until_id=new.covers_until_id,
                    text=self.codec.seal_summary(self._row_key(row), new.id, new.text),
                    method=new.method,
                    token_count=new.token_count,
                    created_at=self._now_us(),
                )
            )
            saved = conn.execute(select(summaries).where(summaries.c.id == new.id)).one()
            return _summary(saved, session_id, self.codec, self._row_key(row)), True


__all__ = ["ContextSQLMixin"]
