"""The SQL that matches a parsed query (``searchquery.Query``) against messages and titles.

One ``Match`` per query and dialect: a subquery of the matching message rows with a score
(lower is better, as FTS5's bm25), the predicates a matched row must still pass (gram
substrings: the trigram and bigram indexes find candidates, ``instr`` / ``strpos`` confirm
the exact substring), and the same for session titles.

- SQLite: words and the last-word prefix go to ``messages_fts`` (``"cluster" "upg"*``);
  grams go to the trigram index ``messages_tri``: a gram of three or more characters needs
  all its trigrams, one of two characters any trigram it starts (read from the index's
  vocabulary ``messages_tri_v``; every indexed text ends with a newline, so a gram at the
  very end starts one too). Both kinds together: the two indexes joined on the rowid.
- PostgreSQL: words go to the ``to_tsvector('simple', …)`` GIN index as a ``to_tsquery``
  (``'cluster' & 'upg':*``); grams to the GIN index of ``sessionhub_bigrams(content)``
  (every bigram of the gram), confirmed with ``strpos``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..searchquery import PG_REGEX, Query

MAX_EXPANSION = 5000  # trigrams a two-character gram may expand to (SQLite)
_HI = chr(0x10FFFF)

Fetch = Callable[[str, dict[str, Any]], Sequence[Any]]
"""The rows of a statement (``:name`` parameters) in the search's read transaction."""


@dataclass(frozen=True, slots=True)
class Match:
    """SQL fragments for one query; ``None`` from ``build_match`` means nothing can match."""

    source: str  # SELECT pk, score ... : the candidate messages (SQLite) / a WHERE predicate (PG)
    verify: str  # extra predicate on ``m`` (the messages row), or "1=1"
    title: str  # predicate on ``s`` (the sessions row) for a title match, or "" when none can
    title_score: str  # SQL of a title match's score (lower is better)
    score: str  # PostgreSQL: SQL of a message's score over ``m`` (lower is better)
    params: dict[str, Any] = field(default_factory=dict)
    title_from: str = "sessions s"  # the FROM clause of the title query


def _fts_quote(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


def _fts_words(query: Query) -> str:
    parts = [_fts_quote(w) for w in query.exact_words]
    if query.prefix is not None:
        parts.append(_fts_quote(query.prefix) + "*")
    return " ".join(parts)


def _trigrams(gram: str) -> list[str]:
    return list(dict.fromkeys(gram[i : i + 3] for i in range(len(gram) - 2)))


def _bigrams(gram: str) -> list[str]:
    return list(dict.fromkeys(gram[i : i + 2] for i in range(len(gram) - 1)))


def _sqlite_gram_query(fetch: Fetch, query: Query) -> str | None:
    clauses: list[str] = []
    for gram in query.grams:
        if len(gram) >= 3:
            clauses.append(" AND ".join(_fts_quote(t) for t in _trigrams(gram)))
            continue
        terms = fetch(
            "SELECT term FROM messages_tri_v WHERE term >= :lo AND term < :hi LIMIT :n",
            {"lo": gram, "hi": gram + _HI, "n": MAX_EXPANSION},
        )
        quoted = [_fts_quote(t) for (t,) in terms]
        if not quoted:
            return None
        clauses.append("(" + " OR ".join(quoted) + ")")
    return " AND ".join(f"({c})" for c in clauses)


def _verify(query: Query, fn: str, column: str, params: dict[str, Any], prefix: str) -> str:
    out: list[str] = []
    for i, gram in enumerate(query.grams):
        params[f"{prefix}{i}"] = gram
        out.append(f"{fn}({column}, :{prefix}{i}) > 0")
    return " AND ".join(out) or "1=1"


def build_sqlite(fetch: Fetch, query: Query) -> Match | None:
    params: dict[str, Any] = {}
    words = _fts_words(query)
    grams = _sqlite_gram_query(fetch, query) if query.grams else None
    if query.grams and grams is None:
        return None
    if words and grams:
        source = (
            "SELECT t.rowid AS pk, bm25(messages_tri) + bm25(messages_fts) AS score FROM messages_tri t "
            "JOIN messages_fts ON messages_fts.rowid = t.rowid "
            "WHERE messages_tri MATCH :gq AND messages_fts MATCH :wq"
        )
    elif grams:
        source = (
            "SELECT rowid AS pk, bm25(messages_tri) AS score FROM messages_tri WHERE messages_tri MATCH :gq"
        )
    else:
        source = (
            "SELECT rowid AS pk, bm25(messages_fts) AS score FROM messages_fts WHERE messages_fts MATCH :wq"
        )
    params.update(wq=words, gq=grams)
    verify = _verify(query, "instr", "m.content", params, "g")
    title_verify = _verify(query, "instr", "s.title", params, "tg")
    if words:  # driven by the title index: only matching titles are joined to their sessions
        title_from = "sessions_fts CROSS JOIN sessions s ON s.pk = sessions_fts.rowid"
        title = f"sessions_fts MATCH :wq AND {title_verify}"
        title_score = "bm25(sessions_fts)"
    else:
        title_from, title, title_score = "sessions s", title_verify, "-1.0"
    return Match(source, verify, title, title_score, "", params, title_from)


def _tsquery(query: Query) -> str:
    parts = ["'" + w.replace("'", "''").replace("\\", "\\\\") + "'" for w in query.exact_words]
    if query.prefix is not None:
        parts.append("'" + query.prefix.replace("'", "''").replace("\\", "\\\\") + "':*")
    return " & ".join(parts)


def build_postgres(query: Query) -> Match:
    params: dict[str, Any] = {}
    preds: list[str] = []
    scores: list[str] = []
    title_preds: list[str] = []
    title_scores: list[str] = []
    if query.words:
        params["tsq"] = _tsquery(query)
        preds.append(
            "to_tsvector('simple', m.content) @@ to_tsquery('simple', :tsq) AND left(m.content, 5) <> 'enc1:'"
        )
        scores.append("-ts_rank(to_tsvector('simple', m.content), to_tsquery('simple', :tsq))")
        title_preds.append(
            "to_tsvector('simple', s.title) @@ to_tsquery('simple', :tsq) AND left(s.title, 5) <> 'enc1:'"
        )
        title_scores.append("-ts_rank(to_tsvector('simple', s.title), to_tsquery('simple', :tsq))")
    if query.grams:
        bigrams = [b for g in query.grams for b in _bigrams(g)]
        params["bigrams"] = list(dict.fromkeys(bigrams))
        # The regular expression is a constant in the SQL text, so the planner can match it
        # to the partial index's predicate (a bound parameter would hide it).
        preds.append(
            f"sessionhub_bigrams(m.content) @> CAST(:bigrams AS text[]) AND m.content ~ '{PG_REGEX}'"
        )
        # Gram hits rank by how much of the message the grams cover (shorter, denser first).
        lengths = " + ".join(f"char_length(:g{i})" for i in range(len(query.grams)))
        scores.append(f"-(({lengths})::float / (char_length(m.content) + 20))")
        title_scores.append("-0.5")
    verify = _verify(query, "strpos", "m.content", params, "g")
    title_verify = _verify(query, "strpos", "s.title", params, "tg")
    title = " AND ".join([*title_preds, title_verify])
    return Match(" AND ".join(preds), verify, title, " + ".join(title_scores), " + ".join(scores), params)


__all__ = ["MAX_EXPANSION", "Fetch", "Match", "build_postgres", "build_sqlite"]
