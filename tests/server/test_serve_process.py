"""`sessionhub serve` as a real process on a free port, and the non-loopback refusal."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from _env import child_env

SCRIPT = Path(sys.executable).parent / "sessionhub"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _env() -> dict[str, str]:
    env = child_env()
    env["SESSIONHUB_CONFIG"] = ""
    return env


def test_serve_real_process(tmp_path: Path) -> None:
    """The server starts on a free port with a temp database and answers health, create and list."""
    port = _free_port()
    db = tmp_path / "served.db"
    proc = subprocess.Popen(
        [str(SCRIPT), "serve", "--host", "127.0.0.1", "--port", str(port), "--database", f"sqlite:///{db}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=_env(),
        cwd=tmp_path,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                r = httpx.get(f"{base}/api/health", timeout=10)
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.1)
        assert r.json()["status"] == "ok" and r.json()["database"] == "sqlite"
        s = httpx.post(f"{base}/api/sessions", json={"title": "real"}).json()
        httpx.post(f"{base}/api/sessions/{s['id']}/messages", json={"role": "user", "content": "hi"})
        listed = httpx.get(f"{base}/api/sessions").json()["sessions"]
        assert [x["id"] for x in listed] == [s["id"]]
        assert db.exists()
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            out, _ = proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()  # reap it and close its pipe before failing
            raise
    assert f"http://127.0.0.1:{port}" in out and str(db) in out and "Ctrl+C" in out


def test_non_loopback_without_token_refuses(tmp_path: Path) -> None:
    """--host 0.0.0.0 without a token exits non-zero with one clear line."""
    proc = subprocess.run(
        [
            str(SCRIPT),
            "serve",
            "--host",
            "0.0.0.0",
            "--port",
            str(_free_port()),
            "--database",
            f"sqlite:///{tmp_path}/x.db",
        ],
        capture_output=True,
        text=True,
        env=_env(),
        cwd=tmp_path,
        timeout=30,
    )
    assert proc.returncode != 0
    lines = [line for line in (proc.stdout + proc.stderr).splitlines() if line.strip()]
    assert len(lines) == 1 and "token" in lines[0], lines
