"""Fixtures for the adapter tests: a hub on a SQLite file and on PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

import sessionhub
from sessionhub.hub import Hub

# The ADK and ChatKit cases live in plain modules imported by their tests: rewrite their asserts too.
pytest.register_assert_rewrite("integrations.adk_cases", "integrations.chatkit_cases")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database: a SQLite file, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/adapters.db"
    else:
        yield request.getfixturevalue("pg_url")


@pytest.fixture
async def hub(db_url: str) -> AsyncIterator[Hub]:
    async with sessionhub.open(db_url) as h:
        yield h
