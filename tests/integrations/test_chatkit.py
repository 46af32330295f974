"""``HubChatKitStore`` against the real openai-chatkit (the cases are in chatkit_cases.py,
imported by each test so that collecting the suite does not import ChatKit in every worker)."""

from __future__ import annotations

import importlib.util
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

import sessionhub
from sessionhub.crypto import generate_master_key
from sessionhub.hub import Hub

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("chatkit") is None, reason="needs sessionhub[chatkit]"
)


@pytest.fixture(params=["sqlite", "sqlite-encrypted", pytest.param("postgresql", marks=pytest.mark.postgres)])
def ck_db(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, str | None]:
    """A database URL and the encryption key to open it with (None: not encrypted)."""
    if request.param == "postgresql":
        return request.getfixturevalue("pg_url"), None
    key = generate_master_key() if request.param == "sqlite-encrypted" else None
    return f"sqlite:///{tmp_path}/chatkit.db", key


@pytest.fixture
async def hub(ck_db: tuple[str, str | None]) -> AsyncIterator[Hub]:
    url, key = ck_db
    async with sessionhub.open(url, encryption_key=key) as h:
        yield h


@pytest.fixture
def store(hub: Hub) -> Any:
    from sessionhub.integrations.chatkit import HubChatKitStore

    return HubChatKitStore(hub)


async def test_chatkit_server_with_hub_store(store: Any, hub: Hub) -> None:
    from .chatkit_cases import case_chatkit_server_with_hub_store

    await case_chatkit_server_with_hub_store(store, hub)


async def test_store_pages_items_and_isolation(store: Any, hub: Hub) -> None:
    from .chatkit_cases import case_store_pages_items_and_isolation

    await case_store_pages_items_and_isolation(store, hub)


async def test_context_mapping_url_and_owner(tmp_path: Path) -> None:
    from .chatkit_cases import case_context_mapping_url_and_owner

    await case_context_mapping_url_and_owner(tmp_path)
