"""The event loop's CPU per REST call, in-process: ``python -m bench.profile_route [options]``.

Builds the app the way ``sessionhub serve`` does (``server/run.py``: the settings of an empty
directory without ``SESSIONHUB_*`` variables, ``hub.open``, ``create_app``, the lifespan
started, ``gc.freeze()`` after start-up, uvloop) on a fresh SQLite file, creates a few sessions
and drives ``POST /api/sessions/{id}/messages`` (or, with ``--get``, ``GET
/api/sessions/{id}/messages``, the latest 50 of 200) straight through the ASGI app: no socket,
no HTTP parser, ``--concurrency`` tasks each sending its requests one after another, like
``wrk -c16`` against the real server. The store's writes run on its worker thread, so the figure
is ``time.thread_time()`` of the loop's thread per request: the Python CPU that bounds one
uvicorn worker, less uvicorn's own share (``bench/profile_http.py`` measures the real server).

Prints, per round, the microseconds of loop CPU per request, then the median; the driver's own
share (the same loop driving a bare ASGI app answering 201) is printed once, to subtract by eye.
``--profile`` adds a round under cProfile and prints its top functions (cumulative and own
time; cProfile itself roughly doubles the CPU). CPU time, not wall time, because the machine
the figures are taken on is shared. To compare two trees, run it with each tree first on
``PYTHONPATH`` (e.g. a ``git archive`` of main), alternating::

    PYTHONPATH=src python -m bench.profile_route --rounds 5
    PYTHONPATH=/tmp/main-src/src python -m bench.profile_route --rounds 5
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import json
import os
import pstats
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack, chdir
from pathlib import Path
from typing import Any

ASGIApp = Callable[[dict[str, Any], Any, Any], Awaitable[None]]
HOST = b"127.0.0.1:8765"


class Driver:
    """Sends requests to an ASGI app as uvicorn would, without a socket."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def request(
        self, method: str, path: str, body: bytes = b"", headers: tuple[tuple[bytes, bytes], ...] = ()
    ) -> tuple[int, bytes]:
        path, _, query = path.partition("?")
        head = [(b"host", HOST), *headers]
        if body:
            head += [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "server": ("127.0.0.1", 8765),
            "client": ("127.0.0.1", 50000),
            "scheme": "http",
            "method": method,
            "root_path": "",
            "path": path,
            "raw_path": path.encode(),
            "query_string": query.encode(),
            "headers": head,
            "state": {},
        }
        sent = False
        status = 0
        chunks: list[bytes] = []

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            await asyncio.Event().wait()  # the client never disconnects
            raise AssertionError

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, send)
        return status, b"".join(chunks)


async def bare_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The driver's floor: read the body, answer 201 with a small JSON body."""
    await receive()
    body = b'{"messages":[]}'
    headers = [(b"content-length", str(len(body)).encode()), (b"content-type", b"application/json")]
    await send({"type": "http.response.start", "status": 201, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def loop_cpu(
    driver: Driver, requests: list[tuple[str, str, bytes]], concurrency: int, expect: int
) -> Callable[[], Awaitable[float]]:
    """A round: the requests spread over ``concurrency`` tasks; returns loop CPU per request (s)."""

    async def run() -> float:
        queue = list(reversed(requests))

        async def worker() -> None:
            while queue:
                method, path, body = queue.pop()
                status, answer = await driver.request(method, path, body)
                if status != expect:
                    raise RuntimeError(f"{method} {path}: {status} {answer[:200]!r}")

        start = time.thread_time()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return (time.thread_time() - start) / len(requests)

    return run


async def main(args: argparse.Namespace) -> None:
    from sessionhub.config import load_settings
    from sessionhub.hub import open as open_hub
    from sessionhub.server.app import create_app

    tmp = Path(tempfile.mkdtemp(prefix="sessionhub-route-"))
    try:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SESSIONHUB_")}
        with chdir(tmp):
            settings = load_settings(None, env)
        if not args.semantic:
            settings = settings.replace(search=settings.search.replace(semantic=False))
        hub = await open_hub(f"sqlite:///{tmp / 'route.db'}", settings=settings)
        app = create_app(settings, hub, close_hub=True)
        async with AsyncExitStack() as stack:
            await stack.enter_async_context(app.router.lifespan_context(app))
            driver = Driver(app)
            sessions = []
            for _ in range(args.sessions):
                status, answer = await driver.request("POST", "/api/sessions", b"{}")
                assert status == 201, answer
                sessions.append(json.loads(answer)["id"])
            gc.collect()
            gc.freeze()  # as server/run.py does after start-up
            text = "the quick brown fox jumps over the lazy dog"
            if args.get:
                batch = json.dumps({"messages": [{"role": "user", "content": text}] * 200}).encode()
                for sid in sessions:
                    status, _ = await driver.request("POST", f"/api/sessions/{sid}/messages", batch)
                    assert status == 201
                requests = [
                    ("GET", f"/api/sessions/{sessions[i % len(sessions)]}/messages?limit=50", b"")
                    for i in range(args.requests)
                ]
                expect = 200
            else:
                body = json.dumps({"role": "user", "content": text}).encode()
                requests = [
                    ("POST", f"/api/sessions/{sessions[i % len(sessions)]}/messages", body)
                    for i in range(args.requests)
                ]
                expect = 201
            rounds = loop_cpu(driver, requests, args.concurrency, expect)
            await loop_cpu(driver, requests[: args.requests // 5], args.concurrency, expect)()  # warm-up
            floor = await loop_cpu(Driver(bare_app), requests, args.concurrency, 201)()
            what = "GET latest 50" if args.get else "POST append"
            print(f"{what}: {args.requests} requests per round, concurrency {args.concurrency}")
            print(f"driver alone (bare ASGI app): {floor * 1e6:.1f} us per request")
            figures = []
            for i in range(args.rounds):
                gc.collect()
                figures.append(await rounds())
                print(f"round {i + 1}: {figures[-1] * 1e6:.1f} us of loop CPU per request", flush=True)
            print(f"median: {statistics.median(figures) * 1e6:.1f} us per request")
            if args.profile:
                profiler = cProfile.Profile()
                profiler.enable()
                cpu = await rounds()
                profiler.disable()
                print(f"under cProfile: {cpu * 1e6:.1f} us per request")
                stats = pstats.Stats(profiler, stream=sys.stdout)
                stats.sort_stats("cumulative").print_stats(args.top)
                stats.sort_stats("tottime").print_stats(args.top)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def cli() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.profile_route", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--requests", type=int, default=3000, help="requests per round (default 3000)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--sessions", type=int, default=8)
    parser.add_argument("--get", action="store_true", help="GET the latest 50 messages instead of appending")
    parser.add_argument("--profile", action="store_true", help="one more round under cProfile")
    parser.add_argument("--top", type=int, default=40, help="functions listed by --profile")
    parser.add_argument(
        "--semantic", action="store_true", help="keep [search] semantic on (background embedding; noisy)"
    )
    args = parser.parse_args()
    try:
        import uvloop

        factory: Callable[[], asyncio.AbstractEventLoop] | None = uvloop.new_event_loop
    except ImportError:  # pragma: no cover
        factory = None
    with asyncio.Runner(loop_factory=factory) as runner:
        runner.run(main(args))


if __name__ == "__main__":
    cli()
