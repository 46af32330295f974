"""Agents: model providers, tools and the turn runner (no HTTP, no hub import).

    provider = build_provider(agent.provider, settings.providers, os.environ)
    turns = TurnManager()
    turn = await turns.start(session_id, store=turn_store, provider=provider, sink=send,
                             options=TurnOptions(model=agent.model, system_prompt=agent.system_prompt,
                                                 tools=builtin_tools(hub.search)),
                             prepare=add_user_message_and_build_context)
    result = await turn.wait()          # or: await turns.stop(session_id)

Modules: ``providers`` (echo, openai, scripted; ``build_provider``), ``tools`` (registry,
built-ins), ``convert`` (stored messages to the OpenAI format), ``events`` (the live events),
``runner`` (one turn; the ``TurnStore`` protocol), ``turns`` (one turn per session),
``memory`` (an in-memory ``TurnStore``).
"""

from __future__ import annotations

from .convert import to_openai_messages
from .events import Event, EventSink
from .memory import MemoryTurnStore
from .providers import (
    Done,
    EchoProvider,
    OpenAIProvider,
    Provider,
    ProviderError,
    ProviderEvent,
    ProviderSet,
    ScriptedProvider,
    TextDelta,
    ToolCallEvent,
    UsageEvent,
    build_provider,
)
from .runner import TurnOptions, TurnResult, TurnRunner, TurnStore
from .tools import Tool, ToolOutcome, ToolRegistry, builtin_tools
from .turns import Turn, TurnManager

__all__ = [
    "Done",
    "EchoProvider",
    "Event",
    "EventSink",
    "MemoryTurnStore",
    "OpenAIProvider",
    "Provider",
    "ProviderError",
    "ProviderEvent",
    "ProviderSet",
    "ScriptedProvider",
    "TextDelta",
    "Tool",
    "ToolCallEvent",
    "ToolOutcome",
    "ToolRegistry",
    "Turn",
    "TurnManager",
    "TurnOptions",
    "TurnResult",
    "TurnRunner",
    "TurnStore",
    "UsageEvent",
    "build_provider",
    "builtin_tools",
    "to_openai_messages",
]
