"""``sessionhub serve`` refuses unsafe settings at start: one clear line, a non-zero exit, no server.

Short tokens (guessable), a wildcard or malformed origin in ``allowed_origins`` (it would let
every site in) and a request timeout out of range never get as far as binding a port.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import child_env, free_port, stop

SESSIONHUB = Path(sys.executable).with_name("sessionhub")


def start(tmp_path: Path, config: str = "", **env: str) -> subprocess.CompletedProcess[str]:
    toml = tmp_path / "sessionhub.toml"
    toml.write_text(config)
    cmd = [str(SESSIONHUB), "serve", "--port", str(free_port()), "--config", str(toml),
           "--database", f"sqlite:///{tmp_path / 'db.sqlite'}"]  # fmt: skip
    return subprocess.run(cmd, capture_output=True, text=True, env=child_env(**env), timeout=60, cwd=tmp_path)


@pytest.mark.parametrize(
    ("config", "env", "names"),
    [
        ("", {"SESSIONHUB_TOKEN": "fifteen-chars-x"}, "SESSIONHUB_TOKEN"),
        ('[server]\ntokens = {"short-token" = "alice"}\n', {}, "server.tokens"),
        ('[server]\nallowed_origins = ["*"]\n', {}, "server.allowed_origins"),
        ('[server]\nallowed_origins = ["app.example.com"]\n', {}, "server.allowed_origins"),
        ('[server]\nallowed_origins = ["https://app.example.com/path"]\n', {}, "server.allowed_origins"),
        ("[server]\nrequest_timeout_seconds = 0\n", {}, "server.request_timeout_seconds"),
    ],
)
def test_unsafe_setting_stops_start(tmp_path: Path, config: str, env: dict[str, str], names: str) -> None:
    """The process exits non-zero before serving, with one line naming the setting."""
    done = start(tmp_path, config, **env)
    assert done.returncode != 0
    lines = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and names in lines[0], lines
    assert "Traceback" not in done.stderr


def test_sixteen_character_token_is_enough(tmp_path: Path) -> None:
    """The refusal is about length: a 16-character token passes the settings check (the server starts)."""
    toml = tmp_path / "sessionhub.toml"
    toml.write_text("[server]\nrequest_timeout_seconds = 0.5\n")
    proc = subprocess.Popen(
        [str(SESSIONHUB), "serve", "--port", str(free_port()), "--config", str(toml),
         "--database", f"sqlite:///{tmp_path / 'db.sqlite'}"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=tmp_path,
        env=child_env(SESSIONHUB_TOKEN="sixteen-chars-xy"), start_new_session=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        assert "serving on" in proc.stdout.readline() + proc.stdout.readline()
    finally:
        stop(proc)
