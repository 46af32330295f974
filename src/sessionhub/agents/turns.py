"""One turn at a time per session: :class:`TurnManager` starts, tracks and stops turns.

A second turn for a session that is running one is **refused, not queued**:
:meth:`TurnManager.start` raises ``TurnInProgress`` (409 ``turn_in_progress``). Clients wait
for ``stream_end`` or send ``stop``. (Queuing would make a chat message sent during a long
reply answer a context the user no longer sees; refusing is the honest choice.)

Each turn runs in its own asyncio task, owned by the manager and not by the request or
WebSocket that started it, so a client that disconnects does not stop it; events go to the
sink, which the server fans out to whoever is watching the session.

The slot is claimed before ``prepare`` runs, so two concurrent ``start`` calls cannot both
append a user message: ``prepare`` (e.g. "append the user message, then build the context")
runs in the caller, and its errors (``SessionReadOnly``, ``NotFound``...) raise from ``start``
with the slot released.

A destructive change of the session (clear, delete, checkpoint restore, archive) runs inside
:meth:`TurnManager.hold`: the running turn is stopped first (its partial reply saved
``interrupted``, an optional reason sent as ``error``), and no turn starts until the change
is done (a chat meanwhile is refused with ``TurnInProgress``). A turn whose ``prepare`` was
running when the hold began does not start either.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence

from ..errors import SessionhubError, TurnInProgress
from .convert import ContextItem
from .events import EventSink
from .providers.base import Provider
from .runner import TurnOptions, TurnResult, TurnRunner, TurnStore


class Turn:
    """A running (or finished) turn."""

    def __init__(self, runner: TurnRunner) -> None:
        self.runner = runner
        self.session_id = runner.session_id
        self.task: asyncio.Task[TurnResult] | None = None
        self.stop_requested = False

    @property
    def done(self) -> bool:
        return self.task is not None and self.task.done()

    @property
    def message_id(self) -> str | None:
        """The assistant message streaming now (or the turn's last one)."""
        return self.runner.message_id

    async def wait(self) -> TurnResult:
        """Wait for the end of the turn (its result also when it was stopped)."""
        assert self.task is not None
        return await asyncio.shield(self.task)


class TurnManager:
    """Runs turns as independent tasks, at most one per session; see the module docstring."""

    def __init__(self) -> None:
        self._turns: dict[str, Turn] = {}
        self._preparing: set[str] = set()
        self._held: Counter[str] = Counter()

    def running(self, session_id: str) -> Turn | None:
        """The session's turn in progress, if any."""
        turn = self._turns.get(session_id)
        return turn if turn is not None and not turn.done else None

    def busy(self, session_id: str) -> bool:
        """Whether the session runs a turn or one is being started."""
        return (
            session_id in self._preparing or session_id in self._held or self.running(session_id) is not None
        )

    def __len__(self) -> int:
        return sum(1 for t in self._turns.values() if not t.done)

    async def start(
        self,
        session_id: str,
        *,
        store: TurnStore,
        provider: Provider,
        sink: EventSink,
        options: TurnOptions,
        context: Sequence[ContextItem] | None = None,
        prepare: Callable[[], Awaitable[Sequence[ContextItem]]] | None = None,
    ) -> Turn:
        """Start a turn; ``context`` is the messages to send, or ``prepare`` returns them.

        Raises ``TurnInProgress`` when the session already runs a turn (refused, not queued).
        """
        if (context is None) == (prepare is None):
            raise TypeError("pass exactly one of context= or prepare=")
        if session_id in self._held:
            raise _changing(session_id)
        if self.busy(session_id):
            raise TurnInProgress(
                f"session {session_id} is already answering; this message was refused, not queued "
                "(wait for stream_end or send stop)"
            )
        self._preparing.add(session_id)  # the slot is ours from here on (no await before this line)
        try:
            messages = context if prepare is None else await prepare()
        finally:
            self._preparing.discard(session_id)
        if session_id in self._held:
            raise _changing(session_id)
        assert messages is not None
        turn = Turn(
            TurnRunner(
                session_id, store=store, provider=provider, sink=sink, context=messages, options=options
            )
        )
        turn.task = asyncio.create_task(self._run(turn), name=f"sessionhub-turn-{session_id}")
        self._turns[session_id] = turn
        return turn

    async def _run(self, turn: Turn) -> TurnResult:
        try:
            return await turn.runner.run()
        except asyncio.CancelledError:
            if turn.stop_requested and turn.runner.result is not None:
                task = asyncio.current_task()
                if task is not None:
                    task.uncancel()
                return turn.runner.result
            raise
        finally:
            if self._turns.get(turn.session_id) is turn:
                del self._turns[turn.session_id]

    async def stop(self, session_id: str, reason: SessionhubError | None = None) -> TurnResult | None:
        """Stop the session's turn; returns once the partial reply is saved (None if none ran).

        ``reason``, when given, is sent as an ``error`` event before ``stream_end``
        (``interrupted``) and is the result's ``error``.
        """
        turn = self.running(session_id)
        if turn is None or turn.task is None:
            return None
        turn.stop_requested = True
        turn.runner.stop_reason = reason
        turn.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            return await asyncio.shield(turn.task)
        return turn.runner.result

    @contextlib.asynccontextmanager
    async def hold(self, session_id: str, reason: SessionhubError | None = None) -> AsyncIterator[None]:
        """Stop the session's turn and keep new ones out for the block (a destructive change)."""
        self._held[session_id] += 1
        try:
            await self.stop(session_id, reason)
            yield
        finally:
            self._held[session_id] -= 1
            if self._held[session_id] <= 0:
                del self._held[session_id]

    async def aclose(self) -> None:
        """Stop every turn (server shutdown): partial replies are saved as ``interrupted``."""
        await asyncio.gather(*(self.stop(sid) for sid in list(self._turns)), return_exceptions=True)


def _changing(session_id: str) -> TurnInProgress:
    return TurnInProgress(
        f"session {session_id} is being changed (cleared, deleted, restored or archived); "
        "this message was refused, try again"
    )
