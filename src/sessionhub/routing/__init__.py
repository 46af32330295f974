"""Routing: inbound platform messages → agent and session key (CONTRACT §4 and §5).

Pure functions only, no storage: parse a platform payload (``channels.PARSERS``), route it
under a policy (``policy.route``) to an agent and a session key (``keys.session_key``),
decide whether the key's session is stale (``reset.is_stale``), and parse chat commands
(``commands.parse_command``). The hub does the storage side.
"""

from __future__ import annotations
