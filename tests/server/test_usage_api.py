"""``GET /api/usage`` and ``sessionhub usage`` through their real interfaces."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sessionhub.hub import Hub

from .conftest import ALICE, BOB, TOKENS, ClientFactory, make_settings


async def test_usage_per_user_with_shapes_and_errors(make_client: ClientFactory, hub: Hub) -> None:
    alice = make_client(make_settings(tokens=TOKENS), headers=ALICE)
    bob = make_client(make_settings(tokens=TOKENS), headers=BOB)
    sid = (await alice.post("/api/sessions", json={"title": "costly"})).json()["id"]
    r = await alice.post(
        f"/api/sessions/{sid}/messages",
        json={"role": "assistant", "content": "hi", "usage": {"input_tokens": 1200, "output_tokens": 34}},
    )
    assert r.status_code == 201
    day = r.json()["messages"][0]["created_at"][:10]

    r = await alice.get("/api/usage", params={"from": day, "to": day})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["group_by"] == "day" and body["tz"] == "UTC"
    assert body["rows"] == [
        {"key": day, "sessions": 1, "messages": 1, "input_tokens": 1200, "output_tokens": 34, "cost": None}
    ]
    assert body["totals"]["input_tokens"] == 1200

    r = await alice.get("/api/usage", params={"group_by": "session"})
    assert [(row["key"], row["title"]) for row in r.json()["rows"]] == [(sid, "costly")]
    empty = (await bob.get("/api/usage")).json()
    assert empty["totals"]["messages"] == 0 and all(row["messages"] == 0 for row in empty["rows"])

    for params in (
        {"group_by": "week"},
        {"tz": "Nowhere/City"},
        {"from": "yesterday"},
        {"from": "2026-05-01", "to": "2026-04-01"},
        {"from": "2026-05-01T10:10"},
        {"limit": "0"},
    ):
        r = await alice.get("/api/usage", params=params)
        assert r.status_code == 422, (params, r.text)
        assert r.json()["error"]["code"] == "invalid_input"
    assert (await make_client(make_settings(tokens=TOKENS)).get("/api/usage")).status_code == 401


@pytest.mark.parametrize("group", ["day", "model"])
def test_cli_usage(cli, tmp_path: Path, group: str) -> None:  # type: ignore[no-untyped-def]
    db = f"sqlite:///{tmp_path}/u.db"
    config = tmp_path / "sessionhub.toml"
    config.write_text('[pricing."echo"]\ninput_per_million = 1.5\noutput_per_million = 6\n')
    created = cli("sessions", "new", "--title", "t", "--json", "--database", db)
    assert created.returncode == 0, created.stderr
    out = cli("usage", "--group-by", group, "--json", "--database", db, "--config", str(config))
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["group_by"] == group and report["totals"]["messages"] == 0
    table = cli("usage", "--group-by", group, "--database", db, "--config", str(config))
    assert table.returncode == 0 and "total" in table.stdout
    bad = cli("usage", "--from", "2026-99-01", "--database", db)
    assert bad.returncode != 0 and bad.stderr.strip().startswith("error: from must be a date")
