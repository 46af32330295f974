"""The one command layer (CONTRACT §5): every channel and the web chat execute chat commands here.

``hub.execute(context, command)`` runs a parsed ``Command`` (``routing.commands``) and
gives a ``CommandResult``: a short text to answer, and the session the chat uses
afterwards when the command changed it (``/new``, ``/reset``, ``/checkpoint restore``).
Nothing is stored as a conversation message. ``context`` is the ``InboundMessage`` that
carried the command (a channel chat: routing applies) or the open ``Session`` (the web
chat: its key is its id, so ``/new`` and ``/reset`` create a new web session and the
``/session scope|reset-time|idle-reset`` overrides do not apply).

A channel chat's sender is a chat user: ``/session scope`` and ``/new AGENT MODEL`` are
limited to what the operator configured (``routing.permissions``); a refusal is a short
answer and changes nothing. The web chat is the owner's API user and is not limited.

Errors a command meets (unknown agent, unknown checkpoint, read-only session, …) are
answered as text, never raised. ``CommandOps`` is built on every other part of the hub
(history, routing, context), so a command calls them as its own methods; ``/stop`` needs
the server's turn gate and says it is not available on a hub without one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import SessionhubError
from ..model import Session
from ..routing.commands import HELP_TEXT, Command, parse_command
from ..routing.inbound import InboundMessage
from ..routing.keys import Scope
from ..routing.permissions import new_refusal, scope_refusal
from ..routing.reset import ResetPolicy, next_boundary
from .branches import BranchOps
from .context import ContextOps
from .items import ItemOps
from .routing import InboundResult, RoutingOps
from .transfer import TransferOps

MAX_REPLY_CHARS = 4000
_LINE_CHARS = 200


@dataclass(frozen=True, slots=True)
class CommandResult:
    """The answer to a chat command; ``session`` is the chat's session afterwards if it changed."""

    text: str
    session: Session | None = None


def _describe(s: Session) -> str:
    title = s.title or "(untitled)"
    return f"{title} [{s.id}]"


def _scope_name(scope: Scope | None, dims: Iterable[str]) -> str:
    if scope == "main":
        return "main (one session for every chat)"
    if scope == "per-peer":
        return "peer (one session per person across channels)"
    return "per chat (" + ", ".join(dims) + ")"


def _reset_text(policy: ResetPolicy, now: Any) -> str:
    parts: list[str] = []
    if policy.daily:
        when = next_boundary(policy, now)
        parts.append(
            f"daily at {policy.at_hour:02d}:{policy.at_minute:02d} {policy.timezone}"
            f" (next {when.strftime('%Y-%m-%d %H:%M')} UTC)"
        )
    if policy.idle:
        parts.append(f"after {policy.idle_minutes} idle minutes")
    return " and ".join(parts) if parts else "off"


def _clip(text: str) -> str:
    if len(text) <= MAX_REPLY_CHARS:
        return text
    return text[: MAX_REPLY_CHARS - 40] + "\n… (cut; export the session for all of it)"


