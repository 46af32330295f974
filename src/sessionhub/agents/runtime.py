"""Conversations: a chat message in, chat command or agent turn out (hub layer, no HTTP).

    runtime = AgentRuntime(settings, env=os.environ, notify=bus_notify)
    runtime.check()                                  # a bad [providers] value fails here
    out = await runtime.chat(hub.as_user("alice"), session_id, "hello", sink=send)
    if isinstance(out, CommandAnswer): ...           # answered directly, nothing stored
    else: result = await out.turn.wait()             # the user message is out.user_message

Every entry (REST chat, the WebSocket, inbound channels, scheduled tasks) goes through
:meth:`AgentRuntime.chat` / :meth:`AgentRuntime.start_turn` (and :meth:`AgentRuntime.regenerate`
/ :meth:`AgentRuntime.edit`, which keep the replaced messages as a branch first), so they share
one rule set:

- the session's provider and model are the ones fixed at its creation; the agent's system
  prompt and context settings come from ``[[agents]]`` (an agent no longer configured keeps
  working with no system prompt and default context settings);
- the user message is appended and the context built (``hub.get_context_history`` with
  the agent's ``max_tokens`` / ``strategy``) inside the turn's ``prepare`` step, after the
  session's turn slot is claimed: a second chat while a turn runs is **refused** with
  ``TurnInProgress`` (409 ``turn_in_progress``) and stores nothing;
- the reply is persisted through :class:`HubTurnStore` while it streams;
- events go to every sink watching the session (:meth:`AgentRuntime.watch`: WebSocket
  connections) and to the caller's own ``sink`` (an SSE response); a watcher that fails or
  goes away never stops the turn;
- ``notify(owner, session_id)`` is called when the user message is stored and when the turn
  ends, which the server turns into ``sessions_changed`` events on every replica.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from ..config import AgentSettings, Settings
from ..errors import ConfigError, InvalidInput, SessionReadOnly
from ..model import Message, MessageStatus, Part, Session, ToolResult, Usage
from . import builtin_tools
from .convert import ContextItem
from .events import Event, EventSink
from .providers import Provider, ProviderError, ProviderSet
from .runner import TurnOptions, TurnResult
from .summarizer import ModelSummarizer
from .turns import Turn, TurnManager

if TYPE_CHECKING:
    from ..hub import Hub
    from ..hub.branches import BranchResult

log = logging.getLogger("sessionhub.agents.runtime")

Notify = Callable[[str, str], Awaitable[None]]
"""``notify(owner, session_id)``: a session of ``owner`` changed."""


class HubTurnStore:
    """The agents' ``TurnStore`` over a hub (one owner): replies are ordinary messages."""

    def __init__(self, hub: Hub, reply_metadata: Mapping[str, Any] | None = None) -> None:
        self.hub = hub
        self.reply_metadata = dict(reply_metadata or {})

    async def start_reply(self, session_id: str) -> str:
        # The store records which server streams it (crash recovery, turns_base.StreamStore).
        msg = await self.hub.store.start_reply(self.hub.owner, session_id, self.reply_metadata or None)
        return msg.id

    async def update_reply(
        self,
        session_id: str,
        message_id: str,
        *,
        content: str,
        parts: Sequence[Part],
        status: MessageStatus,
        usage: Usage,
    ) -> Message:
        return await self.hub.store.update_message(
            self.hub.owner, session_id, message_id, content, tuple(parts), status, usage
        )

    async def add_tool_message(
        self, session_id: str, *, tool_call_id: str, name: str, content: str, is_error: bool
    ) -> Message:
        part = ToolResult(tool_call_id=tool_call_id, content=content).to_dict()
        return await self.hub.add_message(
            session_id,
            "tool",
            content if content.strip() else "(empty)",
            parts=[part],
            metadata={"tool_name": name, "is_error": is_error},
        )


@dataclass(frozen=True, slots=True)
class CommandAnswer:
    """A chat command's answer (not stored); ``session`` is the chat's session afterwards."""

    command: str
    text: str
    session: Session | None = None


@dataclass(frozen=True, slots=True)
class BranchStarted:
    """An agent turn started after a regenerate or an edit (``result``: what changed)."""

    result: BranchResult
    turn: Turn

    async def wait(self) -> TurnResult:
        return await self.turn.wait()


@dataclass(frozen=True, slots=True)
class ChatStarted:
    """An agent turn started for a stored user message."""

    session: Session
    user_message: Message
    turn: Turn

    async def wait(self) -> TurnResult:
        return await self.turn.wait()


