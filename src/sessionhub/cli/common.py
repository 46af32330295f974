"""What every command shares: --database/--config, opening the hub, errors as one line, output."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable, Coroutine
from functools import wraps
from typing import Any, ParamSpec, TypeVar

import click
from rich.console import Console

from ..config import Settings, load_settings
from ..errors import SessionhubError
from ..hub import Hub, Opener
from ..hub import open as open_hub

P = ParamSpec("P")
T = TypeVar("T")

console = Console(highlight=False, soft_wrap=True)


class Context:
    """Options given before or after the command name, resolved lazily."""

    def __init__(self, database: str | None, config: str | None) -> None:
        self.database = database
        self.config = config
        self._settings: Settings | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(self.config)
        return self._settings

    def open(self) -> Opener:
        settings = self.settings
        return open_hub(self.database or settings.database_url, settings=settings)


def database_options(fn: Callable[P, T]) -> Callable[P, T]:
    """Add ``--database URL`` and ``--config FILE`` to a command."""
    fn = click.option(
        "--config", "config", type=click.Path(dir_okay=False), default=None, help="Path of a sessionhub.toml."
    )(fn)
    return click.option(
        "--database",
        "database",
        envvar="SESSIONHUB_DATABASE_URL",
        default=None,
        metavar="URL",
        help="sqlite:///path or postgresql://… (default: the SQLite file in the user data dir).",
    )(fn)


def json_option(fn: Callable[P, T]) -> Callable[P, T]:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")(fn)


def fail(message: str, code: int = 1) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run a command's coroutine; a SessionhubError becomes one line on stderr and its exit code."""
    try:
        return asyncio.run(coro)
    except SessionhubError as exc:
        fail(exc.message, exc.exit_code)
    except KeyboardInterrupt:
        fail("interrupted", 130)
    raise AssertionError("unreachable")


def with_hub(fn: Callable[..., Awaitable[None]]) -> Callable[..., None]:
    """Decorate ``async def cmd(hub, ...)``: opens the hub from --database/--config and runs it."""

    @database_options
    @wraps(fn)
    def command(database: str | None, config: str | None, **kwargs: Any) -> None:
        async def main() -> None:
            async with Context(database, config).open() as hub:
                await fn(hub, **kwargs)

        run(main())

    return command


def print_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


__all__ = ["Hub", "console", "database_options", "fail", "json_option", "print_json", "run", "with_hub"]
