"""Real `sessionhub serve` processes: 2 replicas on one PostgreSQL under concurrent REST
appends, and duplicate webhook deliveries stored once.

kill -9 of a server mid-stream is test_replicas.py::
test_kill_9_mid_stream_leaves_the_partial_reply_interrupted (not repeated here).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

from .conftest import assert_exact, serve, size, stored

FIXTURES = Path(__file__).parent.parent / "routing" / "fixtures"


async def _append_load(
    bases: list[str], sessions: list[str], workers: int, per_worker: int
) -> tuple[list[tuple[str, int, str]], list[str]]:
    """``workers`` clients, each appending ``per_worker`` messages round-robin over the
    servers and the sessions; returns the acks and every failure a caller saw."""
    acked: list[tuple[str, int, str]] = []
    failures: list[str] = []

    async def worker(w: int, client: httpx.AsyncClient) -> None:
        for i in range(per_worker):
            base = bases[(w + i) % len(bases)]
            sid = sessions[(w * 7 + i) % len(sessions)]
            content = f"w{w}-{i}"
            try:
                r = await client.post(
                    f"{base}/api/sessions/{sid}/messages", json={"role": "user", "content": content}
                )
            except httpx.HTTPError as exc:
                failures.append(f"{type(exc).__name__}: {exc}")
                continue
            if r.status_code != 201:
                failures.append(f"{r.status_code} {r.text[:200]}")
                continue
            (msg,) = r.json()["messages"]
            acked.append((sid, msg["seq"], content))

    limits = httpx.Limits(max_connections=workers, max_keepalive_connections=workers)
    async with httpx.AsyncClient(timeout=30, limits=limits) as client:
        await asyncio.gather(*(worker(w, client) for w in range(workers)))
    return acked, failures


# make soak (SESSIONHUB_SOAK=1 pytest -m 'slow or reliability'), not make test: two server processes under concurrent appends (~9 s); test_replicas.py::test_two_replicas_share_events_and_run_each_task_once keeps two replicas in make test.
@pytest.mark.slow
@pytest.mark.postgres
def test_two_replicas_on_postgresql_take_concurrent_appends(tmp_path: Path, pg_url: str) -> None:
    """2 `sessionhub serve` replicas on one PostgreSQL, concurrent REST appends to shared
    sessions from 16 clients: no 5xx or transport error reaches a caller, seqs are 1..N."""
    with serve(tmp_path, pg_url) as (a, _pa), serve(tmp_path, pg_url) as (b, _pb):
        sessions = [httpx.post(f"{a}/api/sessions", json={"title": f"s{i}"}).json()["id"] for i in range(4)]
        workers, per_worker = 16, int(size(20, 800))
        start = time.monotonic()
        acked, failures = asyncio.run(_append_load([a, b], sessions, workers, per_worker))
        elapsed = time.monotonic() - start
    assert not failures, f"{len(failures)} failures, e.g. {failures[:5]}"
    assert len(acked) == workers * per_worker
    counts = assert_exact(pg_url, acked, sessions)
    assert sum(counts.values()) == workers * per_worker
    print(f"\n2 replicas, {len(acked)} REST appends in {elapsed:.1f}s ({len(acked) / elapsed:.0f}/s)")


def _telegram_update() -> bytes:
    data = json.loads((FIXTURES / "telegram" / "private_message.json").read_text())
    return json.dumps(data["payload"]).encode()


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_duplicate_telegram_deliveries_are_stored_once(
    tmp_path: Path, backend: str, request: pytest.FixtureRequest
) -> None:
    """The same Telegram update delivered 3 times (sequentially on SQLite; at once, to two
    replicas, on PostgreSQL) to a real server's webhook is stored once, in one session."""
    url = f"sqlite:///{tmp_path}/hooks.db" if backend == "sqlite" else request.getfixturevalue("pg_url")
    config = '[channels.telegram]\nsecret_token = "tg-secret-1"\n'
    headers = {"content-type": "application/json", "X-Telegram-Bot-Api-Secret-Token": "tg-secret-1"}
    update = _telegram_update()
    with serve(tmp_path, url, config) as (a, _pa), serve(tmp_path, url, config) as (b, _pb):
        hook = "/api/channels/telegram/webhook"
        if backend == "sqlite":
            answers = [
                httpx.post(f"{a}{hook}", content=update, headers=headers, timeout=30) for _ in range(3)
            ]
        else:

            async def deliver() -> list[httpx.Response]:
                async with httpx.AsyncClient(timeout=30) as c:
                    return list(
                        await asyncio.gather(
                            *(c.post(f"{base}{hook}", content=update, headers=headers) for base in (a, b, a))
                        )
                    )

            answers = asyncio.run(deliver())
        assert [r.status_code for r in answers] == [200] * 3, [r.text for r in answers]
        results: list[dict[str, Any]] = [r.json()["results"][0] for r in answers]
        assert len({r["session_id"] for r in results}) == 1
        assert Counter(bool(r.get("duplicate")) for r in results) == {True: 2, False: 1}, results
        sid = results[0]["session_id"]
        msgs = httpx.get(f"{b}/api/sessions/{sid}/messages").json()["messages"]
    assert [m["content"] for m in msgs if m["role"] == "user"] == ["hello bot"]
    assert [s for s, _ in stored(url)[sid]] == list(range(1, len(msgs) + 1))
