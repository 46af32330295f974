"""Bearer tokens: 401 without a valid one, and one user never sees another's sessions (404)."""

from __future__ import annotations

import pytest

from sessionhub.server.auth import TokenTable

from .conftest import ALICE, BOB, TOKENS, ClientFactory, make_settings
from .util import assert_error

ENDPOINTS = [
    ("GET", "/api/sessions", None),
    ("POST", "/api/sessions", {}),
    ("GET", "/api/sessions/recent", None),
    ("GET", "/api/sessions/search?q=hello", None),
    ("GET", "/api/sessions/stats", None),
    ("GET", "/api/agents", None),
    ("POST", "/api/triggers/deploy", {}),
]


@pytest.fixture
def secured(make_client: ClientFactory) -> ClientFactory:
    settings = make_settings(tokens=TOKENS)
    return lambda headers=None: make_client(settings, headers)


@pytest.mark.parametrize(
    "headers",
    [
        None,
        {"Authorization": "Bearer wrong-token-xx"},
        {"Authorization": "Basic abc"},
        {"Authorization": "Bearer "},
    ],
)
async def test_missing_or_wrong_token_is_401(secured: ClientFactory, headers: dict[str, str] | None) -> None:
    """Every /api endpoint refuses a missing, wrong or non-bearer token with a 401 envelope."""
    c = secured(headers)
    sid = "ses_" + "0" * 25
    more = [
        ("GET", f"/api/sessions/{sid}", None),
        ("PATCH", f"/api/sessions/{sid}", {}),
        ("DELETE", f"/api/sessions/{sid}", None),
        ("PUT", f"/api/sessions/{sid}/title", {"title": "x"}),
        ("GET", f"/api/sessions/{sid}/messages", None),
        ("POST", f"/api/sessions/{sid}/messages", {"role": "user", "content": "x"}),
        ("DELETE", f"/api/sessions/{sid}/messages", None),
        ("GET", "/api/does-not-exist", None),
    ]
    for method, url, body in ENDPOINTS + more:
        r = await c.request(method, url, json=body)
        assert_error(r, 401, "unauthorized")
        assert r.headers["www-authenticate"] == "Bearer"


async def test_health_and_docs_stay_open(secured: ClientFactory) -> None:
    """/api/health, /openapi.json and /docs need no token."""
    c = secured()
    assert (await c.get("/api/health")).status_code == 200
    assert (await c.get("/openapi.json")).status_code == 200
    assert (await c.get("/docs")).status_code == 200


async def test_user_isolation_everywhere(secured: ClientFactory) -> None:
    """Bob gets 404 on every endpoint for Alice's session and sees none of her data in listings."""
    alice, bob = secured(ALICE), secured(BOB)
    r = await alice.post("/api/sessions", json={"title": "alice secret"})
    assert r.status_code == 201
    sid = r.json()["id"]
    assert (
        await alice.post(f"/api/sessions/{sid}/messages", json={"role": "user", "content": "hello zebra"})
    ).status_code == 201
    for method, url, body in [
        ("GET", f"/api/sessions/{sid}", None),
        ("PATCH", f"/api/sessions/{sid}", {"pinned": True}),
        ("PUT", f"/api/sessions/{sid}/title", {"title": "mine"}),
        ("GET", f"/api/sessions/{sid}/messages", None),
        ("GET", f"/api/sessions/{sid}/messages?format=markdown", None),
        ("POST", f"/api/sessions/{sid}/messages", {"role": "user", "content": "x"}),
        ("DELETE", f"/api/sessions/{sid}/messages", None),
        ("DELETE", f"/api/sessions/{sid}", None),
    ]:
        assert_error(await bob.request(method, url, json=body), 404, "not_found")
    assert (await bob.get("/api/sessions", params={"view": "all"})).json()["sessions"] == []
    assert (await bob.get("/api/sessions/recent")).json()["sessions"] == []
    assert (await bob.get("/api/sessions/search", params={"q": "zebra"})).json()["results"] == []
    assert (await bob.get("/api/sessions/stats")).json()["total_sessions"] == 0
    # Alice still has everything, untouched.
    s = (await alice.get(f"/api/sessions/{sid}")).json()
    assert s["message_count"] == 1 and s["title"] == "alice secret" and s["pinned"] is False
    assert len((await alice.get("/api/sessions/search", params={"q": "zebra"})).json()["results"]) >= 1


async def test_sessionhub_token_env_user_is_default(make_client: ClientFactory) -> None:
    """Without tokens everyone is user default; a default-user token sees those sessions."""
    open_client = make_client()
    sid = (await open_client.post("/api/sessions", json={})).json()["id"]
    c = make_client(
        make_settings(tokens={"env-token-123456": "default"}), {"Authorization": "Bearer env-token-123456"}
    )
    assert (await c.get(f"/api/sessions/{sid}")).status_code == 200


def test_token_table_matches_exactly() -> None:
    """The constant-time lookup finds the right user and nothing for prefixes or extensions."""
    table = TokenTable(TOKENS)
    assert table.user_for("token-alice-0001") == "alice"
    assert table.user_for("token-bob-000002") == "bob"
    for wrong in ("token-alice-000", "token-alice-00011", "", "TOKEN-ALICE-0001", "tökën"):
        assert table.user_for(wrong) is None
    assert not TokenTable({})
