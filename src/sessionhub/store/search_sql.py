"""Keyword search in the SQL store: FTS5 on SQLite, tsvector on PostgreSQL, a blind index when encrypted.

Every query term must match (AND); the last word also matches as a prefix, and runs of
Chinese, Japanese, Korean, Thai, Lao, Khmer or Burmese match as substrings (``search_match.py``
builds the SQL of each index). Title matches weigh double; hits of both kinds are ranked
together by score. On SQLite the best message hits come from the indexes alone when that is
exact (``_sqlite_best_hits``). ``group=True`` answers one hit per session (its best) with the
session's number of hits. With encryption on, the text is not searchable by the database:
``_blind_search`` intersects the keyed tokens of ``search_terms`` (and, for messages on
SQLite, matches them in ``message_tokens``; crypto_sql.py writes both) and checks the hits
in memory (whole words only: no prefix).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Row, select, text

from ..crypto import normalise_terms
from ..model import Session
from ..searchquery import Query
from ..snippets import highlight
from ._rows import session_from_row, sqlite_cursor
from .base import RawHit, View
from .crypto_sql import CryptoSQLMixin
from .schema import messages, sessions
from .search_match import Match, build_postgres, build_sqlite

PG_RANK_CANDIDATES = 1000
_CHUNK = 500


class _Row(dict[str, Any]):
    """A result row read through the driver's cursor, by key and by attribute like SQLAlchemy's."""

    __slots__ = ()

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


def search_filters(view: View, agent: str | None, channel: str | None) -> str:
    """The WHERE clause on ``s`` (sessions) of an owner's search; binds ``:owner :agent :channel``."""
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


