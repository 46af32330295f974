"""The hub: the Python API of CONTRACT section 9, and the one place the session rules live.

``Hub`` validates input, applies the rules of CONTRACT section 3 and delegates storage to
a ``Store``. It is bound to one owner (user); ``hub.as_user(name)`` gives a view for
another owner over the same store, which is how the server isolates its users.

The parts, one module each, stacked on one real base (``_core.HubCore``: store, settings,
clock, owner, routing state, turn gate, shared input checks):
``sessions.py`` (sessions, messages, listings) → ``history.py`` (checkpoints, forks,
export, import, cleanup, retention; ``branches.py``: regenerate, edit, branches on top of it)
and ``routing.py`` (inbound messages, keys, resets),
``context.py`` (context windows, compaction), ``items.py`` (messages as OpenAI items, for
``/v1``; on ``history.py``) → ``commands.py`` (chat commands, which use
all of them) → ``Hub`` here (lifecycle and ``as_user``), and ``open()``.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any

from ..clock import Clock
from ..config import Settings, load_settings
from ..crypto.config import keyring_from
from ..errors import InvalidInput
from ..store.sql import SQLStore
from ..validation import check_session_text
from .commands import CommandOps
from .usage import UsageOps


class Hub(CommandOps, UsageOps):
    """Sessions for one owner. Open with ``sessionhub.open(...)``."""

    # -- lifecycle --------------------------------------------------------------------------

    def as_user(self, owner: str) -> Hub:
        """The same store seen by another owner: their sessions only."""
        if not isinstance(owner, str) or not owner:
            raise InvalidInput("owner must be a non-empty string")
        check_session_text(owner=owner)
        view = Hub(self.store, self.settings, clock=self.clock, owner=owner, summarizer=self.summarizer)
        view.router = self.router  # shared policy, pre-reset hooks and per-key locks
        view.turns = self.turns
        return view

    async def close(self) -> None:
        await self.store.close()

    async def __aenter__(self) -> Hub:
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    @property
    def database(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.store.dialect


class Opener:
    """What ``sessionhub.open`` returns: ``async with`` it, or ``await`` it."""

    def __init__(
        self,
        url: str | None,
        config: str | None,
        encryption_key: str | None,
        clock: Clock | None,
        settings: Settings | None,
    ) -> None:
        self._args = (url, config, encryption_key, clock, settings)
        self._hub: Hub | None = None

    async def _open(self) -> Hub:
        url, config, encryption_key, clock, settings = self._args
        if settings is None:
            settings = load_settings(config) if config is not None else Settings()
        keyring = keyring_from(settings.encryption, encryption_key)
        store = SQLStore(
            url if url is not None else settings.database_url,
            clock=clock,
            keyring=keyring,
            read_cache_bytes=settings.encryption.read_cache_mb << 20,
        )
        try:
            await store.open()
        except BaseException:
            await store.close()
            raise
        return Hub(store, settings, clock=clock)

    def __await__(self) -> Any:
        return self._open().__await__()

    async def __aenter__(self) -> Hub:
        self._hub = await self._open()
        return self._hub

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._hub is not None:
            await self._hub.close()


def open(
    url: str | None = None,
    *,
    config: str | None = None,
    encryption_key: str | None = None,
    clock: Clock | None = None,
    settings: Settings | None = None,
) -> Opener:
    """Open a hub on ``url`` (None: the default SQLite file, or the config's ``[database] url``).

    ``async with sessionhub.open("sqlite:///chat.db") as hub: ...`` or ``hub = await sessionhub.open()``.
    """
    return Opener(url, config, encryption_key, clock, settings)


__all__ = ["Hub", "Opener", "open"]
