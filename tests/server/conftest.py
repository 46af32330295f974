"""HTTP clients on the real app over the ``hub`` fixture (memory, SQLite, PostgreSQL)."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Callable
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


def make_settings(**server: Any) -> Settings:
    base = Settings(triggers={"deploy": {"prompt": "Deploy {{payload.service}} finished:\n{{payload}}"}})
    return dataclasses.replace(base, server=ServerSettings(**server))


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
