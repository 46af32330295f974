"""Per-session data keys, wrapped (envelope encryption) by the master key.

Every session gets its own random 256-bit data key. The store keeps it only *wrapped*:
sealed with AES-256-GCM under the current master key, with associated data naming the
session, in the session row. The wrapped form is text::

    "wk1:" + base64(envelope)        # envelope: 0x01 | master key id | nonce | key+tag

so the master key id is readable without any key (:func:`wrapped_key_id`,
:func:`needs_rewrap`), and rotation finds the sessions still wrapped by an old master
key. A wrapped key copied onto another session's row fails to unwrap (the AAD differs).

AES-GCM is used rather than AES key wrap (RFC 3394) because key wrap has no associated
data, and binding the key to its session is the point. The same mechanism wraps the one
blind-index secret of a database (:func:`wrap_index_secret`).
"""

from __future__ import annotations

import base64
import binascii
import secrets

from ..errors import DecryptionError
from .envelope import KEY_LEN, envelope_key_id, make_aad, open_, seal
from .keys import Keyring, MasterKey

WRAPPED_PREFIX = "wk1:"
_INDEX_SECRET_ID = "sessionhub:index-secret"


def new_data_key() -> bytes:
    """Return a new random 256-bit data key."""
    return secrets.token_bytes(KEY_LEN)


def _wrap(master: MasterKey, key: bytes, aad: bytes) -> str:
    if not isinstance(key, bytes) or len(key) != KEY_LEN:
        raise ValueError(f"a data key must be {KEY_LEN} bytes")
    blob = seal(master.material, key, aad, key_id=master.key_id_bytes)
    return WRAPPED_PREFIX + base64.b64encode(blob).decode("ascii")


def _blob(wrapped: str | bytes, context: str) -> bytes:
    if isinstance(wrapped, bytes | bytearray | memoryview):
        wrapped = bytes(wrapped).decode("ascii", errors="replace")
    if not isinstance(wrapped, str) or not wrapped.startswith(WRAPPED_PREFIX):
        raise DecryptionError(f"cannot decrypt {context}: not a wrapped key (no {WRAPPED_PREFIX!r} prefix)")
    try:
        return base64.b64decode(wrapped[len(WRAPPED_PREFIX) :], validate=True)
    except (binascii.Error, ValueError):
        raise DecryptionError(f"cannot decrypt {context}: the wrapped key is not valid base64") from None


def _unwrap(keyring: Keyring, wrapped: str | bytes, aad: bytes, context: str) -> bytes:
    blob = _blob(wrapped, context)
    master = keyring.get(envelope_key_id(blob, context=context).hex(), context=context)
    key = open_(master.material, blob, aad, context=context, key_id=master.key_id_bytes)
    if len(key) != KEY_LEN:
        raise DecryptionError(f"cannot decrypt {context}: the unwrapped key has the wrong length")
    return key


def _data_key_context(session_id: str) -> str:
    return f"the data key of session {session_id}"


def wrap_data_key(master: MasterKey, data_key: bytes, session_id: str) -> str:
    """Wrap ``data_key`` for ``session_id`` under ``master``; returns ``"wk1:..."`` text."""
    return _wrap(master, data_key, make_aad("data-key", session_id))


def unwrap_data_key(keyring: Keyring, wrapped: str | bytes, session_id: str) -> bytes:
    """Unwrap a session's data key with whichever keyring key wrapped it.

    Raises DecryptionError naming the session if the master key is not in the keyring,
    the value is damaged, or it belongs to another session.
    """
    return _unwrap(keyring, wrapped, make_aad("data-key", session_id), _data_key_context(session_id))


def wrapped_key_id(wrapped: str | bytes, *, session_id: str | None = None) -> str:
    """Return the id of the master key that wrapped ``wrapped`` (no key needed)."""
    context = _data_key_context(session_id) if session_id else "a wrapped key"
    return envelope_key_id(_blob(wrapped, context), context=context).hex()


def needs_rewrap(wrapped: str | bytes, current_key_id: str) -> bool:
    """True if ``wrapped`` was wrapped by a master key other than ``current_key_id``."""
    return wrapped_key_id(wrapped) != current_key_id


def rewrap_data_key(
    keyring: Keyring, wrapped: str | bytes, session_id: str, to: MasterKey | None = None
) -> str:
    """Unwrap with any keyring key and wrap again with ``to`` (default ``keyring.current``).

    The data key is unchanged, so messages need no re-encryption: they are sealed with it.
    """
    master = to or keyring.current
    return wrap_data_key(master, unwrap_data_key(keyring, wrapped, session_id), session_id)


def new_index_secret() -> bytes:
    """Return a new random 256-bit blind-index secret (one per database)."""
    return secrets.token_bytes(KEY_LEN)


def wrap_index_secret(master: MasterKey, secret: bytes) -> str:
    """Wrap the database's blind-index secret under ``master`` (store it in a settings row)."""
    return _wrap(master, secret, make_aad("index-secret", _INDEX_SECRET_ID))


def unwrap_index_secret(keyring: Keyring, wrapped: str | bytes) -> bytes:
    """Unwrap the blind-index secret. Doing this at open time checks the configured key early."""
    return _unwrap(keyring, wrapped, make_aad("index-secret", _INDEX_SECRET_ID), "the blind-index secret")


def rewrap_index_secret(keyring: Keyring, wrapped: str | bytes) -> str:
    """Re-wrap the blind-index secret under ``keyring.current``; index tokens stay valid."""
    return wrap_index_secret(keyring.current, unwrap_index_secret(keyring, wrapped))


__all__ = [
    "WRAPPED_PREFIX",
    "needs_rewrap",
    "new_data_key",
    "new_index_secret",
    "rewrap_data_key",
    "rewrap_index_secret",
    "unwrap_data_key",
    "unwrap_index_secret",
    "wrap_data_key",
    "wrap_index_secret",
    "wrapped_key_id",
]
