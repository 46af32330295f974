"""Each foreign importer on hand-built fixtures in the real projects' on-disk shapes."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from sessionhub.history import ImportedSession, detect_format, read_sessions
from sessionhub.history.imported import Skipped
from sessionhub.model import ToolCall, ToolResult, Usage

FIXTURES = Path(__file__).parent / "fixtures"


def ok(path: Path, fmt: str | None = None) -> list[ImportedSession]:
    out = list(read_sessions(path, fmt))
    assert all(isinstance(s, ImportedSession) for s in out), out
    return [s for s in out if isinstance(s, ImportedSession)]


def by_id(sessions: list[ImportedSession], sid: str) -> ImportedSession:
    return next(s for s in sessions if s.source_session_id == sid)


@pytest.mark.parametrize(
    ("path", "fmt"),
    [
        ("pocketpaw/memory", "pocketpaw"),
        ("pocketpaw/memory/sessions", "pocketpaw"),
        ("ai-lab/memory", "ai-lab"),
        ("ai-lab/memory/sessions/2026-02-07", "ai-lab"),
        ("picoclaw/workspace", "picoclaw"),
        ("picoclaw/workspace/sessions/cli_default.jsonl", "picoclaw"),
        ("openclaw", "openclaw"),
        ("openclaw/agents/main/sessions", "openclaw"),
    ],
)
def test_detect_format(path: str, fmt: str) -> None:
    """detect_format recognises each fixture layout (root dir, sessions dir or one file)."""
    assert detect_format(FIXTURES / path) == fmt


def test_pocketpaw_sessions_fields() -> None:
    """PocketPaw: both sessions, index titles (rename wins), roles, order, times, skipped compaction."""
    sessions = ok(FIXTURES / "pocketpaw/memory")
    assert sorted(s.source_session_id for s in sessions) == ["telegram_99887766", "websocket_5f1c2a9e"]
    s = by_id(sessions, "websocket_5f1c2a9e")
    assert s.format == "pocketpaw"
    assert s.title == "Lisbon trip"
    assert [m.role for m in s.messages] == ["user", "assistant", "assistant"]
    assert [m.content for m in s.messages] == [
        "Plan a weekend trip to Lisbon",
        "Day 1: Alfama and the castle.",
        "Day 2: Belem and the riverside.",
    ]
    assert s.messages[0].created_at == datetime(2026, 2, 10, 9, 15, 2, 118000, tzinfo=UTC)
    assert s.messages[0].metadata == {"sender": "web", "pocketpaw_id": "0a7d9f10-1111-4c2e-9a61-3f1e2b3c4d01"}
    assert s.created_at == datetime(2026, 2, 10, 9, 15, 2, 118000, tzinfo=UTC)
    assert s.updated_at == datetime(2026, 2, 10, 9, 16, 40, 500000, tzinfo=UTC)
    assert s.metadata == {"pocketpaw": {"session_key": "websocket_5f1c2a9e", "channel": "websocket"}}
    assert [k.what for k in s.skipped] == ["websocket_5f1c2a9e_compaction.json"]
    t = by_id(sessions, "telegram_99887766")
    assert t.title == "what's the weather" and t.skipped == ()


def test_ai_lab_session_fields() -> None:
    """AI-Lab: roles in order, naive times read as UTC, stats and errors kept, unknown role skipped."""
    sessions = ok(FIXTURES / "ai-lab/memory")
    assert [s.source_session_id for s in sessions] == ["abc123def456", "xyz789abc012"]
    s = sessions[0]
    assert [m.role for m in s.messages] == ["system", "user", "assistant"]
    assert s.messages[2].content == "You have 3 files."
    assert s.messages[2].metadata == {"tools_used": ["list_files"], "model": "llama3"}
    assert s.messages[1].created_at == datetime(2026, 2, 7, 10, 1, tzinfo=UTC)
    assert s.created_at == datetime(2026, 2, 7, 10, 0, 0, 1, tzinfo=UTC)
    assert s.updated_at == datetime(2026, 2, 7, 10, 2, 30, 250000, tzinfo=UTC)
    assert s.model == "llama3"
    assert s.metadata["ai_lab"]["user_name"] == "Nova"
    assert s.metadata["ai_lab"]["stats"]["errors"] == 1
    assert s.metadata["ai_lab"]["errors"][0]["message"] == "timeout"
    second = sessions[1]
    assert [m.content for m in second.messages] == ["hello", "hi!"]
    assert second.skipped[0].what == "message 1 (role 'narrator')"


def test_picoclaw_tool_calls_and_meta() -> None:
    """picoclaw: tool_calls become ToolCall parts (arguments decoded), tool messages ToolResult; meta read."""
    sessions = ok(FIXTURES / "picoclaw/workspace")
    s = by_id(sessions, "telegram:123456")
    assert [m.role for m in s.messages] == ["user", "assistant", "tool", "assistant", "user", "assistant"]
    assert s.messages[1].parts == (ToolCall(id="call_1", name="list_dir", arguments={"path": "/tmp"}),)
    assert s.messages[2].parts == (ToolResult(tool_call_id="call_1", content="a.txt\nb.log"),)
    assert s.messages[2].content == "a.txt\nb.log"
    assert s.messages[4].content == "And this picture?"
    assert s.messages[0].created_at is None
    assert s.created_at == datetime(2026, 2, 11, 23, 30, 0, 123456, tzinfo=UTC)
    assert s.updated_at == datetime(2026, 2, 11, 23, 31, 10, 500000, tzinfo=UTC)
    assert s.metadata == {"picoclaw": {"key": "telegram:123456", "summary": "User asked about /tmp."}}
    whys = {k.what: k.why for k in s.skipped}
    assert "line 2 reasoning_content" in whys
    assert "line 5 content block 1 (image_url)" in whys
    plain = by_id(sessions, "cli_default")
    assert [m.content for m in plain.messages] == ["You are picoclaw.", "ping", "pong"]
    assert plain.created_at is None


def test_openclaw_active_branch_tools_usage_status() -> None:
    """OpenClaw: active branch only, toolCall/toolResult mapped, usage, error status, model, index title."""
    [s] = ok(FIXTURES / "openclaw")
    assert s.source_session_id == "7f3e2c10-aaaa-4bbb-8ccc-0123456789ab"
    assert s.title == "README review"
    assert s.agent == "main" and s.provider == "anthropic" and s.model == "claude-sonnet-4-5"
    assert [m.role for m in s.messages] == ["user", "assistant", "tool", "assistant", "user", "assistant"]
    assert [m.content for m in s.messages] == [
        "Read README.md",
        "Let me read it.",
        "# Demo",
        "It is a demo project.",
        "Summarise instead",
        "Summary: a demo.",
    ]
    assert s.messages[1].parts == (ToolCall(id="toolu_01", name="read", arguments={"path": "README.md"}),)
    assert s.messages[1].usage == Usage(120, 30)
    assert s.messages[2].parts == (ToolResult(tool_call_id="toolu_01", content="# Demo"),)
    assert s.messages[2].metadata == {"tool_name": "read"}
    assert s.messages[5].status == "error" and s.messages[5].metadata == {"error": "overloaded_error"}
    assert s.messages[0].created_at == datetime(2026, 2, 13, 12, 0, 1, tzinfo=UTC)
    assert s.created_at == datetime(2026, 2, 13, 12, 0, tzinfo=UTC)
    assert s.updated_at == datetime.fromtimestamp(1770984124, UTC)
    assert s.metadata["openclaw"]["session_key"] == "agent:main:main"
    assert s.metadata["openclaw"]["cwd"] == "/home/alex/.openclaw/workspace"
    whats = [k.what for k in s.skipped]
    assert "2 entries" in whats  # the abandoned "Make it longer" branch
    assert any("thinking" in w for w in whats) and any("image" in w for w in whats)
    assert "1 'custom' entries" in whats and "1 'thinking_level_change' entries" in whats


def test_source_ids_are_stable_and_distinct() -> None:
    """Reading the same files twice gives the same source ids (dedup on re-import); sessions differ."""
    for path in ("pocketpaw/memory", "ai-lab/memory", "picoclaw/workspace", "openclaw"):
        first = [s.source_id for s in ok(FIXTURES / path)]
        again = [s.source_id for s in ok(FIXTURES / path)]
        assert first == again and len(set(first)) == len(first)


def test_explicit_format_overrides_detection() -> None:
    """Passing fmt forces that importer; openclaw files read as picoclaw fail per session, not globally."""
    out = list(read_sessions(FIXTURES / "openclaw/agents/main/sessions", "picoclaw"))
    assert [type(x).__name__ for x in out] == ["ImportFailure", "Skipped"]
    assert isinstance(out[1], Skipped) and out[1].what.endswith("sessions.json")  # named, not silent
