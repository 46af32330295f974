"""Shared fixtures for the crypto tests: keys and a keyring."""

from __future__ import annotations

import pytest

from sessionhub.crypto import Keyring, MasterKey, generate_master_key, load_master_key


@pytest.fixture
def master() -> MasterKey:
    return load_master_key(generate_master_key())


@pytest.fixture
def other_master() -> MasterKey:
    return load_master_key(generate_master_key())


@pytest.fixture
def keyring(master: MasterKey) -> Keyring:
    return Keyring(master)
