"""What ``hub/usage.py`` needs from a store: ``UsageStore`` (part of ``interface.Store``)."""

from __future__ import annotations

from typing import Protocol

from ..usage import UsageQuery, UsageSums


class UsageStore(Protocol):
    async def usage(self, query: UsageQuery) -> UsageSums:
        """Message counts, token sums and sessions per (group key, model), and the totals per
        model, from the usage rollups, all read from one snapshot."""
        ...

    async def session_titles(self, owner: str, session_ids: list[str]) -> dict[str, str]:
        """The titles of those of ``session_ids`` that ``owner`` has (one read, decrypted)."""
        ...
