"""The one command layer (CONTRACT §5): every channel and the web chat execute chat commands here.

``execute(hub, context, command)`` runs a parsed ``Command`` (``routing.commands``) and
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
answered as text, never raised. Features another part provides are looked up on the hub
when the command runs (``export``, ``save_checkpoint`` …, ``stop_turn``, ``compact``);
until they exist the command answers that it is not available yet.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errors import SessionhubError
from .model import Session
from .routing.commands import HELP_TEXT, Command
from .routing.inbound import InboundMessage
from .routing.keys import Scope
from .routing.permissions import new_refusal, scope_refusal
from .routing.reset import ResetPolicy, next_boundary

if TYPE_CHECKING:
    from .hub import Hub

MAX_REPLY_CHARS = 4000
_LINE_CHARS = 200


@dataclass(frozen=True, slots=True)
class CommandResult:
    """The answer to a chat command; ``session`` is the chat's session afterwards if it changed."""

    text: str
    session: Session | None = None


def not_available(what: str) -> CommandResult:
    return CommandResult(f"{what} is not available yet.")


async def execute(hub: Hub, context: InboundMessage | Session, command: Command) -> CommandResult:
    """Execute ``command`` for the chat ``context`` and answer it (see the module docstring)."""
    if command.error is not None:
        return CommandResult(command.error)
    if command.name == "unknown":
        return CommandResult(f"Unknown command /{command.invoked}.\n{HELP_TEXT}")
    if command.name == "help":
        return CommandResult(HELP_TEXT)
    try:
        return await _HANDLERS[command.name](hub, context, command)
    except SessionhubError as exc:
        return CommandResult(f"Error: {exc.message}")


async def _current(hub: Hub, context: InboundMessage | Session) -> Session:
    if isinstance(context, Session):
        return await hub.get_session(context.id)
    session, _ = await hub.route_inbound(context)
    return session


def _describe(s: Session) -> str:
    title = s.title or "(untitled)"
    return f"{title} [{s.id}]"


# -- /new, /reset ----------------------------------------------------------------------------


async def _new(hub: Hub, context: InboundMessage | Session, command: Command) -> CommandResult:
    agent = command.args[0] if command.args else None
    model = command.args[1] if len(command.args) > 1 else None
    if command.name == "reset":
        agent = model = None
    if isinstance(context, InboundMessage):
        refusal = new_refusal(hub.router.policy, hub.settings, context, agent, model)
        if refusal is not None:
            return CommandResult(refusal)
    if isinstance(context, Session):
        if agent is None:
            agent, model = context.agent, model
        session = await hub.create_session(agent=agent, model=model)
    else:
        routed = await hub.router.reset(
            hub, context, agent=agent, model=model, reason="new" if command.name == "new" else "reset"
        )
        session = routed.session
    verb = "New session" if command.name == "new" else "Session reset: new session"
    return CommandResult(
        f"{verb} started (agent {session.agent}, model {session.model}). [{session.id}]", session
    )


# -- /session --------------------------------------------------------------------------------


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


async def _session(hub: Hub, context: InboundMessage | Session, command: Command) -> CommandResult:
    if command.sub is None:
        s = await _current(hub, context)
        lines = [
            f"Session {_describe(s)}",
            f"agent {s.agent}, provider {s.provider}, model {s.model}",
            f"{s.message_count} messages, created {s.to_dict()['created_at']}",
            f"key {s.key}",
        ]
        if isinstance(context, InboundMessage):
            _, r = await hub.route_inbound(context)
            lines.append(f"scope {_scope_name(r.scope, r.dimensions)}")
            lines.append(f"automatic reset: {_reset_text(r.reset, hub.clock.now())}")
        return CommandResult("\n".join(lines))
    if command.sub == "list":
        return await _session_list(hub, context)
    if isinstance(context, Session):
        return CommandResult("/session " + command.sub + " applies to channel chats, not the web chat.")
    if command.sub == "scope":
        refusal = scope_refusal(hub.router.policy, hub.settings.commands, context)
        if refusal is not None:
            return CommandResult(refusal)
        _, r = await hub.router.set_overrides(hub, context, scope=command.args[0])
        text = f"Scope set to {command.args[0]}: {_scope_name(r.scope, r.dimensions)}. Key {r.key}"
        return CommandResult(text)
    if command.sub == "reset-time":
        _, r = await hub.router.set_overrides(hub, context, reset_time=command.args[0])
        return CommandResult(f"Automatic reset: {_reset_text(r.reset, hub.clock.now())}.")
    value: int | str = command.args[0] if command.args[0] == "off" else int(command.args[0])
    _, r = await hub.router.set_overrides(hub, context, idle_minutes=value)
    return CommandResult(f"Automatic reset: {_reset_text(r.reset, hub.clock.now())}.")