class CommandOps(TransferOps, ItemOps, BranchOps, RoutingOps, ContextOps):
    """The chat-command executor of ``Hub``, on top of every other part it drives."""

    async def execute(self, context: InboundMessage | Session, command: Command) -> CommandResult:
        """Execute ``command`` for the chat ``context`` and answer it (see the module docstring)."""
        if command.error is not None:
            return CommandResult(command.error)
        if command.name == "unknown":
            return CommandResult(f"Unknown command /{command.invoked}.\n{HELP_TEXT}")
        if command.name == "help":
            return CommandResult(HELP_TEXT)
        try:
            return await _HANDLERS[command.name](self, context, command)
        except SessionhubError as exc:
            return CommandResult(f"Error: {exc.message}")

    async def _current(self, context: InboundMessage | Session) -> Session:
        if isinstance(context, Session):
            return await self.get_session(context.id)
        session, _ = await self.route_inbound(context)
        return session

    # -- /new, /reset ----------------------------------------------------------------------------

    async def _new(self, context: InboundMessage | Session, command: Command) -> CommandResult:
        agent = command.args[0] if command.args else None
        model = command.args[1] if len(command.args) > 1 else None
        if command.name == "reset":
            agent = model = None
        if isinstance(context, InboundMessage):
            refusal = new_refusal(self.router.policy, self.settings, context, agent, model)
            if refusal is not None:
                return CommandResult(refusal)
        if isinstance(context, Session):
            if agent is None:
                agent, model = context.agent, model
            session = await self.create_session(agent=agent, model=model)
        else:
            routed = await self._reset_key(
                context, agent=agent, model=model, reason="new" if command.name == "new" else "reset"
            )
            session = routed.session
        verb = "New session" if command.name == "new" else "Session reset: new session"
        return CommandResult(
            f"{verb} started (agent {session.agent}, model {session.model}). [{session.id}]", session
        )

    # -- /session --------------------------------------------------------------------------------

    async def _session(self, context: InboundMessage | Session, command: Command) -> CommandResult:
        if command.sub is None:
            s = await self._current(context)
            lines = [
                f"Session {_describe(s)}",
                f"agent {s.agent}, provider {s.provider}, model {s.model}",
                f"{s.message_count} messages, created {s.to_dict()['created_at']}",
                f"key {s.key}",
            ]
            if isinstance(context, InboundMessage):
                _, r = await self.route_inbound(context)
                lines.append(f"scope {_scope_name(r.scope, r.dimensions)}")
                lines.append(f"automatic reset: {_reset_text(r.reset, self.clock.now())}")
            return CommandResult("\n".join(lines))
        if command.sub == "list":
            return await self._session_list(context)
        if isinstance(context, Session):
            return CommandResult("/session " + command.sub + " applies to channel chats, not the web chat.")
        if command.sub == "scope":
            refusal = scope_refusal(self.router.policy, self.settings.commands, context)
            if refusal is not None:
                return CommandResult(refusal)
            _, r = await self._set_overrides(context, scope=command.args[0])
            text = f"Scope set to {command.args[0]}: {_scope_name(r.scope, r.dimensions)}. Key {r.key}"
            return CommandResult(text)
        if command.sub == "reset-time":
            _, r = await self._set_overrides(context, reset_time=command.args[0])
            return CommandResult(f"Automatic reset: {_reset_text(r.reset, self.clock.now())}.")
        value: int | str = command.args[0] if command.args[0] == "off" else int(command.args[0])
        _, r = await self._set_overrides(context, idle_minutes=value)
        return CommandResult(f"Automatic reset: {_reset_text(r.reset, self.clock.now())}.")

    async def _session_list(self, context: InboundMessage | Session) -> CommandResult:
        current = await self._current(context)
        if isinstance(context, InboundMessage):
            rows = await self.routing_store().sessions_for_key(self.owner, current.key, 10)
            head = "Sessions of this chat, newest first:"
        else:
            rows = list((await self.list_sessions(limit=10)).sessions)
            head = "Recent sessions:"
        lines = [head]
        for s in rows:
            mark = "* " if s.id == current.id else "  "
            lines.append(f"{mark}{_describe(s)} - {s.message_count} messages")
        return CommandResult("\n".join(lines))

    # -- /history --------------------------------------------------------------------------------

    async def _history(self, context: InboundMessage | Session, command: Command) -> CommandResult:
        s = await self._current(context)
        if command.sub == "clear":
            count = s.message_count
            await self.clear_history(s.id)
            return CommandResult(f"History cleared ({count} messages).")
        if command.sub == "export":
            out = await self.export(s.id, format=command.args[0])
            return CommandResult(_clip(out))
        n = int(command.args[0]) if command.args else 10
        msgs = await self.get_history(s.id, limit=min(n, 1000))
        if not msgs:
            return CommandResult("No messages yet.")
        lines = []
        for m in msgs:
            content = " ".join(m.content.split())
            if len(content) > _LINE_CHARS:
                content = content[: _LINE_CHARS - 1] + "…"
            lines.append(f"{m.seq}. {m.role}: {content}")
        return CommandResult(_clip("\n".join(lines)))

    # -- /rename, /checkpoint, /stop, /compact -----------------------------------------------------

    async def _rename(self, context: InboundMessage | Session, command: Command) -> CommandResult:
        s = await self._current(context)
        s = await self.rename(s.id, command.args[0])
        return CommandResult(f"Renamed to {s.title!r}.")

    async def _checkpoint(self, context: InboundMessage | Session, command: Command) -> CommandResult:
        s = await self._current(context)
        if command.sub == "save":
            cp = await self.save_checkpoint(s.id, command.args[0])
            return CommandResult(f"Checkpoint {cp.id} saved: {cp.name!r} at message {cp.at_seq}.")
        if command.sub == "list":
            cps = await self.list_checkpoints(s.id)
            if not cps:
                return CommandResult("No checkpoints yet.")
            lines = ["Checkpoints:"] + [f"{c.id} {c.name!r} at message {c.at_seq}" for c in cps]
            return CommandResult("\n".join(lines))
        cp = await self.get_checkpoint(command.args[0])
        if cp.session_id != s.id:
            return CommandResult(f"Checkpoint {command.args[0]} is not one of this session's.")
        if command.sub == "restore":
            restored = await self.restore_checkpoint(cp.id)
            return CommandResult(
                f"Restored checkpoint {cp.name!r}: history is back at message {cp.at_seq}.", restored
            )
        await self.delete_checkpoint(cp.id)
        return CommandResult(f"Checkpoint {cp.name!r} deleted.")

    async def _stop(self, context: InboundMessage | Session, command: Command) -> CommandResult:
        if self.turns is None:  # no server runs turns for this hub
            return CommandResult("/stop is not available yet.")
        s = await self._current(context)
        stopped = await self.turns.stop(s.id)
        return CommandResult("Stopped; the partial reply is saved." if stopped else "Nothing to stop.")

    async def _compact(self, context: InboundMessage | Session, command: Command) -> CommandResult:
        s = await self._current(context)
        result = await self.compact(s.id)
        return CommandResult(f"Summarised messages 1-{result.covers_until_seq}; nothing was deleted.")

    async def handle_inbound(
        self, msg: InboundMessage | Mapping[str, Any], *, bot_username: str | None = None
    ) -> InboundResult:
        """One entry for every channel: a chat command is executed and answered (not
        stored), anything else is recorded (``record_inbound``)."""
        inbound = self._inbound(msg)
        command = None if inbound.is_edit else parse_command(inbound.text, bot_username)
        if command is None:
            routed = await self._route(inbound, store_message=True)
            return InboundResult(routed.session, routed.route, routed.message, duplicate=routed.duplicate)
        if not await self._mark_seen(inbound):
            session, r = await self.route_inbound(inbound)
            return InboundResult(session, r, command=command, duplicate=True)
        result = await self.execute(inbound, command)
        session, r = await self.route_inbound(inbound)
        if result.session is not None:  # e.g. a restored checkpoint's session
            session = result.session
        return InboundResult(session, r, reply=result.text, command=command)

    async def run_command(
        self, session_id: str, text: str, *, bot_username: str | None = None
    ) -> CommandResult | None:
        """The web chat's entry: execute ``text`` if it is a chat command (None otherwise)."""
        command = parse_command(text, bot_username)
        if command is None:
            return None
        session = await self.get_session(session_id)
        return await self.execute(session, command)


_HANDLERS = {
    "new": CommandOps._new,
    "reset": CommandOps._new,
    "session": CommandOps._session,
    "history": CommandOps._history,
    "rename": CommandOps._rename,
    "checkpoint": CommandOps._checkpoint,
    "stop": CommandOps._stop,
    "compact": CommandOps._compact,
}

__all__ = ["CommandOps", "CommandResult"]
