"""The server over HTTP: ``sessionhub serve`` as a real process, load from another process.

``Server`` starts ``python -m sessionhub serve --host 127.0.0.1 --port <free> --database URL``
(one uvicorn worker, no token, so loopback only) in a scratch directory and waits for
``/api/health``. ``load`` drives it with ``wrk`` (C, one thread, a Lua script that cycles
through the requests and prints its own summary) or with ``bench.loadgen`` (httpx, in its own
process). Both are closed loops of ``concurrency`` keep-alive connections, bounded in time
(wrk) or in time and count (httpx). Load is only ever sent to 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


class Server:
    """``sessionhub serve`` on a free loopback port, stopped (SIGINT, then SIGKILL) on exit."""

    def __init__(self, database_url: str, workdir: Path, floor: bool = False) -> None:
        self.database_url = database_url
        self.floor = floor  # bench/floor_app.py (bare Starlette + sqlite3) instead of sessionhub
        self.workdir = workdir
        self.port = free_port()
        self.base = f"http://{HOST}:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = workdir / f"serve-{self.port}.log"

    async def __aenter__(self) -> Server:
        import httpx

        self.workdir.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith("SESSIONHUB_")}
        cmd = [
            sys.executable,
            "-m",
            "sessionhub",
            "serve",
            "--host",
            HOST,
            "--port",
            str(self.port),
            "--database",
            self.database_url,
        ]
        if self.floor:
            path = self.database_url.removeprefix("sqlite:///")
            cmd = [sys.executable, "-m", "bench.floor_app", "--port", str(self.port), "--database", path]
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(
                cmd, cwd=ROOT if self.floor else self.workdir, env=env, stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.perf_counter() + 120
        async with httpx.AsyncClient(base_url=self.base, timeout=2.0) as client:
            while True:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"sessionhub serve exited {self.proc.returncode}: {self._tail()}")
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get("/api/health")).status_code == 200:
                        return self
                if time.perf_counter() > deadline:
                    await self.__aexit__()
                    raise RuntimeError(
                        f"sessionhub serve did not answer /api/health in 120 s: {self._tail()}"
                    )
                await asyncio.sleep(0.2)

    def _tail(self) -> str:
        with contextlib.suppress(OSError):
            return self.log.read_text(errors="replace").strip()[-300:]
        return ""

    async def __aexit__(self, *exc: object) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGINT)
        for _ in range(100):
            if self.proc.poll() is not None:
                return
            await asyncio.sleep(0.1)
        self.proc.kill()
        self.proc.wait()

    def rss_mib(self) -> float | None:
        """The server process's current resident set."""
        if self.proc is None:
            return None
        try:
            import psutil

            return float(psutil.Process(self.proc.pid).memory_info().rss) / 2**20
        except Exception:
            return None


@dataclass
class LoadResult:
    """One load run: totals and latency percentiles."""

    generator: str
    requests: int
    errors: int
    seconds: float
    p50_s: float
    p99_s: float
    detail: str = ""

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


@dataclass
class CpuUse:
    """Where a server's CPU went during a load run (Linux ``/proc``), per answered request."""

    loop_us: float  # the server's main thread: the event loop
    other_us: float  # its other threads: the store's writer and pool, the embedding thread
    idle: float  # the machine's idle share of the run (0-1)


