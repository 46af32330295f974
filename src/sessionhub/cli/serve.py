"""``sessionhub serve``: the server and dashboard."""

from __future__ import annotations

import click

from ..errors import SessionhubError
from .common import Context, database_options, fail


@click.command()
@click.option("--host", default=None, help="Bind address (default: server.host, 127.0.0.1).")
@click.option(
    "--port", type=click.IntRange(1, 65535), default=None, help="Port (default: server.port, 8765)."
)
@database_options
def serve(host: str | None, port: int | None, database: str | None, config: str | None) -> None:
    """Start the REST + WebSocket server and the dashboard."""
    from ..server.run import serve as run_server

    try:
        settings = Context(database, config).settings
        run_server(settings, host=host, port=port, database=database)
    except SessionhubError as exc:
        fail(exc.message, exc.exit_code)
