"""``Idempotency-Key`` for appends: the same key on the same session gives the same 201 once.

An in-process LRU (bounded entries, 24 h lifetime) keyed by (user, session, key). It holds
the first successful result and a fingerprint of the request body: a retry with the same
body gets that result back without storing anything; the same key with a different body is
a 409 ``idempotency_key_reused``. Concurrent requests with one key run the append once; the
others wait for it. A failed attempt is not remembered, so the client can retry it.

Limitation (documented in the API docs): the memory is per server process. With several
workers or replicas behind a load balancer, a retry that lands on another process is not
recognised; put session affinity on the balancer, or rely on the platform event ids of the
inbound endpoints, which are deduplicated in the database.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

from ..errors import Conflict

MAX_KEY_LENGTH = 255


class IdempotencyKeyReused(Conflict):
    code = "idempotency_key_reused"


class IdempotencyCache:
    def __init__(self, max_entries: int = 10_000, ttl_seconds: float = 24 * 3600) -> None:
        self.max_entries = max_entries
        self.ttl = ttl_seconds
        self._done: OrderedDict[tuple[str, ...], tuple[float, str, Any]] = OrderedDict()
        self._pending: dict[tuple[str, ...], asyncio.Future[None]] = {}

    def __len__(self) -> int:
        return len(self._done)

    def _lookup(self, key: tuple[str, ...], fingerprint: str) -> tuple[bool, Any]:
        entry = self._done.get(key)
        if entry is None:
            return False, None
        stamp, stored_fp, result = entry
        if time.monotonic() - stamp > self.ttl:
            del self._done[key]
            return False, None
        if stored_fp != fingerprint:
            raise IdempotencyKeyReused("this Idempotency-Key was already used with a different request body")
        self._done.move_to_end(key)
        return True, result

    async def run(
        self, key: tuple[str, ...], fingerprint: str, produce: Callable[[], Awaitable[Any]]
    ) -> tuple[bool, Any]:
        """``(True, stored result)`` for a known ``key``, else ``(False, produce())`` (stored on success)."""
        while True:
            hit, result = self._lookup(key, fingerprint)
            if hit:
                return True, result
            pending = self._pending.get(key)
            if pending is None:
                break
            await asyncio.wait([pending])  # the first attempt finishes (or fails) first
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending[key] = future
        try:
            result = await produce()
            self._done[key] = (time.monotonic(), fingerprint, result)
            while len(self._done) > self.max_entries:
                self._done.popitem(last=False)
            return False, result
        finally:
            del self._pending[key]
            future.set_result(None)
