"""Exporters: shapes of markdown, text, json and jsonl, laziness, and the file helpers."""

from __future__ import annotations

import json

import pytest
from history_factories import Guarded, make_checkpoint, make_messages, make_session

from sessionhub.errors import InvalidInput
from sessionhub.history import (
    FORMATS,
    content_type,
    export_json,
    export_jsonl,
    export_markdown,
    export_session,
    export_text,
    filename,
)
from sessionhub.model import Message


def test_markdown_has_title_header_roles_times_and_tool_calls() -> None:
    """Markdown shows the title, metadata header, each role with its time, and tool calls as fenced JSON."""
    out = "".join(export_markdown(make_session(), make_messages(3), include_metadata=True))
    assert out.startswith("# Trip plans\n")
    assert "- **Session:** ses_0123456789abcdef01234567" in out
    assert "### User · #1 · 2026-02-01T12:00:01.000Z" in out
    assert "### Assistant · #2 · 2026-02-01T12:00:02.000Z" in out
    assert "**Tool call** `search` (id `call_2`)" in out
    assert '```json\n{\n  "q": "term 2"\n}\n```' in out
    assert "**Tool result** for `call_2`" in out
    assert "question 1" in out


def test_markdown_without_metadata_has_no_header() -> None:
    """include_metadata=False leaves out the session header list."""
    out = "".join(export_markdown(make_session(), make_messages(1), include_metadata=False))
    assert "**Session:**" not in out and "# Trip plans" in out


def test_markdown_fence_survives_backticks_in_content() -> None:
    """A tool result containing ``` is wrapped in a longer fence so the block is not broken."""
    msg = make_messages(3)[2]
    tricky = Message(msg.id, msg.session_id, 1, "tool", "x", parts=(msg.parts[0].__class__("c", "a ``` b"),))
    out = "".join(export_markdown(make_session(), [tricky]))
    assert "````\na ``` b\n````" in out


def test_text_shows_roles_and_tool_calls() -> None:
    """Plain text gives '[time] role:' lines with tool calls and results marked."""
    out = "".join(export_text(make_session(), make_messages(3), include_metadata=False))
    assert "[2026-02-01T12:00:01.000Z] user:\nquestion 1" in out
    assert '-> tool call search [call_2] {"q":"term 2"}' in out
    assert "<- tool result [call_2]: result 3" in out


def test_json_is_valid_and_complete() -> None:
    """The JSON export parses and carries format, version, session, checkpoints and every message field."""
    msgs = make_messages(3)
    doc = json.loads("".join(export_json(make_session(), msgs, [make_checkpoint()])))
    assert doc["format"] == "sessionhub" and doc["version"] == 1
    assert doc["session"]["id"] == "ses_0123456789abcdef01234567"
    assert doc["checkpoints"][0]["at_seq"] == 2
    assert doc["messages"] == [m.to_dict() for m in msgs]


def test_json_empty_history_is_valid() -> None:
    """A session without messages still exports valid JSON with an empty list."""
    doc = json.loads("".join(export_json(make_session(), [])))
    assert doc["messages"] == [] and doc["checkpoints"] == []


def test_json_without_metadata_blanks_metadata() -> None:
    """include_metadata=False writes empty metadata objects for the session and messages."""
    msgs = [Message("msg_1", "s", 1, "user", "hi", metadata={"secret": 1})]
    doc = json.loads("".join(export_json(make_session(), msgs, include_metadata=False)))
    assert doc["session"]["metadata"] == {} and doc["messages"][0]["metadata"] == {}


@pytest.mark.parametrize("fmt", ["markdown", "text", "json", "jsonl"])
def test_exporters_are_lazy(fmt: str) -> None:
    """Each exporter reads at most one message per chunk it yields (streaming, flat memory)."""
    source = Guarded(make_messages(30))
    chunks = export_session(fmt, make_session(), source, [make_checkpoint()])
    source.limit = 0
    assert next(chunks), "the head is written before any message is read"
    count = 1
    while True:
        source.limit = source.consumed + 1
        try:
            next(chunks)
        except StopIteration:
            break
        count += 1
    assert source.consumed == 30
    assert count >= 31


def test_json_yields_one_chunk_per_message() -> None:
    """The JSON exporter writes each message in its own chunk (head + N + tail)."""
    chunks = list(export_json(make_session(), make_messages(50)))
    assert len(chunks) == 52


def test_jsonl_shape_and_tool_mapping() -> None:
    """JSONL is one line per session, {"messages": [...]}, with OpenAI tool_calls / tool_call_id mapping."""
    s1, s2 = make_session(), make_session(id="ses_other", title="Other")
    out = "".join(export_jsonl([(s1, make_messages(3)), (s2, make_messages(1))]))
    lines = out.splitlines()
    assert len(lines) == 2 and out.endswith("\n")
    first = json.loads(lines[0])
    assert list(first) == ["messages"]
    assert first["messages"][0] == {"role": "user", "content": "question 1"}
    assert first["messages"][1] == {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": "call_2",
                "type": "function",
                "function": {"name": "search", "arguments": '{"q":"term 2"}'},
            }
        ],
    }
    assert first["messages"][2] == {"role": "tool", "tool_call_id": "call_2", "content": "result 3"}
    assert json.loads(lines[1]) == {"messages": [{"role": "user", "content": "question 1"}]}


def test_jsonl_metadata_is_opt_in() -> None:
    """export_jsonl(include_metadata=True) adds a metadata object naming the session."""
    line = "".join(export_jsonl([(make_session(), [])], include_metadata=True))
    assert json.loads(line)["metadata"]["session_id"] == "ses_0123456789abcdef01234567"


def test_content_type_and_filename() -> None:
    """Every format has a content type and a safe file name built from the title and id."""
    assert set(FORMATS) == {"markdown", "json", "jsonl", "text"}
    assert content_type("json") == "application/json"
    assert content_type("markdown").startswith("text/markdown")
    s = make_session(title="Trip: plans / ../../etc")
    name = filename(s, "markdown")
    assert name == "trip-plans-etc-ses_0123456789abcdef01234567.md"
    assert "/" not in filename(make_session(title="///"), "json")


def test_unknown_format_is_refused() -> None:
    """An unknown export format is an InvalidInput, not a KeyError."""
    with pytest.raises(InvalidInput):
        content_type("pdf")
    with pytest.raises(InvalidInput):
        export_session("pdf", make_session(), [])
