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

from ..config import EncryptionSettings
from ..errors import ConfigError
from . import Keyring, MasterKey, load_master_key, read_key_file


def _from_env(name: str, env: Mapping[str, str], what: str) -> MasterKey:
    value = env.get(name)
    if not value:
        raise ConfigError(f"{what}: environment variable {name} is not set")
    return load_master_key(value, source=f"{name} ({what})")


def keyring_from(
    settings: EncryptionSettings, override: str | None = None, env: Mapping[str, str] | None = None
) -> Keyring | None:
    """The keyring the (already checked) ``[encryption]`` section asks for, or None when
    encryption is off. The keys are read here: from ``env`` (default ``os.environ``) and files."""
    env = os.environ if env is None else env
    allow_open = settings.allow_open_key_file
    current: MasterKey | None
    if override is not None:
        current = load_master_key(override, source="encryption_key")
    elif settings.key_env:
        current = _from_env(settings.key_env, env, "[encryption] key_env")
    elif settings.key_file:
        current = read_key_file(os.path.expanduser(settings.key_file), allow_open_permissions=allow_open)
    else:
        current = None
    older = [_from_env(n, env, "[encryption] previous_key_envs") for n in settings.previous_envs]
    older += [
        read_key_file(os.path.expanduser(p), allow_open_permissions=allow_open)
        for p in settings.previous_files
    ]
    if current is None:
        if older:
            raise ConfigError("encryption: previous keys are set but no current key (key_env or key_file)")
        return None
    return Keyring(current, older)


__all__ = ["keyring_from"]
