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

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, NamedTuple

from sqlalchemy import select, text

from ..crypto import normalise_terms
from ..model import Session
from ..searchquery import Query
from ..snippets import highlight
from ._rows import SESSION_FIELDS, session_from_columns, sqlite_cursor
from .base import RawHit, View
from .crypto_sql import CryptoSQLMixin
from .schema import messages, sessions
from .search_match import Fetch, Match, build_postgres, build_sqlite

PG_RANK_CANDIDATES = 1000
_CHUNK = 500

# Every search row starts with the session's columns (``session_from_columns`` reads them by
# position); a title row goes on with (snippet text, score), a message row with (message id,
# seq, snippet text, score) and, grouped, the session's hit count.
_S = ", ".join(f"s.{c}" for c in SESSION_FIELDS)
_N = len(SESSION_FIELDS)
_MESSAGE_COUNT = SESSION_FIELDS.index("message_count")
_COUNT_BY_SESSION = 20_000  # messages of the shown sessions up to which grouped counts read them


class _Found(NamedTuple):
    """A hit before its session and snippet are made (only for the ``limit`` hits shown)."""

    score: float  # higher is better
    row: Sequence[Any]
    message_id: str | None
    seq: int | None
    text: str
    hit_count: int


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
        with self._reads() as fetch:
            match = build_sqlite(fetch, query) if self.dialect == "sqlite" else build_postgres(query)
            if match is None:
                return []
            params.update(match.params)
            title_rows = fetch(
                f"SELECT {_S}, s.title AS snip_text, {match.title_score} AS score FROM {match.title_from} "
                f"WHERE {where} AND {match.title} ORDER BY score LIMIT :limit",
                params,
            )
            scored: list[tuple[Sequence[Any], float, int]] | None
            if group and self.dialect == "sqlite":
                scored = self._sqlite_grouped(fetch, match, where, params)
            elif group:
                rows = self._grouped_hits(fetch, match, where, params)
                scored = [(r, float(r[_N + 3]), int(r[_N + 4])) for r in rows]
            else:
                scored = (
                    self._sqlite_best_hits(fetch, match, where, params) if self.dialect == "sqlite" else None
                )
                if scored is None:
                    sql = (
                        self._sqlite_exact(match, where)
                        if self.dialect == "sqlite"
                        else self._pg_ranked(match, where)
                    )
                    scored = [(r, float(r[_N + 3]), 1) for r in fetch(sql, params)]

        # Title matches weigh double (a field boost); then one ranking by score, best first.
        found = [_Found(-2.0 * float(r[_N + 1]), r, None, None, r[_N], 1) for r in title_rows]
        found.extend(_Found(-score, r, r[_N], r[_N + 1], r[_N + 2], count) for r, score, count in scored)
        if group:
            by_session: dict[str, _Found] = {}
            for h in found:
                session_id = h.row[0]
                seen = by_session.get(session_id)
                if seen is None:
                    by_session[session_id] = h
                    continue
                # One title hit and one (best) message hit per session: the message is shown
                # (a place to jump to) with the better of the two scores, and the count is of
                # message hits (a session found by its title alone has count 1).
                msg = h if h.message_id is not None else seen
                by_session[session_id] = msg._replace(score=max(h.score, seen.score))
            found = list(by_session.values())
        found.sort(key=lambda h: h.score, reverse=True)
        # Sessions and snippets for the hits shown only: the rest were read to be ranked.
        return [
            RawHit(
                session_from_columns(h.row),
                h.message_id,
                h.seq,
                highlight(h.text, query.exact_words, query.prefix, query.grams),
                h.score,
                h.hit_count,
            )
            for h in found[:limit]
        ]

    @contextmanager
    def _reads(self) -> Iterator[Fetch]:
        """One read transaction, as a function from a statement and its parameters to its rows.

        On a SQLite file: the calling thread's own driver connection (fastpath.py ``Readers``:
        read-only, never waits for a lock; ``_guarded`` retries a busy database), BEGIN and
        COMMIT by hand. Through a pooled SQLAlchemy connection a search paid ~0.5 ms more: the
        checkout, begin and commit (~0.2 ms after the FTS5 work, against ~20 us here) and
        ``text()``, which builds the statement and a result of ~30 columns anew per call
        (~0.3 ms for a title query whose index lookup takes ~0.06 ms). SQLite takes the same
        ``:name`` parameters (and ignores the extra keys of the dict).
        """
        readers = self.readers
        if readers is not None and not readers.closed:
            db = readers.connection()
            db.execute("BEGIN")
            try:
                yield lambda sql, params: db.execute(sql, params).fetchall()
            finally:
                if db.in_transaction:
                    db.execute("COMMIT")
            return
        with self._read() as conn:
            if self.dialect == "sqlite":  # in memory: the pool's one connection
                cur = sqlite_cursor(conn)
                yield lambda sql, params: cur.execute(sql, params).fetchall()
            else:
                yield lambda sql, params: conn.execute(text(sql), params).all()

    # -- message hits -----------------------------------------------------------------------

    def _sqlite_exact(self, match: Match, where: str) -> str:
        return (
            f"WITH hits AS ({match.source}) "
            f"SELECT {_S}, m.id AS message_id, m.seq AS message_seq, m.content AS snip_text, h.score AS score "
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
            f"SELECT {_S}, m.id AS message_id, m.seq AS message_seq, m.content AS snip_text, "
            f"{match.score} AS score "
            "FROM cand c JOIN messages m ON m.pk = c.pk JOIN sessions s ON s.pk = m.session_pk "
            "ORDER BY score LIMIT :limit"
        )

    def _grouped_hits(
        self, fetch: Fetch, match: Match, where: str, params: dict[str, Any]
    ) -> Sequence[Sequence[Any]]:
        """PostgreSQL: the best hit of each session with its number of hits, best sessions first.

        Counts are exact; the best hit is ranked among the newest PG_RANK_CANDIDATES matches
        (as ungrouped search), or is the newest match of its session. (SQLite: ``_sqlite_grouped``.)
        """
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
        # One sort of the hits by session and score gives both each session's best hit and its
        # count; only the best ``limit`` sessions are then joined to their rows (joining every
        # session's best hit before the LIMIT read the text of thousands of messages).
        sql = scored + (
            "r AS (SELECT spk, mpk, score, row_number() OVER w AS rn, "
            "count(*) OVER (w ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS hit_count "
            "FROM j WINDOW w AS (PARTITION BY spk ORDER BY score, mpk DESC)), "
            "top AS (SELECT spk, mpk, score, hit_count FROM r WHERE rn = 1 "
            "ORDER BY score, mpk DESC LIMIT :limit) "
            f"SELECT {_S}, m.id AS message_id, m.seq AS message_seq, m.content AS snip_text, "
            "top.score AS score, top.hit_count AS hit_count "
            "FROM top JOIN messages m ON m.pk = top.mpk JOIN sessions s ON s.pk = top.spk "
            "ORDER BY top.score, top.mpk DESC"
        )
        return fetch(sql, params)

    def _sqlite_best_hits(
        self, fetch: Fetch, match: Match, where: str, params: dict[str, Any]
    ) -> list[tuple[Sequence[Any], float, int]] | None:
        """The best message hits from the indexes alone, then filtered; None if unsure.

        Ranking every match by bm25 is cheap inside FTS5; joining every match to its message and
        session row to apply the owner/view filters is not. So take the best ``4 × limit``
        matches from the index, keep those the filters (and the substring check) allow. When
        fewer than ``limit`` pass although the index had more matches, the page may be missing
        hits further down: the caller then runs the exact query.
        """
        limit = int(params["limit"])
        depth = 4 * limit
        top = fetch(f"SELECT pk, score FROM ({match.source}) ORDER BY score LIMIT {depth}", match.params)
        if not top:
            return []
        score_of: dict[int, float] = dict(top)
        # Join the best matches to their rows, the first ``limit`` (and a few) first: with one
        # owner and no filter they are the answer, and the rest of the ``depth`` is read only
        # when the filters turned some away.
        rows: list[Sequence[Any]] = []
        done = 0
        for upto in (limit + 4, depth):
            chunk = top[done:upto]
            if not chunk:
                continue
            done = upto
            rows += _hit_rows(fetch, [pk for pk, _score in chunk], match, where, params)
            if len(rows) >= limit:
                break
        if len(rows) < limit and len(top) == depth:
            return None
        ranked = sorted(rows, key=lambda r: score_of[r[-2]])[:limit]
        return [(r, float(score_of[r[-2]]), 1) for r in ranked]

    def _sqlite_grouped(
        self, fetch: Fetch, match: Match, where: str, params: dict[str, Any]
    ) -> list[tuple[Sequence[Any], float, int]]:
        """``group=True`` on SQLite: the best hit of each session, its number of hits, best first.

        The answer of ranking every match (the window query of ``_grouped_hits``, kept as the
        oracle of tests/search/test_grouped_sqlite.py), without joining every match to its rows:
        the matches come from the index alone ranked by (score, newest first), and are joined to
        their messages and sessions a chunk at a time until ``limit`` sessions are found (a
        session's first match that passes the filters is its best hit; sessions come in the
        order of their best hits). Then only the matches of those sessions are counted. A
        common CJK word over 1M messages (~6,000 matches): 51 -> 15 ms a search. When the best
        ``20 × limit`` matches do not fill the page (another owner's, or filtered), every match
        is ranked and walked, as the window query did, but in Python.
        """
        limit = int(params["limit"])
        ranked = f"SELECT pk, score FROM ({match.source}) ORDER BY score, pk DESC"
        best: dict[int, tuple[Sequence[Any], float]] = {}  # session pk -> its best hit, in rank order
        done = 0
        for depth in (20 * limit, None):
            top = fetch(ranked if depth is None else f"{ranked} LIMIT {depth}", match.params)
            while done < len(top) and len(best) < limit:
                # The first chunk about the page (one owner, no filter: it is the answer),
                # then larger ones when the filters or repeated sessions turned hits away.
                chunk = top[done : done + (2 * limit if done == 0 else _CHUNK)]
                done += len(chunk)
                rows = _hit_rows(fetch, [pk for pk, _score in chunk], match, where, params)
                by_pk = {r[-2]: r for r in rows}
                for pk, score in chunk:
                    r = by_pk.get(pk)
                    if r is not None and r[-1] not in best:
                        best[r[-1]] = (r, score)
                        if len(best) == limit:
                            break
            if depth is None or len(top) < depth or len(best) >= limit:
                break
        if not best:
            return []
        spks = list(best)
        marks = ", ".join(f":s{i}" for i in range(len(spks)))
        # Count through the sessions' own rows (their index, each probed against the match
        # list) while they are few; past that, through the matches (each looked up by pk).
        owned = sum(int(r[_MESSAGE_COUNT]) for r, _score in best.values())
        pk = "+m.pk" if owned <= _COUNT_BY_SESSION else "m.pk"  # unary +: not the pk index
        counts = dict(
            fetch(
                f"SELECT m.session_pk, count(*) FROM messages m WHERE m.session_pk IN ({marks}) "
                f"AND {pk} IN (SELECT pk FROM ({match.source})) AND {match.verify} GROUP BY m.session_pk",
                {**params, **{f"s{i}": spk for i, spk in enumerate(spks)}},
            )
        )
        return [(r, float(score), int(counts[spk])) for spk, (r, score) in best.items()]

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


def _hit_rows(
    fetch: Fetch, pks: Sequence[int], match: Match, where: str, params: dict[str, Any]
) -> Sequence[Sequence[Any]]:
    """The message hits ``pks`` that the owner/view filter and the substring check let through,
    each as its session's columns, then the message's id, seq, content, pk and session pk."""
    marks = ", ".join(f":p{i}" for i in range(len(pks)))
    return fetch(
        f"SELECT {_S}, m.id, m.seq, m.content, m.pk, m.session_pk FROM messages m "
        f"CROSS JOIN sessions s ON s.pk = m.session_pk WHERE m.pk IN ({marks}) AND {where} "
        f"AND {match.verify}",
        {**params, **{f"p{i}": pk for i, pk in enumerate(pks)}},
    )


def _has_all(value: str, wanted: Sequence[str]) -> bool:
    have = set(normalise_terms(value))
    return all(w in have for w in wanted)
