"""export_json -> sessionhub importer keeps every field (hypothesis-generated sessions)."""

from __future__ import annotations

import json
from pathlib import Path

from history_factories import sessions_with_history
from hypothesis import HealthCheck, given, settings

from sessionhub.history import ImportedSession, export_json, parse_export, read_sessions
from sessionhub.model import Checkpoint, Message, Session


def check_equal(
    imported: ImportedSession, session: Session, messages: list[Message], checkpoints: list[Checkpoint]
) -> None:
    expected = session.to_dict()
    expected.pop("group")
    assert imported.session == expected
    assert imported.format == "sessionhub"
    assert imported.source_session_id == session.id
    assert (imported.title, imported.agent, imported.provider, imported.model) == (
        session.title,
        session.agent,
        session.provider,
        session.model,
    )
    assert imported.created_at == session.created_at and imported.updated_at == session.updated_at
    assert imported.metadata == session.metadata
    assert len(imported.messages) == len(messages)
    for new, old in zip(imported.messages, messages, strict=True):
        assert new.role == old.role
        assert new.content == old.content
        assert new.parts == old.parts
        assert new.status == old.status
        assert new.usage == old.usage
        assert new.metadata == old.metadata
        assert new.created_at == old.created_at
    assert len(imported.checkpoints) == len(checkpoints)
    for cp, old_cp in zip(imported.checkpoints, checkpoints, strict=True):
        assert (cp.name, cp.description, cp.at_seq, cp.created_at) == (
            old_cp.name,
            old_cp.description,
            old_cp.at_seq,
            old_cp.created_at,
        )
        assert cp.at_index == sum(1 for m in messages if m.seq <= old_cp.at_seq)


@settings(max_examples=60, deadline=None)
@given(sessions_with_history())
def test_json_round_trip_is_lossless(data: tuple[Session, list[Message], list[Checkpoint]]) -> None:
    """Every session, message and checkpoint field survives export_json -> parse_export."""
    session, messages, checkpoints = data
    text = "".join(export_json(session, messages, checkpoints))
    check_equal(parse_export(json.loads(text)), session, messages, checkpoints)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sessions_with_history())
def test_json_round_trip_through_a_file(
    tmp_path: Path, data: tuple[Session, list[Message], list[Checkpoint]]
) -> None:
    """Writing the export to a file and reading it with read_sessions (auto-detected) is lossless too."""
    session, messages, checkpoints = data
    path = tmp_path / "export.json"
    with path.open("w", encoding="utf-8") as fh:
        fh.writelines(export_json(session, messages, checkpoints))
    [imported] = list(read_sessions(path))
    assert isinstance(imported, ImportedSession)
    check_equal(imported, session, messages, checkpoints)
    [again] = list(read_sessions(path))
    assert isinstance(again, ImportedSession) and again.source_id == imported.source_id
