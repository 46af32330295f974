"""Fixtures for the adapter tests: a hub on a SQLite file and on PostgreSQL.

The repository's ``tests/agents/`` package is imported as the top-level module ``agents``
(pytest's default prepend import mode), which shadows the OpenAI Agents SDK (also
``agents``) when both are collected in one run. ``_unshadow_agents_sdk`` puts the real SDK
under that name before these tests import it; the test package's own submodules
(``agents.conftest``, ``agents.fake_openai``, …) stay importable from ``sys.modules``.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

import sessionhub
from sessionhub.hub import Hub


def _unshadow_agents_sdk() -> None:
    tests_agents = Path(__file__).resolve().parent.parent / "agents"
    current = sys.modules.get("agents")
    if current is None or not hasattr(current, "Runner"):
        shadow = sys.modules.pop("agents", None)
        saved = sys.path[:]
        sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != tests_agents.parent]
        try:
            current = importlib.import_module("agents")
        except ImportError:  # the SDK is not installed: leave things as they were
            sys.modules.pop("agents", None)
            if shadow is not None:
                sys.modules["agents"] = shadow
            return
        finally:
            sys.path[:] = saved
    # tests/agents/* stay importable as agents.* (the SDK has no modules of those names)
    if tests_agents.is_dir() and str(tests_agents) not in current.__path__:
        current.__path__.append(str(tests_agents))


_unshadow_agents_sdk()


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
