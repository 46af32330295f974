"""Semantic search in the SQL store: message vectors written in the background, searched per owner.

- Embedding (``start_embedding``): a background thread finds messages without a vector
  (user and assistant messages, finished: not ``streaming``), embeds them in batches and
  stores them in ``message_vectors``, then waits for the next poll (``POLL_SECONDS``) or a
  ``kick``. Appends do not wait for it (they do not even know it); a backlog (an upgrade, an
  import, a restart) is caught up from the oldest message on. Database work runs on the
  store's worker threads, the model on the embedding thread. ``mark`` remembers how far every
  message is done, so an idle poll reads only the newest rows. While messages keep arriving,
  the thread works a quarter of the time (``BUSY_SHARE``), pausing after each batch for three
  times as long as it took, as PostgreSQL's autovacuum sleeps off its cost budget: the
  requests keep the cores, and a backlog with nothing new arriving is caught up at full speed.
- Search (``semantic_search``): the owner's ``OwnerIndex`` (semantic/vectors.py) loads the
  vectors written since its last look, gives the nearest message pks, and those are read
  back with the session filters of keyword search (and re-scored exactly from their stored
  vectors when the index only holds sign bits). A search first embeds a small backlog itself
  (``CATCH_UP``): a message appended a moment ago is found.
- Encrypted databases have no vectors (a vector tells what a text means): nothing is
  embedded and semantic search is refused by the hub.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, bindparam, insert, text

from ..snippets import highlight
from ._rows import session_from_row, sqlite_cursor
from .base import VectorHit, View
from .schema import message_vectors
from .search_sql import SearchSQLMixin, search_filters

POLL_SECONDS = 1.0
BATCH = 64
BACKGROUND_BATCH = 16  # short rounds: a search or an explicit catch-up waits less for the thread
# A search embeds the pending messages itself first when there are at most this many (a
# moment's appends: about 0.25 s of model time at most); a larger backlog (an import, a
# restart, a burst of appends) is the thread's, and a search does not pay for it.
CATCH_UP = 16
_CHUNK = 500
BUSY_SHARE = 0.25  # the thread's share of its time while messages keep arriving


class VectorSQLMixin(SearchSQLMixin):
    """Message vectors of ``SQLStore`` (see the module docstring)."""

    _embed_thread: threading.Thread | None = None
    _embed_stop: threading.Event | None = None
    _embed_kick: threading.Event | None = None
    _embed_lock: threading.Lock | None = None
    _embed_mark = 0
    _embed_top = 0  # the newest message pk seen by the last round
    _embedder: Any = None
    _owner_indexes: dict[str, Any] | None = None
    embedded_total = 0

    # -- embedding --------------------------------------------------------------------------

    def start_embedding(self, embedder: Any, *, background: bool = True) -> None:
        """Embed messages (never on an encrypted database) with ``embedder`` (``embed(texts) -> (n, d) unit vectors``), in a thread."""
        if self._embed_lock is not None:
            return
        self._embedder = embedder
        self._embed_lock = threading.Lock()
        self._owner_indexes = {}
        if not background:
            return
        self._embed_stop = threading.Event()
        self._embed_kick = threading.Event()
        self._embed_thread = threading.Thread(target=self._embed_loop, name="sessionhub-embed", daemon=True)
        self._embed_thread.start()

    @property
    def encrypted(self) -> bool:
        return bool(self.codec.encrypted)

    @property
    def embedding(self) -> bool:
        return self._embed_lock is not None

    def kick(self) -> None:
        """Wake the embedding thread now (new messages to embed)."""
        if self._embed_kick is not None:
            self._embed_kick.set()

    async def close(self) -> None:
        if self._embed_stop is not None and self._embed_thread is not None:
            self._embed_stop.set()
            if self._embed_kick is not None:
                self._embed_kick.set()
            self._embed_thread.join(timeout=5)  # a batch in flight is dropped (re-embedded next start)
        await super().close()

    def _embed_loop(self) -> None:
        assert self._embed_stop is not None and self._embed_kick is not None
        # A low CPU priority (nice 10) for this thread (Linux: a thread is a schedulable task), so
        # requests and appends keep the cores when both want them; the model releases the
        # GIL while it runs.
        with contextlib.suppress(AttributeError, OSError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
        while not self._embed_stop.is_set():
            seen = self._embed_top
            started = time.monotonic()
            try:
                done = self._embed_some(BACKGROUND_BATCH, self._submit)
            except Exception:  # the database went away or is closing: try again next poll
                done = 0
            if done == 0:
                self._embed_kick.wait(POLL_SECONDS)
                self._embed_kick.clear()
            elif self._embed_top > seen > 0:  # messages arrived since the last round: yield
                took = time.monotonic() - started
                self._embed_stop.wait(took * (1 - BUSY_SHARE) / BUSY_SHARE)

    def _submit(self, fn: Callable[..., Any], *args: Any) -> Any:
        return self._pool().submit(self._guarded, fn, *args).result()

    def _embed_some(self, n: int, call: Callable[..., Any], wait: bool = True, whole: bool = False) -> int:
        """Embed up to ``n`` pending messages; how many were embedded (0 without ``wait`` when
        busy, and 0 with ``whole`` when more than ``n`` are pending: that backlog is the thread's)."""
        assert self._embed_lock is not None
        # One embedding round at a time (thread and catch-up). A search does not wait for the
        # thread's round (``wait=False``): that round is embedding the same messages anyway.
        if not self._embed_lock.acquire(blocking=wait):
            return 0
        try:
            rows, mark, self._embed_top = call(self._pending, self._embed_mark, n + 1 if whole else n)
            if whole and len(rows) > n:
                return 0
            if rows:
                vectors = self._embedder.embed([r[1] for r in rows])
                call(self._save_vectors, [r[0] for r in rows], vectors)
                self.embedded_total += len(rows)
            self._embed_mark = mark
            return len(rows)
        finally:
            self._embed_lock.release()

    def _pending(self, mark: int, n: int) -> tuple[list[tuple[int, str]], int, int]:
        with self._read() as conn:
            top = conn.execute(text("SELECT max(pk) FROM messages")).scalar() or 0
            streaming = conn.execute(
                text("SELECT min(pk) FROM messages WHERE status = 'streaming' AND pk > :mark"), {"mark": mark}
            ).scalar()
            rows = conn.execute(
                text(
                    "SELECT m.pk, m.content FROM messages m WHERE m.pk > :mark AND m.pk <= :top "
                    "AND m.role IN ('user', 'assistant') AND m.status <> 'streaming' AND m.content <> '' "
                    "AND NOT EXISTS (SELECT 1 FROM message_vectors v WHERE v.message_pk = m.pk) "
                    "ORDER BY m.pk LIMIT :n"
                ),
                {"mark": mark, "top": top, "n": n},
            ).all()
        done_to = int(rows[-1][0]) if len(rows) == n else int(top)
        if streaming is not None:  # a reply still streaming is embedded once it ends
            done_to = min(done_to, int(streaming) - 1)
        return [(int(r[0]), str(r[1])) for r in rows], max(mark, done_to), int(top)

    def _save_vectors(self, pks: list[int], vectors: Any) -> None:
        from ..semantic.vectors import pack

        values = [
            {"message_pk": pk, "model": self._embedder.model_id, "vector": blob}
            for pk, blob in zip(pks, pack(vectors), strict=True)
        ]
        with self._write() as conn:
            stmt = insert(message_vectors)
            if self.dialect == "sqlite":
                stmt = stmt.prefix_with("OR IGNORE")
                conn.execute(stmt, values)
            else:
                from sqlalchemy.dialects.postgresql import insert as pg_insert

                conn.execute(pg_insert(message_vectors).on_conflict_do_nothing(), values)

    async def needs_embedding(self) -> bool:
        if self.encrypted:
            return False
        return bool(await self._run(self._has_pending))

    def _has_pending(self) -> bool:
        with self._read() as conn:
            return (
                conn.execute(
                    text(
                        "SELECT 1 FROM messages m WHERE m.role IN ('user', 'assistant') "
                        "AND m.status <> 'streaming' AND m.content <> '' "
                        "AND NOT EXISTS (SELECT 1 FROM message_vectors v WHERE v.message_pk = m.pk) LIMIT 1"
                    )
                ).first()
                is not None
            )

    async def embed_pending(self, limit: int | None = None, *, wait: bool = True) -> int:
        """Embed pending messages now (all of them, or up to ``limit``); how many were embedded."""
        if not self.embedding:
            return 0
        done = 0
        while limit is None or done < limit:
            step = BATCH if limit is None else min(BATCH, limit - done)
            n = await self._run_unlocked(self._embed_some, step, self._submit, wait)
            done += n
            if n < step:
                break
        return done

    async def _run_unlocked(self, fn: Callable[..., Any], *args: Any) -> Any:
        # Off the store's workers: the round hands its database work to them (``_submit``).
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, fn, *args)

    # -- search -----------------------------------------------------------------------------

    async def semantic_search(
        self, owner: str, query: str, limit: int, view: View, agent: str | None, channel: str | None,
        min_similarity: float, group: bool,
    ) -> list[VectorHit]:  # fmt: skip
        """The messages nearest in meaning to ``query`` (best first), above ``min_similarity``."""
        if self.embedding:  # a moment's appends are embedded here, a backlog is left to the thread
            await self._run_unlocked(self._embed_some, CATCH_UP, self._submit, False, True)
        vector = (await self._run_unlocked(self._embedder.embed, [query]))[0]
        return await self._run(
            self._semantic, owner, vector, limit, view, agent, channel, min_similarity, group
        )

    def _owner_index(self, conn: Connection, owner: str) -> Any:
        from ..semantic.vectors import OwnerIndex

        assert self._owner_indexes is not None
        index = self._owner_indexes.setdefault(owner, OwnerIndex())
        with index.lock:
            # Driven by the vectors' id (new since the last look), not by the owner's sessions:
            # SQLite's CROSS JOIN fixes that order; PostgreSQL plans it from the statistics.
            join = "CROSS JOIN" if self.dialect == "sqlite" else "JOIN"
            sql = (
                f"SELECT v.id, v.message_pk, v.vector FROM message_vectors v "
                f"{join} messages m ON m.pk = v.message_pk {join} sessions s ON s.pk = m.session_pk "
                "WHERE v.id > :last AND s.owner = :owner ORDER BY v.id"
            )
            args = {"owner": owner, "last": index.last_id}
            if self.dialect == "sqlite":  # the driver's rows: a million of them load in seconds
                rows: Any = sqlite_cursor(conn).execute(sql, args).fetchall()
            else:
                rows = [(r[0], r[1], bytes(r[2])) for r in conn.execute(text(sql), args)]
            index.add(rows)
        return index

    def _semantic(
        self, owner: str, vector: Any, limit: int, view: View, agent: str | None, channel: str | None,
        min_similarity: float, group: bool,
    ) -> list[VectorHit]:  # fmt: skip
        from ..semantic.vectors import cosine

        where = search_filters(view, agent, channel)
        want = limit * (20 if group else 4) + 20
        with self._read() as conn:
            index = self._owner_index(conn, owner)
            while True:
                with index.lock:
                    pks, scores = index.nearest(vector, want if index.exact else max(want * 4, 400))
                rows = self._rows_of(conn, pks, where, {"owner": owner, "agent": agent, "channel": channel})
                if len(rows) >= limit or len(pks) >= len(index) or want >= len(index):
                    break
                want *= 8  # the filters left too few: look further
        sims = dict(zip(pks, scores, strict=True)) if scores is not None else None
        if sims is None:
            exact = cosine(vector, [bytes(r.vector) for r in rows])
            sims = {int(r.message_pk): s for r, s in zip(rows, exact, strict=True)}
        ranked = sorted(
            (r for r in rows if sims[int(r.message_pk)] >= min_similarity),
            key=lambda r: sims[int(r.message_pk)],
            reverse=True,
        )
        hits: dict[Any, VectorHit] = {}
        out: list[VectorHit] = []
        for r in ranked:
            key = r.pk if group else r.message_pk
            seen = hits.get(key)
            if seen is not None:
                hits[key] = VectorHit(
                    seen.session, seen.message_id, seen.seq, seen.snippet, seen.similarity, seen.count + 1
                )
                continue
            hit = VectorHit(
                session_from_row(r),
                r.message_id,
                r.message_seq,
                highlight(r.content, ()),
                sims[int(r.message_pk)],
            )
            hits[key] = hit
        out = sorted(hits.values(), key=lambda h: h.similarity, reverse=True)
        return out[:limit]

    def _rows_of(self, conn: Connection, pks: list[int], where: str, params: dict[str, Any]) -> list[Any]:
        """The candidates' rows that pass the filters (messages first: SQLite's CROSS JOIN keeps that order)."""
        join = "CROSS JOIN" if self.dialect == "sqlite" else "JOIN"
        stmt = text(
            "SELECT s.*, m.pk AS message_pk, m.id AS message_id, m.seq AS message_seq, m.content, "
            f"v.vector FROM messages m {join} sessions s ON s.pk = m.session_pk "
            f"{join} message_vectors v ON v.message_pk = m.pk "
            f"WHERE m.pk IN :pks AND {where}"
        ).bindparams(bindparam("pks", expanding=True))
        rows: list[Any] = []
        for i in range(0, len(pks), _CHUNK):
            rows.extend(conn.execute(stmt, {**params, "pks": pks[i : i + _CHUNK]}).all())
        return rows


__all__ = ["CATCH_UP", "POLL_SECONDS", "VectorSQLMixin"]
