"""Bad input: truncated JSON, wrong shapes, unknown versions/formats give clear errors, nothing partial."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from history_factories import make_messages, make_session

from sessionhub.errors import InvalidInput
from sessionhub.history import (
    ImportedSession,
    ImportFailure,
    detect_format,
    export_json,
    parse_export,
    read_sessions,
)

FIXTURES = Path(__file__).parent / "fixtures"


def export_text() -> str:
    return "".join(export_json(make_session(), make_messages(3)))


def failures(path: Path, fmt: str | None = None) -> list[ImportFailure]:
    return [x for x in read_sessions(path, fmt) if isinstance(x, ImportFailure)]


def test_truncated_export_is_a_failure(tmp_path: Path) -> None:
    """A sessionhub export cut in half yields one ImportFailure naming invalid JSON, and no session."""
    path = tmp_path / "cut.json"
    path.write_text(export_text()[:-40], encoding="utf-8")
    out = list(read_sessions(path, "sessionhub"))
    assert len(out) == 1 and isinstance(out[0], ImportFailure)
    assert "invalid JSON" in out[0].reason and "truncated" in out[0].reason


@pytest.mark.parametrize(
    ("mutate", "needle"),
    [
        (lambda d: d.update(version=2), "unsupported export version 2"),
        (lambda d: d.update(format="other"), "not a sessionhub export"),
        (lambda d: d.update(messages={}), "messages: expected a list"),
        (lambda d: d["messages"][1].update(role="robot"), "messages[1]: role 'robot'"),
        (lambda d: d["messages"][1].update(seq=1), "messages[1]: 'seq' must be"),
        (lambda d: d["messages"][0].update(parts=[{"type": "image"}]), "unknown part type"),
        (lambda d: d["messages"][0].update(usage={"input_tokens": -1}), "usage.input_tokens"),
        (lambda d: d["messages"][0].update(created_at="yesterday"), "not an ISO 8601 timestamp"),
        (lambda d: d["session"].pop("title"), "session.title: expected a string"),
        (lambda d: d.update(session=[]), "session: expected an object"),
    ],
)
def test_wrong_shapes_are_refused(mutate: object, needle: str) -> None:
    """Each wrong shape or version in an export is an InvalidInput whose message says what is wrong."""
    doc = json.loads(export_text())
    mutate(doc)  # type: ignore[operator]
    with pytest.raises(InvalidInput) as info:
        parse_export(doc)
    assert needle in info.value.message


def test_one_bad_session_does_not_stop_the_others(tmp_path: Path) -> None:
    """In a PocketPaw directory, a corrupt session file fails alone; the other sessions import whole."""
    base = tmp_path / "sessions"
    shutil.copytree(FIXTURES / "pocketpaw/memory/sessions", base)
    (base / "websocket_5f1c2a9e.json").write_text(
        '[{"id": "x", "role": "user", "content": "hi"', encoding="utf-8"
    )
    out = list(read_sessions(base, "pocketpaw"))
    bad = [x for x in out if isinstance(x, ImportFailure)]
    good = [x for x in out if isinstance(x, ImportedSession)]
    assert len(bad) == 1 and bad[0].path.endswith("websocket_5f1c2a9e.json")
    assert [s.source_session_id for s in good] == ["telegram_99887766"]


def test_wrong_message_shape_fails_whole_session(tmp_path: Path) -> None:
    """One message of the wrong shape (content not a string) fails its whole AI-Lab session."""
    day = tmp_path / "memory/sessions/2026-02-07"
    day.mkdir(parents=True)
    doc = json.loads((FIXTURES / "ai-lab/memory/sessions/2026-02-07/abc123def456.json").read_text())
    doc["messages"][2]["content"] = {"text": "no"}
    (day / "abc123def456.json").write_text(json.dumps(doc))
    [failure] = failures(tmp_path / "memory", "ai-lab")
    assert "messages[2].content: expected a string" in failure.reason


def test_torn_jsonl_lines_are_reported_not_fatal(tmp_path: Path) -> None:
    """A picoclaw transcript with a torn last line (and a broken middle one) imports every
    complete line and names each broken one (picoclaw itself drops them silently)."""
    src = FIXTURES / "picoclaw/workspace/sessions/cli_default.jsonl"
    path = tmp_path / "cli_default.jsonl"
    lines = src.read_text().splitlines()
    path.write_text("\n".join([lines[0], "{oops", *lines[1:]]) + '\n{"role":"user","cont', encoding="utf-8")
    [session] = [x for x in read_sessions(path, "picoclaw") if isinstance(x, ImportedSession)]
    assert [m.content for m in session.messages] == ["You are picoclaw.", "ping", "pong"]
    assert [(s.what, s.why.split(" ")[0]) for s in session.skipped] == [("line 2", "not"), ("line 5", "the")]
    assert "cut off" in session.skipped[1].why


def test_openclaw_unknown_version_and_missing_header(tmp_path: Path) -> None:
    """An OpenClaw transcript with a future version, or without its header line, is an ImportFailure."""
    src = (FIXTURES / "openclaw/agents/main/sessions/7f3e2c10-aaaa-4bbb-8ccc-0123456789ab.jsonl").read_text()
    future = tmp_path / "future.jsonl"
    future.write_text(src.replace('"version":3', '"version":9', 1), encoding="utf-8")
    assert "unsupported transcript version 9" in failures(future, "openclaw")[0].reason
    headless = tmp_path / "headless.jsonl"
    headless.write_text("\n".join(src.splitlines()[1:]), encoding="utf-8")
    assert "not an OpenClaw transcript" in failures(headless, "openclaw")[0].reason


def test_unknown_format_and_missing_path(tmp_path: Path) -> None:
    """Unknown content, an unknown format name, a missing path or an empty dir raise InvalidInput at once."""
    junk = tmp_path / "notes.txt"
    junk.write_text("hello")
    with pytest.raises(InvalidInput, match="cannot tell the format"):
        detect_format(junk)
    with pytest.raises(InvalidInput, match="unknown import format 'chatgpt'"):
        read_sessions(junk, "chatgpt")
    with pytest.raises(InvalidInput, match="no such file"):
        read_sessions(tmp_path / "missing")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InvalidInput, match="no picoclaw sessions found"):
        read_sessions(empty, "picoclaw")


def test_non_utf8_and_empty_files(tmp_path: Path) -> None:
    """Binary garbage and empty files are clear failures, not crashes."""
    binary = tmp_path / "bin.json"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    assert "not UTF-8" in failures(binary, "sessionhub")[0].reason
    empty = tmp_path / "empty.json"
    empty.write_text("")
    assert "empty file" in failures(empty, "sessionhub")[0].reason
