"""``GET /api/usage``: tokens, messages, sessions and cost per day, agent, model, session or channel."""

from __future__ import annotations

from typing import Literal

from fastapi import Depends, Query, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from ...hub import Hub
from ..auth import current_hub
from . import api_router

router = api_router("/api/usage", "usage")


class UsageRowModel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str = Field(description="the day (YYYY-MM-DD in `tz`), agent, model, session id or channel; `total`")
    sessions: int
    messages: int
    input_tokens: int
    output_tokens: int
    cost: float | None = Field(description="from [pricing.MODEL]; null when a model with tokens is unpriced")
    title: str | None = Field(None, description="group_by=session: the session's title")


class UsageResponse(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    group_by: str
    from_: str = Field(alias="from", description="start of the range (included), in `tz`")
    to: str = Field(description="end of the range (excluded), in `tz`")
    tz: str
    rows: list[UsageRowModel]
    totals: UsageRowModel


@router.get("", response_model=UsageResponse)
async def usage(
    from_: str | None = Query(
        None,
        alias="from",
        max_length=40,
        description="a date (included) or a quarter-hour time; default 30 days ago",
    ),
    to: str | None = Query(
        None, max_length=40, description="a date (included) or a quarter-hour time (excluded)"
    ),
    tz: str | None = Query(
        None, max_length=64, description="IANA timezone of the days (default: [server] timezone)"
    ),
    group_by: Literal["day", "agent", "model", "session", "channel"] = "day",
    agent: str | None = Query(None, max_length=200, description="only this agent's sessions"),
    channel: str | None = Query(None, max_length=64, description="only this channel's sessions"),
    limit: int = Query(50, ge=1, le=1000, description="most rows for agent, model, session, channel"),
    hub: Hub = Depends(current_hub),
) -> Response:
    """Usage of the caller's sessions. Days come in order with empty days included; other groups
    by tokens, most first. Totals count each session once."""
    report = await hub.usage(group_by, start=from_, end=to, tz=tz, agent=agent, channel=channel, limit=limit)
    return JSONResponse(report.to_dict())
