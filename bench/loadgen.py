"""A small HTTP load generator (httpx), run in its own process by the HTTP figure.

``python -m bench.loadgen SPEC_JSON`` where the spec file holds ``base``, ``method``,
``requests`` (a list of ``[path, body_or_null]`` used in turn), ``concurrency``,
``duration_s`` and ``max_requests``. ``concurrency`` workers share one
``httpx.AsyncClient`` with as many keep-alive connections; each sends its next request when
its previous answer is read (closed loop), until the count or the time is spent. Prints one
JSON line: requests, errors (non-2xx and exceptions), seconds, per-request latencies'
p50 / p99, status counts. Only loopback addresses are accepted.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections import Counter
from typing import Any
from urllib.parse import urlsplit

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def percentile(ordered: list[float], q: float) -> float:
    """The ``q`` quantile (0..1) of sorted values, nearest rank."""
    if not ordered:
        return float("nan")
    rank = max(0, min(len(ordered) - 1, round(q * len(ordered) + 0.5) - 1))
    return ordered[rank]


async def run(spec: dict[str, Any]) -> dict[str, Any]:
    import httpx

    base = spec["base"]
    if urlsplit(base).hostname not in LOOPBACK:
        raise SystemExit(f"refusing to load {base}: loopback only")
    method = spec["method"]
    reqs = [(path, None if body is None else body.encode()) for path, body in spec["requests"]]
    concurrency = int(spec["concurrency"])
    deadline = time.perf_counter() + float(spec["duration_s"])
    budget = int(spec["max_requests"])
    latencies: list[float] = []
    statuses: Counter[str] = Counter()
    errors = 0
    issued = 0
    headers = {"content-type": "application/json"}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30.0) as client:

        async def worker() -> None:
            nonlocal issued, errors
            while issued < budget and time.perf_counter() < deadline:
                path, body = reqs[issued % len(reqs)]
                issued += 1
                t0 = time.perf_counter()
                try:
                    r = await client.request(method, path, content=body, headers=headers)
                    await r.aread()
                except httpx.HTTPError as exc:
                    errors += 1
                    statuses[type(exc).__name__] += 1
                    continue
                latencies.append(time.perf_counter() - t0)
                statuses[str(r.status_code)] += 1
                if not 200 <= r.status_code < 300:
                    errors += 1

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        seconds = time.perf_counter() - t0
    latencies.sort()
    return {
        "requests": len(latencies) + sum(v for k, v in statuses.items() if not k.isdigit()),
        "errors": errors,
        "seconds": seconds,
        "p50_s": percentile(latencies, 0.50),
        "p99_s": percentile(latencies, 0.99),
        "statuses": dict(statuses),
    }


def main() -> int:
    with open(sys.argv[1]) as f:
        spec = json.load(f)
    print(json.dumps(asyncio.run(run(spec))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
