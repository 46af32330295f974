"""The ``sessionhub`` command: a thin shell over the hub, one click group per noun."""

from __future__ import annotations

import click

from .. import __version__
from .chat import chat
from .db import db
from .history import COMMANDS as HISTORY_COMMANDS
from .keys import keys
from .mcp import mcp
from .serve import serve
from .sessions import sessions
from .usage import usage


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="sessionhub")
def cli() -> None:
    """sessionhub: sessions for AI assistants on SQLite or PostgreSQL."""


cli.add_command(sessions)
cli.add_command(db)
cli.add_command(keys)
cli.add_command(serve)
cli.add_command(chat)
cli.add_command(mcp)
cli.add_command(usage)
for _command in HISTORY_COMMANDS:
    cli.add_command(_command)


def main() -> None:
    cli()
