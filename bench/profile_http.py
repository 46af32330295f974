"""Where a REST append's time goes: ``python -m bench.profile_http [--seconds S] [--floor]``.

Starts ``sessionhub serve`` (or, with ``--floor``, bench/floor_app.py) on a fresh SQLite file,
runs ``wrk -t1 -c16`` POSTing messages into one session and, at the same time, ``py-spy
record --gil`` on the server process (raw collapsed stacks of the threads holding the GIL: the
Python CPU, which is what limits one worker; a thread waiting for the database, the network
or the CPU, or running the embedding model outside the GIL, is left out). Prints the share
of the server's samples per layer (the innermost frame of ours or the library that the sample
is in) and the top functions by own time, as Markdown. Needs wrk and py-spy (bench's
requirements); loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from . import httpbench
from .report import Table

LAYERS = (  # first match from the innermost frame outwards names the sample's layer
    ("sqlite3 (driver and SQLite)", ("sqlite3", "(sqlite3")),
    ("sessionhub store", ("sessionhub/store/",)),
    ("SQLAlchemy", ("sqlalchemy/",)),
    ("sessionhub hub and model", ("sessionhub/hub/", "sessionhub/model.py", "sessionhub/validation.py")),
    ("sessionhub server (routes, middleware)", ("sessionhub/server/",)),
    ("pydantic", ("pydantic",)),
    ("fastapi", ("fastapi/",)),
    ("starlette", ("starlette/",)),
    ("uvicorn / h11 / httptools", ("uvicorn/", "h11/", "httptools")),
    ("asyncio / uvloop / threads", ("asyncio/", "uvloop", "concurrent/futures", "threading.py")),
    ("the benchmark itself", ("bench/",)),
)


def layer_of(frames: list[str]) -> str:
    for frame in reversed(frames):
        for name, marks in LAYERS:
            if any(m in frame for m in marks):
                return name
    return "other"


def summarize(raw: str) -> tuple[dict[str, int], collections.Counter[str], int]:
    layers: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = stack.split(";")
        total += n
        layers[layer_of(frames)] += n
        own[frames[-1]] += n
    return dict(layers), own, total


async def record(seconds: float, floor: bool) -> tuple[httpbench.LoadResult, str]:
    """wrk's result and py-spy's raw stacks of one profiled load run."""
    tmp = Path(tempfile.mkdtemp(prefix="sessionhub-prof-"))
    try:
        url = f"sqlite:///{(tmp / 'p.db').resolve()}"
        async with httpbench.Server(url, tmp, floor=floor) as srv:
            import httpx

            async with httpx.AsyncClient(base_url=srv.base, timeout=30) as client:
                r = await client.post("/api/sessions", json={})
                r.raise_for_status()
                sid = r.json()["id"]
            assert srv.proc is not None
            out = tmp / "stacks.txt"
            spy = subprocess.Popen(
                [shutil.which("py-spy") or shutil.which("py-spy", path=str(Path(sys.executable).parent)) or "py-spy", "record", "-p", str(srv.proc.pid), "-d", str(round(seconds)),
                 "-r", "250", "--gil", "-f", "raw", "-o", str(out)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )  # fmt: skip
            body = json.dumps({"role": "user", "content": "the quick brown fox jumps over the lazy dog"})
            load = await httpbench.load_wrk(
                srv.base, "POST", [(f"/api/sessions/{sid}/messages", body)], 16, seconds
            )
            spy.wait(timeout=seconds + 60)
        return load, out.read_text() if out.exists() else ""
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def available() -> bool:
    """Whether wrk and py-spy are installed (the profile needs both)."""
    spy = shutil.which("py-spy") or shutil.which("py-spy", path=str(Path(sys.executable).parent))
    return spy is not None and httpbench.wrk_available()


async def profile_table(seconds: float, floor: bool = False, top: int = 12) -> Table | None:
    """The profile as a report table (None when no sample was taken)."""
    load, raw = await record(seconds, floor)
    layers, own, total = summarize(raw)
    if not total:
        return None
    rows = [[name, f"{n / total:.0%}"] for name, n in sorted(layers.items(), key=lambda kv: -kv[1])]
    rows += [[f"own time: `{frame[:100]}`", f"{n / total:.1%}"] for frame, n in own.most_common(top)]
    what = "bench/floor_app.py" if floor else "sessionhub serve"
    return Table(
        f"where a REST append's time goes: {what} under wrk -c16, {load.rps:,.0f} requests/s while profiled "
        f"(py-spy at 250 Hz over the server process, {total:,} samples of threads holding the GIL: where "
        "its Python CPU goes)",
        ["where", "share"],
        rows,
    )


async def profile(seconds: float, floor: bool) -> str:
    table = await profile_table(seconds, floor, top=15)
    if table is None:
        return "no samples (is py-spy allowed to attach?)"
    lines = [f"**{table.title}**", "", "| where | share |", "|---|---|"]
    lines += [f"| {a} | {b} |" for a, b in table.rows]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.profile_http", description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--floor", action="store_true", help="profile bench/floor_app.py instead")
    args = parser.parse_args()
    print(asyncio.run(profile(args.seconds, args.floor)))


if __name__ == "__main__":
    main()
