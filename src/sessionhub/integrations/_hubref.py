"""``HubRef``: an open hub, or a database URL opened on first use, seen as one owner.

What the ADK and ChatKit adapters share: they accept either, open the URL lazily (once, under
a lock, so concurrent first calls open one hub), and close only a hub they opened.
"""

from __future__ import annotations

import asyncio

from ..hub import Hub


class HubRef:
    def __init__(self, hub_or_url: Hub | str, owner: str | None) -> None:
        self._url = hub_or_url if isinstance(hub_or_url, str) else None
        self._hub: Hub | None = None if isinstance(hub_or_url, str) else hub_or_url
        self._owned: Hub | None = None
        self._owner = owner
        self._lock = asyncio.Lock()

    async def get(self) -> Hub:
        """The hub in use (opened from the URL on first call), seen as ``owner``."""
        if self._hub is None:
            async with self._lock:
                if self._hub is None:
                    import sessionhub

                    self._owned = await sessionhub.open(self._url)
                    self._hub = self._owned
        hub = self._hub
        if self._owner is not None and hub.owner != self._owner:
            hub = self._hub = hub.as_user(self._owner)
        return hub

    async def close(self) -> None:
        """Close the hub if it was opened here from a URL."""
        if self._owned is not None:
            owned, self._owned, self._hub = self._owned, None, None
            await owned.close()
