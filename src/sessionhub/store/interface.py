"""The store interface: one small Protocol per part of the hub, and ``Store``, all of them.

=====================  ===================  ===============================================
part                   module               used by
=====================  ===================  ===============================================
``SessionStore``       base.py              the hub's base and ``hub/sessions.py``
``HistoryStore``       history_base.py      ``hub/history.py``, ``hub/transfer.py``
``ContextStore``       context_base.py      ``hub/context.py``
``RoutingStore``       routing_base.py      ``hub/routing.py``, ``integrations/_keyed.py``
``StreamStore``        turns_base.py        ``agents/runtime.py``, ``server/live.py``
``TaskRunStore``       turns_base.py        ``scheduler.py``
``UsageStore``         usage_base.py        ``hub/usage.py``
=====================  ===================  ===============================================

``SQLStore`` (sql.py) declares that it implements ``Store``, so mypy checks every signature
there; nothing probes a store with ``getattr`` or ``isinstance`` at run time. Why Protocols
and not abstract classes: docs/architecture.md, "The store interface".
"""

from __future__ import annotations

from typing import Protocol

from .base import SessionStore
from .context_base import ContextStore
from .history_base import HistoryStore
from .routing_base import RoutingStore
from .turns_base import StreamStore, TaskRunStore
from .usage_base import UsageStore


class Store(
    SessionStore, HistoryStore, ContextStore, RoutingStore, StreamStore, TaskRunStore, UsageStore, Protocol
):
    """Everything the hub, the agent runtime, the scheduler and the server need from a store."""


__all__ = [
    "ContextStore",
    "HistoryStore",
    "RoutingStore",
    "SessionStore",
    "Store",
    "StreamStore",
    "TaskRunStore",
    "UsageStore",
]
