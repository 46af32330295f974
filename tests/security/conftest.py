"""The security suite (CONTRACT 11.1): each hole of the 2026-12 attack, tried on a real server.

Tests here start real ``sessionhub serve`` processes with :func:`serve` (from the
reliability suite) where the hole is about the running server, and use the ``hub`` /
``backend_url`` fixtures where it is about the library on every backend.
"""

from __future__ import annotations

from reliability.conftest import child_env, free_port, kill_group, serve, stop

__all__ = ["child_env", "free_port", "kill_group", "serve", "stop"]
