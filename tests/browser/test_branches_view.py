"""Regenerate, edit and "‹ 1/2 ›" in the dashboard (issue 18 point 13, CONTRACT §11.9)."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from .conftest import SCREENSHOTS, Server

pytestmark = pytest.mark.browser


def msg(page: Any, seq: int) -> Any:
    return page.locator(f'#messages .msg[data-seq="{seq}"]')


def body(page: Any, seq: int) -> Any:
    return msg(page, seq).locator(".msg-body")


def test_regenerate_edit_and_switch_between_alternatives(server: Server, page: Any) -> None:
    """Regenerate keeps the old reply as alternative 1/2 beside the new one; ‹ and › move between
    them; editing a user message sends it again and nests the earlier alternatives under it."""
    s = server.session("first question", "first answer", "second question", "second answer")
    page.reload()
    page.locator(f'.row[data-id="{s["id"]}"] .row-open').click()
    expect(body(page, 4)).to_have_text("second answer")
    expect(msg(page, 4).locator(".branch-switch")).to_have_count(0)
    expect(msg(page, 3).locator(".regenerate")).to_have_count(0)  # user messages are edited instead

    msg(page, 4).hover()
    msg(page, 4).locator(".regenerate").click()
    expect(body(page, 4)).to_have_text("second question")  # the echo agent answers again
    switch = msg(page, 4).locator(".branch-switch")
    expect(switch.locator(".branch-pos")).to_have_text("2/2")
    expect(switch.get_by_role("button", name="Show alternative 3 of 2")).to_be_disabled()

    switch.get_by_role("button", name="Show alternative 1 of 2").click()
    expect(body(page, 4)).to_have_text("second answer")
    expect(msg(page, 4).locator(".branch-pos")).to_have_text("1/2")
    msg(page, 4).get_by_role("button", name="Show alternative 2 of 2").click()
    expect(body(page, 4)).to_have_text("second question")

    msg(page, 3).hover()
    msg(page, 3).locator(".edit").click()
    box = msg(page, 3).locator("textarea")
    expect(box).to_have_value("second question")
    box.fill("an edited question")
    msg(page, 3).get_by_role("button", name="Save & send").click()
    expect(body(page, 3)).to_have_text("an edited question")
    expect(body(page, 4)).to_have_text("an edited question")
    expect(msg(page, 3).locator(".branch-pos")).to_have_text("2/2")
    expect(msg(page, 4).locator(".branch-switch")).to_have_count(0)  # its alternatives live in 1/2
    page.screenshot(path=str(SCREENSHOTS / "branch-point.png"))

    msg(page, 3).get_by_role("button", name="Show alternative 1 of 2").click()
    expect(body(page, 3)).to_have_text("second question")
    expect(body(page, 4)).to_have_text("second question")
    expect(msg(page, 4).locator(".branch-pos")).to_have_text("2/2")

    # the dashboard only used the REST API: the server agrees on the history and the branches
    history = server.call("GET", f"/api/sessions/{s['id']}/messages")["messages"]
    assert [m["content"] for m in history] == [
        "first question",
        "first answer",
        "second question",
        "second question",
    ]
    listed = server.call("GET", f"/api/sessions/{s['id']}/branches")["branches"]
    assert sorted((b["at_seq"], b["preview"]) for b in listed) == [
        (3, "an edited question"),
        (4, "second answer"),
    ]

    # a reload shows the same switchers (they come from the server, not from the page's memory)
    page.reload()
    page.locator(f'.row[data-id="{s["id"]}"] .row-open').click()
    expect(msg(page, 4).locator(".branch-pos")).to_have_text("2/2")
    expect(msg(page, 3).locator(".branch-pos")).to_have_text("1/2")


def test_edit_can_be_cancelled_and_archived_sessions_offer_nothing(server: Server, page: Any) -> None:
    """Escape cancels an edit without a request; an archived session has no regenerate or edit."""
    s = server.session("keep me", "as I am")
    page.reload()
    page.locator(f'.row[data-id="{s["id"]}"] .row-open').click()
    msg(page, 1).hover()
    msg(page, 1).locator(".edit").click()
    msg(page, 1).locator("textarea").fill("changed my mind")
    msg(page, 1).locator("textarea").press("Escape")
    expect(msg(page, 1).locator("textarea")).to_have_count(0)
    expect(body(page, 1)).to_have_text("keep me")
    assert server.call("GET", f"/api/sessions/{s['id']}/branches")["branches"] == []

    a = server.session("old and archived", "reply")
    server.call("PATCH", f"/api/sessions/{a['id']}", json={"archived": True})
    page.goto(server.base + "/")
    page.wait_for_selector("#session-list .row, #session-list .empty", state="attached")
    page.evaluate(f"import('/static/chat.js').then((c) => c.openSession({a['id']!r}))")
    expect(body(page, 2)).to_have_text("reply")
    expect(page.locator("#messages .regenerate, #messages .edit")).to_have_count(0)
