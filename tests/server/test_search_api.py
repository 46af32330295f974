"""GET /api/sessions/search with mode= and group=session, and `sessionhub sessions search --mode --group`."""

from __future__ import annotations

import asyncio
import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from tests.server.util import assert_error

import sessionhub
from sessionhub.hub import Hub


@pytest.mark.semantic
async def test_search_mode_group_and_scripts(client: httpx.AsyncClient, hub: Hub) -> None:
    """group=session answers one hit per session with its count; CJK substrings and prefixes; bad values 422."""
    a = await hub.create_session(title="notes")
    await hub.add_messages(a.id, [{"role": "user", "content": f"我喜欢吃苹果 {i}"} for i in range(3)])
    b = await hub.create_session(title="more notes")
    await hub.add_message(b.id, "user", "苹果和香蕉 and the Kubernetes cluster")
    r = await client.get("/api/sessions/search", params={"q": "苹果", "mode": "keyword", "group": "session"})
    assert r.status_code == 200
    results = r.json()["results"]
    assert {h["session"]["id"]: h["count"] for h in results} == {a.id: 3, b.id: 1}
    assert all("<mark>苹果</mark>" in h["snippet"] and h["match"] == "keyword" for h in results)
    flat = (await client.get("/api/sessions/search", params={"q": "苹果", "mode": "keyword"})).json()[
        "results"
    ]
    assert len(flat) == 4 and all(h["count"] == 1 for h in flat)
    kuber = (await client.get("/api/sessions/search", params={"q": "kuber", "mode": "keyword"})).json()
    assert [h["session"]["id"] for h in kuber["results"]] == [b.id]
    for bad in ({"mode": "fuzzy"}, {"group": "thread"}, {"mode": ""}):
        assert_error(await client.get("/api/sessions/search", params={"q": "苹果", **bad}), 422)
    await hub.add_message(b.id, "assistant", "we rolled back the deployment")
    await hub.embed_pending()
    near = (
        await client.get("/api/sessions/search", params={"q": "revert the release", "mode": "semantic"})
    ).json()
    assert near["results"][0]["session"]["id"] == b.id and near["results"][0]["match"] == "semantic"


def test_cli_search_mode_and_group(
    tmp_path: Path, cli: Callable[..., subprocess.CompletedProcess[str]]
) -> None:
    """`sessionhub sessions search --mode keyword --group session` prints one hit per session with its count."""
    db = f"sqlite:///{tmp_path}/cli.db"

    async def seed() -> tuple[str, str]:
        async with sessionhub.open(db) as hub:
            a = await hub.create_session(title="notes")
            await hub.add_messages(a.id, [{"role": "user", "content": f"我喜欢吃苹果 {i}"} for i in range(3)])
            b = await hub.create_session(title="more")
            await hub.add_message(b.id, "user", "苹果和香蕉")
            return a.id, b.id

    a, b = asyncio.run(seed())
    out = cli(
        "sessions", "search", "苹果", "--mode", "keyword", "--group", "session", "--json", "--database", db
    )
    assert out.returncode == 0, out.stderr
    assert {h["session"]["id"]: h["count"] for h in json.loads(out.stdout)["results"]} == {a: 3, b: 1}
    table = cli("sessions", "search", "苹果", "--mode", "keyword", "--group", "session", "--database", db)
    assert table.returncode == 0 and "hits" in table.stdout
    bad = cli("sessions", "search", "苹果", "--mode", "fuzzy", "--database", db)
    assert bad.returncode != 0 and "fuzzy" in bad.stderr
