"""The versioned binary envelope every sessionhub ciphertext is stored in.

Layout of version 1 (all lengths in bytes)::

    +---------+----------+-----------+------------------------------+----------+
    | version | key id   | nonce     | ciphertext                   | GCM tag  |
    | 1: 0x01 | 8        | 12        | len(plaintext)               | 16       |
    +---------+----------+-----------+------------------------------+----------+

* ``version`` lets a later format coexist with this one; an unknown value is refused.
* ``key id`` names the key that sealed the blob (see :func:`key_id_of`): a wrong key is
  reported as such instead of as tampering, and rotation can tell which master key wrapped
  a data key without trying keys.
* ``nonce`` is 96 random bits from ``os.urandom``, fresh for every seal.
* AES-256-GCM authenticates the header (version and key id) and the caller's associated
  data (AAD) along with the ciphertext, so changing any byte, or opening the blob with the
  AAD of another session, message or field, fails with :class:`DecryptionError`.

The overhead is 37 bytes per value. Stores that want TEXT columns use :func:`to_text`
(``"enc1:" + base64``); BLOB/BYTEA columns store the bytes as they are.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ..errors import DecryptionError

VERSION = 1
KEY_LEN = 32
KEY_ID_LEN = 8
NONCE_LEN = 12
TAG_LEN = 16
HEADER_LEN = 1 + KEY_ID_LEN + NONCE_LEN
OVERHEAD = HEADER_LEN + TAG_LEN
TEXT_PREFIX = "enc1:"

_VERSION_BYTE = bytes([VERSION])
_AAD_MAGIC = b"sessionhub-aad-v1"
_KEY_ID_LABEL = b"sessionhub key id"


def key_id_of(key: bytes) -> bytes:
    """Return the 8-byte id of ``key``: the first 8 bytes of HMAC-SHA256(key, "sessionhub key id").

    HMAC is a pseudo-random function, so the id names the key without revealing anything
    usable about it.
    """
    return hmac.digest(key, _KEY_ID_LABEL, hashlib.sha256)[:KEY_ID_LEN]


def make_aad(*parts: str | int) -> bytes:
    """Encode ``parts`` (strings and integers) as unambiguous associated data.

    Every part is tagged with its type and length-prefixed, so ``("a", "bc")`` and
    ``("ab", "c")``, or ``7`` and ``"7"``, never give the same bytes.
    """
    out = bytearray(_AAD_MAGIC)
    for part in parts:
        if isinstance(part, bool) or not isinstance(part, str | int):
            raise TypeError(f"AAD parts must be str or int, not {type(part).__name__}")
        if isinstance(part, int):
            out += b"i" + part.to_bytes(9, "big", signed=True)
        else:
            raw = part.encode("utf-8")
            out += b"s" + len(raw).to_bytes(4, "big") + raw
    return bytes(out)


def _check_key(key: bytes) -> None:
    if len(key) != KEY_LEN:
        raise ValueError(f"AES-256-GCM needs a {KEY_LEN}-byte key, got {len(key)} bytes")


def seal(
    key: bytes, plaintext: bytes, aad: bytes, *, key_id: bytes | None = None, aead: AESGCM | None = None
) -> bytes:
    """Encrypt ``plaintext`` under ``key`` bound to ``aad``; return a version-1 envelope.

    ``key_id`` and ``aead`` may be passed precomputed (as :class:`SessionCipher` does) to
    save the work of deriving them on every call.
    """
    _check_key(key)
    kid = key_id_of(key) if key_id is None else key_id
    nonce = os.urandom(NONCE_LEN)
    header = _VERSION_BYTE + kid + nonce
    cipher = aead if aead is not None else AESGCM(key)
    return header + cipher.encrypt(nonce, plaintext, header + aad)


def envelope_key_id(blob: bytes, *, context: str = "value") -> bytes:
    """Return the key id recorded in an envelope, without decrypting it."""
    _check_header(blob, context)
    return blob[1 : 1 + KEY_ID_LEN]


def _check_header(blob: bytes, context: str) -> None:
    if not isinstance(blob, bytes | bytearray | memoryview):
        raise DecryptionError(f"cannot decrypt {context}: expected bytes, got {type(blob).__name__}")
    if len(blob) < OVERHEAD:
        raise DecryptionError(
            f"cannot decrypt {context}: {len(blob)} bytes is too short for an encrypted value "
            f"(at least {OVERHEAD}); it is truncated or not encrypted"
        )
    if blob[0] != VERSION:
        raise DecryptionError(
            f"cannot decrypt {context}: unknown envelope version 0x{blob[0]:02x} "
            "(not an encrypted value, damaged, or written by a newer sessionhub)"
        )


def open_(
    key: bytes,
    blob: bytes,
    aad: bytes,
    *,
    context: str = "value",
    key_id: bytes | None = None,
    aead: AESGCM | None = None,
) -> bytes:
    """Decrypt an envelope made by :func:`seal` with the same ``key`` and ``aad``.

    Raises :class:`DecryptionError` whose message starts ``cannot decrypt {context}`` (pass
    e.g. ``"session ses_... title"``) when the blob is truncated, of an unknown version,
    sealed under another key, tampered with, or bound to other associated data.
    """
    _check_key(key)
    blob = bytes(blob)
    _check_header(blob, context)
    kid = key_id_of(key) if key_id is None else key_id
    found = blob[1 : 1 + KEY_ID_LEN]
    if not hmac.compare_digest(found, kid):
        raise DecryptionError(
            f"cannot decrypt {context}: it was encrypted under key id {found.hex()}, not {kid.hex()} "
            "(wrong key, a row moved from another session, or a damaged header)"
        )
    header, body = blob[:HEADER_LEN], blob[HEADER_LEN:]
    cipher = aead if aead is not None else AESGCM(key)
    try:
        return cipher.decrypt(header[1 + KEY_ID_LEN :], body, header + aad)
    except InvalidTag:
        raise DecryptionError(
            f"cannot decrypt {context}: authentication failed (the data was changed, or moved "
            "from another session, message or field)"
        ) from None


def to_text(blob: bytes) -> str:
    """Return the TEXT-column form of an envelope: ``"enc1:"`` + standard base64."""
    return TEXT_PREFIX + base64.b64encode(blob).decode("ascii")


def from_text(text: str, *, context: str = "value") -> bytes:
    """Inverse of :func:`to_text`; a value without the prefix or with bad base64 raises DecryptionError."""
    if not isinstance(text, str) or not text.startswith(TEXT_PREFIX):
        raise DecryptionError(
            f"cannot decrypt {context}: not an encrypted text value (no {TEXT_PREFIX!r} prefix)"
        )
    try:
        return base64.b64decode(text[len(TEXT_PREFIX) :], validate=True)
    except (binascii.Error, ValueError):
        raise DecryptionError(f"cannot decrypt {context}: the encrypted text is not valid base64") from None


def as_blob(value: bytes | bytearray | memoryview | str, *, context: str = "value") -> bytes:
    """Accept either stored form (bytes from BLOB/BYTEA, or ``"enc1:"`` text) and return bytes."""
    if isinstance(value, str):
        return from_text(value, context=context)
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    raise DecryptionError(f"cannot decrypt {context}: expected bytes or str, got {type(value).__name__}")


def encrypt_text(key: bytes, text: str, aad: bytes) -> str:
    """Encrypt a str and return its ``"enc1:"`` text form (for TEXT columns)."""
    return to_text(seal(key, text.encode("utf-8"), aad))


def decrypt_text(key: bytes, value: str | bytes, aad: bytes, *, context: str = "value") -> str:
    """Decrypt a value made by :func:`encrypt_text` (or raw envelope bytes) back to str."""
    raw = open_(key, as_blob(value, context=context), aad, context=context)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise DecryptionError(f"cannot decrypt {context}: the plaintext is not UTF-8 text") from None


__all__ = [
    "KEY_ID_LEN",
    "KEY_LEN",
    "NONCE_LEN",
    "OVERHEAD",
    "TAG_LEN",
    "TEXT_PREFIX",
    "VERSION",
    "as_blob",
    "decrypt_text",
    "encrypt_text",
    "envelope_key_id",
    "from_text",
    "key_id_of",
    "make_aad",
    "open_",
    "seal",
    "to_text",
]
