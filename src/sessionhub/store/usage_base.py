"""What ``hub/usage.py`` needs from a store: ``UsageStore`` (part of ``interface.Store``)."""

from __future__ import annotations

from typing import Protocol

from ..usage import ModelSums, UsageQuery


class UsageStore(Protocol):
    async def usage(self, query: UsageQuery) -> list[ModelSums]:
        """Message counts and token sums per (group key, model) from the usage rollup."""
        ...
