"""Every async test in tests/agent_runtime is bounded: it fails after TEST_TIMEOUT seconds instead of hanging."""

from __future__ import annotations

import asyncio
import functools
import inspect
from collections.abc import Callable, Coroutine
from typing import Any

import pytest

TEST_TIMEOUT = 5.0


def _bounded(fn: Callable[..., Coroutine[Any, Any, Any]]) -> Callable[..., Coroutine[Any, Any, Any]]:
    @functools.wraps(fn)
    async def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return await asyncio.wait_for(fn(*args, **kwargs), TEST_TIMEOUT)
        except TimeoutError:
            pytest.fail(f"took longer than {TEST_TIMEOUT} s")

    return run


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        ours = isinstance(item, pytest.Function) and "tests/agent_runtime/" in str(item.path).replace(
            "\\", "/"
        )
        if ours and inspect.iscoroutinefunction(item.obj):  # type: ignore[attr-defined]
            item.obj = _bounded(item.obj)  # type: ignore[attr-defined]
