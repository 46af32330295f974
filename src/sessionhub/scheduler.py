"""Scheduled tasks (``[[tasks]]``) and the daily retention run, executed by the server.

    [[tasks]]
    name = "morning-brief"
    cron = "0 7 * * 1-5"            # croniter syntax, in [server] timezone
    agent = "main"                  # default: the first agent
    model = "gpt-4o-mini"           # optional override, fixed for the run's session
    prompt = "Summarise my day"
    sticky_session = false          # true: every run appends to one pinned session
    enabled = true
    user = "default"                # the task's owner (sessionhub extension), see below

How it runs:

- ``tick()`` (every ``poll_interval`` seconds, on the injected clock) puts each task that is
  due on a FIFO queue; one worker runs the queue in order, one run at a time. A server that
  was down past several due times runs the task once for the latest of them (no backlog).
- Each run first inserts its ``task_runs`` row ``(task, scheduled time)`` with ``ON CONFLICT
  DO NOTHING``: with several replicas on one PostgreSQL database only the one whose insert
  won runs it, so a due run happens exactly once. ``POST /api/tasks/{name}/run`` queues a
  manual run (scheduled time = now).
- A run creates a session (``source=scheduled``, ``source_ref`` = the task name, channel
  ``web``) with the prompt as its user message and waits for the agent's reply; with
  ``sticky_session`` it appends to the task's pinned session instead (created and pinned by
  the first run, reused while it exists and is not archived).
- The run row ends ``complete``, ``error`` or ``interrupted`` with the session id: that is
  ``last_status`` / ``last_session_id`` in ``GET /api/tasks``.
- Retention (``hub.apply_retention``) runs once a day for every configured user, claimed
  the same way (task ``__retention__``), so one replica does it.

Who sees what: tasks are the operator's configuration, and each one belongs to its ``user``
(default ``default``, the user of a server without tokens and of ``SESSIONHUB_TOKEN``). Its
runs create that user's sessions, and only that user sees it in ``GET /api/tasks`` (with its
``last_session_id``) and may run it; for every other user it does not exist (404), so no
listing shows another user's session ids.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from croniter import croniter

from .clock import Clock, SystemClock, isoformat
from .config import RETENTION_TASK, TaskSettings
from .errors import NotFound
from .store.turns_base import TaskRun, TaskRunStore
from .timeutil import from_us, to_us

if TYPE_CHECKING:
    from .agents.runtime import AgentRuntime
    from .hub import Hub

log = logging.getLogger("sessionhub.scheduler")

#: One ``[[tasks]]`` table, parsed by ``config.py`` (``config.TaskSettings``).
TaskSpec = TaskSettings


@dataclass(frozen=True, slots=True)
class QueuedRun:
    task: str
    scheduled_at: datetime
    trigger: str  # cron | manual

    def to_dict(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "scheduled_at": isoformat(self.scheduled_at),
            "trigger": self.trigger,
            "status": "queued",
        }


class Scheduler:
    """Runs ``[[tasks]]`` on their cron and retention daily; see the module docstring."""

    def __init__(
        self,
        hub: Hub,
        runtime: AgentRuntime,
        *,
        tasks: Sequence[TaskSpec] | None = None,
        clock: Clock | None = None,
        poll_interval: float = 1.0,
        retention: bool = True,
    ) -> None:
        self.hub = hub
        self.runtime = runtime
        self.settings = hub.settings
        self.tasks: dict[str, TaskSpec] = {
            t.name: t for t in (hub.settings.tasks if tasks is None else tasks)
        }
        self.clock = clock or hub.clock or SystemClock()
        self.tz = ZoneInfo(self.settings.server.timezone)
        self.poll_interval = poll_interval
        self.retention = retention
        self.queue: asyncio.Queue[QueuedRun] = asyncio.Queue()
        now = self.clock.now()
        self._next: dict[str, datetime] = {t.name: self.next_run(t, now) for t in self.tasks.values()}
        self._next_retention = self._day_after(now)
        self._last_manual_us = 0
        self._loop_task: asyncio.Task[None] | None = None
        self._worker_task: asyncio.Task[None] | None = None

    # -- time -------------------------------------------------------------------------------

    def next_run(self, spec: TaskSpec, after: datetime) -> datetime:
        """The first due time of ``spec`` strictly after ``after`` (UTC)."""
        it = croniter(spec.cron, after.astimezone(self.tz))
        nxt: datetime = it.get_next(datetime)
        return nxt.astimezone(after.tzinfo)

    def _day_after(self, now: datetime) -> datetime:
        local = now.astimezone(self.tz)
        start = local.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
        return start.astimezone(now.tzinfo)

    # -- lifecycle --------------------------------------------------------------------------

    async def start(self) -> None:
        """Start the cron loop and the run-queue worker."""
        if self._loop_task is None:
            self._loop_task = asyncio.create_task(self._loop(), name="sessionhub-scheduler")
        self.ensure_worker()

    def ensure_worker(self) -> None:
        """Start the run-queue worker if it is not running (manual runs without the cron loop)."""
        if self._worker_task is None or self._worker_task.done():
            self._worker_task = asyncio.create_task(self._worker(), name="sessionhub-scheduler-worker")

    async def aclose(self) -> None:
        tasks = [t for t in (self._loop_task, self._worker_task) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._loop_task = self._worker_task = None

    async def _loop(self) -> None:
        while True:
            try:
                await self.tick()
            except Exception:
                log.exception("scheduler tick failed")
            await asyncio.sleep(self.poll_interval)

    async def _worker(self) -> None:
        while True:
            run = await self.queue.get()
            try:
                await self.execute(run)
            except Exception:
                log.exception("scheduled run of %s failed", run.task)
            finally:
                self.queue.task_done()

    async def drain(self) -> None:
        """Run everything queued now, in this task (tests; a started worker also drains)."""
        while not self.queue.empty():
            run = self.queue.get_nowait()
            try:
                await self.execute(run)
            finally:
                self.queue.task_done()

    # -- scheduling -------------------------------------------------------------------------

    async def tick(self) -> list[QueuedRun]:
        """Queue every task due by now (once, for the latest due time); run retention if due."""
        now = self.clock.now()
        queued: list[QueuedRun] = []
        for spec in self.tasks.values():
            due = self._next[spec.name]
            if due > now:
                continue
            latest = due
            while True:
                nxt = self.next_run(spec, latest)
                if nxt > now:
                    break
                latest = nxt
            self._next[spec.name] = nxt
            if spec.enabled:
                run = QueuedRun(spec.name, latest, "cron")
                self.queue.put_nowait(run)
                queued.append(run)
        if self.retention and now >= self._next_retention:
            boundary = self._next_retention
            self._next_retention = self._day_after(now)
            await self.run_retention(boundary)
        return queued

    def visible(self, user: str | None) -> list[TaskSpec]:
        """The tasks ``user`` owns (every task when None: the operator's own view)."""
        return [t for t in self.tasks.values() if user is None or t.user == user]

    def run_now(self, name: str, user: str | None = None) -> QueuedRun:
        """Queue a manual run of ``name``; ``NotFound`` if no such task or ``user`` does not own it."""
        spec = self.tasks.get(name)
        if spec is None or (user is not None and spec.user != user):
            raise NotFound(f"task {name[:80]!r} not found")
        at_us = max(to_us(self.clock.now()), self._last_manual_us + 1)  # unique run rows
        self._last_manual_us = at_us
        when = from_us(at_us)
        assert when is not None
        run = QueuedRun(name, when, "manual")
        self.queue.put_nowait(run)
        with contextlib.suppress(RuntimeError):  # no running loop: drain() runs it
            self.ensure_worker()
        return run

    # -- running ----------------------------------------------------------------------------

    def _store(self) -> TaskRunStore:
        return self.hub.store

    async def execute(self, run: QueuedRun) -> str | None:
        """Run one queued run if this process wins its claim; returns the run's status."""
        spec = self.tasks[run.task]
        store = self._store()
        at = to_us(run.scheduled_at)
        if not await store.claim_task_run(spec.name, at, run.trigger, spec.user):
            log.info("task %s at %s already run elsewhere", spec.name, run.scheduled_at)
            return None
        hub = self.hub.as_user(spec.user) if spec.user != self.hub.owner else self.hub
        session_id: str | None = None
        status, error = "error", None
        try:
            session_id = await self._session_for(hub, spec)
            started = await self.runtime.start_turn(
                hub, session_id, spec.prompt, metadata={"task": spec.name, "trigger": run.trigger}
            )
            result = await started.wait()
            status = result.status
            if result.error is not None:
                error = result.error.message
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
            log.warning("task %s failed: %s", spec.name, error)
        finally:
            await store.finish_task_run(spec.name, at, status, session_id, error)
        return status

    async def _session_for(self, hub: Hub, spec: TaskSpec) -> str:
        if spec.sticky_session:
            for past in await self._store().task_runs(spec.name, 20):
                if past.session_id is None:
                    continue
                try:
                    s = await hub.get_session(past.session_id)
                except NotFound:
                    continue
                if s.status == "active":
                    return s.id
        session = await hub.create_session(
            spec.agent,
            spec.model,
            metadata={"task": spec.name},
            source="scheduled",
            source_ref=spec.name,
            channel="web",
        )
        if spec.sticky_session:
            await hub.pin(session.id)
        if self.runtime.notify is not None:
            await self.runtime.notify(hub.owner, session.id)
        return session.id

    async def run_retention(self, boundary: datetime) -> bool:
        """Apply retention for every configured user, once per day across replicas."""
        store = self._store()
        at = to_us(boundary)
        if not await store.claim_task_run(RETENTION_TASK, at, "cron", self.hub.owner):
            return False
        users = sorted({"default", self.hub.owner, *self.settings.server.tokens.values()})
        status, error = "complete", None
        try:
            for user in users:
                view = self.hub.as_user(user) if user != self.hub.owner else self.hub
                await view.apply_retention()
        except Exception as exc:
            status, error = "error", f"{type(exc).__name__}: {exc}"
            log.warning("retention failed: %s", error)
        await store.finish_task_run(RETENTION_TASK, at, status, None, error)
        return True

    # -- listing ----------------------------------------------------------------------------

    def _agent_model(self, spec: TaskSpec) -> str:
        agent = self.settings.agent(spec.agent) if spec.agent else None
        return (agent or self.settings.default_agent).model

    async def describe(self, user: str | None = None) -> list[dict[str, Any]]:
        """``GET /api/tasks`` items: the config, next run and last result of each task ``user`` owns."""
        specs = self.visible(user)
        last: Mapping[str, TaskRun] = await self._store().last_task_runs([t.name for t in specs])
        out: list[dict[str, Any]] = []
        for spec in specs:
            run = last.get(spec.name)
            last_at = from_us(run.scheduled_at_us) if run is not None else None
            out.append(
                {
                    "name": spec.name,
                    "cron": spec.cron,
                    "agent": spec.agent or self.settings.default_agent.id,
                    "model": spec.model or self._agent_model(spec),
                    "prompt": spec.prompt,
                    "sticky_session": spec.sticky_session,
                    "enabled": spec.enabled,
                    "next_run": isoformat(self._next[spec.name]) if spec.enabled else None,
                    "last_run": isoformat(last_at) if last_at is not None else None,
                    "last_status": run.status if run is not None else None,
                    "last_session_id": run.session_id if run is not None else None,
                }
            )
        return out


__all__ = ["RETENTION_TASK", "QueuedRun", "Scheduler", "TaskSpec"]
