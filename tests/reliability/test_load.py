"""A bounded load run on loopback: REST appenders and WebSocket chats against one real server.

``make test``: about 5 s of load; ``make soak``: about 2 minutes. Error counts and throughput are
printed; the test asserts there were no errors, that every session's seqs are exact and that
every WebSocket closes promptly.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import websockets

from .conftest import assert_exact, integrity, serve, size

# The WebSocket clients' close timeout: a closing handshake that completes takes milliseconds
# here; one that does not makes ``close()`` wait all of it (10 s by default).
CLOSE_TIMEOUT = 3.0
# sessions_changed events each WS client leaves unread before it closes: more than the 16
# frames websockets buffers before it stops reading (its ``max_queue``).
UNREAD_BEFORE_CLOSE = 24
CONFIG = '[providers.echo]\ntype = "echo"\nwords_per_chunk = 2\ndelay_ms = 5\n'


@dataclass
class Tally:
    appends: int = 0
    turns: int = 0
    deltas: int = 0
    errors: list[str] = field(default_factory=list)
    acked: list[tuple[str, int, str]] = field(default_factory=list)
    ws_sessions: dict[str, int] = field(default_factory=dict)  # session id → completed turns
    closes: list[float] = field(default_factory=list)  # seconds each WS client's close took


async def _append(client: httpx.AsyncClient, sid: str, content: str, tally: Tally) -> None:
    """One REST append, acked in ``tally`` (or its error)."""
    try:
        r = await client.post(f"/api/sessions/{sid}/messages", json={"role": "user", "content": content})
    except httpx.HTTPError as exc:
        tally.errors.append(f"rest {type(exc).__name__}: {exc}")
        return
    if r.status_code != 201:
        tally.errors.append(f"rest {r.status_code}: {r.text[:200]}")
        return
    tally.appends += 1
    tally.acked.append((sid, r.json()["messages"][0]["seq"], content))


async def _rest(base: str, sessions: list[str], w: int, stop_at: float, tally: Tally) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        i = 0
        while time.monotonic() < stop_at:
            await _append(client, sessions[(w + i) % len(sessions)], f"r{w}-{i}", tally)
            i += 1


async def _close_draining(ws: websockets.ClientConnection) -> float:
    """Close ``ws`` while reading (and dropping) what still arrives; the seconds it took.

    websockets stops reading from the socket once ``max_queue`` (16) frames wait unread, so a
    client that stopped calling ``recv()`` while sessions_changed events keep coming never
    reads the server's close frame, answered at once, and ``close()`` waits all of
    ``close_timeout`` (python-websockets/websockets#1555: by design). Reading during the
    closing handshake lets it complete.
    """

    async def drain() -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            async for _ in ws:
                pass

    drainer = asyncio.create_task(drain())
    start = time.monotonic()
    await ws.close()
    took = time.monotonic() - start
    await drainer
    return took


async def _ws(base: str, sessions: list[str], c: int, stop_at: float, tally: Tally) -> None:
    try:
        ws = await websockets.connect(
            base.replace("http", "ws") + "/ws", open_timeout=10, close_timeout=CLOSE_TIMEOUT
        )
        try:

            async def next_event(kind: str) -> dict[str, object]:
                while True:
                    event: dict[str, object] = json.loads(await asyncio.wait_for(ws.recv(), 30))
                    if event["type"] == "error":
                        raise AssertionError(f"error event: {event}")
                    if event["type"] == "delta":
                        tally.deltas += 1
                    if event["type"] == kind:
                        return event

            await ws.send(json.dumps({"action": "new_session"}))
            session = (await next_event("session"))["session"]
            sid = session["id"]  # type: ignore[index]
            tally.ws_sessions[sid] = 0
            i = 0
            while time.monotonic() < stop_at:
                await ws.send(
                    json.dumps({"action": "chat", "content": f"client {c} turn {i} says hello there"})
                )
                end = await next_event("stream_end")
                if end["status"] != "complete":
                    tally.errors.append(f"ws turn ended {end['status']}")
                tally.turns += 1
                tally.ws_sessions[sid] += 1
                i += 1
            # Busy elsewhere: appends whose sessions_changed events this connection leaves unread.
            async with httpx.AsyncClient(base_url=base, timeout=30) as client:
                for n in range(UNREAD_BEFORE_CLOSE):
                    await _append(client, sessions[c % len(sessions)], f"ws{c}-unread-{n}", tally)
        finally:
            tally.closes.append(await _close_draining(ws))
    except Exception as exc:
        tally.errors.append(f"ws {type(exc).__name__}: {exc}")


# make soak (SESSIONHUB_SOAK=1 pytest -m 'slow or reliability'), not make test: a load run (~11 s): load is what make soak is for.
@pytest.mark.slow
def test_load_over_http_and_websocket(tmp_path: Path) -> None:
    """8 REST appenders and 4 WebSocket clients chatting with the echo agent for a bounded time:
    zero errors, every REST ack stored at its seq, every WS turn stored (user + reply), and
    every WS client, closing with events left unread, closes well within its close timeout."""
    db = tmp_path / "load.db"
    duration = size(5, 120)
    tally = Tally()
    with serve(tmp_path, f"sqlite:///{db}", CONFIG) as (base, _proc):
        sessions = [httpx.post(f"{base}/api/sessions", json={}).json()["id"] for _ in range(4)]

        async def run() -> None:
            stop_at = time.monotonic() + duration
            await asyncio.gather(
                *(_rest(base, sessions, w, stop_at, tally) for w in range(8)),
                *(_ws(base, sessions, c, stop_at, tally) for c in range(4)),
            )

        start = time.monotonic()
        asyncio.run(run())
        elapsed = time.monotonic() - start
        ws_counts = {
            sid: httpx.get(f"{base}/api/sessions/{sid}").json()["message_count"] for sid in tally.ws_sessions
        }
    print(
        f"\nload {elapsed:.1f}s: {tally.appends} REST appends ({tally.appends / elapsed:.0f}/s), "
        f"{tally.turns} WS turns ({tally.turns / elapsed:.1f}/s, {tally.deltas} deltas), "
        f"{len(tally.errors)} errors, WS closes took {', '.join(f'{t:.2f}' for t in tally.closes)} s"
    )
    assert not tally.errors, tally.errors[:10]
    assert tally.appends > 0 and tally.turns > 0
    # Every closing handshake completed: none waited out the client's close timeout.
    assert len(tally.closes) == 4 and max(tally.closes) < CLOSE_TIMEOUT / 3, tally.closes
    assert_exact(f"sqlite:///{db}", tally.acked, sessions)
    assert ws_counts == {sid: 2 * n for sid, n in tally.ws_sessions.items()}
    assert integrity(db) == "ok"
