"""A message *record*'s plaintext: content, parts and metadata packed as one value.

Layout: the content's and the parts' UTF-8 byte lengths (two 4-byte big-endian integers), then
the UTF-8 of content, parts and metadata. :meth:`SessionCipher.seal_record
<sessionhub.crypto.cipher.SessionCipher.seal_record>` seals it as one envelope.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any, Protocol

_LENGTHS = struct.Struct(">II")  # a record's content and parts byte lengths
Fields = tuple[str, str | None, str | None]  # content, parts, metadata (None when empty)
TextsOpener = Callable[[str, int, Any, Any, Any], Fields]


class RowOpener(Protocol):
    """``(message_id, seq, content[, parts, metadata])`` -> the message's fields decrypted."""

    def __call__(
        self, message_id: str, seq: int, content: Any, parts: Any = None, metadata: Any = None, /
    ) -> Fields: ...


def pack_record(content: bytes, parts: bytes, metadata: bytes) -> bytes:
    """The plaintext of a record of these UTF-8 fields."""
    return _LENGTHS.pack(len(content), len(parts)) + content + parts + metadata


def unpack_record(raw: bytes) -> Fields | None:
    """Content, parts and metadata of a record's plaintext, parts and metadata None when empty
    (as the columns of a plaintext row); None if malformed. Raises UnicodeDecodeError for a
    field that is not UTF-8."""
    size = _LENGTHS.size
    if len(raw) < size:
        return None
    n_content, n_parts = _LENGTHS.unpack_from(raw)
    middle = size + n_content
    if middle == len(raw) and not n_parts:  # no parts, no metadata: most messages, one decode
        return raw[size:].decode(), None, None
    end = middle + n_parts
    if end > len(raw):
        return None
    return raw[size:middle].decode(), raw[middle:end].decode() or None, raw[end:].decode() or None


__all__ = ["Fields", "RowOpener", "TextsOpener", "pack_record", "unpack_record"]
