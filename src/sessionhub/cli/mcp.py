"""``sessionhub mcp``: the sessions as an MCP server on stdin/stdout (CONTRACT 11.8).

An MCP client (Claude Desktop, an IDE agent) starts this command and speaks MCP over its
stdin and stdout; see ``sessionhub.integrations.mcp`` for the tools. Every call works on the
sessions of ``--user`` (``default``, the user of a server without tokens). Logs go to stderr:
stdout carries only the protocol.
"""

from __future__ import annotations

import os

import click

from ..agents.runtime import AgentRuntime
from ..hub import Hub
from .common import Context, database_options, run


@click.command("mcp")
@database_options
@click.option(
    "--user",
    default="default",
    show_default=True,
    help="Whose sessions the MCP client sees (a user of [server] tokens).",
)
def mcp(database: str | None, config: str | None, user: str) -> None:
    """Serve the sessions to an MCP client over stdio (tools sessions_list, _search, _history, _send)."""

    from ..integrations.mcp import build_server  # the MCP SDK: imported by this command only

    async def main() -> None:
        ctx = Context(database, config)
        async with ctx.open() as hub:
            runtime = AgentRuntime(hub.settings, env=os.environ)
            try:
                runtime.check()
                view = hub if hub.owner == user else hub.as_user(user)

                def hub_for(_ctx: object) -> Hub:
                    return view

                await build_server(hub_for, runtime).run_stdio_async()
            finally:
                await runtime.aclose()

    run(main())
