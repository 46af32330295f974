"""Master keys: generate, load, store in a key file, and hold several in a keyring.

A master key is 32 random bytes, written as standard base64 (44 characters). It never
encrypts user data itself: it wraps the per-session data keys and the blind-index secret
(see ``datakeys``). Its *key id* (16 hex characters) is the first 8 bytes of
HMAC-SHA256(key, "sessionhub key id"); it names the key in envelopes and error messages
without revealing it.

Key files are created with mode 0600, atomically, and never overwritten. Reading a key
file whose permissions let the group or others read it is refused (as ``ssh`` refuses an
open private key), unless the caller passes ``allow_open_permissions=True``, which logs a
warning instead. Windows has no POSIX modes, so the check is skipped there.
"""

from __future__ import annotations

import base64
import binascii
import logging
import os
import secrets
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ConfigError, KeyUnavailable
from .envelope import KEY_LEN, key_id_of

log = logging.getLogger(__name__)

_URLSAFE = str.maketrans("-_", "+/")


@dataclass(frozen=True, slots=True)
class MasterKey:
    """A 256-bit master key and its id. The key bytes never appear in ``repr``."""

    material: bytes = field(repr=False)
    key_id: str = field(init=False)

    def __post_init__(self) -> None:
        if not isinstance(self.material, bytes) or len(self.material) != KEY_LEN:
            raise ConfigError(f"a master key must be {KEY_LEN} bytes (256 bits)")
        object.__setattr__(self, "key_id", key_id_of(self.material).hex())

    @property
    def key_id_bytes(self) -> bytes:
        """The key id as the 8 bytes stored in envelopes."""
        return bytes.fromhex(self.key_id)

    def to_base64(self) -> str:
        """The key in the form ``generate_master_key`` returns (keep it secret)."""
        return base64.b64encode(self.material).decode("ascii")


def generate_master_key() -> str:
    """Return a new random 256-bit master key as standard base64."""
    return base64.b64encode(secrets.token_bytes(KEY_LEN)).decode("ascii")


def load_master_key(b64: str, *, source: str = "the encryption key") -> MasterKey:
    """Decode a base64 master key (standard or URL-safe alphabet; surrounding whitespace ignored).

    ``source`` names where the value came from (e.g. ``"SESSIONHUB_KEY ([encryption] key_env)"``)
    for the ConfigError raised on bad base64 or a length other than 32 bytes. The message
    never contains the value.
    """
    if not isinstance(b64, str):
        raise ConfigError(f"{source}: expected a base64 string")
    text = "".join(b64.split())
    if not text:
        raise ConfigError(f"{source} is empty; create one with `sessionhub keys generate`")
    try:
        raw = base64.b64decode(text.translate(_URLSAFE).encode("ascii"), validate=True)
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raise ConfigError(
            f"{source} is not valid base64; create one with `sessionhub keys generate`"
        ) from None
    if len(raw) != KEY_LEN:
        raise ConfigError(
            f"{source} decodes to {len(raw)} bytes; a master key must be {KEY_LEN} bytes (256 bits, "
            "44 base64 characters)"
        )
    return MasterKey(raw)


