"""``sessionhub chat`` with piped stdin and the echo agent, in-process through click's CliRunner
(stdin is not a terminal there, as when piped)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

Sh = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def opts(tmp_path: Path) -> tuple[str, ...]:
    config = tmp_path / "sessionhub.toml"
    config.write_text('[providers.echo]\ntype = "echo"\ndelay_ms = 0\n', encoding="utf-8")
    return ("--database", f"sqlite:///{tmp_path}/chat.db", "--config", str(config))


@pytest.fixture
def sh(cli: Sh) -> Sh:
    """``sh(*args, stdin="", ok=True)``: the command in-process; ``ok`` asserts exit 0."""

    def run(*args: str, stdin: str = "", ok: bool = True) -> subprocess.CompletedProcess[str]:
        proc = cli(*args, input=stdin)
        if ok:
            assert proc.returncode == 0, proc.stderr
        return proc

    return run


def only_session(sh: Sh, opts: tuple[str, ...]) -> str:
    listed = json.loads(sh("sessions", "list", "--json", *opts).stdout)["sessions"]
    assert len(listed) == 1
    return str(listed[0]["id"])


def stored(sh: Sh, sid: str, opts: tuple[str, ...]) -> list[dict[str, Any]]:
    shown = json.loads(sh("sessions", "show", sid, "--json", *opts).stdout)
    messages: list[dict[str, Any]] = shown["messages"]
    return messages


def test_piped_chat_new_session(sh: Sh, opts: tuple[str, ...]) -> None:
    """Two messages and /help on piped stdin: echoed replies printed and stored, /help answered only."""
    out = sh("chat", *opts, stdin="hello brown fox\n/help\nsecond line here\n").stdout
    assert "assistant> hello brown fox" in out and "assistant> second line here" in out
    assert "/rename <title>" in out
    sid = only_session(sh, opts)
    assert sid in out
    msgs = stored(sh, sid, opts)
    assert [(m["role"], m["content"], m["status"]) for m in msgs] == [
        ("user", "hello brown fox", "complete"),
        ("assistant", "hello brown fox", "complete"),
        ("user", "second line here", "complete"),
        ("assistant", "second line here", "complete"),
    ]


def test_resume_shows_history_and_continues(sh: Sh, opts: tuple[str, ...]) -> None:
    """chat ID prints the last messages, then appends to that session; /rename is applied."""
    sid = sh("sessions", "new", *opts).stdout.strip()
    sh("chat", sid, *opts, stdin="first words\n")
    out = sh("chat", sid, *opts, stdin="/rename Resumed\nmore words\n").stdout
    assert out.index("first words") < out.index("Renamed to 'Resumed'") < out.index("assistant> more words")
    assert [m["content"] for m in stored(sh, sid, opts)] == ["first words"] * 2 + ["more words"] * 2
    assert json.loads(sh("sessions", "show", sid, "--json", *opts).stdout)["session"]["title"] == "Resumed"


def test_chat_errors(sh: Sh, opts: tuple[str, ...]) -> None:
    """Unknown id exits 3, an archived session exits 4 read-only, each with one error line."""
    missing = sh("chat", "ses_doesnotexist000000000000", *opts, ok=False)
    assert missing.returncode == 3 and missing.stderr.startswith("error:")
    sid = sh("sessions", "new", *opts).stdout.strip()
    sh("sessions", "archive", sid, *opts)
    archived = sh("chat", sid, *opts, stdin="hi\n", ok=False)
    assert archived.returncode == 4 and "read-only" in archived.stderr
    for proc in (missing, archived):
        assert len(proc.stderr.strip().splitlines()) == 1
    assert stored(sh, sid, opts) == []
