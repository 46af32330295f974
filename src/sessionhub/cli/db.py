"""``sessionhub db upgrade``: apply the schema migrations."""

from __future__ import annotations

import click

from ..store.sql import SQLStore
from .common import Context, database_options, run


@click.group()
def db() -> None:
    """Database maintenance."""


@db.command()
@database_options
def upgrade(database: str | None, config: str | None) -> None:
    """Bring the database schema to the latest migration (also done at every open)."""

    async def main() -> None:
        from ..crypto.config import keyring_from

        settings = Context(database, config).settings
        store = SQLStore(database or settings.database_url, keyring=keyring_from(settings.encryption))
        try:
            await store.open()
        finally:
            await store.close()
        before, after = store.migrated
        state = "already at" if before == after else f"upgraded from {before or 'empty'} to"
        click.echo(f"{store.location}: {state} revision {after}")

    run(main())
