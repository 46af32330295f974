"""sessionhub: the session layer for AI assistants."""

from .errors import (
    ConfigError,
    Conflict,
    DatabaseError,
    DecryptionError,
    IdempotencyKeyReused,
    InvalidInput,
    KeyUnavailable,
    NotFound,
    PayloadTooLarge,
    SessionhubError,
    SessionPinned,
    SessionReadOnly,
    TurnInProgress,
    Unauthorized,
)
from .hub import Hub, open
from .model import (
    Checkpoint,
    Message,
    SearchHit,
    Session,
    SessionPage,
    SessionStats,
    Stats,
    ToolCall,
    ToolResult,
    Usage,
)

__version__ = "0.1.0"

__all__ = [
    "Checkpoint",
    "ConfigError",
    "Conflict",
    "DatabaseError",
    "DecryptionError",
    "Hub",
    "IdempotencyKeyReused",
    "InvalidInput",
    "KeyUnavailable",
    "Message",
    "NotFound",
    "PayloadTooLarge",
    "SearchHit",
    "Session",
    "SessionPage",
    "SessionPinned",
    "SessionReadOnly",
    "SessionStats",
    "SessionhubError",
    "Stats",
    "ToolCall",
    "ToolResult",
    "TurnInProgress",
    "Unauthorized",
    "Usage",
    "__version__",
    "open",
]
