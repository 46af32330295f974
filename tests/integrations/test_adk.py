"""``HubSessionService`` against the real google-adk (the cases are in adk_cases.py, imported
by each test so that collecting the suite does not import ADK in every worker)."""

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
    importlib.util.find_spec("google.adk") is None, reason="needs sessionhub[adk]"
)


@pytest.fixture(params=["sqlite", "sqlite-encrypted", pytest.param("postgresql", marks=pytest.mark.postgres)])
def adk_db(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, str | None]:
    """A database URL and the encryption key to open it with (None: not encrypted)."""
    if request.param == "postgresql":
        return request.getfixturevalue("pg_url"), None
    key = generate_master_key() if request.param == "sqlite-encrypted" else None
    return f"sqlite:///{tmp_path}/adk.db", key


@pytest.fixture
async def hub(adk_db: tuple[str, str | None]) -> AsyncIterator[Hub]:
    url, key = adk_db
    async with sessionhub.open(url, encryption_key=key) as h:
        yield h


@pytest.fixture
def service(hub: Hub) -> Any:
    from sessionhub.integrations.adk import HubSessionService

    return HubSessionService(hub)


async def test_runner_turns_with_tool_and_state_scopes(service: Any, hub: Hub) -> None:
    from .adk_cases import case_runner_turns_with_tool_and_state_scopes

    await case_runner_turns_with_tool_and_state_scopes(service, hub)


async def test_create_get_list_delete(service: Any) -> None:
    from .adk_cases import case_create_get_list_delete

    await case_create_get_list_delete(service)


async def test_state_scopes_temp_and_partial(service: Any) -> None:
    from .adk_cases import case_state_scopes_temp_and_partial

    await case_state_scopes_temp_and_partial(service)


async def test_get_session_config_and_lossless_events(service: Any) -> None:
    from .adk_cases import case_get_session_config_and_lossless_events

    await case_get_session_config_and_lossless_events(service)


async def test_stale_session_exactly_one_wins(service: Any, hub: Hub) -> None:
    from .adk_cases import case_stale_session_exactly_one_wins

    await case_stale_session_exactly_one_wins(service, hub)


async def test_url_owner_and_close(adk_db: tuple[str, str | None], tmp_path: Path) -> None:
    from .adk_cases import case_url_owner_and_close

    await case_url_owner_and_close(adk_db, tmp_path)


async def test_key_rotation_rewraps_the_adapters_own_keys(tmp_path: Path) -> None:
    """ADK app/user state and ChatKit attachments have data keys of their own: rotation re-wraps
    them, so they stay readable once the old master key is gone."""
    from sessionhub.crypto import Keyring
    from sessionhub.integrations.adk import HubSessionService
    from sessionhub.store.sql import SQLStore

    old, new = generate_master_key(), generate_master_key()
    url = f"sqlite:///{tmp_path}/rotate.db"
    state = {"app:x": 1, "user:y": [2], "z": 3}
    first = SQLStore(url, keyring=Keyring.from_base64(old))
    await first.open()
    try:
        await HubSessionService(Hub(first)).create_session(
            app_name="a", user_id="u", session_id="s", state=state
        )
        await first.ck_save_attachment("default", "u", "atc_1", '{"id":"atc_1"}')
    finally:
        await first.close()
    rotator = SQLStore(url, keyring=Keyring.from_base64(new, [old]))
    await rotator.open()
    try:
        report = await rotator.rotate_keys()
        assert report.rewrapped == 4 and report.remaining == 0  # a session, app and user state, attachment
    finally:
        await rotator.close()
    after = SQLStore(url, keyring=Keyring.from_base64(new))
    await after.open()
    try:
        got = await HubSessionService(Hub(after)).get_session(app_name="a", user_id="u", session_id="s")
        assert got is not None and got.state == state
        assert await after.ck_load_attachment("default", "u", "atc_1") == '{"id":"atc_1"}'
    finally:
        await after.close()
