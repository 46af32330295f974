"""``sessionhub keys generate|rotate|status``: master keys for encryption at rest."""

from __future__ import annotations

import json
import os

import click

from ..crypto import Keyring, generate_master_key, load_master_key, read_key_file, write_key_file
from ..crypto.config import keyring_from
from ..errors import ConfigError
from ..store.sql import SQLStore
from .common import Context, database_options, run


@click.group()
def keys() -> None:
    """Master keys for encryption at rest (see docs/encryption.md)."""


@keys.command()
@click.option(
    "--key-file", type=click.Path(dir_okay=False), default=None, help="Write the key here (mode 0600)."
)
def generate(key_file: str | None) -> None:
    """Make a new random 256-bit master key: print it (base64), or write it to a new key file."""
    key = generate_master_key()
    if key_file is None:
        click.echo(key)
        return
    try:
        path = write_key_file(key_file, key)
    except ConfigError as exc:
        raise SystemExit(_fail(exc.message, exc.exit_code)) from None
    key_id = load_master_key(key).key_id
    click.echo(f"wrote a new master key to {path} (mode 0600, key id {key_id}); back it up separately")


def _fail(message: str, code: int) -> int:
    click.echo(f"error: {message}", err=True)
    return code


def _keyring(ctx: Context, new_key_env: str | None, new_key_file: str | None) -> Keyring:
    encryption = ctx.settings.encryption
    configured = keyring_from(encryption)
    new = None
    if new_key_env:
        value = os.environ.get(new_key_env)
        if not value:
            raise ConfigError(f"--new-key-env: environment variable {new_key_env} is not set")
        new = load_master_key(value, source=f"{new_key_env} (--new-key-env)")
    elif new_key_file:
        new = read_key_file(new_key_file, allow_open_permissions=encryption.allow_open_key_file)
    if new is None:
        if configured is None:
            raise ConfigError("no master key configured ([encryption] key_env or key_file)")
        return configured
    older = list(configured) if configured is not None else []
    return Keyring(new, [k for k in older if k.key_id != new.key_id])


@keys.command()
@database_options
@click.option(
    "--new-key-env",
    default=None,
    metavar="NAME",
    help="The new key from this variable (the configured keys become previous).",
)
@click.option(
    "--new-key-file", type=click.Path(dir_okay=False), default=None, help="The new key from this key file."
)
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=None,
    help="Re-wrap at most N sessions, then stop (resume later).",
)
def rotate(
    database: str | None,
    config: str | None,
    new_key_env: str | None,
    new_key_file: str | None,
    limit: int | None,
) -> None:
    """Move every session to the current master key by re-wrapping its data key.

    The current key is the configured one ([encryption] key_env/key_file) or --new-key-*;
    the previous keys ([encryption] previous_key_envs/previous_key_files, or the configured
    key when --new-key-* is given) must be present to unwrap. First the database's active
    key becomes the new one (new sessions are wrapped with it from then on; a server that
    does not hold it refuses to create sessions, 503), then the sessions follow, one per
    transaction: interrupt at any time and run again to continue. Messages are not re-encrypted.
    """

    async def main() -> None:
        ctx = Context(database, config)
        keyring = _keyring(ctx, new_key_env, new_key_file)
        store = SQLStore(database or ctx.settings.database_url, keyring=keyring)
        try:
            await store.open()
            report = await store.rotate_keys(limit)
        finally:
            await store.close()
        click.echo(
            (
                f"switched the active master key to {report.key_id} (new sessions are wrapped with it); "
                if report.index_secret_rewrapped
                else ""
            )
            + f"re-wrapped {report.rewrapped} session key(s) under master key {report.key_id}"
            + f"; {report.remaining} remaining"
            + ("" if report.remaining else " (the old key can be removed from the configuration)")
        )

    run(main())


@keys.command()
@database_options
def status(database: str | None, config: str | None) -> None:
    """Show whether the database is encrypted and how many sessions each master key id wraps."""

    async def main() -> None:
        ctx = Context(database, config)
        store = SQLStore(database or ctx.settings.database_url, keyring=keyring_from(ctx.settings.encryption))
        try:
            await store.open()
            click.echo(json.dumps(await store.encryption_status(), indent=2))
        finally:
            await store.close()

    run(main())
