"""Where sessionhub's time goes inside this benchmark process: py-spy on our own PID.

``profile_table(title, workload)`` runs ``py-spy record --nonblocking`` on this process (all
threads: the event loop and the store's worker threads; idle threads left out) while the
workload runs, and turns the samples into a ``report.Table`` of shares per layer and the top
functions by own time. Returns None when py-spy is not installed or cannot attach.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path

from .profile_http import summarize
from .report import Table


async def profile_table(title: str, workload: Callable[[], Awaitable[object]], top: int = 8) -> Table | None:
    spy_bin = shutil.which("py-spy") or shutil.which("py-spy", path=str(Path(sys.executable).parent))
    if spy_bin is None:
        return None
    out = Path(tempfile.mkdtemp(prefix="sessionhub-spy-")) / "stacks.txt"
    spy = subprocess.Popen(
        [
            spy_bin,
            "record",
            "--nonblocking",
            "-p",
            str(os.getpid()),
            "-r",
            "500",
            "-f",
            "raw",
            "-o",
            str(out),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        await asyncio.sleep(0.5)  # let it attach
        await workload()
    finally:
        spy.send_signal(signal.SIGINT)
        try:
            spy.wait(timeout=60)
        except subprocess.TimeoutExpired:
            spy.kill()
            spy.wait()
    try:
        raw = out.read_text() if out.exists() else ""
    finally:
        shutil.rmtree(out.parent, ignore_errors=True)
    layers, own, total = summarize(raw)
    if not total:
        return None
    rows = [[name, f"{n / total:.0%}"] for name, n in sorted(layers.items(), key=lambda kv: -kv[1])]
    rows += [[f"own time: `{frame[:100]}`", f"{n / total:.1%}"] for frame, n in own.most_common(top)]
    return Table(f"{title} (py-spy, {total:,} samples of busy threads in this run)", ["where", "share"], rows)
