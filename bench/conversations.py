"""The Conversations API (``/v1``) through the official ``openai`` client against ``sessionhub serve``.

    .venv/bin/python -m bench.conversations [--items 100000] [--database URL] [--repeat 200]

Two claims of docs/conversations-api.md, measured:

- **A page costs O(page).** ``items.list(limit=20)`` (the newest page), a page in the middle
  (``after=`` an item half-way, ``order=asc``) and the last page, on a conversation of 1k items
  and on one of ``--items`` (100k by default), beside ``GET /api/sessions/{id}/messages?limit=20``
  (``get_history``) on the same conversations. The medians should not grow with the size.
- **``items.create`` of 20 items is one transaction**: its median beside one ``/api`` append of
  20 messages (one transaction) and 20 appends of one message (20 transactions).

The conversations are filled through ``/api`` in batches of 5000 (the fill is not measured).
Prints a Markdown table; nothing is written.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from openai import OpenAI

from .httpbench import Server


def _median_ms(fn: Callable[[], Any], repeat: int) -> float:
    fn()  # warm
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1000


def _fill(h: httpx.Client, sid: str, n: int) -> None:
    done = 0
    while done < n:
        k = min(5000, n - done)
        batch = [
            {
                "role": "user" if (done + i) % 2 == 0 else "assistant",
                "content": f"message {done + i} of the bench",
            }
            for i in range(k)
        ]
        h.post(f"/api/sessions/{sid}/messages", json={"messages": batch}, timeout=120).raise_for_status()
        done += k


def _reads(client: OpenAI, h: httpx.Client, n: int, repeat: int) -> list[tuple[str, str, float]]:
    """The read measurements on a new conversation of ``n`` items."""
    conv = client.conversations.create()
    sid = "ses_" + conv.id.removeprefix("conv_")
    _fill(h, sid, n)
    page = h.get(f"/api/sessions/{sid}/messages", params={"limit": 1, "before_seq": n // 2 + 1}).json()
    middle = page["messages"][0]["id"]  # an item half-way: pages after it read the middle of the history
    items = client.conversations.items
    label = f"{n:,} items"
    return [
        (label, "items.list, newest 20", _median_ms(lambda: items.list(conv.id), repeat)),
        (
            label,
            "items.list, 20 after an item half-way (asc)",
            _median_ms(lambda: items.list(conv.id, after=middle, order="asc"), repeat),
        ),
        (
            label,
            "GET /api/sessions/{id}/messages?limit=20 (get_history)",
            _median_ms(lambda: h.get(f"/api/sessions/{sid}/messages", params={"limit": 20}), repeat),
        ),
        (
            label,
            "items.retrieve (by id, ix_messages_id)",
            _median_ms(lambda: items.retrieve(middle, conversation_id=conv.id), repeat),
        ),
    ]


def run(base: str, sizes: list[int], repeat: int) -> list[tuple[str, str, float]]:
    client = OpenAI(base_url=f"{base}/v1", api_key="bench", max_retries=0)
    rows: list[tuple[str, str, float]] = []
    with httpx.Client(base_url=base) as h:
        for n in sizes:
            rows += _reads(client, h, n, repeat)
        conv = client.conversations.create()
        sid = "ses_" + conv.id.removeprefix("conv_")
        twenty: Any = [{"role": "user", "content": f"item {i}"} for i in range(20)]
        writes = max(repeat // 4, 10)
        rows.append(
            (
                "writes",
                "items.create of 20 items (one transaction)",
                _median_ms(lambda: client.conversations.items.create(conv.id, items=twenty), writes),
            )
        )
        rows.append(
            (
                "writes",
                "POST /api/…/messages of 20 messages (one transaction)",
                _median_ms(
                    lambda: h.post(f"/api/sessions/{sid}/messages", json={"messages": twenty}), writes
                ),
            )
        )

        def twenty_appends() -> None:
            for m in twenty:
                h.post(f"/api/sessions/{sid}/messages", json=m)

        rows.append(
            (
                "writes",
                "20 × POST /api/…/messages of 1 message",
                _median_ms(twenty_appends, max(writes // 4, 3)),
            )
        )
    return rows


async def main_async(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="sessionhub-bench-v1-") as tmp:
        url = args.database or f"sqlite:///{tmp}/v1.db"
        async with Server(url, Path(tmp)) as server:
            rows = await asyncio.to_thread(run, server.base, [1000, args.items], args.repeat)
    print(f"| conversation | call | median ms ({args.repeat} runs; writes fewer) |")
    print("|---|---|---:|")
    for label, call, ms in rows:
        print(f"| {label} | {call} | {ms:.2f} |")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.conversations", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--items", type=int, default=100_000, help="items of the big conversation (default 100000)"
    )
    parser.add_argument("--repeat", type=int, default=200, help="runs per read measurement (default 200)")
    parser.add_argument("--database", help="database URL (default: a temporary SQLite file)")
    return asyncio.run(main_async(parser.parse_args(argv)))


if __name__ == "__main__":
    raise SystemExit(main())
