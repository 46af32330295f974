"""Scheduled tasks are seen and run only by their owner (issue 14, point 9).

A task belongs to its ``[[tasks]] user``: its runs create that user's sessions, and only that
user lists it (with the session id of its last run) and may run it. Another token user gets
404 and never sees the task's session ids.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import sessionhub
from sessionhub.config import ServerSettings, Settings
from sessionhub.hub import Hub
from sessionhub.server.app import create_app

TOKENS = {"token-alice-0001": "alice", "token-bob-000002": "bob"}
ALICE = {"Authorization": "Bearer token-alice-0001"}
BOB = {"Authorization": "Bearer token-bob-000002"}
TASKS = (
    {"name": "alice-brief", "cron": "0 7 * * *", "prompt": "alice's private brief", "user": "alice"},
    {"name": "bob-pulse", "cron": "0 8 * * *", "prompt": "bob's pulse", "user": "bob"},
)


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[Any]:
    """The real app with two token users and one task each, over a SQLite file."""
    settings = Settings().replace(server=ServerSettings(tokens=TOKENS), tasks=TASKS)
    async with sessionhub.open(f"sqlite:///{tmp_path}/hub.db", settings=settings) as hub:
        yield create_app(settings, Hub(hub.store, settings, clock=hub.clock))


def client(app: Any, headers: dict[str, str]) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver", headers=headers
    )


async def finished(c: httpx.AsyncClient, name: str) -> dict[str, Any]:
    """The caller's listing of task ``name`` once its last run has completed."""
    for _ in range(200):
        task: dict[str, Any] = {t["name"]: t for t in (await c.get("/api/tasks")).json()["tasks"]}[name]
        if task["last_status"] == "complete":
            return task
        await asyncio.sleep(0.05)
    raise AssertionError(f"task {name} did not complete: {task}")


async def test_only_the_owner_lists_and_runs_a_task(app: Any) -> None:
    """Alice lists and runs only alice-brief and reads its session; Bob gets 404 for it and
    never sees its session id, in the listing or anywhere else."""
    async with client(app, ALICE) as alice, client(app, BOB) as bob:
        assert [t["name"] for t in (await alice.get("/api/tasks")).json()["tasks"]] == ["alice-brief"]
        assert [t["name"] for t in (await bob.get("/api/tasks")).json()["tasks"]] == ["bob-pulse"]

        refused = await bob.post("/api/tasks/alice-brief/run")
        assert refused.status_code == 404 and refused.json()["error"]["code"] == "not_found"
        assert (await alice.post("/api/tasks/bob-pulse/run")).status_code == 404
        assert (await alice.post("/api/tasks/no-such-task/run")).status_code == 404

        ran = await alice.post("/api/tasks/alice-brief/run")
        assert ran.status_code == 202, ran.text
        task = await finished(alice, "alice-brief")
        sid = task["last_session_id"]
        session = (await alice.get(f"/api/sessions/{sid}")).json()
        assert session["source"] == "scheduled" and session["source_ref"] == "alice-brief"

        listing = await bob.get("/api/tasks")
        assert sid not in listing.text and "alice" not in listing.text
        assert (await bob.get(f"/api/sessions/{sid}")).status_code == 404
        assert sid not in (await bob.get("/api/sessions")).text
