"""``sessionhub serve`` opens the database the way the library does (config, encryption key)."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import httpx

from _env import child_env
from _util import eventually_sync

SCRIPT = Path(sys.executable).with_name("sessionhub")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_uses_the_configured_encryption_key(
    tmp_path: Path, cli: Callable[..., subprocess.CompletedProcess[str]]
) -> None:
    """With [encryption] key_file the server, a real `sessionhub serve` process, starts on an
    encrypted database and writes no plaintext."""
    key = tmp_path / "master.key"
    made = cli("keys", "generate", "--key-file", str(key))
    assert made.returncode == 0, made.stderr
    db = tmp_path / "enc.db"
    config = tmp_path / "sessionhub.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{db}"\n\n[encryption]\nkey_file = "{key}"\n')
    port = _free_port()
    proc = subprocess.Popen(
        [str(SCRIPT), "serve", "--port", str(port), "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=child_env(),
    )
    base = f"http://127.0.0.1:{port}"
    try:

        def healthy() -> bool:
            assert proc.poll() is None, f"server exited: {proc.stderr.read() if proc.stderr else ''}"
            try:
                return httpx.get(f"{base}/api/health", timeout=10).status_code == 200
            except httpx.TransportError:
                return False

        eventually_sync(healthy, timeout=30, interval=0.1, what="the server answers /api/health")
        sid = httpx.post(f"{base}/api/sessions", json={}).json()["id"]
        r = httpx.post(
            f"{base}/api/sessions/{sid}/messages", json={"role": "user", "content": "zanzibarcanary"}
        )
        assert r.status_code == 201
        assert httpx.get(f"{base}/api/sessions/search", params={"q": "zanzibarcanary"}).json()["results"]
    finally:
        proc.terminate()
        proc.communicate(timeout=10)  # reaps it and closes its pipes
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("enc.db*"))
    assert b"zanzibarcanary" not in raw
