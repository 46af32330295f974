"""SessionCipher: every field round-trips, and a value moved anywhere else fails naming the session."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sessionhub.crypto import CipherCache, Keyring, SessionCipher, new_data_key, rewrap_data_key, to_text
from sessionhub.crypto.keys import MasterKey
from sessionhub.errors import DecryptionError

SID = "ses_aaaaaaaaaaaaaaaaaaaaaaaaa"
OTHER = "ses_bbbbbbbbbbbbbbbbbbbbbbbbb"
DK = bytes(range(32))

Enc = Callable[[SessionCipher, str], bytes]
Dec = Callable[[SessionCipher, bytes | str], str]

FIELDS: dict[str, tuple[Enc, Dec]] = {
    "content": (lambda c, t: c.encrypt_content("msg_1", 3, t), lambda c, v: c.decrypt_content("msg_1", 3, v)),
    "parts": (lambda c, t: c.encrypt_parts("msg_1", 3, t), lambda c, v: c.decrypt_parts("msg_1", 3, v)),
    "message_metadata": (
        lambda c, t: c.encrypt_message_metadata("msg_1", 3, t),
        lambda c, v: c.decrypt_message_metadata("msg_1", 3, v),
    ),
    "title": (lambda c, t: c.encrypt_title(t), lambda c, v: c.decrypt_title(v)),
    "preview": (lambda c, t: c.encrypt_preview(t), lambda c, v: c.decrypt_preview(v)),
    "session_metadata": (
        lambda c, t: c.encrypt_session_metadata(t),
        lambda c, v: c.decrypt_session_metadata(v),
    ),
    "checkpoint_name": (
        lambda c, t: c.encrypt_checkpoint_name("chk_1", t),
        lambda c, v: c.decrypt_checkpoint_name("chk_1", v),
    ),
    "checkpoint_description": (
        lambda c, t: c.encrypt_checkpoint_description("chk_1", t),
        lambda c, v: c.decrypt_checkpoint_description("chk_1", v),
    ),
    "summary": (lambda c, t: c.encrypt_summary("sum_1", t), lambda c, v: c.decrypt_summary("sum_1", v)),
}


@pytest.mark.parametrize("name", list(FIELDS))
def test_every_field_round_trips_in_both_stored_forms(name: str) -> None:
    """Each field decrypts from raw bytes and from the "enc1:" text form; no plaintext in the blob."""
    enc, dec = FIELDS[name]
    cipher = SessionCipher(SID, DK)
    text = '{"canary": "marmalade-ocelot"} héllo 東京'
    blob = enc(cipher, text)
    assert b"marmalade" not in blob
    assert dec(cipher, blob) == text
    assert dec(cipher, to_text(blob)) == text
    assert dec(cipher, enc(cipher, "")) == ""


@pytest.mark.parametrize("src", list(FIELDS))
def test_value_moved_to_another_field_fails(src: str) -> None:
    """A ciphertext of one field cannot be read as any other field of the same session."""
    cipher = SessionCipher(SID, DK)
    blob = FIELDS[src][0](cipher, "secret")
    for dst, (_, dec) in FIELDS.items():
        if dst != src:
            with pytest.raises(DecryptionError, match=SID):
                dec(cipher, blob)


def test_moved_to_another_session_with_same_key_fails() -> None:
    """Even under the same data key, a row copied into another session fails and names that session."""
    blob = SessionCipher(SID, DK).encrypt_content("msg_1", 1, "secret")
    with pytest.raises(DecryptionError, match=OTHER):
        SessionCipher(OTHER, DK).decrypt_content("msg_1", 1, blob)


def test_moved_to_another_session_with_its_own_key_fails() -> None:
    """A row copied into another session (its own data key) fails with a key-id message naming it."""
    blob = SessionCipher(SID, DK).encrypt_content("msg_1", 1, "secret")
    with pytest.raises(DecryptionError, match=f"session {OTHER} message msg_1") as err:
        SessionCipher(OTHER, new_data_key()).decrypt_content("msg_1", 1, blob)
    assert "key id" in err.value.message


def test_moved_to_another_message_or_seq_fails() -> None:
    """Swapping content between messages, or changing a message's seq (reordering), fails."""
    cipher = SessionCipher(SID, DK)
    blob = cipher.encrypt_content("msg_1", 1, "secret")
    with pytest.raises(DecryptionError, match="msg_2"):
        cipher.decrypt_content("msg_2", 1, blob)
    with pytest.raises(DecryptionError, match="seq 2"):
        cipher.decrypt_content("msg_1", 2, blob)
    cp = cipher.encrypt_checkpoint_name("chk_1", "name")
    with pytest.raises(DecryptionError, match="chk_2"):
        cipher.decrypt_checkpoint_name("chk_2", cp)


