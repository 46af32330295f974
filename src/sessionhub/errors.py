"""The one error hierarchy of sessionhub.

Every error the core raises is a ``SessionhubError``. Each class carries the HTTP
``status_code`` and the CLI ``exit_code`` as class attributes, and a short machine
``code``; only the edges (server, CLI) translate them.

    SessionhubError                 500 / exit 1   "internal"
    ├── InvalidInput                422 / exit 2   "invalid_input"
    ├── NotFound                    404 / exit 3   "not_found"
    ├── Conflict                    409 / exit 4   "conflict"
    │   ├── SessionPinned           409 / exit 4   "session_pinned"
    │   ├── SessionReadOnly         409 / exit 4   "session_read_only"
    │   ├── IdempotencyKeyReused    409 / exit 4   "idempotency_key_reused"
    │   └── TurnInProgress          409 / exit 4   "turn_in_progress"
    ├── Unauthorized                401 / exit 5   "unauthorized"
    ├── PayloadTooLarge             413 / exit 2   "payload_too_large"
    ├── DecryptionError             500 / exit 6   "decryption_error"
    │   └── KeyUnavailable          503 / exit 6   "key_unavailable"
    ├── ConfigError                 500 / exit 7   "config_error"
    └── DatabaseError               503 / exit 8   "database_error"
"""

from __future__ import annotations


class SessionhubError(Exception):
    """Base class of every error sessionhub raises on purpose."""

    status_code: int = 500
    exit_code: int = 1
    code: str = "internal"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def to_dict(self) -> dict[str, dict[str, str]]:
        return {"error": {"code": self.code, "message": self.message}}


class InvalidInput(SessionhubError):
    """What the caller sent cannot be used (bad role, empty content, bad timezone, ...)."""

    status_code = 422
    exit_code = 2
    code = "invalid_input"


class NotFound(SessionhubError):
    """No such object, or not the caller's."""

    status_code = 404
    exit_code = 3
    code = "not_found"


class Conflict(SessionhubError):
    """The request breaks a rule of the object's current state."""

    status_code = 409
    exit_code = 4
    code = "conflict"


class SessionPinned(Conflict):
    """A pinned session cannot be archived (unpin it first)."""

    code = "session_pinned"


class SessionReadOnly(Conflict):
    """An archived (read-only) session refuses new messages."""

    code = "session_read_only"


class IdempotencyKeyReused(Conflict):
    """An ``Idempotency-Key`` came back with another request body, or the messages it
    stored are gone (cleared, moved by a restore): its first result cannot be given again."""

    code = "idempotency_key_reused"


class TurnInProgress(Conflict):
    """The session is already running an agent turn."""

    code = "turn_in_progress"


class Unauthorized(SessionhubError):
    """A missing or wrong bearer token or webhook signature."""

    status_code = 401
    exit_code = 5
    code = "unauthorized"


class PayloadTooLarge(SessionhubError):
    """A request body or message is over its size limit."""

    status_code = 413
    exit_code = 2
    code = "payload_too_large"


class DecryptionError(SessionhubError):
    """Encrypted data could not be decrypted: wrong key, tampered or swapped row."""

    status_code = 500
    exit_code = 6
    code = "decryption_error"


class KeyUnavailable(DecryptionError):
    """This process lacks the master key the data needs, e.g. its key was retired by rotation.

    503, not 500: nothing is wrong with the data or the request; a server configured with
    the database's current key (another replica, or this one restarted) can serve it.
    """

    status_code = 503
    code = "key_unavailable"


class ConfigError(SessionhubError):
    """A configuration value is wrong; the message names it."""

    status_code = 500
    exit_code = 7
    code = "config_error"


class DatabaseError(SessionhubError):
    """The database cannot be reached or used (bad URL, unreachable, read-only, full)."""

    status_code = 503
    exit_code = 8
    code = "database_error"


__all__ = [
    "ConfigError",
    "Conflict",
    "DatabaseError",
    "DecryptionError",
    "IdempotencyKeyReused",
    "InvalidInput",
    "KeyUnavailable",
    "NotFound",
    "PayloadTooLarge",
    "SessionPinned",
    "SessionReadOnly",
    "SessionhubError",
    "TurnInProgress",
    "Unauthorized",
]
