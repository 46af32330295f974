"""Encryption at rest: pure cryptography, no database access.

The store calls this package to encrypt columns on write and decrypt them on read:

* ``keys``: master keys (base64, key files with mode 0600) and the ``Keyring`` used
  during rotation.
* ``datakeys``: one random data key per session, wrapped by the master key (envelope
  encryption) and stored in the session row; re-wrapping is all rotation does.
* ``cipher``: ``SessionCipher`` encrypts a session's fields with AES-256-GCM, each bound
  by associated data to its session, object, seq and field; ``cipher_cache``: the
  ``CipherCache`` of one cipher per session.
* ``envelope``: the versioned binary format of every ciphertext.
* ``blindindex``: keyed HMAC tokens of normalised words, for search without plaintext.

See docs/encryption.md for the design, rotation and what the blind index leaks.
"""

from __future__ import annotations

from .blindindex import IndexKey, derive_index_key, index_terms, normalise_terms, query_terms
from .cipher import SessionCipher
from .cipher_cache import CipherCache
from .datakeys import (
    needs_rewrap,
    new_data_key,
    new_index_secret,
    rewrap_data_key,
    rewrap_index_secret,
    unwrap_data_key,
    unwrap_index_secret,
    wrap_data_key,
    wrap_index_secret,
    wrapped_key_id,
)
from .envelope import as_blob, decrypt_text, encrypt_text, from_text, make_aad, open_, seal, to_text
from .keys import Keyring, MasterKey, generate_master_key, load_master_key, read_key_file, write_key_file

__all__ = [
    "CipherCache",
    "IndexKey",
    "Keyring",
    "MasterKey",
    "SessionCipher",
    "as_blob",
    "decrypt_text",
    "derive_index_key",
    "encrypt_text",
    "from_text",
    "generate_master_key",
    "index_terms",
    "load_master_key",
    "make_aad",
    "needs_rewrap",
    "new_data_key",
    "new_index_secret",
    "normalise_terms",
    "open_",
    "query_terms",
    "read_key_file",
    "rewrap_data_key",
    "rewrap_index_secret",
    "seal",
    "to_text",
    "unwrap_data_key",
    "unwrap_index_secret",
    "wrap_data_key",
    "wrap_index_secret",
    "wrapped_key_id",
    "write_key_file",
]
