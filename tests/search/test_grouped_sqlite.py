"""SQLite ``group="session"``: the best hit of each session and its count, against ranking every match.

``_sqlite_grouped`` joins the index's matches to their rows a chunk at a time and counts only
the sessions it shows; the oracle here is the window query it replaced, which joins and ranks
every match. Both must give the same sessions, best hits, scores and counts, in the same order,
whichever way the counts are read.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

import sessionhub
from sessionhub.searchquery import parse_query
from sessionhub.store import search_sql
from sessionhub.store.search_match import build_sqlite
from sessionhub.store.search_sql import _N, _S, search_filters

WORDS = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet"]
CJK = ["服务器", "性能", "数据库", "会议", "検索", "サーバー", "확인", "오늘"]
QUERIES = [
    "alpha",
    "bravo charlie",
    "del",
    "echo fox",
    "服务器",
    "性能",
    "サーバー",
    "확인",
    "数据库 alpha",
    "zzz",
]


def _oracle(match: Any, where: str) -> str:
    return (
        f"WITH hits AS ({match.source}), "
        "j AS (SELECT m.session_pk AS spk, m.pk AS mpk, h.score AS score FROM hits h "
        "JOIN messages m ON m.pk = h.pk JOIN sessions s ON s.pk = m.session_pk "
        f"WHERE {where} AND {match.verify}), "
        "r AS (SELECT spk, mpk, score, row_number() OVER (PARTITION BY spk ORDER BY score, mpk DESC) AS rn, "
        "count(*) OVER (PARTITION BY spk) AS hit_count FROM j) "
        f"SELECT {_S}, m.id, r.score, r.hit_count "
        "FROM r JOIN messages m ON m.pk = r.mpk JOIN sessions s ON s.pk = r.spk "
        "WHERE r.rn = 1 ORDER BY r.score, r.mpk DESC LIMIT :limit"
    )


async def _fill(url: str) -> Any:
    rng = random.Random(7)
    hub = await sessionhub.open(url).__aenter__()
    for i in range(48):
        # Every sixth session is another user's: never shown, never counted.
        owner_hub = hub.as_user("someone-else") if i % 6 == 5 else hub
        s = await owner_hub.create_session()
        n = 150 if i == 0 else rng.randint(1, 12)  # session 0: many short best-ranked hits
        texts = []
        for _ in range(n):
            words = [rng.choice(WORDS[:2])] if i == 0 else rng.sample(WORDS, rng.randint(2, 8))
            if rng.random() < 0.3:
                words.append(rng.choice(CJK) + rng.choice(CJK))
            texts.append(" ".join(words))
        await owner_hub.add_messages(s.id, [{"role": "user", "content": t} for t in texts])
        if i % 5 == 4:
            await owner_hub.archive(s.id)
    return hub


@pytest.mark.parametrize("count_by_session", [0, 1_000_000])
async def test_grouped_hits_equal_ranking_every_match(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, count_by_session: int
) -> None:
    monkeypatch.setattr(search_sql, "_COUNT_BY_SESSION", count_by_session)
    hub = await _fill(f"sqlite:///{tmp_path}/g.db")
    try:
        store = hub.store
        checked = 0
        for q in QUERIES:
            for view in ("active", "archived", "all"):
                for limit in (1, 3, 20):
                    with store._reads() as fetch:
                        match = build_sqlite(fetch, parse_query(q))
                        if match is None:
                            continue
                        params = {"owner": hub.owner, "agent": None, "channel": None, "limit": limit}
                        params.update(match.params)
                        where = search_filters(view, None, None)
                        got = [
                            (r[0], r[_N], score, count)
                            for r, score, count in store._sqlite_grouped(fetch, match, where, params)
                        ]
                        oracle = fetch(_oracle(match, where), params)
                        want = [(r[0], r[_N], r[_N + 1], r[_N + 2]) for r in oracle]
                    assert got == want, (q, view, limit)
                    checked += len(want)
        assert checked > 200  # the queries find something: not a comparison of empty lists
    finally:
        await hub.__aexit__(None, None, None)
