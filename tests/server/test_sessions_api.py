"""Session endpoints of CONTRACT section 6, each status code (on one backend; the health check on each)."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from sessionhub.testing import FakeClock

from .util import assert_error, new_session

BAD_ID = "ses_" + "0" * 25  # well-formed but unknown


@pytest.mark.parametrize(
    "backend_url", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)
async def test_health_reports_database_and_version(client: httpx.AsyncClient, backend_url: str) -> None:
    """GET /api/health answers ok with the database kind (the backend's own) and version."""
    r = await client.get("/api/health")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok" and body["database"] == backend_url.split(":")[0] and body["version"]


async def test_create_and_get_session(client: httpx.AsyncClient) -> None:
    """POST creates a 201 session with the section 2 fields; GET returns it."""
    s = await new_session(client, title="Plans", metadata={"k": 1})
    assert s["id"].startswith("ses_") and s["title"] == "Plans" and s["title_source"] == "user"
    assert s["agent"] == "main" and s["provider"] == "echo" and s["model"] == "echo"
    assert s["metadata"] == {"k": 1} and s["status"] == "active" and s["created_at"].endswith("Z")
    r = await client.get(f"/api/sessions/{s['id']}")
    assert r.status_code == 200 and r.json()["id"] == s["id"]


async def test_create_rejects_bad_bodies(client: httpx.AsyncClient) -> None:
    """Unknown agent, unknown fields and wrong types are 422 with the envelope."""
    assert_error(await client.post("/api/sessions", json={"agent": "nobody"}), 422, "invalid_input")
    assert_error(await client.post("/api/sessions", json={"titel": "x"}), 422, "invalid_input")
    assert_error(await client.post("/api/sessions", json={"title": 5}), 422, "invalid_input")
    assert_error(await client.post("/api/sessions", json=[1, 2]), 422, "invalid_input")


async def test_model_override_at_creation(client: httpx.AsyncClient) -> None:
    """The model may be overridden at creation."""
    s = await new_session(client, model="echo-large")
    assert s["model"] == "echo-large"


async def test_list_views_paging_and_filters(client: httpx.AsyncClient, clock: FakeClock) -> None:
    """The list pages with next_cursor, filters by view/agent/channel and carries group."""
    ids = []
    for i in range(5):
        clock.advance(seconds=1)
        s = await new_session(client)
        await client.post(f"/api/sessions/{s['id']}/messages", json={"role": "user", "content": f"m {i}"})
        ids.append(s["id"])
    r = await client.get("/api/sessions", params={"limit": 2})
    assert r.status_code == 200
    page = r.json()
    assert len(page["sessions"]) == 2 and page["next_cursor"]
    assert all(s["group"] == "today" for s in page["sessions"])
    seen = [s["id"] for s in page["sessions"]]
    cursor = page["next_cursor"]
    while cursor:
        page = (await client.get("/api/sessions", params={"limit": 2, "cursor": cursor})).json()
        seen += [s["id"] for s in page["sessions"]]
        cursor = page["next_cursor"]
    assert sorted(seen) == sorted(ids) and seen == list(reversed(ids))
    r = await client.get("/api/sessions", params={"view": "all", "agent": "main", "channel": "web"})
    assert len(r.json()["sessions"]) == 5
    assert (await client.get("/api/sessions", params={"channel": "telegram"})).json()["sessions"] == []
    assert (await client.get("/api/sessions", params={"view": "archived"})).json()["sessions"] == []
    r = await client.get("/api/sessions", params={"tz": "Asia/Tokyo", "view": "scheduled"})
    assert r.status_code == 200


async def test_list_rejects_out_of_range_values(client: httpx.AsyncClient) -> None:
    """limit 0/501, unknown view or tz and a broken cursor are 422, never clamped."""
    for params in (
        {"limit": 0},
        {"limit": 501},
        {"limit": "ten"},
        {"view": "deleted"},
        {"tz": "Mars/Olympus"},
        {"tz": "America"},
        {"cursor": "!!!"},
        {"cursor": "WzEsMiwzXQ"[:5]},
    ):
        assert_error(await client.get("/api/sessions", params=params), 422, "invalid_input")
    assert (await client.get("/api/sessions", params={"limit": 500})).status_code == 200


async def test_recent_search_and_stats(client: httpx.AsyncClient) -> None:
    """recent, search (ranked hits with snippets) and stats answer their shapes."""
    s = await new_session(client)
    sid = s["id"]
    r = await client.post(
        f"/api/sessions/{sid}/messages", json={"role": "user", "content": "the purple elephant"}
    )
    assert r.status_code == 201
    recent = (await client.get("/api/sessions/recent", params={"limit": 5})).json()["sessions"]
    assert [x["id"] for x in recent] == [sid]
    hits = (await client.get("/api/sessions/search", params={"q": "purple elephant"})).json()["results"]
    assert hits and hits[0]["session"]["id"] == sid and "<mark>" in hits[0]["snippet"]
    message_hits = [h for h in hits if h["message_id"] is not None]
    assert message_hits and message_hits[0]["seq"] == 1 and message_hits[0]["message_id"].startswith("msg_")
    assert (await client.get("/api/sessions/search", params={"q": "zebra"})).json() == {"results": []}
    assert_error(await client.get("/api/sessions/search"), 422)
    assert_error(await client.get("/api/sessions/search", params={"q": "?!"}), 422)
    assert_error(await client.get("/api/sessions/search", params={"q": "x", "limit": 0}), 422)
    assert_error(await client.get("/api/sessions/search", params={"q": "x", "view": "bogus"}), 422)
    stats = (await client.get("/api/sessions/stats", params={"tz": "Europe/Paris"})).json()
    assert stats["total_sessions"] == 1 and stats["total_messages"] == 1 and stats["active"] == 1
    assert set(stats) == {
        "total_sessions", "sessions_today", "sessions_this_week", "total_messages", "active", "archived", "pinned",
    }  # fmt: skip
    assert_error(await client.get("/api/sessions/stats", params={"tz": "Nowhere/Land"}), 422)
    assert_error(await client.get("/api/sessions/recent", params={"limit": 501}), 422)


async def test_patch_title_pin_archive_restore(client: httpx.AsyncClient) -> None:
    """PATCH applies each field; a pinned session refuses archiving with 409 session_pinned."""
    sid = (await new_session(client))["id"]
    r = await client.patch(f"/api/sessions/{sid}", json={"title": "  New   name ", "pinned": True})
    assert r.status_code == 200 and r.json()["title"] == "New name" and r.json()["pinned"] is True
    assert r.json()["group"] == "pinned"
    assert_error(await client.patch(f"/api/sessions/{sid}", json={"archived": True}), 409, "session_pinned")
    r = await client.patch(f"/api/sessions/{sid}", json={"pinned": False, "archived": True})
    assert r.status_code == 200 and r.json()["status"] == "archived" and r.json()["read_only"] is True
    r = await client.post(f"/api/sessions/{sid}/messages", json={"role": "user", "content": "x"})
    assert_error(r, 409, "session_read_only")
    r = await client.patch(f"/api/sessions/{sid}", json={"archived": False, "metadata": {"a": [1]}})
    assert r.json()["status"] == "active" and r.json()["metadata"] == {"a": [1]}
    assert_error(await client.patch(f"/api/sessions/{sid}", json={"pinned": "yes"}), 422)
    assert_error(await client.patch(f"/api/sessions/{sid}", json={"title": ""}), 422)
    assert_error(await client.patch(f"/api/sessions/{BAD_ID}", json={"pinned": True}), 404, "not_found")


async def test_put_title(client: httpx.AsyncClient) -> None:
    """PUT /title renames as a user title; an empty title is 422; unknown ids 404."""
    sid = (await new_session(client))["id"]
    r = await client.put(f"/api/sessions/{sid}/title", json={"title": "Trip"})
    assert r.status_code == 200 and r.json()["title"] == "Trip" and r.json()["title_source"] == "user"
    assert_error(await client.put(f"/api/sessions/{sid}/title", json={"title": "   "}), 422)
    assert_error(await client.put(f"/api/sessions/{sid}/title", json={}), 422)
    assert_error(await client.put(f"/api/sessions/{BAD_ID}/title", json={"title": "x"}), 404)


async def test_delete_session(client: httpx.AsyncClient) -> None:
    """DELETE answers 204 and the session is gone (404 afterwards)."""
    sid = (await new_session(client))["id"]
    r = await client.delete(f"/api/sessions/{sid}")
    assert r.status_code == 204 and r.content == b""
    assert_error(await client.get(f"/api/sessions/{sid}"), 404)
    assert_error(await client.delete(f"/api/sessions/{sid}"), 404)


async def test_malformed_and_path_like_ids_are_404(client: httpx.AsyncClient) -> None:
    """Malformed, path-like and foreign-prefix ids are 404 with the envelope, never 500."""
    for bad in (
        "x",
        "ses_",
        "ses_ABC",
        "msg_" + "0" * 25,
        "..%2F..%2Fetc%2Fpasswd",
        "%2e%2e",
        "ses_%00",
        "a" * 3000,
    ):
        for method, suffix in (("GET", ""), ("DELETE", ""), ("GET", "/messages"), ("DELETE", "/messages")):
            r = await client.request(method, f"/api/sessions/{bad}{suffix}")
            assert_error(r, 404)


async def test_unknown_route_and_method(client: httpx.AsyncClient) -> None:
    """Unknown routes are a 404 envelope and wrong methods a 405 envelope."""
    assert_error(await client.get("/api/nothing-here"), 404, "not_found")
    assert_error(await client.put("/api/sessions"), 405, "method_not_allowed")


async def test_groups_follow_the_callers_timezone(client: httpx.AsyncClient, clock: FakeClock) -> None:
    """group is computed in the tz query parameter: 09:00 UTC is today in UTC at 11:00 UTC,
    but 23:00 yesterday in Kiritimati (UTC+14), where it is already 01:00 the next day."""
    clock.set(datetime(2026, 1, 15, 9, 0, tzinfo=UTC))
    sid = (await new_session(client))["id"]
    await client.post(f"/api/sessions/{sid}/messages", json={"role": "user", "content": "hi"})
    clock.set(datetime(2026, 1, 15, 11, 0, tzinfo=UTC))
    assert (await client.get(f"/api/sessions/{sid}", params={"tz": "UTC"})).json()["group"] == "today"
    r = await client.get(f"/api/sessions/{sid}", params={"tz": "Pacific/Kiritimati"})
    assert r.json()["group"] == "yesterday"
    assert_error(await client.get(f"/api/sessions/{sid}", params={"tz": "Bad/Zone"}), 422)