class AgentRuntime:
    """Providers, the turn manager and event fan-out for one server; see the module docstring."""

    def __init__(
        self,
        settings: Settings,
        *,
        providers: ProviderSet | None = None,
        env: Mapping[str, str] | None = None,
        notify: Notify | None = None,
    ) -> None:
        self.settings = settings
        self.providers = providers or ProviderSet(settings.providers, os.environ if env is None else env)
        self.turns = TurnManager()
        self.summarizer = ModelSummarizer(settings, self.providers)
        self.notify = notify
        self._watchers: dict[str, set[EventSink]] = {}

    def check(self) -> None:
        """Build every ``[providers.NAME]`` provider now, so a missing API key stops start-up.

        The tables themselves (and that every agent names a provider) were checked when the
        settings were parsed. An agent on the implicit ``openai`` provider (no table) is
        built when it is first used: a missing ``OPENAI_API_KEY`` then fails that chat
        (502), not the server.
        """
        used = {a.provider for a in self.settings.agents}
        for name, problem in self.providers.check(lenient=set(self.settings.providers) - used):
            log.warning(
                "provider %r is not usable (no agent uses it, so the server starts): %s", name, problem
            )

    def configured(self, provider: str) -> bool:
        """True when ``provider`` is one this server can call: a ``[providers]`` table, the
        built-in ``echo``, or one a configured agent uses (the implicit ``openai``)."""
        return (
            provider in self.settings.providers
            or provider == "echo"
            or any(a.provider == provider for a in self.settings.agents)
        )

    def stand_in(self, session: Session) -> tuple[AgentSettings, dict[str, Any]] | None:
        """For an imported session whose provider is not configured here (OpenClaw's
        ``anthropic``): the agent that answers instead (``[import] chat_agent``, default the
        default agent) and the note its replies carry (CONTRACT 11.2). None otherwise."""
        if self.configured(session.provider) or "imported_from" not in session.metadata:
            return None
        spec = self.settings.agent(self.settings.imports.chat_agent or "") or self.settings.default_agent
        note = (
            f"provider {session.provider!r} of this imported session is not configured here; "
            f"agent {spec.id!r} ({spec.provider}/{spec.model}) answers instead"
        )
        return spec, {"chat_agent": spec.id, "provider": spec.provider, "model": spec.model, "note": note}

    def provider_for(self, session: Session) -> Provider:
        """The session's provider; a provider that cannot be built is a ``ProviderError`` (502)."""
        try:
            return self.providers.get(session.provider)
        except ConfigError as exc:
            raise ProviderError(f"provider {session.provider!r} is not usable: {exc.message}") from None

    def bind(self, hub: Hub) -> Hub:
        """Give ``hub`` the turn manager: ``/stop`` run through it stops turns, and its clear,
        delete, restore and archive stop the session's turn first (``turn_gate.py``); and,
        unless it was built with its own, the model summarizer (``summarizer.py``), so its
        compactions are written by the session agent's model."""
        hub.turns = self.turns
        if hub.summarizer is None:
            hub.summarizer = self.summarizer
        return hub

    # -- watchers ---------------------------------------------------------------------------

    def watch(self, session_id: str, sink: EventSink) -> Callable[[], None]:
        """Send every event of ``session_id``'s turns to ``sink``; returns the unwatch function."""
        self._watchers.setdefault(session_id, set()).add(sink)

        def unwatch() -> None:
            sinks = self._watchers.get(session_id)
            if sinks is not None:
                sinks.discard(sink)
                if not sinks:
                    del self._watchers[session_id]

        return unwatch

    async def _fanout(self, event: Event, extra: EventSink | None) -> None:
        sinks = list(self._watchers.get(str(event.get("session_id")), ()))
        if extra is not None and extra not in sinks:
            sinks.append(extra)
        for sink in sinks:
            try:
                await sink(event)
            except Exception:
                log.debug("an event watcher failed; the turn goes on", exc_info=True)

    async def _notify(self, owner: str, session_id: str) -> None:
        if self.notify is None:
            return
        try:
            await self.notify(owner, session_id)
        except Exception:
            log.warning("could not publish sessions_changed for %s", session_id, exc_info=True)

    # -- chat -------------------------------------------------------------------------------

    async def chat(
        self,
        hub: Hub,
        session_id: str,
        content: object,
        *,
        sink: EventSink | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> CommandAnswer | ChatStarted:
        """Run ``content`` as a chat command, or store it and start an agent turn."""
        if not isinstance(content, str) or not content.strip():
            raise InvalidInput("content must be a non-empty string")
        self.bind(hub)
        result = await hub.run_command(session_id, content)
        if result is not None:
            command = content.strip().split(None, 1)[0]
            if result.session is not None:
                await self._notify(hub.owner, result.session.id)
            return CommandAnswer(command, result.text, result.session)
        return await self.start_turn(hub, session_id, content, sink=sink, metadata=metadata)

    async def start_turn(
        self,
        hub: Hub,
        session_id: str,
        content: str,
        *,
        sink: EventSink | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> ChatStarted:
        """Store ``content`` as the user's message and start the agent's turn."""
        return await self._start(hub, session_id, content, sink=sink, metadata=metadata)

    async def answer(self, hub: Hub, session_id: str, *, sink: EventSink | None = None) -> ChatStarted:
        """Start the agent's turn on a user message already stored (inbound channels)."""
        return await self._start(hub, session_id, None, sink=sink, metadata=None)

    async def _start(
        self,
        hub: Hub,
        session_id: str,
        content: str | None,
        *,
        sink: EventSink | None,
        metadata: Mapping[str, Any] | None,
    ) -> ChatStarted:
        stored: list[Message] = []

        async def step(session: Session) -> None:
            if content is not None:
                msg = await hub.add_message(session.id, "user", content, metadata=metadata)
                stored.append(msg)
                await self._notify(hub.owner, session.id)
            else:
                last: list[Message] = await hub.get_history(session.id, limit=1)
                stored.extend(last)

        session, turn = await self._launch(hub, session_id, step, sink)
        return ChatStarted(session, stored[0], turn)

    async def regenerate(
        self, hub: Hub, session_id: str, seq: int | None = None, *, sink: EventSink | None = None
    ) -> BranchStarted:
        """Keep assistant message ``seq`` (default: the last) and what follows aside as a
        branch (``hub.regenerate``) and start the agent's turn on the history before it."""
        return await self._branch(hub, session_id, lambda s: hub.regenerate(s.id, seq), sink)

    async def edit(
        self, hub: Hub, session_id: str, seq: int, content: str, *, sink: EventSink | None = None
    ) -> BranchStarted:
        """Replace user message ``seq`` by ``content`` (``hub.edit``: the old continuation is
        kept as a branch) and start the agent's turn. ``content`` is never a chat command."""
        return await self._branch(hub, session_id, lambda s: hub.edit(s.id, seq, content), sink)

    async def _branch(
        self,
        hub: Hub,
        session_id: str,
        change: Callable[[Session], Awaitable[BranchResult]],
        sink: EventSink | None,
    ) -> BranchStarted:
        done: list[BranchResult] = []

        async def step(session: Session) -> None:
            done.append(await change(session))
            await self._notify(hub.owner, session.id)

        _, turn = await self._launch(hub, session_id, step, sink)
        return BranchStarted(done[0], turn)

    async def _launch(
        self,
        hub: Hub,
        session_id: str,
        step: Callable[[Session], Awaitable[None]],
        sink: EventSink | None,
    ) -> tuple[Session, Turn]:
        """Claim the session's turn slot, run ``step`` (store what the turn answers), build
        the context and start the turn."""
        self.bind(hub)
        session = await hub.get_session(session_id)
        if session.status == "archived":
            raise SessionReadOnly(f"session {session.id} is archived (read-only); restore it first")
        stand_in = self.stand_in(session)
        reply_metadata: dict[str, Any] = {}
        if stand_in is not None:
            agent: AgentSettings | None = stand_in[0]
            reply_metadata["stand_in"] = stand_in[1]
            provider = self.provider_for(replace(session, provider=stand_in[0].provider))
            model = stand_in[0].model
        else:
            agent = self.settings.agent(session.agent)
            provider = self.provider_for(session)
            model = session.model
        options = TurnOptions(
            model=model,
            system_prompt=agent.system_prompt if agent is not None else "",
            tools=builtin_tools(hub.search, clock=hub.clock),
        )

        async def prepare() -> Sequence[ContextItem]:
            await step(session)
            return await self._context(hub, session)

        async def send(event: Event) -> None:
            await self._fanout(event, sink)
            if event.get("type") == "stream_end":
                await self._notify(hub.owner, session.id)

        turn = await self.turns.start(
            session.id,
            store=HubTurnStore(hub, reply_metadata),
            provider=provider,
            sink=send,
            options=options,
            prepare=prepare,
        )
        return session, turn

    async def _context(self, hub: Hub, session: Session) -> Sequence[ContextItem]:
        cs = hub.context_settings(session.agent)
        window = await hub.get_context_history(session.id, max_tokens=cs.max_tokens, strategy=cs.strategy)
        return list(window.messages)

    async def stop(self, session_id: str) -> TurnResult | None:
        """Stop the session's turn (its partial reply is saved ``interrupted``)."""
        return await self.turns.stop(session_id)

    async def aclose(self) -> None:
        """Stop every turn (partial replies saved ``interrupted``) and close the providers."""
        await self.turns.aclose()
        await self.providers.aclose()


__all__ = ["AgentRuntime", "BranchStarted", "ChatStarted", "CommandAnswer", "HubTurnStore", "Notify"]