def _threads_cpu(pid: int) -> dict[str, float]:
    tick = os.sysconf("SC_CLK_TCK")
    out: dict[str, float] = {}
    with contextlib.suppress(OSError):
        for tid in os.listdir(f"/proc/{pid}/task"):
            with contextlib.suppress(OSError):
                with open(f"/proc/{pid}/task/{tid}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                out[tid] = (int(fields[11]) + int(fields[12])) / tick
    return out


def _machine_ticks() -> list[int]:
    with open("/proc/stat") as f:
        return [int(x) for x in f.readline().split()[1:]]


class CpuMeter:
    """``with CpuMeter(pid) as m: ...`` then ``m.use(requests)``: the server's CPU per request."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self._before: tuple[dict[str, float], list[int]] = ({}, [])
        self._after: tuple[dict[str, float], list[int]] = ({}, [])

    def __enter__(self) -> CpuMeter:
        self._before = (_threads_cpu(self.pid), _machine_ticks())
        return self

    def __exit__(self, *exc: object) -> None:
        self._after = (_threads_cpu(self.pid), _machine_ticks())

    def use(self, requests: int) -> CpuUse | None:
        (t0, m0), (t1, m1) = self._before, self._after
        if not t1 or not m1 or requests <= 0:
            return None
        main = str(self.pid)
        loop = t1.get(main, 0.0) - t0.get(main, 0.0)
        other = sum(v - t0.get(k, 0.0) for k, v in t1.items() if k != main)
        ticks = [b - a for a, b in zip(m0, m1, strict=True)]
        idle = (ticks[3] + ticks[4]) / max(1, sum(ticks))  # idle + iowait
        return CpuUse(1e6 * loop / requests, 1e6 * other / requests, idle)


def wrk_available() -> bool:
    return shutil.which("wrk") is not None


def _lua_string(text: str) -> str:
    level = 1
    while f"]{'=' * level}]" in text:
        level += 1
    eq = "=" * level
    return f"[{eq}[{text}]{eq}]"


_WRK_LUA = """
local reqs = {%s}
local bodies = {%s}
local method = %s
local i = 0
wrk.headers["Content-Type"] = "application/json"
request = function()
  i = i + 1
  local k = (i %% #reqs) + 1
  return wrk.format(method, reqs[k], nil, bodies[k])
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests": %%d, "duration_us": %%d, "connect": %%d, "read": %%d, "write": %%d, '
    .. '"status": %%d, "timeout": %%d, "p50_us": %%d, "p99_us": %%d}\\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""


async def load_wrk(
    base: str, method: str, requests: list[tuple[str, str | None]], concurrency: int, duration_s: float
) -> LoadResult:
    """``wrk -t1 -c N -d S`` with a Lua script cycling through ``requests``."""
    paths = ", ".join(_lua_string(p) for p, _ in requests)
    bodies = ", ".join("nil" if b is None else _lua_string(b) for _, b in requests)
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(_WRK_LUA % (paths, bodies, json.dumps(method)))
        script = f.name
    try:
        proc = await asyncio.create_subprocess_exec(
            "wrk",
            "-t1",
            f"-c{concurrency}",
            f"-d{max(1, round(duration_s))}s",
            "--timeout",
            "10s",
            "-s",
            script,
            base,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await proc.communicate()
    finally:
        os.unlink(script)
    line = next((x for x in out.decode().splitlines() if x.startswith("WRKJSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk exited {proc.returncode}: {(out + err).decode().strip()[-300:]}")
    r = json.loads(line.removeprefix("WRKJSON "))
    errors = r["connect"] + r["read"] + r["write"] + r["status"] + r["timeout"]
    detail = ", ".join(f"{k} {r[k]}" for k in ("connect", "read", "write", "status", "timeout") if r[k])
    return LoadResult(
        "wrk", r["requests"], errors, r["duration_us"] / 1e6, r["p50_us"] / 1e6, r["p99_us"] / 1e6, detail
    )


async def load_python(
    base: str,
    method: str,
    requests: list[tuple[str, str | None]],
    concurrency: int,
    duration_s: float,
    max_requests: int,
) -> LoadResult:
    """``bench.loadgen`` (httpx) in its own process."""
    spec: dict[str, Any] = {
        "base": base,
        "method": method,
        "requests": requests,
        "concurrency": concurrency,
        "duration_s": duration_s,
        "max_requests": max_requests,
    }
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(spec, f)
        path = f.name
    try:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench.loadgen",
            path,
            cwd=ROOT,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await proc.communicate()
    finally:
        os.unlink(path)
    lines = out.decode().strip().splitlines()
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"loadgen exited {proc.returncode}: {err.decode().strip()[-300:]}")
    r = json.loads(lines[-1])
    bad = {k: v for k, v in r["statuses"].items() if not k.startswith("2")}
    detail = ", ".join(f"{k} ×{v}" for k, v in sorted(bad.items()))
    return LoadResult("httpx", r["requests"], r["errors"], r["seconds"], r["p50_s"], r["p99_s"], detail)
