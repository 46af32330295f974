"""Key rotation while real servers still run (issue 14, point 8), on SQLite and PostgreSQL.

A ``sessionhub serve`` process holding only the old master key keeps running while
``sessionhub keys rotate`` runs in another process. It must then refuse to create sessions
loudly (503 ``key_unavailable``, naming the retired key), answer reads it cannot decrypt the
same way, and never leave a session wrapped by the key that rotation reported retired. A
server given both keys (the documented procedure) follows the rotation without a restart.
"""

from __future__ import annotations

import asyncio
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

import sessionhub
from reliability.conftest import SESSIONHUB
from sessionhub.crypto import Keyring, generate_master_key, load_master_key, wrapped_key_id
from sessionhub.ids import new_id
from sessionhub.store.base import NewSession
from sessionhub.store.sql import SQLStore

from .conftest import child_env, serve

OLD_ONLY = '[encryption]\nkey_env = "OLD_KEY"\n'
BOTH = '[encryption]\nkey_env = "NEW_KEY"\nprevious_key_envs = ["OLD_KEY"]\n'


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database URL on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/hub.db"
    else:
        yield request.getfixturevalue("pg_url")


@pytest.fixture
def keys() -> dict[str, str]:
    """The old and the new master key, as the servers' environment passes them."""
    return {"OLD_KEY": generate_master_key(), "NEW_KEY": generate_master_key()}


def key_id(b64: str) -> str:
    return load_master_key(b64).key_id


def wrapped_ids(url: str) -> dict[str, str]:
    """Every session id with the id of the master key its stored data key is wrapped by."""
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT id, wrapped_key FROM sessions")).all()
    finally:
        engine.dispose()
    return {sid: wrapped_key_id(w) for sid, w in rows}


