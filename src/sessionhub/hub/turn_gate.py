"""Destructive changes stop the session's running agent turn first.

Clearing, deleting, archiving a session, restoring one of its checkpoints or popping its last
message while the agent is answering would pull the streaming reply's row from under the
turn. Every such hub method runs inside :func:`turn_stopped`, the one place where they meet
the turns: the running turn is stopped (its partial reply saved ``interrupted``, ``reason``
sent to its watchers as ``error``), and no turn of that session starts until the change is
done. The hub knows the turns only through :class:`TurnGate`, which the server's agent
runtime attaches (``hub.turns``); a hub without one (the library, the CLI) changes at once.

A turn on another process (a replica, the CLI) cannot be stopped from here: that turn finds
its reply gone and ends with ``error {code: not_found}`` (see ``agents.runner``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, Protocol

from ..errors import SessionhubError


class TurnGate(Protocol):
    """What the hub needs of the agents' ``TurnManager``."""

    def busy(self, session_id: str) -> bool:
        """Whether the session runs a turn or one is being started."""
        ...

    async def stop(self, session_id: str) -> object:
        """Stop the session's turn (its partial reply saved); falsy when none was running."""
        ...

    def hold(
        self, session_id: str, reason: SessionhubError | None = None
    ) -> AbstractAsyncContextManager[None]:
        """Stop the session's turn and keep new ones out for the block."""
        ...


class Gated(Protocol):
    """A hub (or its history half): its gate and a way to check a session is the caller's."""

    turns: TurnGate | None

    async def get_session(self, session_id: str) -> Any: ...


@asynccontextmanager
async def turn_stopped(
    hub: Gated, session_id: str, reason: SessionhubError | None = None
) -> AsyncIterator[None]:
    """Run the block with the session's turn stopped and new turns refused (see the module)."""
    gate = hub.turns
    if gate is None:
        yield
        return
    if gate.busy(session_id):
        await hub.get_session(session_id)  # only the session's owner may stop its turn (NotFound)
    async with gate.hold(session_id, reason):
        yield
