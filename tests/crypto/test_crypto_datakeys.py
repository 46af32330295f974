"""Wrapped per-session data keys: wrap/unwrap, binding to the session, and resumable rotation."""

from __future__ import annotations

import pytest

from sessionhub.crypto import (
    IndexKey,
    Keyring,
    MasterKey,
    SessionCipher,
    index_terms,
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
from sessionhub.errors import DecryptionError


def test_wrap_unwrap_round_trip(master: MasterKey, keyring: Keyring) -> None:
    """A wrapped data key unwraps to the same 32 bytes and records the master key id."""
    dk = new_data_key()
    wrapped = wrap_data_key(master, dk, "ses_a")
    assert wrapped.startswith("wk1:") and wrapped.isascii()
    assert dk.hex() not in wrapped
    assert unwrap_data_key(keyring, wrapped, "ses_a") == dk
    assert wrapped_key_id(wrapped) == master.key_id


def test_unwrap_with_wrong_master_names_session(master: MasterKey, other_master: MasterKey) -> None:
    """A keyring without the wrapping key raises DecryptionError naming the session and the missing key id."""
    wrapped = wrap_data_key(master, new_data_key(), "ses_a")
    with pytest.raises(DecryptionError, match="session ses_a") as err:
        unwrap_data_key(Keyring(other_master), wrapped, "ses_a")
    assert master.key_id in err.value.message


def test_wrapped_key_moved_to_another_session_fails(master: MasterKey, keyring: Keyring) -> None:
    """A wrapped key copied onto another session's row does not unwrap there."""
    wrapped = wrap_data_key(master, new_data_key(), "ses_a")
    with pytest.raises(DecryptionError, match="session ses_b"):
        unwrap_data_key(keyring, wrapped, "ses_b")


def test_flipped_byte_in_wrapped_key_fails(master: MasterKey, keyring: Keyring) -> None:
    """Changing any character of the wrapped key's base64 raises DecryptionError."""
    wrapped = wrap_data_key(master, new_data_key(), "ses_a")
    for i in range(4, len(wrapped) - 2):  # the last chars may be padding
        ch = "A" if wrapped[i] != "A" else "B"
        with pytest.raises(DecryptionError):
            unwrap_data_key(keyring, wrapped[:i] + ch + wrapped[i + 1 :], "ses_a")
    for bad in ("", "wk2:" + wrapped[4:], "wk1:!!!"):
        with pytest.raises(DecryptionError):
            unwrap_data_key(keyring, bad, "ses_a")


def test_rewrap_keeps_data_key_and_needs_rewrap_flips(master: MasterKey, other_master: MasterKey) -> None:
    """Re-wrap under a new master keeps the data key, moves the key id; the old key alone cannot open it."""
    dk = new_data_key()
    old_wrapped = wrap_data_key(master, dk, "ses_a")
    ring = Keyring(other_master, [master])
    assert needs_rewrap(old_wrapped, ring.current.key_id)
    new_wrapped = rewrap_data_key(ring, old_wrapped, "ses_a")
    assert not needs_rewrap(new_wrapped, ring.current.key_id)
    assert wrapped_key_id(new_wrapped) == other_master.key_id
    assert unwrap_data_key(ring, new_wrapped, "ses_a") == dk
    assert unwrap_data_key(Keyring(other_master), new_wrapped, "ses_a") == dk
    with pytest.raises(DecryptionError):
        unwrap_data_key(Keyring(master), new_wrapped, "ses_a")


def test_rotation_interrupted_and_resumed(master: MasterKey, other_master: MasterKey) -> None:
    """A rotation stopped halfway leaves every session readable, and a second run finishes only the rest."""
    old_ring = Keyring(master)
    rows: dict[str, str] = {}
    blobs: dict[str, bytes] = {}
    for i in range(10):
        sid = f"ses_{i}"
        cipher, rows[sid] = SessionCipher.create(old_ring, sid)
        blobs[sid] = cipher.encrypt_content("msg_1", 1, f"text {i}")
    ring = Keyring(other_master, [master])

    def rotate(limit: int) -> int:
        done = 0
        for sid, wrapped in sorted(rows.items()):
            if done == limit:
                break
            if needs_rewrap(wrapped, ring.current.key_id):
                rows[sid] = rewrap_data_key(ring, wrapped, sid)  # one commit per session
                done += 1
        return done

    assert rotate(limit=4) == 4  # "interrupted"
    assert sum(needs_rewrap(w, ring.current.key_id) for w in rows.values()) == 6
    for sid, wrapped in rows.items():
        assert SessionCipher.from_wrapped(ring, wrapped, sid).decrypt_content("msg_1", 1, blobs[sid])
    assert rotate(limit=-1) == 6  # resumed
    assert rotate(limit=-1) == 0
    new_only = Keyring(other_master)
    for i, (sid, wrapped) in enumerate(sorted(rows.items())):
        cipher = SessionCipher.from_wrapped(new_only, wrapped, sid)
        assert cipher.decrypt_content("msg_1", 1, blobs[sid]) == f"text {i}"


def test_index_secret_survives_rotation(master: MasterKey, other_master: MasterKey) -> None:
    """The blind-index secret re-wraps under a new master with the same tokens; the wrong key fails."""
    secret = new_index_secret()
    wrapped = wrap_index_secret(master, secret)
    before = index_terms(IndexKey.from_secret(unwrap_index_secret(Keyring(master), wrapped)), "hello world")
    rewrapped = rewrap_index_secret(Keyring(other_master, [master]), wrapped)
    assert wrapped_key_id(rewrapped) == other_master.key_id
    after = index_terms(
        IndexKey.from_secret(unwrap_index_secret(Keyring(other_master), rewrapped)), "hello world"
    )
    assert before == after
    with pytest.raises(DecryptionError, match="blind-index secret"):
        unwrap_index_secret(Keyring(other_master), wrapped)


def test_index_secret_and_data_key_wrappings_are_not_interchangeable(
    master: MasterKey, keyring: Keyring
) -> None:
    """A wrapped data key cannot be passed off as the index secret, nor the reverse."""
    key = new_data_key()
    with pytest.raises(DecryptionError):
        unwrap_index_secret(keyring, wrap_data_key(master, key, "sessionhub:index-secret"))
    with pytest.raises(DecryptionError):
        unwrap_data_key(keyring, wrap_index_secret(master, key), "sessionhub:index-secret")