def rotate(tmp_path: Path, url: str, keys: dict[str, str]) -> str:
    """``sessionhub keys rotate`` in its own process, old key configured, new key by --new-key-env."""
    config = tmp_path / "rotate.toml"
    config.write_text(OLD_ONLY)
    done = subprocess.run(
        [str(SESSIONHUB), "keys", "rotate", "--database", url, "--config", str(config), "--new-key-env",
         "NEW_KEY"],
        capture_output=True, text=True, env=child_env(**keys), timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "0 remaining" in done.stdout, done.stdout
    return done.stdout


def create(base: str, title: str) -> httpx.Response:
    return httpx.post(f"{base}/api/sessions", json={"title": title}, timeout=30)


def with_message(base: str, title: str) -> str:
    """A new session holding one message; its id."""
    r = create(base, title)
    assert r.status_code == 201, r.text
    sid: str = r.json()["id"]
    m = httpx.post(f"{base}/api/sessions/{sid}/messages", json={"role": "user", "content": title}, timeout=30)
    assert m.status_code == 201, m.text
    return sid


def assert_retired(r: httpx.Response, old_id: str) -> None:
    """A loud, per-request refusal: 503 key_unavailable naming rotation and the way out."""
    assert r.status_code == 503, r.text
    err = r.json()["error"]
    assert err["code"] == "key_unavailable"
    assert "sessionhub keys rotate" in err["message"] and "restart it with the new key" in err["message"]
    if "retired by" in err["message"]:
        assert old_id in err["message"]


def read_all(url: str, new_key: str, sessions: list[str]) -> dict[str, list[str]]:
    """Each session's message contents, read with the new key alone."""

    async def go() -> dict[str, list[str]]:
        async with sessionhub.open(url, encryption_key=new_key) as hub:
            return {sid: [m.content for m in await hub.get_history(sid)] for sid in sessions}

    return asyncio.run(go())


# make soak (SESSIONHUB_SOAK=1 pytest -m 'slow or reliability'), not make test: key rotation under two running server processes on both databases (~13 s); the in-process rotation tests of this file stay in make test.
@pytest.mark.slow
def test_rotation_under_running_servers(tmp_path: Path, database: str, keys: dict[str, str]) -> None:
    """After `keys rotate`, an old-key server refuses creations and unreadable reads with 503; a
    server given both keys creates under the new key unrestarted; no row stays under the old key."""
    old_id, new_id = key_id(keys["OLD_KEY"]), key_id(keys["NEW_KEY"])
    with (
        serve(tmp_path, database, OLD_ONLY, extra_env=keys) as (old, _),
        serve(tmp_path, database, BOTH, extra_env=keys) as (both, _),
    ):
        before = [with_message(old, "made by the old server"), with_message(both, "made by the other")]
        # Before the rotation the database's active key is the old one, even for the server
        # whose current key is the new one: every server can still read every session.
        assert set(wrapped_ids(database).values()) == {old_id}
        out = rotate(tmp_path, database, keys)
        assert f"switched the active master key to {new_id}" in out

        assert_retired(create(old, "after the rotation"), old_id)
        for sid in before:
            assert_retired(httpx.get(f"{old}/api/sessions/{sid}/messages", timeout=30), old_id)
            appended = httpx.post(
                f"{old}/api/sessions/{sid}/messages", json={"role": "user", "content": "x"}, timeout=30
            )
            assert_retired(appended, old_id)
        assert httpx.get(f"{old}/api/health", timeout=30).status_code == 200  # alive, only refusing

        after = with_message(both, "made after the rotation")
        for sid in before:
            got = httpx.get(f"{both}/api/sessions/{sid}/messages", timeout=30)
            assert got.status_code == 200, got.text
    ids = wrapped_ids(database)
    assert set(ids) == {*before, after} and set(ids.values()) == {new_id}
    assert read_all(database, keys["NEW_KEY"], [*before, after]) == {
        before[0]: ["made by the old server"],
        before[1]: ["made by the other"],
        after: ["made after the rotation"],
    }


def test_sessions_created_during_rotation_open_with_the_new_key(
    tmp_path: Path, database: str, keys: dict[str, str]
) -> None:
    """An old-key server creating sessions in a loop while rotate runs: each answer is 201 or a
    clean 503, and every session it created opens with the new key alone."""
    old_id, new_id = key_id(keys["OLD_KEY"]), key_id(keys["NEW_KEY"])
    with serve(tmp_path, database, OLD_ONLY, extra_env=keys) as (old, _):
        for i in range(30):  # something for rotate to walk while the loop runs
            assert create(old, f"early {i}").status_code == 201
        created: list[str] = []
        refused: list[httpx.Response] = []
        stop = threading.Event()

        def loop() -> None:
            with httpx.Client(timeout=30) as client:
                while not stop.is_set():
                    r = client.post(f"{old}/api/sessions", json={"title": "racing"})
                    if r.status_code == 201:
                        created.append(r.json()["id"])
                    else:
                        refused.append(r)

        racer = threading.Thread(target=loop, daemon=True)
        racer.start()
        try:
            rotate(tmp_path, database, keys)
        finally:
            stop.set()
            racer.join(60)
        assert not racer.is_alive()
        assert created, "no session was created while the rotation ran"
        refused.append(create(old, "after the rotation"))
        for r in refused:
            assert_retired(r, old_id)
    ids = wrapped_ids(database)
    assert set(ids.values()) == {new_id}, (
        f"{sum(v == old_id for v in ids.values())} sessions under the old key"
    )
    opened = read_all(database, keys["NEW_KEY"], list(ids))
    assert len(opened) == len(ids) >= 30 + len(created)


def new_session() -> NewSession:
    sid = new_id("ses")
    return NewSession(
        id=sid, owner="default", key=sid, title="in flight", title_source="user", agent="main",
        provider="echo", model="echo", source="manual", source_ref=None, channel="web", metadata={},
    )  # fmt: skip


async def test_the_switch_waits_for_a_session_being_created(database: str, keys: dict[str, str]) -> None:
    """A creation under the old key still uncommitted when rotate starts holds the switch back
    until it commits, so rotate re-wraps it too: none is left under the old key."""
    creator = SQLStore(database, keyring=Keyring.from_base64(keys["OLD_KEY"]))
    rotator = SQLStore(database, keyring=Keyring.from_base64(keys["NEW_KEY"], [keys["OLD_KEY"]]))
    await creator.open()
    await rotator.open()
    inserted, release = threading.Event(), threading.Event()

    def create_and_hold() -> str:
        with creator._write():  # the creation's transaction, kept open until released
            sid = creator._create_session(new_session()).id
            inserted.set()
            release.wait(30)
        return sid

    try:
        creating = asyncio.ensure_future(asyncio.to_thread(create_and_hold))
        assert await asyncio.to_thread(inserted.wait, 30)
        rotating = asyncio.ensure_future(rotator.rotate_keys())
        await asyncio.sleep(1.0)
        assert not rotating.done(), (
            "rotate switched the key while a session was being wrapped with the old one"
        )
        release.set()
        sid = await creating
        report = await rotating
    finally:
        release.set()
        await creator.close()
        await rotator.close()
    assert report.remaining == 0 and report.index_secret_rewrapped
    assert wrapped_ids(database)[sid] == key_id(keys["NEW_KEY"])
