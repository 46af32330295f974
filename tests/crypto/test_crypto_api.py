"""The public API of sessionhub.crypto is exactly the curated list."""

from __future__ import annotations

import sessionhub.crypto as crypto

EXPECTED = {
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
}


def test_exports_are_the_curated_list() -> None:
    """__all__ is sorted, names exactly the expected API, and every name resolves."""
    assert crypto.__all__ == sorted(crypto.__all__)
    assert set(crypto.__all__) == EXPECTED
    for name in crypto.__all__:
        assert getattr(crypto, name) is not None
