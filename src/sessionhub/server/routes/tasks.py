"""Scheduled tasks: ``GET /api/tasks`` (config, next run, last result), ``POST /api/tasks/{name}/run``.

Tasks are the operator's configuration (``[[tasks]]``). Each belongs to its ``user``
(default ``default``): its runs create that user's sessions, and only that user sees it here
and may run it. For anyone else it does not exist (404), so no user learns another's task
results or session ids.
"""

from __future__ import annotations

from fastapi import Depends, Path, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from ..auth import current_user
from . import api_router, errors

router = api_router("/api/tasks", "tasks")


class TaskModel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    cron: str
    agent: str
    model: str
    prompt: str
    sticky_session: bool
    enabled: bool
    next_run: str | None = Field(description="the next due time (UTC); null when disabled")
    last_run: str | None = Field(description="scheduled time of the latest run")
    last_status: str | None = Field(description="running, complete, interrupted or error")
    last_session_id: str | None


class TaskList(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tasks: list[TaskModel]


class TaskRunModel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    task: str
    scheduled_at: str
    trigger: str = Field(description="manual for a run-now request")
    status: str = Field(description="queued: the run waits its turn in the FIFO run queue")


@router.get("", response_model=TaskList)
async def list_tasks(request: Request, user: str = Depends(current_user)) -> JSONResponse:
    """The caller's `[[tasks]]` entries (`user` = the caller) with their next run and last result."""
    return JSONResponse({"tasks": await request.app.state.live.scheduler.describe(user)})


@router.post("/{name}/run", status_code=202, response_model=TaskRunModel, responses=errors(404))
async def run_task(
    request: Request, name: str = Path(max_length=200), user: str = Depends(current_user)
) -> JSONResponse:
    """Queue a run of the caller's task now (202); it runs after the runs queued before it."""
    run = request.app.state.live.scheduler.run_now(name, user)
    return JSONResponse(run.to_dict(), status_code=202)
