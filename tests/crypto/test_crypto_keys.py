"""Master keys: generation, loading, key files with mode 0600, and the keyring."""

from __future__ import annotations

import base64
import logging
import os
import stat
from pathlib import Path

import pytest

from sessionhub.crypto import (
    Keyring,
    MasterKey,
    generate_master_key,
    load_master_key,
    read_key_file,
    write_key_file,
)
from sessionhub.errors import ConfigError, DecryptionError, KeyUnavailable

posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")


def test_generate_and_load_round_trip() -> None:
    """A generated key is 44 base64 characters decoding to 32 bytes, and loads back to the same key."""
    b64 = generate_master_key()
    assert len(b64) == 44
    key = load_master_key(b64)
    assert key.material == base64.b64decode(b64)
    assert key.to_base64() == b64
    assert generate_master_key() != b64


def test_key_id_is_stable_short_hex_and_differs() -> None:
    """The key id is 16 hex characters, the same for the same key and different for another."""
    b64 = generate_master_key()
    a, b = load_master_key(b64), load_master_key(b64)
    assert a.key_id == b.key_id
    assert len(a.key_id) == 16 and int(a.key_id, 16) >= 0
    assert a.key_id != load_master_key(generate_master_key()).key_id
    assert a.key_id not in b64 and a.material.hex()[:16] != a.key_id


def test_load_accepts_whitespace_and_urlsafe() -> None:
    """Surrounding whitespace/newlines and the URL-safe alphabet are accepted."""
    raw = bytes([0xFB] * 32)
    assert load_master_key("  " + base64.b64encode(raw).decode() + "\n").material == raw
    assert load_master_key(base64.urlsafe_b64encode(raw).decode()).material == raw


@pytest.mark.parametrize(
    ("value", "match"),
    [
        ("", "empty"),
        ("not base64 at all!!", "not valid base64"),
        (base64.b64encode(b"x" * 16).decode(), "16 bytes"),
        (base64.b64encode(b"x" * 33).decode(), "33 bytes"),
    ],
)
def test_load_bad_key_is_a_clear_config_error(value: str, match: str) -> None:
    """Bad base64 or a wrong length raises ConfigError naming the source, never echoing the value."""
    with pytest.raises(ConfigError, match=match) as err:
        load_master_key(value, source="SESSIONHUB_KEY")
    assert "SESSIONHUB_KEY" in err.value.message
    if value:
        assert value not in err.value.message


def test_repr_hides_material() -> None:
    """Neither repr nor str of a MasterKey contains the key bytes or base64."""
    key = load_master_key(generate_master_key())
    for text in (repr(key), str(key)):
        assert key.to_base64() not in text
        assert repr(key.material) not in text


@posix_only
def test_write_key_file_mode_0600_even_with_open_umask(tmp_path: Path) -> None:
    """The key file is created with mode 0600 (umask 0 notwithstanding) and reads back."""
    b64 = generate_master_key()
    old = os.umask(0)
    try:
        path = write_key_file(tmp_path / "sub" / "master.key", b64)
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert read_key_file(path).to_base64() == b64
    assert sorted(p.name for p in path.parent.iterdir()) == ["master.key"]


def test_write_key_file_refuses_to_overwrite(tmp_path: Path) -> None:
    """An existing key file is never overwritten: ConfigError, and the old key is still there."""
    path = tmp_path / "master.key"
    first = generate_master_key()
    write_key_file(path, first)
    with pytest.raises(ConfigError, match="already exists"):
        write_key_file(path, generate_master_key())
    assert read_key_file(path).to_base64() == first


def test_write_key_file_validates_key(tmp_path: Path) -> None:
    """A bad key is refused before any file is created."""
    with pytest.raises(ConfigError):
        write_key_file(tmp_path / "k", "short")
    assert not list(tmp_path.iterdir())


@posix_only
def test_read_key_file_refuses_open_permissions(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A group/world-readable key file is refused, or only warned about when explicitly allowed."""
    path = write_key_file(tmp_path / "master.key", generate_master_key())
    path.chmod(0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        read_key_file(path)
    with caplog.at_level(logging.WARNING):
        key = read_key_file(path, allow_open_permissions=True)
    assert isinstance(key, MasterKey)
    assert "0644" in caplog.text


def test_read_key_file_missing_and_bad_content(tmp_path: Path) -> None:
    """A missing file or a file without a valid key raises ConfigError naming the path."""
    with pytest.raises(ConfigError, match="does not exist"):
        read_key_file(tmp_path / "nope.key")
    bad = tmp_path / "bad.key"
    bad.write_text("hello\n")
    bad.chmod(0o600)
    with pytest.raises(ConfigError, match=str(bad)):
        read_key_file(bad)


def test_keyring_lookup_by_id() -> None:
    """The keyring finds current and older keys by id; an unknown id raises naming the context."""
    new, old = load_master_key(generate_master_key()), load_master_key(generate_master_key())
    ring = Keyring(new, [old, new])
    assert ring.current is new
    assert ring.key_ids == (new.key_id, old.key_id)
    assert ring.get(old.key_id) is old
    assert old.key_id in ring and len(ring) == 2
    with pytest.raises(DecryptionError, match="session ses_x"):
        ring.get("0123456789abcdef", context="session ses_x")
    assert new.to_base64() not in repr(ring)


def test_missing_key_is_key_unavailable_503() -> None:
    """A key the keyring lacks is KeyUnavailable (a DecryptionError, 503) telling how to recover
    from a rotation; new keys are wrapped with the active key only if it is held."""
    new, old = load_master_key(generate_master_key()), load_master_key(generate_master_key())
    retired, both = Keyring(old), Keyring(new, [old])
    with pytest.raises(KeyUnavailable, match="restart it with the new key") as missing:
        retired.get(new.key_id, context="the data key of session ses_x")
    assert isinstance(missing.value, DecryptionError) and missing.value.status_code == 503
    assert both.wrapping_key(old.key_id) is old  # before rotate switches: still the old key
    assert both.wrapping_key(new.key_id) is new
    with pytest.raises(KeyUnavailable, match=f"key {old.key_id} was retired by `sessionhub keys rotate`"):
        retired.wrapping_key(new.key_id)


def test_keyring_from_base64() -> None:
    """Keyring.from_base64 loads the current and previous keys, and reports a bad previous key."""
    a, b = generate_master_key(), generate_master_key()
    ring = Keyring.from_base64(a, [b])
    assert ring.current.to_base64() == a and len(ring) == 2
    with pytest.raises(ConfigError, match="previous encryption key #1"):
        Keyring.from_base64(a, ["bad"])
