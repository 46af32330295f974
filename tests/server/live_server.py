"""A real uvicorn server on a free loopback port, in a thread with its own event loop."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

import sessionhub
from sessionhub.config import Settings
from sessionhub.server.app import create_app


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def running_server(
    settings: Settings, url: str, *, encryption_key: str | None = None, **app_state: Any
) -> Iterator[tuple[str, Any]]:
    """Yield ``(base_url, app)`` of a server on ``url``'s database (encrypted with
    ``encryption_key`` when given); stopped on exit."""
    port = free_port()
    holder: dict[str, Any] = {}
    ready = threading.Event()

    def run() -> None:
        async def main() -> None:
            hub = await sessionhub.open(url, settings=settings, encryption_key=encryption_key)
            app = create_app(settings, hub, close_hub=True)
            holder["app"] = app
            holder["loop"] = asyncio.get_running_loop()
            config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
            server = uvicorn.Server(config)
            holder["server"] = server
            task = asyncio.create_task(server.serve())
            while not server.started and not task.done():
                await asyncio.sleep(0.01)
            ready.set()
            await task

        try:
            asyncio.run(main())
        finally:
            ready.set()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert ready.wait(30), "server did not start"
    assert "server" in holder and holder["server"].started, "server failed to start"
    try:
        yield f"127.0.0.1:{port}", holder["app"]
    finally:
        holder["server"].should_exit = True
        thread.join(15)
        time.sleep(0.01)
