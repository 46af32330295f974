"""Usage reports over a year: ``python -m bench.usage_bench [--messages N] [--sessions N]``.

Builds a SQLite database of N messages (default 1,000,000) in conversations spread over a
year (each session a burst of messages minutes apart, as chats are), then times, in one run:

- ``hub.usage`` for a year by day, model and session (the rollups: ``store/usage_sql.py``);
- the plain aggregate of the same numbers over ``messages`` (what a report costs without it);
- appends with and without the rollup triggers (what keeping the rollups costs each write:
  dropping the triggers on ``messages`` leaves those on ``usage_rollup`` nothing to follow).

The bar (issue 22): a year of usage over 1M messages in <= 100 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sqlite3
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sessionhub

YEAR_START = datetime(2025, 12, 1, tzinfo=UTC)
PLAIN_BY_DAY = """
SELECT (m.created_at / 1000000 + :offset) / 86400 AS day, s.model, count(DISTINCT m.session_pk),
       count(*), sum(m.input_tokens), sum(m.output_tokens)
FROM messages m JOIN sessions s ON s.pk = m.session_pk
WHERE s.owner = 'default' AND m.created_at >= :lo AND m.created_at < :hi
GROUP BY day, s.model
"""


async def build(path: Path, sessions: int, messages: int) -> None:
    rnd = random.Random(42)
    url = f"sqlite:///{path}"
    async with sessionhub.open(url) as hub:
        ids = [(await hub.create_session(title=f"s{i}")).id for i in range(sessions)]
    conn = sqlite3.connect(path)
    pks = dict(conn.execute("SELECT id, pk FROM sessions").fetchall())
    per = messages // sessions
    rows = []
    for sid in ids:
        at = YEAR_START + timedelta(seconds=rnd.randrange(365 * 86400))
        for seq in range(1, per + 1):
            at += timedelta(seconds=rnd.randrange(20, 300))
            us = int(at.timestamp() * 1_000_000)
            role = "user" if seq % 2 else "assistant"
            inp, out = (0, 0) if role == "user" else (rnd.randrange(200, 8000), rnd.randrange(20, 900))
            rows.append((pks[sid], seq, f"msg_{sid[4:]}{seq:05d}", role, "x", "complete", inp, out, us))
        if len(rows) >= 100_000:
            _insert(conn, rows)
            rows = []
    _insert(conn, rows)
    conn.execute("UPDATE sessions SET message_count = :n", {"n": per})
    conn.commit()
    conn.execute("ANALYZE")
    conn.close()


def _insert(conn: sqlite3.Connection, rows: list[tuple[object, ...]]) -> None:
    conn.executemany(
        "INSERT INTO messages (session_pk, seq, id, role, content, status, input_tokens, output_tokens, "
        "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    conn.commit()


def _median_ms(samples: list[float]) -> str:
    return f"{statistics.median(samples) * 1000:.1f} ms (p95 {sorted(samples)[int(len(samples) * 0.95) - 1] * 1000:.1f})"


async def measure(path: Path, repeat: int) -> dict[str, str]:
    out: dict[str, str] = {}
    start, end = "2025-12-01", "2026-11-30"
    async with sessionhub.open(f"sqlite:///{path}") as hub:
        for group in ("day", "model", "session"):
            samples = []
            for _ in range(repeat):
                t = time.perf_counter()
                report = await hub.usage(group, start=start, end=end, tz="Europe/Berlin")
                samples.append(time.perf_counter() - t)
            out[f"hub.usage {group}, a year"] = _median_ms(samples) + f", {report.totals.messages:,} messages"
    conn = sqlite3.connect(path)
    lo = int(datetime(2025, 12, 1, tzinfo=UTC).timestamp() * 1e6)
    hi = int(datetime(2026, 12, 1, tzinfo=UTC).timestamp() * 1e6)
    samples = []
    for _ in range(max(3, repeat // 4)):
        t = time.perf_counter()
        conn.execute(PLAIN_BY_DAY, {"offset": 3600, "lo": lo, "hi": hi}).fetchall()
        samples.append(time.perf_counter() - t)
    out["plain aggregate over messages, by day"] = _median_ms(samples)
    conn.close()
    return out


async def append_cost(n: int) -> dict[str, str]:
    """Appends of one message with usage, with the rollup triggers and with them dropped."""
    out = {}
    for label, drop in (("with rollup triggers", False), ("without", True)):
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite:///{tmp}/a.db"
            async with sessionhub.open(url) as hub:
                s = await hub.create_session()
            if drop:
                conn = sqlite3.connect(f"{tmp}/a.db")
                for name in ("messages_usage_ai", "messages_usage_ad", "messages_usage_au"):
                    conn.execute(f"DROP TRIGGER {name}")
                conn.commit()
                conn.close()
            async with sessionhub.open(url) as hub:
                samples = []
                for _ in range(n):
                    t = time.perf_counter()
                    await hub.add_message(
                        s.id, "assistant", "hello", usage={"input_tokens": 5, "output_tokens": 7}
                    )
                    samples.append(time.perf_counter() - t)
            out[f"append, {label}"] = f"{statistics.median(samples) * 1e6:.0f} µs median"
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--sessions", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--appends", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "usage.db"
        t = time.perf_counter()
        asyncio.run(build(path, args.sessions, args.messages))
        print(
            f"built {args.messages:,} messages in {args.sessions:,} sessions in {time.perf_counter() - t:.0f} s"
        )
        for k, v in asyncio.run(measure(path, args.repeat)).items():
            print(f"{k}: {v}")
    for k, v in asyncio.run(append_cost(args.appends)).items():
        print(f"{k}: {v}")


if __name__ == "__main__":
    main()