class SearchSQLMixin(CryptoSQLMixin):
    """``search`` of ``SQLStore``."""

    async def search(
        self,
        owner: str,
        query: Query,
        limit: int,
        view: View,
        agent: str | None,
        channel: str | None,
        group: bool = False,
    ) -> list[RawHit]:
        return await self._run(self._search, owner, query, limit, view, agent, channel, group)

    def _search(
        self,
        owner: str,
        query: Query,
        limit: int,
        view: View,
        agent: str | None,
        channel: str | None,
        group: bool,
    ) -> list[RawHit]:
        if self.codec.encrypted:
            return self._blind_search(owner, query, limit, view, agent, channel, group)
        params: dict[str, Any] = {"owner": owner, "agent": agent, "channel": channel, "limit": limit}
        where = search_filters(view, agent, channel)
        with self._read() as conn:
            match = build_sqlite(conn, query) if self.dialect == "sqlite" else build_postgres(query)
            if match is None:
                return []
            params.update(match.params)
            title_rows = conn.execute(
                text(
                    f"SELECT s.*, s.title AS snip_text, {match.title_score} AS score FROM {match.title_from} "
                    f"WHERE {where} AND {match.title} ORDER BY score LIMIT :limit"
                ),
                params,
            ).all()
            scored: list[tuple[Any, float, int]] | None
            if group:
                rows = self._grouped_hits(conn, match, where, params)
                scored = [(r, float(r.score), int(r.hit_count)) for r in rows]
            else:
                scored = (
                    self._sqlite_best_hits(conn, match, where, params) if self.dialect == "sqlite" else None
                )
                if scored is None:
                    sql = (
                        self._sqlite_exact(match, where)
                        if self.dialect == "sqlite"
                        else self._pg_ranked(match, where)
                    )
                    scored = [(r, float(r.score), 1) for r in conn.execute(text(sql), params).all()]

        def snip(value: str) -> str:
            return highlight(value, query.exact_words, query.prefix, query.grams)

        # Title matches weigh double (a field boost); then one ranking by score, best first.
        by_session: dict[str, RawHit] = {}
        hits = [
            RawHit(session_from_row(r), None, None, snip(r.snip_text), -2.0 * float(r.score))
            for r in title_rows
        ]
        hits.extend(
            RawHit(session_from_row(r), r.message_id, r.message_seq, snip(r.snip_text), -score, count)
            for r, score, count in scored
        )
        if group:
            for h in hits:
                seen = by_session.get(h.session.id)
                if seen is None:
                    by_session[h.session.id] = h
                    continue
                # One title hit and one (best) message hit per session: the message is shown
                # (a place to jump to) with the better of the two scores, and the count is of
                # message hits (a session found by its title alone has count 1).
                msg = h if h.message_id is not None else seen
                by_session[h.session.id] = RawHit(
                    msg.session, msg.message_id, msg.seq, msg.snippet, max(h.score, seen.score), msg.count
                )
            hits = list(by_session.values())
        hits.sort(key=lambda h: h.score, reverse=True)
        return hits[:limit]

    # -- message hits -----------------------------------------------------------------------

    def _sqlite_exact(self, match: Match, where: str) -> str:
        return (
            f"WITH hits AS ({match.source}) "
            "SELECT s.*, m.id AS message_id, m.seq AS message_seq, m.content AS snip_text, h.score AS score "
            "FROM hits h JOIN messages m ON m.pk = h.pk JOIN sessions s ON s.pk = m.session_pk "
            f"WHERE {where} AND {match.verify} ORDER BY h.score LIMIT :limit"
        )

    def _pg_ranked(self, match: Match, where: str) -> str:
        # The full-text match runs once (a MATERIALIZED CTE: the plan must not repeat the GIN
        # scan per session when statistics are stale), and ts_rank, which re-parses each text,
        # ranks only the newest PG_RANK_CANDIDATES matches: bounded cost for very common words
        # (docs/operations.md).
        return (
            "WITH hits AS MATERIALIZED (SELECT m.pk, m.session_pk FROM messages m "
            f"WHERE {match.source} AND {match.verify}), "
            "cand AS (SELECT h.pk FROM hits h JOIN sessions s ON s.pk = h.session_pk "
            f"WHERE {where} ORDER BY h.pk DESC LIMIT {PG_RANK_CANDIDATES}) "
            "SELECT s.*, m.id AS message_id, m.seq AS message_seq, m.content AS snip_text, "
            f"{match.score} AS score "
            "FROM cand c JOIN messages m ON m.pk = c.pk JOIN sessions s ON s.pk = m.session_pk "
            "ORDER BY score LIMIT :limit"
        )

    def _grouped_hits(
        self, conn: Connection, match: Match, where: str, params: dict[str, Any]
    ) -> list[Row[Any]]:
        """The best hit of each session with its number of hits, best sessions first."""
        if self.dialect == "sqlite":
            scored = (
                f"WITH hits AS ({match.source}), "
                "j AS (SELECT m.session_pk AS spk, m.pk AS mpk, h.score AS score FROM hits h "
                "JOIN messages m ON m.pk = h.pk JOIN sessions s ON s.pk = m.session_pk "
                f"WHERE {where} AND {match.verify}), "
            )
        else:
            # Counts are exact; the best hit is ranked among the newest PG_RANK_CANDIDATES
            # matches (as ungrouped search), or is the newest match of its session.
            scored = (
                "WITH hits AS MATERIALIZED (SELECT m.pk, m.session_pk FROM messages m "
                f"WHERE {match.source} AND {match.verify}), "
                "f AS (SELECT h.pk, h.session_pk FROM hits h JOIN sessions s ON s.pk = h.session_pk "
                f"WHERE {where}), "
                f"cand AS (SELECT pk FROM f ORDER BY pk DESC LIMIT {PG_RANK_CANDIDATES}), "
                f"j AS (SELECT f.session_pk AS spk, f.pk AS mpk, "
                f"CASE WHEN f.pk IN (SELECT pk FROM cand) THEN {match.score} ELSE 0 END AS score "
                "FROM f JOIN messages m ON m.pk = f.pk), "
            )
        sql = scored + (
            "r AS (SELECT spk, mpk, score, row_number() OVER (PARTITION BY spk ORDER BY score, mpk DESC) AS rn, "
            "count(*) OVER (PARTITION BY spk) AS hit_count FROM j) "
            "SELECT s.*, m.id AS message_id, m.seq AS message_seq, m.content AS snip_text, r.score AS score, "
            "r.hit_count AS hit_count FROM r JOIN messages m ON m.pk = r.mpk JOIN sessions s ON s.pk = r.spk "
            "WHERE r.rn = 1 ORDER BY r.score, r.mpk DESC LIMIT :limit"
        )
        return list(conn.execute(text(sql), params).all())

    def _sqlite_best_hits(
        self, conn: Connection, match: Match, where: str, params: dict[str, Any]
    ) -> list[tuple[Any, float, int]] | None:
        """The best message hits from the indexes alone, then filtered; None if unsure.

        Ranking every match by bm25 is cheap inside FTS5; joining every match to its message and
        session row to apply the owner/view filters is not. So take the best ``4 × limit``
        matches from the index, keep those the filters (and the substring check) allow. When
        fewer than ``limit`` pass although the index had more matches, the page may be missing
        hits further down: the caller then runs the exact query.
        """
        limit = int(params["limit"])
        fetch = 4 * limit
        cur = sqlite_cursor(conn)
        named = {k: v for k, v in params.items() if k in ("wq", "gq")}
        top = cur.execute(
            f"SELECT pk, score FROM ({match.source}) ORDER BY score LIMIT {fetch}", named
        ).fetchall()
        if not top:
            return []
        score_of = dict(top)
        # Join the best matches to their rows, the first ``limit`` (and a few) first: with one
        # owner and no filter they are the answer, and the rest of the ``fetch`` is read only
        # when the filters turned some away. The driver's cursor: no per-call SQL building.
        rows: list[_Row] = []
        done = 0
        for upto in (limit + 4, fetch):
            chunk = top[done:upto]
            if not chunk:
                continue
            done = upto
            marks = ", ".join(f":p{i}" for i in range(len(chunk)))
            args = {**params, **{f"p{i}": pk for i, (pk, _score) in enumerate(chunk)}}
            found = cur.execute(
                "SELECT s.*, m.pk AS message_pk, m.id AS message_id, m.seq AS message_seq, "
                "m.content AS snip_text FROM messages m CROSS JOIN sessions s ON s.pk = m.session_pk "
                f"WHERE m.pk IN ({marks}) AND {where} AND {match.verify}",
                args,
            )
            names = [d[0] for d in found.description]
            rows.extend(_Row(zip(names, r, strict=True)) for r in found.fetchall())
            if len(rows) >= limit:
                break
        if len(rows) < limit and len(top) == fetch:
            return None
        ranked = sorted(rows, key=lambda r: score_of[r.message_pk])[:limit]
        return [(r, float(score_of[r.message_pk]), 1) for r in ranked]

    # -- encrypted --------------------------------------------------------------------------

    def _blind_search(
        self,
        owner: str,
        query: Query,
        limit: int,
        view: View,
        agent: str | None,
        channel: str | None,
        group: bool,
    ) -> list[RawHit]:
        """Whole-word AND search through ``search_terms``; hits decrypted and checked in memory."""
        terms = list(query.terms)
        text_query = " ".join(terms)
        tokens = self.codec.query_tokens(text_query)
        wanted = normalise_terms(text_query)
        if not tokens:
            return []
        params: dict[str, Any] = {"owner": owner, "agent": agent, "channel": channel}
        params.update({f"t{i}": t for i, t in enumerate(tokens)})
        # The (session, message) pairs holding every token: an INTERSECT of one covering
        # index range per token (NULL message_pk, a title, matches NULL there), so only the
        # matches are joined to their sessions, not every posting of every query word. On
        # SQLite search_terms holds the titles only: messages are matched in message_tokens.
        hit_sql = " INTERSECT ".join(
            f"SELECT session_pk, message_pk FROM search_terms WHERE token = :t{i}" for i in range(len(tokens))
        )
        if self.dialect == "sqlite":
            params["fq"] = " ".join(f'"{t}"' for t in tokens)  # hex: nothing to escape
            hit_sql = (
                f"SELECT * FROM ({hit_sql}) UNION ALL SELECT m.session_pk, m.pk FROM message_tokens "
                "JOIN messages m ON m.pk = message_tokens.rowid WHERE message_tokens MATCH :fq"
            )
        cap = limit * 20 + 100 if group else limit * 2 + 10
        hits: list[RawHit] = []
        with self._read() as conn:
            where = search_filters(view, agent, channel)
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
                {**params, "limit": cap},
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

        def snip(value: str) -> str:
            return highlight(value, query.words, None, query.grams)

        counts: dict[int, int] = {}
        best: dict[int, RawHit] = {}
        # ``found`` is in score order (titles, then messages, newest first), so the first
        # ``limit`` candidates that pass the check are the answer: decrypt and snippet no more.
        n = len(found)
        for rank, r in enumerate(found):
            if len(hits) >= limit and not group:
                break
            recency = (n - rank) / (n + 1)  # in (0, 1): keeps the order found
            if r.mpk is None:
                s = session_of(r.spk)
                if _has_all(s.title, wanted):
                    hit = RawHit(s, None, None, snip(s.title), 2.0 + recency)
                else:
                    continue
            else:
                mr = msg_rows.get(r.mpk)
                if mr is None:
                    continue
                content = self.codec.open_content(
                    self._row_key(session_rows[r.spk]), mr.id, mr.seq, mr.content
                )
                if not _has_all(content, wanted):  # a 64-bit token collision is possible, never shown
                    continue
                hit = RawHit(session_of(r.spk), mr.id, mr.seq, snip(content), 1.0 + recency)
            hits.append(hit)
            if hit.message_id is not None:
                counts[r.spk] = counts.get(r.spk, 0) + 1
                if best.get(r.spk) is None or best[r.spk].message_id is None:  # a message over the title
                    best[r.spk] = RawHit(
                        hit.session,
                        hit.message_id,
                        hit.seq,
                        hit.snippet,
                        max(hit.score, best[r.spk].score) if r.spk in best else hit.score,
                    )
            else:
                best.setdefault(r.spk, hit)
        if group:
            hits = [
                RawHit(h.session, h.message_id, h.seq, h.snippet, h.score, counts.get(spk, 1))
                for spk, h in best.items()
            ]
        hits.sort(key=lambda h: h.score, reverse=True)
        return hits[:limit]


def _has_all(value: str, wanted: Sequence[str]) -> bool:
    have = set(normalise_terms(value))
    return all(w in have for w in wanted)
