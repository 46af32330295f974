"""Waiting in tests: poll a condition until a deadline instead of sleeping a guessed time.

A fixed sleep is either too short on a loaded machine (a flake) or too long everywhere (a slow
suite); polling returns as soon as the condition holds and fails, naming what it waited for,
only when the deadline passes. ``tests/`` is on ``sys.path`` (the root conftest's folder), so
any test imports ``from _util import eventually``.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import pytest
from alembic.config import Config

T = TypeVar("T")


async def eventually(
    predicate: Callable[[], T | Awaitable[T]],
    *,
    timeout: float = 10.0,
    interval: float = 0.02,
    what: str = "",
) -> T:
    """Call ``predicate`` (sync or async) until it returns something truthy; return that value.

    Fails the test after ``timeout`` seconds with the last value seen.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value  # type: ignore[return-value]
        if time.monotonic() > deadline:
            pytest.fail(f"not true within {timeout} s: {what or predicate!r} (last value {value!r})")
        await asyncio.sleep(interval)


def eventually_sync(
    predicate: Callable[[], T], *, timeout: float = 10.0, interval: float = 0.02, what: str = ""
) -> T:
    """``eventually`` for synchronous tests (a server in another process or thread)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"not true within {timeout} s: {what or predicate!r} (last value {value!r})")
        time.sleep(interval)


def alembic_config(conn: object) -> Config:
    """An Alembic ``Config`` that runs sessionhub's migrations on ``conn`` (a SQLAlchemy
    connection inside a transaction): ``command.upgrade(alembic_config(conn), "head")``."""
    from sessionhub.store import engine as eng

    cfg = Config()
    cfg.set_main_option("script_location", str(eng.MIGRATIONS_DIR))
    cfg.attributes["connection"] = conn
    return cfg