def write_key_file(path: str | os.PathLike[str], b64: str) -> Path:
    """Write a base64 master key to a new file with mode 0600, atomically.

    The key is validated first, written to a temporary file in the same directory (mode
    0600, fsynced) and then hard-linked into place, so the file either does not exist or
    holds the whole key. An existing file is never overwritten (ConfigError). Missing
    parent directories are created with mode 0700.
    """
    load_master_key(b64, source="the key to write")
    target = Path(path)
    if target.exists() or target.is_symlink():
        raise ConfigError(f"key file {target} already exists; refusing to overwrite it")
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    data = ("".join(b64.split()) + "\n").encode("ascii")
    tmp = target.with_name(f".{target.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        try:
            if hasattr(os, "fchmod"):
                os.fchmod(fd, 0o600)  # the umask may have removed the owner's bits
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(tmp, target)  # atomic, and fails if the target exists
        except FileExistsError:
            raise ConfigError(f"key file {target} already exists; refusing to overwrite it") from None
        except OSError:
            _create_exclusive(target, data)  # file systems without hard links
    finally:
        tmp.unlink(missing_ok=True)
    _fsync_dir(target.parent)
    return target


def _create_exclusive(target: Path, data: bytes) -> None:
    try:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise ConfigError(f"key file {target} already exists; refusing to overwrite it") from None
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def read_key_file(path: str | os.PathLike[str], *, allow_open_permissions: bool = False) -> MasterKey:
    """Read a master key written by :func:`write_key_file`.

    A file that the group or others may read or write (any bit of 0o077 set) raises
    ConfigError telling how to fix it; with ``allow_open_permissions=True`` (for secret
    mounts that cannot be 0600) it logs a warning instead. A missing or unreadable file,
    or bad content, raises ConfigError naming the path.
    """
    p = Path(path)
    try:
        st = p.stat()
    except FileNotFoundError:
        raise ConfigError(
            f"key file {p} does not exist; create one with `sessionhub keys generate`"
        ) from None
    except OSError as exc:
        raise ConfigError(f"key file {p} cannot be read: {exc.strerror}") from None
    if not stat.S_ISREG(st.st_mode):
        raise ConfigError(f"key file {p} is not a regular file")
    mode = stat.S_IMODE(st.st_mode)
    if os.name == "posix" and mode & 0o077:
        msg = f"key file {p} has mode {mode:04o}, readable by other users; run `chmod 600 {p}`"
        if not allow_open_permissions:
            raise ConfigError(msg)
        log.warning("%s", msg)
    try:
        text = p.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError):
        raise ConfigError(f"key file {p} cannot be read as a base64 key") from None
    return load_master_key(text, source=f"key file {p}")


class Keyring:
    """The current master key plus older ones still needed to unwrap keys during rotation.

    Unwrapping picks the key whose id an envelope names. A store wraps new data keys with
    the key its database names as active (:meth:`wrapping_key`), which is :attr:`current`
    except while a rotation to or from this keyring's keys is under way.
    """

    __slots__ = ("_by_id", "current")

    def __init__(self, current: MasterKey, older: Iterable[MasterKey] = ()) -> None:
        self.current = current
        self._by_id: dict[str, MasterKey] = {current.key_id: current}
        for key in older:
            self._by_id.setdefault(key.key_id, key)

    @classmethod
    def from_base64(cls, current: str, older: Iterable[str] = ()) -> Keyring:
        """Build a keyring from base64 keys (ConfigError on a bad one)."""
        return cls(
            load_master_key(current, source="the current encryption key"),
            [load_master_key(k, source=f"previous encryption key #{i + 1}") for i, k in enumerate(older)],
        )

    @property
    def key_ids(self) -> tuple[str, ...]:
        """Ids of every key held, current first."""
        return tuple(self._by_id)

    def get(self, key_id: str, *, context: str = "a value") -> MasterKey:
        """Return the key with ``key_id``; KeyUnavailable (naming ``context``) if it is not held.

        The usual cause on a running server is a rotation done while it still had only the
        old key, so the message says how to recover from that as well as from a wrong key.
        """
        try:
            return self._by_id[key_id]
        except KeyError:
            raise KeyUnavailable(
                f"cannot decrypt {context}: it needs master key id {key_id}, which this server does "
                f"not have (configured: {', '.join(self._by_id)}). If `sessionhub keys rotate` moved "
                "the database to that key, this server's key was retired: restart it with the new key "
                "([encryption] key_file or key_env); otherwise configure the key the database was "
                "encrypted with"
            ) from None

    def wrapping_key(self, active_id: str) -> MasterKey:
        """The key that wraps new data keys when the database's active master key is ``active_id``.

        KeyUnavailable if this keyring does not hold it: a key that rotation retired must
        never wrap a new key, or that session would be lost with the retired key.
        """
        key = self._by_id.get(active_id)
        if key is None:
            raise KeyUnavailable(
                f"this server's encryption key {self.current.key_id} was retired by `sessionhub keys "
                f"rotate`: the database now wraps new sessions with master key {active_id}, which this "
                "server does not have; restart it with the new key ([encryption] key_file or key_env, "
                "the old one in previous_key_files until rotate reports 0 remaining)"
            )
        return key

    def __contains__(self, key_id: object) -> bool:
        return key_id in self._by_id

    def __iter__(self) -> Iterator[MasterKey]:
        return iter(self._by_id.values())

    def __len__(self) -> int:
        return len(self._by_id)

    def __repr__(self) -> str:
        return f"Keyring(current={self.current.key_id!r}, key_ids={self.key_ids!r})"


__all__ = [
    "Keyring",
    "MasterKey",
    "generate_master_key",
    "load_master_key",
    "read_key_file",
    "write_key_file",
]
