"""Scheduled tasks: ``GET /api/tasks`` (config, next run, last result), ``POST /api/tasks/{name}/run``.

Tasks are server configuration (``[[tasks]]``), visible to every authenticated user; each
task's runs create sessions for the task's ``user`` (default ``default``).
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
async def list_tasks(request: Request, _user: str = Depends(current_user)) -> JSONResponse:
    """Every `[[tasks]]` entry with its next run and its last result."""
    return JSONResponse({"tasks": await request.app.state.live.scheduler.describe()})


@router.post("/{name}/run", status_code=202, response_model=TaskRunModel, responses=errors(404))
async def run_task(
    request: Request, name: str = Path(max_length=200), _user: str = Depends(current_user)
) -> JSONResponse:
    """Queue a run of the task now (202); it runs after the runs queued before it."""
    run = request.app.state.live.scheduler.run_now(name)
    return JSONResponse(run.to_dict(), status_code=202)
