"""Helpers of the reliability suite: real processes, process groups, soak scaling.

``make test`` runs every test here at a bounded size; ``make soak`` (``SESSIONHUB_SOAK=1``)
runs the same tests with larger counts and longer durations, plus the few marked ``slow``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from _env import child_env as base_env

SOAK = os.environ.get("SESSIONHUB_SOAK", "").lower() in ("1", "true", "yes")
BIN = Path(sys.executable).parent
SESSIONHUB = BIN / "sessionhub"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def size(quick: float, soak: float) -> float:
    """``quick`` under ``make test``, ``soak`` under ``make soak``."""
    return soak if SOAK else quick


def child_env(**extra: str) -> dict[str, str]:
    """The environment of a child process: no SESSIONHUB_* leaking from the caller."""
    env = base_env()
    env["SESSIONHUB_CONFIG"] = ""
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


def kill_group(proc: subprocess.Popen[str], sig: int = signal.SIGKILL) -> None:
    """Send ``sig`` to the process group of ``proc`` (started with ``start_new_session``)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)


def stop(proc: subprocess.Popen[str], timeout: float = 10) -> None:
    """SIGTERM then SIGKILL the process group; reap the process and close its pipes."""
    if proc.poll() is None:
        kill_group(proc, signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            kill_group(proc, signal.SIGKILL)
            proc.wait(5)
    else:
        kill_group(proc, signal.SIGKILL)  # stray children, if any
    for pipe in (proc.stdin, proc.stdout, proc.stderr):
        if pipe is not None:
            pipe.close()


def integrity(path: Path) -> str:
    """``PRAGMA integrity_check`` of a SQLite file, read with the stdlib driver."""
    conn = sqlite3.connect(path)
    try:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        conn.close()


def stored(url: str) -> dict[str, list[tuple[int, str]]]:
    """Every session id of a store (SQLite or PostgreSQL URL) with its (seq, content) in order."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT s.id, m.seq, m.content FROM messages m JOIN sessions s ON s.pk = m.session_pk"
                    " ORDER BY s.id, m.seq"
                )
            ).fetchall()
    finally:
        engine.dispose()
    out: dict[str, list[tuple[int, str]]] = {}
    for sid, seq, content in rows:
        out.setdefault(sid, []).append((seq, content))
    return out


def message_counts(url: str) -> dict[str, int]:
    """The denormalised ``message_count`` of every session."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as conn:
            return dict(conn.execute(text("SELECT id, message_count FROM sessions")).fetchall())  # type: ignore[arg-type]
    finally:
        engine.dispose()


def drop_dac_override() -> None:
    """``preexec_fn``: a root child loses CAP_DAC_OVERRIDE, so file modes bind it (no-op for others)."""
    import ctypes

    pr_capbset_drop, cap_dac_override = 24, 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_capbset_drop, cap_dac_override, 0, 0, 0)


def assert_exact(url: str, acked: list[tuple[str, int, str]], sessions: list[str]) -> dict[str, int]:
    """Every session's seqs are 1..N with no gap or duplicate, and every acked message is stored
    at its acknowledged seq with its content; returns N per session."""
    rows = stored(url)
    counts = {}
    totals = message_counts(url)
    for sid in sessions:
        seqs = [seq for seq, _ in rows.get(sid, [])]
        assert seqs == list(range(1, len(seqs) + 1)), f"{sid}: seqs not 1..N: {seqs[:20]}..."
        assert totals[sid] == len(seqs), f"{sid}: message_count {totals[sid]} != {len(seqs)} rows"
        counts[sid] = len(seqs)
    by_key = {(sid, seq): content.split(" ")[0] for sid, msgs in rows.items() for seq, content in msgs}
    lost = [a for a in acked if by_key.get((a[0], a[1])) != a[2]]
    assert not lost, f"{len(lost)} acknowledged messages missing or different, e.g. {lost[:5]}"
    return counts


