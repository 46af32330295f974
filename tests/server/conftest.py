"""HTTP clients on the real app over the ``hub`` fixture, on one backend (a SQLite file).

Routes do not branch on the database: the behaviour suite below the HTTP layer (tests/core,
tests/routing …) covers every backend, so running each HTTP test three times more only costs
time. A test about backends asks for them with
``@pytest.mark.parametrize("backend_url", [...], indirect=True)``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from sessionhub.config import ServerSettings, Settings
from sessionhub.hub import Hub
from sessionhub.server.app import create_app

TOKENS = {"token-alice-0001": "alice", "token-bob-000002": "bob"}
ALICE = {"Authorization": "Bearer token-alice-0001"}
BOB = {"Authorization": "Bearer token-bob-000002"}

ClientFactory = Callable[..., httpx.AsyncClient]


@pytest.fixture
def backend_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A SQLite file, or the backend a test names through indirect parametrisation."""
    backend = getattr(request, "param", "sqlite")
    if backend == "sqlite":
        return f"sqlite:///{tmp_path}/test.db"
    assert backend == "postgresql", backend
    return str(request.getfixturevalue("pg_url"))


def make_settings(**server: Any) -> Settings:
    base = Settings(triggers={"deploy": {"prompt": "Deploy {{payload.service}} finished:\n{{payload}}"}})
    return base.replace(server=ServerSettings(**server))


@pytest.fixture
async def make_client(hub: Hub) -> AsyncIterator[ClientFactory]:
    """Build clients on apps over the same hub with given server settings."""
    clients: list[httpx.AsyncClient] = []

    def factory(settings: Settings | None = None, headers: dict[str, str] | None = None) -> httpx.AsyncClient:
        settings = settings or make_settings()
        app = create_app(settings, Hub(hub.store, settings, clock=hub.clock))
        c = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1", headers=headers
        )
        clients.append(c)
        return c

    yield factory
    for c in clients:
        await c.aclose()


@pytest.fixture
async def client(make_client: ClientFactory) -> httpx.AsyncClient:
    """A client on an app without tokens (every caller is user ``default``)."""
    return make_client()
