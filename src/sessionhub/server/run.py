"""Start the server process: check the bind rules, open the hub, run uvicorn."""

from __future__ import annotations

import asyncio
import gc
import ipaddress
from collections.abc import Callable

import click
import uvicorn

from ..config import Settings
from ..errors import ConfigError
from ..hub import open as open_hub
from ..store.sql import SQLStore
from .app import create_app
from .protocol import protocol_class


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve(settings: Settings, *, host: str | None, port: int | None, database: str | None) -> None:
    host = host or settings.server.host
    port = port or settings.server.port
    if not settings.server.tokens and not is_loopback(host):
        raise ConfigError(
            f"refusing to bind {host} without a token: set [server] tokens or SESSIONHUB_TOKEN, or use 127.0.0.1"
        )

    async def main() -> None:
        # The same opening path as the library and CLI (the settings are already parsed):
        # the encryption key from [encryption], migrations applied.
        hub = await open_hub(database or settings.database_url, settings=settings)
        store = hub.store
        assert isinstance(store, SQLStore)
        after = store.migrated[1]
        click.echo(f"sessionhub: database {store.location} ({store.dialect}, schema {after})")
        click.echo(f"sessionhub: serving on http://{host}:{port}  (Ctrl+C to stop)")
        app = create_app(settings, hub, close_hub=True)
        config = uvicorn.Config(
            app,
            host=host,
            port=port,
            log_level="warning",
            access_log=False,
            # Half-sent headers are cut off after the timeout (slowloris); bodies in limits.py.
            http=protocol_class(settings.server.request_timeout_seconds),
        )
        # Everything loaded so far (FastAPI, pydantic, SQLAlchemy, the agent SDKs: a few
        # hundred MB of objects) lives as long as the server: moved out of the collector's
        # view, so a full collection scans only what requests made, not the whole heap (those
        # scans were the REST appends' slowest percentile).
        gc.collect()
        gc.freeze()
        await uvicorn.Server(config).serve()

    # ``Server.serve()`` runs on the caller's loop, so uvicorn's own loop choice ("auto":
    # uvloop when installed, as ``uvicorn[standard]`` does) is made here: about a third less
    # CPU per request than the default asyncio loop.
    with asyncio.Runner(loop_factory=_loop_factory()) as runner:
        runner.run(main())


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvicorn[standard] has no uvloop on Windows
        return None
    return uvloop.new_event_loop
