"""Full-text search in the SQL store: FTS5 on SQLite, tsvector on PostgreSQL, a blind index when encrypted.

Title matches weigh double; hits of both kinds are ranked together by score. On SQLite the best
message hits come from the FTS5 index alone when that is exact (``_sqlite_best_hits``). With
encryption on, the text is not searchable by the database: ``_blind_search`` intersects the
keyed tokens of ``search_terms`` (crypto_sql.py writes them) and checks the hits in memory.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Row, select, text

from ..crypto import normalise_terms
from ..model import Session
from ..snippets import make_snippet
from ._rows import session_from_row, sqlite_cursor
from .base import RawHit, View
from .crypto_sql import CryptoSQLMixin
from .schema import messages, sessions

PG_RANK_CANDIDATES = 1000
_MARK_OPEN, _MARK_CLOSE = "\x02", "\x03"
_CHUNK = 500
_SQLITE_FTS_BEST = (
    "SELECT rowid, bm25(messages_fts) AS score FROM messages_fts WHERE messages_fts MATCH :q "
    "ORDER BY score LIMIT :n"
)


def _mark_snippet(raw: str) -> str:
    """HTML-escape a snippet and turn the match markers into ``<mark>`` tags."""
    return html.escape(raw).replace(_MARK_OPEN, "<mark>").replace(_MARK_CLOSE, "</mark>")


class SearchSQLMixin(CryptoSQLMixin):
    """``search`` of ``SQLStore``."""

    # -- search -----------------------------------------------------------------------------

    async def search(
        self, owner: str, terms: Sequence[str], limit: int, view: View, agent: str | None, channel: str | None
    ) -> list[RawHit]:
        return await self._run(self._search, owner, list(terms), limit, view, agent, channel)

    def _search_filters(
        self, conn: Connection, owner: str, view: View, agent: str | None, channel: str | None
    ) -> str:
        parts = ["s.owner = :owner"]
        if view == "active":
            parts.append("s.status = 'active'")
        elif view == "archived":
            parts.append("s.status = 'archived'")
        elif view == "scheduled":
            parts.append("s.source = 'scheduled'")
        if agent:
            parts.append("s.agent = :agent")
        if channel:
            parts.append("s.channel = :channel")
        return " AND ".join(parts)

    def _search(
        self, owner: str, terms: list[str], limit: int, view: View, agent: str | None, channel: str | None
    ) -> list[RawHit]:
        if self.codec.encrypted:
            return self._blind_search(owner, terms, limit, view, agent, channel)
        params: dict[str, Any] = {"owner": owner, "agent": agent, "channel": channel, "limit": limit}
        with self._read() as conn:
            where = self._search_filters(conn, owner, view, agent, channel)
            if self.dialect == "sqlite":
                params["q"] = " ".join('"' + t.replace('"', '""') + '"' for t in terms)
                params["mo"], params["mc"] = _MARK_OPEN, _MARK_CLOSE
                title_sql = (
                    "SELECT s.*, highlight(sessions_fts, 0, :mo, :mc) AS snip, bm25(sessions_fts) AS score "
                    f"FROM sessions_fts JOIN sessions s ON s.pk = sessions_fts.rowid "
                    f"WHERE sessions_fts MATCH :q AND {where} ORDER BY bm25(sessions_fts) LIMIT :limit"
                )
                msg_sql = (
                    "SELECT s.*, m.id AS message_id, m.seq AS message_seq, "
                    "snippet(messages_fts, 0, :mo, :mc, '…', 16) AS snip, bm25(messages_fts) AS score "
                    "FROM messages_fts JOIN messages m ON m.pk = messages_fts.rowid "
                    "JOIN sessions s ON s.pk = m.session_pk "
                    f"WHERE messages_fts MATCH :q AND {where} ORDER BY bm25(messages_fts) LIMIT :limit"
                )
            else:
                params["q"] = " ".join(terms)
                title_sql = (
                    "SELECT s.*, s.title AS snip_text, "
                    "-ts_rank(to_tsvector('simple', s.title), plainto_tsquery('simple', :q)) AS score "
                    "FROM sessions s WHERE to_tsvector('simple', s.title) @@ plainto_tsquery('simple', :q) "
                    f"AND left(s.title, 5) <> 'enc1:' AND {where} ORDER BY score LIMIT :limit"
                )
                # The full-text match runs once (a MATERIALIZED CTE: the plan must not repeat the
                # GIN scan per session when statistics are stale), and ts_rank, which re-parses
                # each text, ranks only the newest PG_RANK_CANDIDATES matches: bounded cost for
                # very common words (docs/operations.md).
                params["candidates"] = PG_RANK_CANDIDATES
                msg_sql = (
                    "WITH hits AS MATERIALIZED (SELECT m.pk, m.session_pk FROM messages m "
                    "WHERE to_tsvector('simple', m.content) @@ plainto_tsquery('simple', :q) "
                    "AND left(m.content, 5) <> 'enc1:'), "
                    "cand AS (SELECT h.pk FROM hits h JOIN sessions s ON s.pk = h.session_pk "
                    f"WHERE {where} ORDER BY h.pk DESC LIMIT :candidates) "
                    "SELECT s.*, m.id AS message_id, m.seq AS message_seq, m.content AS snip_text, "
                    "-ts_rank(to_tsvector('simple', m.content), plainto_tsquery('simple', :q)) AS score "
                    "FROM cand c JOIN messages m ON m.pk = c.pk JOIN sessions s ON s.pk = m.session_pk "
                    "ORDER BY score LIMIT :limit"
                )
            title_rows = conn.execute(text(title_sql), params).all()
            best = self._sqlite_best_hits(conn, where, params, terms) if self.dialect == "sqlite" else None
            msg_rows = conn.execute(text(msg_sql), params).all() if best is None else []

        def snip(r: Row[Any]) -> str:
            if self.dialect == "sqlite":
                return _mark_snippet(r.snip)
            return make_snippet(r.snip_text, terms)

        # Title matches weigh double (a field boost); then one ranking by score, best first.
        hits = [RawHit(session_from_row(r), None, None, snip(r), -2.0 * float(r.score)) for r in title_rows]
        hits.extend(
            RawHit(session_from_row(r), r.message_id, r.message_seq, snip(r), -float(r.score))
            for r in msg_rows
        )
        hits.extend(best or ())
        hits.sort(key=lambda h: h.score, reverse=True)
        return hits[:limit]

    def _sqlite_best_hits(
        self, conn: Connection, where: str, params: dict[str, Any], terms: list[str]
    ) -> list[RawHit] | None:
        """The best message hits from the FTS5 index alone, then filtered; None if unsure.

        Ranking every match by bm25 is cheap inside FTS5; joining every match to its message and
        session row to apply the owner/view filters is not. So take the best ``4 × limit``
        matches from the index, keep those the filters allow, and make snippets for those only.
        When fewer than ``limit`` pass although the index had more matches, the page may be
        missing hits further down: the caller then runs the exact query.
        """
        limit = int(params["limit"])
        fetch = 4 * limit
        cur = sqlite_cursor(conn)
        top = cur.execute(_SQLITE_FTS_BEST, {"q": params["q"], "n": fetch}).fetchall()
        if not top:
            return []
        score_of = dict(top)
        marks = ", ".join(f":p{i}" for i in range(len(top)))
        args = {**params, **{f"p{i}": pk for i, (pk, _score) in enumerate(top)}}
        rows = conn.execute(
            text(
                "SELECT s.*, m.pk AS message_pk, m.id AS message_id, m.seq AS message_seq, "
                "m.content AS snip_text FROM messages m CROSS JOIN sessions s ON s.pk = m.session_pk "
                f"WHERE m.pk IN ({marks}) AND {where}"
            ),
            args,
        ).all()
        if len(rows) < limit and len(top) == fetch:
            return None
        return [
            RawHit(
                session_from_row(r),
                r.message_id,
                r.message_seq,
                make_snippet(r.snip_text, terms),
                -float(score_of[r.message_pk]),
            )
            for r in sorted(rows, key=lambda r: score_of[r.message_pk])[:limit]
        ]

    def _blind_search(
        self, owner: str, terms: list[str], limit: int, view: View, agent: str | None, channel: str | None
    ) -> list[RawHit]:
        """Whole-word AND search through ``search_terms``; hits decrypted and checked in memory."""
        query = " ".join(terms)
        tokens = self.codec.query_tokens(query)
        wanted = normalise_terms(query)
        if not tokens:
            return []
        params: dict[str, Any] = {"owner": owner, "agent": agent, "channel": channel}
        params.update({f"t{i}": t for i, t in enumerate(tokens)})
        # The (session, message) pairs holding every token: an INTERSECT of one covering
        # index range per token (NULL message_pk, a title, matches NULL there), so only the
        # matches are joined to their sessions, not every posting of every query word.
        hit_sql = " INTERSECT ".join(
            f"SELECT session_pk, message_pk FROM search_terms WHERE token = :t{i}" for i in range(len(tokens))
        )
        hits: list[RawHit] = []
        with self._read() as conn:
            where = self._search_filters(conn, owner, view, agent, channel)
            # Newest first: recency is the ranking within each kind (titles, then messages).
            found = conn.execute(
                text(
                    f"WITH hit AS ({hit_sql}) "
                    "SELECT st.session_pk AS spk, st.message_pk AS mpk FROM hit st "
                    "JOIN sessions s ON s.pk = st.session_pk "
                    f"WHERE {where} "
                    "ORDER BY (st.message_pk IS NULL) DESC, s.activity_at DESC, st.message_pk DESC "
                    "LIMIT :limit"
                ),
                {**params, "limit": limit * 2 + 10},
            ).all()
            session_rows: dict[int, Any] = {}
            spks = sorted({r.spk for r in found})
            for i in range(0, len(spks), _CHUNK):
                for row in conn.execute(
                    select(sessions).where(sessions.c.pk.in_(spks[i : i + _CHUNK]))
                ).all():
                    session_rows[row.pk] = row
            msg_pks = [r.mpk for r in found if r.mpk is not None]
            msg_rows: dict[int, Any] = {}
            for i in range(0, len(msg_pks), _CHUNK):
                for row in conn.execute(
                    select(
                        messages.c.pk,
                        messages.c.id,
                        messages.c.seq,
                        messages.c.content,
                        messages.c.session_pk,
                    ).where(messages.c.pk.in_(msg_pks[i : i + _CHUNK]))
                ).all():
                    msg_rows[row.pk] = row
        sessions_by_pk: dict[int, Session] = {}

        def session_of(spk: int) -> Session:  # decrypted only for sessions that are shown
            s = sessions_by_pk.get(spk)
            if s is None:
                s = sessions_by_pk[spk] = self._session(session_rows[spk])
            return s

        # ``found`` is in score order (titles, then messages, newest first), so the first
        # ``limit`` candidates that pass the check are the answer: decrypt and snippet no more.
        n = len(found)
        for rank, r in enumerate(found):
            if len(hits) >= limit:
                break
            recency = (n - rank) / (n + 1)  # in (0, 1): keeps the order found
            if r.mpk is None:
                s = session_of(r.spk)
                if _has_all(s.title, wanted):
                    hits.append(RawHit(s, None, None, make_snippet(s.title, terms), 2.0 + recency))
                continue
            mr = msg_rows.get(r.mpk)
            if mr is None:
                continue
            content = self.codec.open_content(self._row_key(session_rows[r.spk]), mr.id, mr.seq, mr.content)
            if _has_all(content, wanted):  # a 64-bit token collision is possible, never shown
                hits.append(
                    RawHit(session_of(r.spk), mr.id, mr.seq, make_snippet(content, terms), 1.0 + recency)
                )
        hits.sort(key=lambda h: h.score, reverse=True)
        return hits[:limit]


def _has_all(value: str, wanted: Sequence[str]) -> bool:
    have = set(normalise_terms(value))
    return all(w in have for w in wanted)