class Appender:
    """``appender.py`` as a child process (its own process group); its lines collected by a thread."""

    def __init__(
        self,
        url: str,
        sessions: list[str],
        tag: str,
        count: int = 0,
        keep_going: bool = False,
        pad: int = 0,
        preexec_fn: Callable[[], None] | None = None,
    ):
        args = [
            sys.executable,
            str(Path(__file__).parent / "appender.py"),
            url,
            ",".join(sessions),
            tag,
            str(count),
        ]
        if keep_going:
            args.append("--keep-going")
        if pad:
            args.append(f"--pad={pad}")
        self.proc = subprocess.Popen(
            args,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=child_env(),
            start_new_session=True,
            preexec_fn=preexec_fn,
        )
        self.lines: list[str] = []
        self._stderr = ""
        self.ready = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line == "ready\n":
                self.ready.set()
            self.lines.append(line.rstrip("\n"))
        self.ready.set()

    def wait_for(self, prefix: str, start: int = 0, timeout: float = 30) -> int:
        """Wait for a line starting with ``prefix`` at index >= ``start``; its index."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for i in range(start, len(self.lines)):
                if self.lines[i].startswith(prefix):
                    return i
            if self.proc.poll() is not None and not self._reader.is_alive():
                break
            time.sleep(0.02)
        raise AssertionError(f"no {prefix!r} line after {start}: {self.lines[-5:]}")

    def join(self, timeout: float = 60) -> None:
        """Wait for the process to end and for its output to be read; close its pipes."""
        self.proc.wait(timeout)
        self._reader.join(10)
        self._close()

    def _close(self) -> None:
        if self.proc.stderr is not None and not self.proc.stderr.closed:
            self._stderr = self.proc.stderr.read()
            self.proc.stderr.close()
        if self.proc.stdout is not None and not self.proc.stdout.closed and not self._reader.is_alive():
            self.proc.stdout.close()

    def kill(self) -> None:
        kill_group(self.proc)
        self.join(10)

    @property
    def acked(self) -> list[tuple[str, int, str]]:
        out = []
        for line in list(self.lines):
            parts = line.split(" ")
            if parts[0] == "ack" and len(parts) == 4:  # a line cut by kill -9 is not an ack
                out.append((parts[1], int(parts[2]), parts[3]))
        return out

    @property
    def errors(self) -> list[str]:
        return [line for line in list(self.lines) if line.startswith("err ")]

    def stderr(self) -> str:
        """What the process wrote to stderr, once it has ended ("" while it runs)."""
        if self.proc.poll() is None:
            return ""
        self._reader.join(10)
        self._close()
        return self._stderr


@contextlib.contextmanager
def serve(
    tmp_path: Path,
    database: str,
    config: str = "",
    *,
    preexec_fn: Callable[[], None] | None = None,
    extra_env: dict[str, str] | None = None,
) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """A `sessionhub serve` process (its own process group) on a free loopback port."""
    port = free_port()
    toml = tmp_path / f"sessionhub-{port}.toml"
    toml.write_text(config)
    log = (tmp_path / f"serve-{port}.log").open("w")
    proc = subprocess.Popen(
        [str(SESSIONHUB), "serve", "--host", "127.0.0.1", "--port", str(port), "--database", database,
         "--config", str(toml)],
        stdout=log, stderr=subprocess.STDOUT, text=True, env=child_env(**(extra_env or {})), cwd=tmp_path,
        start_new_session=True, preexec_fn=preexec_fn,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{base}/api/health", timeout=10)
                break
            except httpx.TransportError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    log.flush()
                    raise AssertionError(f"server did not start:\n{Path(log.name).read_text()}") from None
                time.sleep(0.1)
        yield base, proc
    finally:
        stop(proc)
        log.close()


def make_sessions(url: str, n: int) -> list[str]:
    """Create ``n`` sessions on ``url`` (migrating it first); their ids."""
    import asyncio

    import sessionhub

    async def go() -> list[str]:
        async with sessionhub.open(url) as hub:
            return [(await hub.create_session(title=f"shared {i}")).id for i in range(n)]

    return asyncio.run(go())


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every test of this directory carries the ``reliability`` marker (``make soak`` selects it)."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.reliability)
