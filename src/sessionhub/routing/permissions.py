"""What a chat user may change with chat commands (CONTRACT 11.1); pure, no storage.

A *chat user* is whoever sends an ``InboundMessage``: a platform webhook or ``POST
/api/inbound``. They get what the operator configured and nothing wider:

- ``/session scope main|channel|peer`` changes who shares a session, so it needs
  ``[commands] allow_scope_change = true`` or a sender in ``[commands] admins``.
- ``/new AGENT [MODEL]`` may pick only the agents of the message's dispatch rule (its
  ``agent`` plus its ``agents`` list; with no rule, the default agent) and, for that agent,
  only its own ``model`` or one of its ``models``. Admins may pick any configured agent
  and any model, as an API user may.

``/session reset-time`` and ``/session idle-reset`` stay open to every chat user: they only
decide when the session the chat already uses starts over, never who shares it or what
runs. The web chat (an open ``Session``) is the owner's own API user, who can do all of
this through the API, so none of these limits apply there.

Admins are written like identity links (``telegram:123`` or a raw id, case-insensitive);
a canonical name of ``[session] identity_links`` names every id linked to it.
"""

from __future__ import annotations

from ..config import CommandSettings, Settings
from .inbound import InboundMessage
from .policy import RoutingPolicy


def is_admin(policy: RoutingPolicy, commands: CommandSettings, msg: InboundMessage) -> bool:
    """True when ``msg``'s sender is listed in ``[commands] admins`` (directly or by canonical name)."""
    if commands.is_admin(msg.channel, msg.sender):
        return True
    canonical = policy.identity(msg.channel, msg.sender)
    return canonical is not None and commands.is_admin(None, canonical)


def scope_refusal(policy: RoutingPolicy, commands: CommandSettings, msg: InboundMessage) -> str | None:
    """Why ``msg``'s sender may not run ``/session scope`` (None: they may)."""
    if commands.allow_scope_change or is_admin(policy, commands, msg):
        return None
    return (
        "Changing the session scope is not allowed in this chat; the operator decides who shares a session."
    )


def new_refusal(
    policy: RoutingPolicy, settings: Settings, msg: InboundMessage, agent: str | None, model: str | None
) -> str | None:
    """Why ``msg``'s sender may not start ``/new agent model`` (None: they may)."""
    if is_admin(policy, settings.commands, msg):
        return None
    allowed = policy.chat_agents(msg)
    chosen = agent if agent is not None else allowed[0]
    spec = settings.agent(chosen) if chosen in allowed else None
    if spec is None:
        return f"Agent {chosen!r} is not available in this chat (available: {', '.join(allowed)})."
    if model is not None and not spec.allows_model(model):
        models = ", ".join(dict.fromkeys((spec.model, *spec.models)))
        return f"Model {model!r} is not available for agent {spec.id} (available: {models})."
    return None


__all__ = ["is_admin", "new_refusal", "scope_refusal"]