def test_wrong_data_key_names_session() -> None:
    """Decrypting with another data key raises DecryptionError naming the session."""
    blob = SessionCipher(SID, DK).encrypt_title("my title")
    with pytest.raises(DecryptionError, match=f"session {SID} title"):
        SessionCipher(SID, new_data_key()).decrypt_title(blob)


def test_flipped_byte_in_any_position_fails() -> None:
    """Flipping any single byte of a stored message content raises DecryptionError naming the session."""
    cipher = SessionCipher(SID, DK)
    blob = cipher.encrypt_content("msg_1", 1, "a secret message")
    for i in range(len(blob)):
        bad = bytearray(blob)
        bad[i] ^= 0x40
        with pytest.raises(DecryptionError, match=SID):
            cipher.decrypt_content("msg_1", 1, bytes(bad))


def test_garbage_and_plaintext_values_are_refused() -> None:
    """Plaintext or garbage where a ciphertext belongs raises, never passes through as text."""
    cipher = SessionCipher(SID, DK)
    for bad in ("hello", "enc1:", b"", b"\x01" + b"\x00" * 10, "enc1:AAAA"):
        with pytest.raises(DecryptionError, match=SID):
            cipher.decrypt_content("msg_1", 1, bad)


def test_create_and_from_wrapped_agree(keyring: Keyring) -> None:
    """SessionCipher.create returns a cipher whose wrapped key reopens an equivalent cipher."""
    cipher, wrapped = SessionCipher.create(keyring, SID)
    blob = cipher.encrypt_content("msg_1", 1, "hi")
    again = SessionCipher.from_wrapped(keyring, wrapped, SID)
    assert again.decrypt_content("msg_1", 1, blob) == "hi"
    with pytest.raises(DecryptionError, match=OTHER):
        SessionCipher.from_wrapped(keyring, wrapped, OTHER)
    assert DK.hex() not in repr(cipher)


def test_cipher_cache_reuses_refreshes_and_forgets(master: MasterKey, other_master: MasterKey) -> None:
    """The cache reuses a cipher for the same wrapped key, rebuilds after re-wrap, drops on forget."""
    ring = Keyring(other_master, [master])
    cipher, wrapped = SessionCipher.create(Keyring(master), SID)
    blob = cipher.encrypt_content("msg_1", 1, "hi")
    cache = CipherCache(ring, maxsize=2)
    first = cache.get(SID, wrapped)
    assert cache.get(SID, wrapped) is first
    rewrapped = rewrap_data_key(ring, wrapped, SID)
    second = cache.get(SID, rewrapped)
    assert second is not first and second.decrypt_content("msg_1", 1, blob) == "hi"
    for i in range(3):
        cache.put(f"ses_{i}", "x", cipher)
    assert len(cache) == 2
    cache.forget("ses_2")
    assert len(cache) == 1


@settings(max_examples=200)
@given(st.text(), st.text(min_size=1, max_size=30), st.integers(min_value=1, max_value=2**40))
def test_content_round_trip_any_unicode(text: str, message_id: str, seq: int) -> None:
    """Any Unicode content round-trips for any message id and seq."""
    cipher = SessionCipher(SID, DK)
    assert cipher.decrypt_content(message_id, seq, cipher.encrypt_content(message_id, seq, text)) == text