async def _session_list(hub: Hub, context: InboundMessage | Session) -> CommandResult:
    current = await _current(hub, context)
    if isinstance(context, InboundMessage):
        rows = await hub.router.store(hub).sessions_for_key(hub.owner, current.key, 10)
        head = "Sessions of this chat, newest first:"
    else:
        rows = list((await hub.list_sessions(limit=10)).sessions)
        head = "Recent sessions:"
    lines = [head]
    for s in rows:
        mark = "* " if s.id == current.id else "  "
        lines.append(f"{mark}{_describe(s)} - {s.message_count} messages")
    return CommandResult("\n".join(lines))


# -- /history --------------------------------------------------------------------------------


async def _history(hub: Hub, context: InboundMessage | Session, command: Command) -> CommandResult:
    s = await _current(hub, context)
    if command.sub == "clear":
        count = s.message_count
        await hub.clear_history(s.id)
        return CommandResult(f"History cleared ({count} messages).")
    if command.sub == "export":
        export = getattr(hub, "export", None)
        if export is None:
            return not_available("History export")
        out = await export(s.id, format=command.args[0])
        return CommandResult(_clip(await _text(out)))
    n = int(command.args[0]) if command.args else 10
    msgs = await hub.get_history(s.id, limit=min(n, 1000))
    if not msgs:
        return CommandResult("No messages yet.")
    lines = []
    for m in msgs:
        content = " ".join(m.content.split())
        if len(content) > _LINE_CHARS:
            content = content[: _LINE_CHARS - 1] + "…"
        lines.append(f"{m.seq}. {m.role}: {content}")
    return CommandResult(_clip("\n".join(lines)))


async def _text(out: Any) -> str:
    if isinstance(out, bytes):
        return out.decode("utf-8", "replace")
    if isinstance(out, str):
        return out
    if inspect.isasyncgen(out) or isinstance(out, AsyncIterator):
        return "".join([str(chunk) async for chunk in out])
    return "".join(str(chunk) for chunk in out)


def _clip(text: str) -> str:
    if len(text) <= MAX_REPLY_CHARS:
        return text
    return text[: MAX_REPLY_CHARS - 40] + "\n… (cut; export the session for all of it)"


# -- /rename, /checkpoint, /stop, /compact -----------------------------------------------------


async def _rename(hub: Hub, context: InboundMessage | Session, command: Command) -> CommandResult:
    s = await _current(hub, context)
    s = await hub.rename(s.id, command.args[0])
    return CommandResult(f"Renamed to {s.title!r}.")


async def _checkpoint(hub: Hub, context: InboundMessage | Session, command: Command) -> CommandResult:
    if getattr(hub, "save_checkpoint", None) is None:
        return not_available("Checkpoints are")
    s = await _current(hub, context)
    if command.sub == "save":
        cp = await hub.save_checkpoint(s.id, command.args[0])
        return CommandResult(f"Checkpoint {cp.id} saved: {cp.name!r} at message {cp.at_seq}.")
    if command.sub == "list":
        cps = await hub.list_checkpoints(s.id)
        if not cps:
            return CommandResult("No checkpoints yet.")
        lines = ["Checkpoints:"] + [f"{c.id} {c.name!r} at message {c.at_seq}" for c in cps]
        return CommandResult("\n".join(lines))
    cp = await hub.get_checkpoint(command.args[0])
    if cp.session_id != s.id:
        return CommandResult(f"Checkpoint {command.args[0]} is not one of this session's.")
    if command.sub == "restore":
        restored = await hub.restore_checkpoint(cp.id)
        return CommandResult(
            f"Restored checkpoint {cp.name!r}: history is back at message {cp.at_seq}.", restored
        )
    await hub.delete_checkpoint(cp.id)
    return CommandResult(f"Checkpoint {cp.name!r} deleted.")


async def _stop(hub: Hub, context: InboundMessage | Session, command: Command) -> CommandResult:
    # ``hub.stop_turn(id)``, or the agents' TurnManager attached as ``hub.turns`` (``.stop(id)``).
    stop = getattr(hub, "stop_turn", None)
    if stop is None:
        stop = getattr(getattr(hub, "turns", None), "stop", None)
    if stop is None:
        return not_available("/stop")
    s = await _current(hub, context)
    stopped = await stop(s.id)
    return CommandResult("Stopped; the partial reply is saved." if stopped else "Nothing to stop.")


async def _compact(hub: Hub, context: InboundMessage | Session, command: Command) -> CommandResult:
    compact = getattr(hub, "compact", None)
    if compact is None:
        return not_available("/compact")
    s = await _current(hub, context)
    result = await compact(s.id)
    upto = getattr(result, "covers_until_seq", None)
    if isinstance(upto, int):
        return CommandResult(f"Summarised messages 1-{upto}; nothing was deleted.")
    return CommandResult("Older messages summarised.")


_HANDLERS = {
    "new": _new,
    "reset": _new,
    "session": _session,
    "history": _history,
    "rename": _rename,
    "checkpoint": _checkpoint,
    "stop": _stop,
    "compact": _compact,
}

__all__ = ["CommandResult", "execute"]
