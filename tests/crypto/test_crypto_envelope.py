"""The versioned AES-256-GCM envelope: layout, round trips, tampering, AAD binding, text form."""

from __future__ import annotations

import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sessionhub.crypto import decrypt_text, encrypt_text, from_text, make_aad, open_, seal, to_text
from sessionhub.crypto.envelope import OVERHEAD, envelope_key_id, key_id_of
from sessionhub.errors import DecryptionError

KEY = bytes(range(32))
AAD = make_aad("message", "ses_a", "msg_1", 1, "content")


def test_round_trip() -> None:
    """What seal encrypts, open_ with the same key and AAD gives back unchanged."""
    assert open_(KEY, seal(KEY, b"hello world", AAD), AAD) == b"hello world"


def test_layout_version_key_id_nonce_tag() -> None:
    """The envelope is 0x01 | 8-byte key id | 12-byte nonce | ciphertext | 16-byte tag."""
    blob = seal(KEY, b"abc", AAD)
    assert blob[0] == 1
    assert blob[1:9] == key_id_of(KEY) == envelope_key_id(blob)
    assert len(blob) == OVERHEAD + 3 == 1 + 8 + 12 + 3 + 16


def test_plaintext_not_in_ciphertext_and_nonces_differ() -> None:
    """The plaintext does not appear in the blob, and sealing twice gives different blobs."""
    canary = b"zebra-canary-wordzz"
    a, b = seal(KEY, canary, AAD), seal(KEY, canary, AAD)
    assert canary not in a
    assert a != b
    assert a[9:21] != b[9:21]


@pytest.mark.parametrize("mask", [0x01, 0x80])
def test_flipped_byte_anywhere_raises(mask: int) -> None:
    """Flipping a bit in any byte (version, key id, nonce, ciphertext, tag) raises DecryptionError."""
    blob = seal(KEY, b"some secret text", AAD)
    for i in range(len(blob)):
        bad = bytearray(blob)
        bad[i] ^= mask
        with pytest.raises(DecryptionError):
            open_(KEY, bytes(bad), AAD, context="session ses_a")


def test_truncated_and_empty_raise() -> None:
    """A truncated blob or an empty value raises DecryptionError, never returns data."""
    blob = seal(KEY, b"x" * 40, AAD)
    for n in (0, 1, 20, OVERHEAD - 1, len(blob) - 1):
        with pytest.raises(DecryptionError):
            open_(KEY, blob[:n], AAD)


def test_wrong_key_names_context() -> None:
    """Opening with another key raises DecryptionError that names the context and the key ids."""
    blob = seal(KEY, b"secret", AAD)
    other = os.urandom(32)
    with pytest.raises(DecryptionError, match="ses_a") as err:
        open_(other, blob, AAD, context="session ses_a message msg_1 content")
    assert key_id_of(KEY).hex() in err.value.message


def test_aad_mismatch_raises() -> None:
    """The same key with different associated data (another session/seq/field) fails."""
    blob = seal(KEY, b"secret", AAD)
    for aad in (
        make_aad("message", "ses_b", "msg_1", 1, "content"),
        make_aad("message", "ses_a", "msg_1", 2, "content"),
        make_aad("message", "ses_a", "msg_2", 1, "content"),
        make_aad("message", "ses_a", "msg_1", 1, "parts"),
        b"",
    ):
        with pytest.raises(DecryptionError, match="authentication failed"):
            open_(KEY, blob, aad)


def test_make_aad_is_unambiguous() -> None:
    """Different part lists never encode to the same AAD bytes."""
    assert make_aad("a", "bc") != make_aad("ab", "c")
    assert make_aad(7) != make_aad("7")
    assert make_aad("x") != make_aad("x", "")
    with pytest.raises(TypeError):
        make_aad(True)


def test_unknown_version_raises() -> None:
    """A blob with an unknown version byte is refused with a clear message."""
    blob = b"\x02" + seal(KEY, b"abc", AAD)[1:]
    with pytest.raises(DecryptionError, match="version"):
        open_(KEY, blob, AAD)


def test_text_form_round_trip_and_bad_text() -> None:
    """The "enc1:" text form round-trips; no prefix or bad base64 raises DecryptionError."""
    blob = seal(KEY, b"abc", AAD)
    text = to_text(blob)
    assert text.startswith("enc1:") and text.isascii()
    assert from_text(text) == blob
    for bad in ("abc", "enc1:***", "enc2:" + text[5:]):
        with pytest.raises(DecryptionError):
            from_text(bad)


def test_bad_key_length_is_a_programming_error() -> None:
    """A key that is not 32 bytes is refused before any encryption."""
    with pytest.raises(ValueError):
        seal(b"short", b"abc", AAD)


@given(st.text(), st.text(max_size=20))
def test_encrypt_text_round_trip_any_unicode(text: str, sid: str) -> None:
    """Any Unicode text (surrogates excluded by UTF-8) round-trips through the text helpers."""
    aad = make_aad("session", sid, "title")
    assert decrypt_text(KEY, encrypt_text(KEY, text, aad), aad) == text


def test_header_is_authenticated() -> None:
    """The header is covered by the GCM tag: a blob relabelled with another key id fails."""
    blob = seal(KEY, b"secret", AAD)
    fake_id = bytes(8)
    relabelled = blob[:1] + fake_id + blob[9:]
    with pytest.raises(DecryptionError, match="authentication failed"):
        open_(KEY, relabelled, AAD, key_id=fake_id)
