"""The curated public API: exactly the names we mean to export."""

from __future__ import annotations

import sessionhub
from sessionhub import errors


def test_exported_names() -> None:
    """sessionhub.__all__ is sorted, complete and every name resolves."""
    assert sessionhub.__all__ == sorted(sessionhub.__all__)
    for name in sessionhub.__all__:
        assert hasattr(sessionhub, name), name
    assert {"open", "Hub", "Session", "Message", "Checkpoint", "SessionhubError", "NotFound"} <= set(
        sessionhub.__all__
    )


def test_every_error_is_a_sessionhub_error_with_codes() -> None:
    """Every exported error derives from SessionhubError and carries status_code, exit_code and code."""
    for name in errors.__all__:
        cls = getattr(errors, name)
        assert issubclass(cls, errors.SessionhubError)
        assert isinstance(cls.status_code, int) and isinstance(cls.exit_code, int) and cls.code
    assert issubclass(errors.SessionPinned, errors.Conflict) and errors.SessionPinned.status_code == 409
    assert (
        issubclass(errors.SessionReadOnly, errors.Conflict)
        and errors.SessionReadOnly.code == "session_read_only"
    )
    assert errors.NotFound.status_code == 404 and errors.InvalidInput.status_code == 422


def test_ids_are_prefixed_and_random() -> None:
    """Ids carry their prefix and at least 96 random bits (no repeats in 10k draws)."""
    from sessionhub.ids import is_valid, new_id

    drawn = {new_id("ses") for _ in range(10_000)}
    assert len(drawn) == 10_000 and all(is_valid(i, "ses") for i in drawn)
    assert not is_valid("ses_short", "ses") and not is_valid(new_id("msg"), "ses")
