"""Keyword search's own cost over its FTS5 statement: ``python -m bench.search_overhead DB``.

DB is a copy of the search bench's database (``bench/data/search21-*/hub.db``: opening it
migrates it, so never the cached file itself). For the bench's two-word and prefix queries,
``hub.search(q, limit=20, mode="keyword")`` (and ``group="session"``) is timed query by query
in turns with the bare ranked FTS5 statement on a plain sqlite3 connection; the medians of
both and of the per-query difference (what sessionhub adds: the thread hop, the title query,
the join of the best hits to their rows, sessions and snippets, the hub's copy per hit) are
printed. To compare two trees, run it with ``PYTHONPATH=<tree>/src`` for each, in turns.

``--save PATH`` pickles the full results of those queries, ``group="session"``, the active
and archived views and a few CJK substring queries; ``--compare PATH`` checks that this tree
answers the same (ids, order, scores, snippets, counts, sessions).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import pickle
import sqlite3
import statistics
import sys
import time
from typing import Any

import sessionhub
from sessionhub.searchquery import parse_query

from .datagen import search_queries
from .search_bench import prefix_queries
from .search_data import cjk_queries

BARE = (
    "SELECT rowid, bm25(messages_fts) AS s FROM messages_fts WHERE messages_fts MATCH ? ORDER BY s LIMIT 80"
)


def fts_words(q: str) -> str:
    """The FTS5 query the store builds for ``q`` (words quoted, the last one a prefix)."""
    parsed = parse_query(q)
    words = [f'"{w}"' for w in parsed.exact_words]
    return " ".join([*words, f'"{parsed.prefix}"*'] if parsed.prefix else words)


async def timing(db: str, rounds: int) -> None:
    kinds = {"keyword": search_queries(60, seed="s21"), "prefix": prefix_queries(60)}
    raw = sqlite3.connect(db)
    async with sessionhub.open(f"sqlite:///{db}") as hub:
        for qs in kinds.values():  # warm the page cache
            for q in qs:
                await hub.search(q, limit=20, mode="keyword")
        for kind, qs in kinds.items():
            for group in (None, "session"):
                hub_t: list[float] = []
                bare_t: list[float] = []
                diff: list[float] = []
                for _ in range(rounds):
                    for q in qs:
                        match = fts_words(q)
                        t0 = time.perf_counter()
                        raw.execute(BARE, (match,)).fetchall()
                        t1 = time.perf_counter()
                        await hub.search(q, limit=20, mode="keyword", group=group)
                        t2 = time.perf_counter()
                        bare_t.append(t1 - t0)
                        hub_t.append(t2 - t1)
                        diff.append((t2 - t1) - (t1 - t0))
                med = {
                    name: statistics.median(v) * 1e3
                    for name, v in (("hub", hub_t), ("bare", bare_t), ("diff", diff))
                }
                print(f"{kind:8} group={group!s:8} hub.search {med['hub']:6.2f} ms  bare FTS5 {med['bare']:5.2f} ms  "
                      f"difference {med['diff']:5.2f} ms", flush=True)  # fmt: skip


async def results(db: str) -> dict[Any, list[dict[str, Any]]]:
    queries = search_queries(60, seed="s21") + prefix_queries(60) + cjk_queries(20)
    out: dict[Any, list[dict[str, Any]]] = {}
    async with sessionhub.open(f"sqlite:///{db}") as hub:
        for q in queries:
            for group in (None, "session"):
                for limit in (20, 5):
                    hits = await hub.search(q, limit=limit, mode="keyword", group=group)
                    out[(q, group, limit)] = [dataclasses.asdict(h) for h in hits]
            for view in ("active", "archived"):
                hits = await hub.search(q, limit=20, mode="keyword", view=view)
                out[(q, view)] = [dataclasses.asdict(h) for h in hits]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("db", help="a copy of the search bench's hub.db")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--save", help="pickle the full results to this file")
    parser.add_argument("--compare", help="compare the full results with this pickle")
    args = parser.parse_args()
    if args.save or args.compare:
        found = asyncio.run(results(args.db))
        if args.save:
            with open(args.save, "wb") as f:
                pickle.dump(found, f)
        if args.compare:
            with open(args.compare, "rb") as f:
                saved = pickle.load(f)
            differing = [k for k in saved if saved[k] != found.get(k)]
            print(
                f"{len(saved)} result lists, {sum(map(len, saved.values()))} hits; differing: {len(differing)}"
            )
            if differing or saved.keys() != found.keys():
                sys.exit(1)
        return
    asyncio.run(timing(args.db, args.rounds))


if __name__ == "__main__":
    main()
