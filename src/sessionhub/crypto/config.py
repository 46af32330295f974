"""The master keyring from configuration: ``[encryption]`` or the ``encryption_key=`` argument.

``[encryption]`` keys (all optional; encryption is off when no current key is given):

- ``key_env``: name of an environment variable holding the base64 master key;
- ``key_file``: path of a key file (mode 0600, made by ``sessionhub keys generate --key-file``);
- ``previous_key_envs`` / ``previous_key_files`` (or the singular ``previous_key_env`` /
  ``previous_key_file``): older master keys kept readable while ``sessionhub keys rotate``
  moves the sessions to the current one;
- ``allow_open_key_file``: accept a key file readable by others (logs a warning).

``encryption_key=`` (base64) replaces the current key from the configuration.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from ..errors import ConfigError
from . import Keyring, MasterKey, load_master_key, read_key_file

KNOWN = {
    "key_env",
    "key_file",
    "previous_key_env",
    "previous_key_envs",
    "previous_key_file",
    "previous_key_files",
    "allow_open_key_file",
}


def _names(table: Mapping[str, Any], single: str, plural: str) -> list[str]:
    out: list[str] = []
    for name in (single, plural):
        value = table.get(name)
        if value is None:
            continue
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not all(isinstance(v, str) and v for v in items):
            raise ConfigError(f"encryption.{name}: must be a string or a list of strings")
        out.extend(items)
    return out


def _from_env(name: str, env: Mapping[str, str], what: str) -> MasterKey:
    value = env.get(name)
    if not value:
        raise ConfigError(f"{what}: environment variable {name} is not set")
    return load_master_key(value, source=f"{name} ({what})")


def keyring_from(
    table: Mapping[str, Any], override: str | None = None, env: Mapping[str, str] | None = None
) -> Keyring | None:
    """The keyring the configuration asks for, or None when encryption is off."""
    env = os.environ if env is None else env
    unknown = sorted(set(table) - KNOWN)
    if unknown:
        raise ConfigError(f"encryption.{unknown[0]}: unknown setting (known: {', '.join(sorted(KNOWN))})")
    allow_open = table.get("allow_open_key_file", False)
    if not isinstance(allow_open, bool):
        raise ConfigError("encryption.allow_open_key_file: must be true or false")
    key_env, key_file = table.get("key_env"), table.get("key_file")
    if key_env is not None and (not isinstance(key_env, str) or not key_env):
        raise ConfigError("encryption.key_env: must be the name of an environment variable")
    if key_file is not None and (not isinstance(key_file, str) or not key_file):
        raise ConfigError("encryption.key_file: must be a path")
    if key_env and key_file:
        raise ConfigError("encryption: set key_env or key_file, not both")
    current: MasterKey | None
    if override is not None:
        current = load_master_key(override, source="encryption_key")
    elif key_env:
        current = _from_env(key_env, env, "[encryption] key_env")
    elif key_file:
        current = read_key_file(os.path.expanduser(key_file), allow_open_permissions=allow_open)
    else:
        current = None
    older = [
        _from_env(n, env, "[encryption] previous_key_envs")
        for n in _names(table, "previous_key_env", "previous_key_envs")
    ]
    older += [
        read_key_file(os.path.expanduser(p), allow_open_permissions=allow_open)
        for p in _names(table, "previous_key_file", "previous_key_files")
    ]
    if current is None:
        if older:
            raise ConfigError("encryption: previous keys are set but no current key (key_env or key_file)")
        return None
    return Keyring(current, older)


__all__ = ["keyring_from"]
