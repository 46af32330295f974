"""Request and response bodies of the REST API (CONTRACT sections 2 and 6), as pydantic models.

They exist so that ``/openapi.json`` describes every body exactly. Requests are validated
by FastAPI against them (unknown fields are refused: a typo such as ``"pined"`` is a 422,
not a silent no-op); responses are produced by the core's ``to_dict()`` and declared with
these models, and the schemathesis test checks that the two agree.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr

from ..model import MAX_TOKENS, Channel, MessageStatus, Role, SessionStatus, Source

JSONObject = dict[str, Any]


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- errors --------------------------------------------------------------------------------


class ErrorBody(_Out):
    code: str = Field(description="machine code, e.g. not_found, session_pinned, invalid_input")
    message: str = Field(description="one human-readable line")


class ErrorResponse(_Out):
    """Every error of the API: ``{"error": {"code", "message"}}``."""

    error: ErrorBody


# -- objects -------------------------------------------------------------------------------


class UsageModel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    input_tokens: StrictInt = Field(0, ge=0, le=MAX_TOKENS)
    output_tokens: StrictInt = Field(0, ge=0, le=MAX_TOKENS)


class ToolCallPart(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["tool_call"]
    id: StrictStr = Field(min_length=1)
    name: StrictStr = Field(min_length=1)
    arguments: JSONObject = Field(default_factory=dict)


class ToolResultPart(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["tool_result"]
    tool_call_id: StrictStr = Field(min_length=1)
    content: StrictStr = ""


PartModel = Annotated[ToolCallPart | ToolResultPart, Field(discriminator="type")]


class SessionStatsModel(_Out):
    user_messages: int
    assistant_messages: int
    tool_messages: int
    errors: int
    input_tokens: int
    output_tokens: int


class SessionModel(_Out):
    """A session (CONTRACT section 2)."""

    id: str
    key: str
    title: str
    title_source: Literal["auto", "user"]
    agent: str
    provider: str
    model: str
    source: Source
    source_ref: str | None
    channel: str
    status: SessionStatus
    pinned: bool
    read_only: bool
    created_at: datetime
    updated_at: datetime
    last_message_at: datetime | None
    activity_at: datetime | None = Field(
        None, description="last activity (a message, a fork, an import): the list's order and `group`"
    )
    message_count: int
    preview: str
    stats: SessionStatsModel
    group: str | None = Field(
        description="pinned|today|yesterday|this_week|older in list views (in the caller's tz), "
        "the task name in the scheduled view"
    )
    metadata: JSONObject


class MessageModel(_Out):
    """A message (CONTRACT section 2)."""

    id: str
    session_id: str
    seq: int
    role: Role
    content: str
    parts: list[PartModel]
    status: MessageStatus
    usage: UsageModel
    metadata: JSONObject
    created_at: datetime


class CheckpointModel(_Out):
    id: str
    session_id: str
    name: str
    description: str
    message_count: int
    at_seq: int
    created_at: datetime


# -- sessions ------------------------------------------------------------------------------


class SessionCreate(_In):
    agent: StrictStr | None = Field(
        None, max_length=200, description="an agent id of GET /api/agents; default: the first"
    )
    model: StrictStr | None = Field(
        None, min_length=1, max_length=200, description="override the agent's model (only now)"
    )
    title: StrictStr | None = Field(None, max_length=500, description="a user title (never auto-replaced)")
    metadata: JSONObject | None = None


class SessionPatch(_In):
    """Any of the fields; each is applied with its rule (archiving a pinned session is a 409)."""

    title: StrictStr | None = Field(None, max_length=500)
    pinned: StrictBool | None = None
    archived: StrictBool | None = None
    metadata: JSONObject | None = Field(None, description="replaces the whole metadata object")


class TitleUpdate(_In):
    title: StrictStr = Field(max_length=500)


class SessionList(_Out):
    sessions: list[SessionModel]
    next_cursor: str | None = Field(description="pass back as `cursor` for the next page; null at the end")


class SessionRecent(_Out):
    sessions: list[SessionModel]


class SearchResult(_Out):
    session: SessionModel
    message_id: str | None = Field(description="null when the hit is the session title")
    seq: int | None
    snippet: str = Field(description="HTML-escaped text with <mark> around the matched words")
    score: float
    count: int = Field(description="group=session: the session's number of hits; else 1")
    match: Literal["keyword", "semantic", "both"] = Field(description="which ranking found the hit")


class SearchResponse(_Out):
    results: list[SearchResult]


class StatsResponse(_Out):
    total_sessions: int
    sessions_today: int
    sessions_this_week: int
    total_messages: int
    active: int
    archived: int
    pinned: int


# -- messages ------------------------------------------------------------------------------


class MessageIn(_In):
    """One message to append."""

    role: Role
    content: StrictStr = ""
    parts: list[PartModel] | None = None
    status: MessageStatus = "complete"
    usage: UsageModel | None = None
    metadata: JSONObject | None = None


class MessagesIn(_In):
    """Several messages appended in one transaction (all or nothing)."""

    messages: list[MessageIn] = Field(min_length=1, max_length=10_000)


class MessageList(_Out):
    messages: list[MessageModel] = Field(description="oldest first")
    has_more: bool = Field(description="whether more messages exist in the read direction")


class MessagesCreated(_Out):
    messages: list[MessageModel]


# -- agents --------------------------------------------------------------------------------


class AgentModel(_Out):
    id: str
    provider: str
    model: str
    description: str


class AgentList(_Out):
    agents: list[AgentModel]


class Health(_Out):
    status: Literal["ok"]
    database: str = Field(description="sqlite or postgresql")
    version: str


# -- checkpoints, forks, export/import, cleanup, context -----------------------------------


class CheckpointCreate(_In):
    name: StrictStr = Field(min_length=1, max_length=200)
    description: StrictStr | None = Field(None, max_length=2000)


class CheckpointList(_Out):
    checkpoints: list[CheckpointModel] = Field(description="oldest first")


class ForkRequest(_In):
    at_seq: StrictInt | None = Field(None, ge=0, le=2**62, description="share the history up to this seq")
    checkpoint_id: StrictStr | None = Field(None, max_length=64, description="or up to this checkpoint")
    title: StrictStr | None = Field(None, max_length=500)


class CleanupRequest(_In):
    older_than: StrictStr = Field("30d", max_length=32, description="90m, 12h, 30d, 2w")
    keep_checkpoints: StrictBool = True
    dry_run: StrictBool = False


class CleanupResponse(_Out):
    deleted: int = Field(description="sessions deleted (would be, on a dry run)")
    session_ids: list[str]
    dry_run: bool


class SummaryModel(_Out):
    id: str
    session_id: str
    covers_until_seq: int
    text: str
    method: str
    token_count: int
    created_at: datetime | None


class ContextResponse(_Out):
    messages: list[MessageModel]
    token_count: int
    strategy: Literal["recent", "smart", "summarize"]
    summary: SummaryModel | None
    dropped: int


# -- inbound ---------------------------------------------------------------------------------


class InboundIn(_In):
    """A normalised inbound message (CONTRACT section 4)."""

    channel: Channel
    account: StrictStr | None = Field(None, min_length=1, max_length=200)
    chat: StrictStr | StrictInt
    chat_type: Literal["direct", "group", "channel"] | None = None
    topic: StrictStr | StrictInt | None = None
    space: StrictStr | None = Field(None, min_length=1, max_length=200)
    sender: StrictStr | StrictInt
    sender_name: StrictStr | None = Field(None, min_length=1, max_length=200)
    text: StrictStr
    event_id: StrictStr | None = Field(None, min_length=1, max_length=200)


class InboundResponse(_Out):
    session_id: str
    reply: str | None = Field(description="a chat command's answer (send it back); null for a stored message")
    message_id: str | None = Field(description="the stored user message; null for commands and duplicates")
    duplicate: bool = Field(description="the event id was seen before: nothing was stored")


class WebhookResponse(_Out):
    results: list[InboundResponse]
    ignored: int = Field(description="events of the payload that need no answer (bots, joins, reactions…)")
