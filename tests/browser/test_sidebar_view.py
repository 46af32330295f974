"""The sidebar of issue 18: pages appended to a bounded virtual list, live updates that keep
what is loaded, one timestamp for order and groups, the scheduled view's task groups, source
logos, counts and previews, filters, contrast, headings, the theme switch and shortcuts."""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from .conftest import CONFIG, Pages, Server, run_server

pytestmark = pytest.mark.browser

TASKS = """
[[tasks]]
name = "morning-digest"
cron = "0 8 1 1 *"
prompt = "digest please"

[triggers.deploy]
prompt = "A deploy happened: {{payload}}"
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with run_server(tmp_path_factory.mktemp("sidebar-view"), CONFIG + TASKS) as srv:
        yield srv


def row(page: Any, s: dict[str, Any]) -> Any:
    return page.locator(f'.row[data-id="{s["id"]}"]')


def test_sources_counts_previews_and_filters(server: Server, page: Any) -> None:
    """Each row shows its message count and preview, and a logo / gear / bolt / microphone for its
    source; the channel and agent filters narrow the list."""
    tg = server.call(
        "POST",
        "/api/inbound",
        json={"channel": "telegram", "chat": "42", "sender": "u1", "text": "hello from telegram"},
    )
    trig = server.call("POST", "/api/triggers/deploy", json={"v": 1})
    voice = server.call("POST", "/api/sessions", json={"metadata": {"type": "voice"}, "agent": "slow"})
    server.call(
        "POST", f"/api/sessions/{voice['id']}/messages", json={"role": "user", "content": "spoken words"}
    )
    plain = server.session("typed question here", "typed answer", title="A titled chat")
    server.call("POST", "/api/tasks/morning-digest/run")
    page.reload()
    expect(row(page, {"id": tg["session_id"]}).locator(".source")).to_have_attribute("data-kind", "telegram")
    expect(row(page, trig).locator(".source")).to_have_attribute("data-kind", "bolt")
    expect(row(page, voice).locator(".source")).to_have_attribute("data-kind", "mic")
    expect(row(page, plain).locator(".source")).to_have_attribute("data-kind", "chat")
    expect(page.locator('.row .source[data-kind="gear"]')).to_have_count(1, timeout=15_000)
    expect(row(page, plain).locator(".row-count")).to_have_text("2")
    expect(row(page, plain).locator(".row-preview")).to_have_text("typed question here")
    expect(row(page, plain).locator(".source svg")).to_have_attribute("aria-label", "Manual chat")
    page.select_option("#filter-channel", "telegram")
    expect(page.locator(".row")).to_have_count(1)
    expect(row(page, {"id": tg["session_id"]})).to_be_visible()
    page.select_option("#filter-channel", "")
    page.select_option("#filter-agent", "slow")
    expect(page.locator(".row")).to_have_count(1)
    expect(row(page, voice)).to_be_visible()
    page.select_option("#filter-agent", "")
    expect(row(page, plain)).to_be_visible()


def test_scheduled_view_keeps_task_group_when_opened(server: Server, page: Any) -> None:
    server.call("POST", "/api/tasks/morning-digest/run")
    page.click('.filter[data-view="scheduled"]')
    first = page.locator(".row").first
    expect(first).to_have_attribute("data-group", "task:morning-digest", timeout=15_000)
    expect(page.locator(".group-label").first).to_have_text("morning-digest")
    sid = first.get_attribute("data-id")
    first.locator(".row-open").click()
    expect(page.locator(f'.row[data-id="{sid}"]')).to_have_class(re.compile(r"\bactive\b"))
    page.wait_for_function("document.querySelector('#chat-meta').textContent.includes('message')")
    expect(page.locator(f'.row[data-id="{sid}"]')).to_have_attribute("data-group", "task:morning-digest")
    expect(page.locator('.group-label[data-group="today"]')).to_have_count(0)


def test_fork_of_an_old_session_keeps_groups_in_order(server: Server, page: Any) -> None:
    """A fork of a session from 2020 lists under Today at the top, the original under Older at
    the bottom: the order and the groups come from one timestamp."""
    s = server.session("an old conversation", "an old answer")
    exported = server.http.get(f"/api/sessions/{s['id']}/export", params={"format": "json"}).text
    old = re.sub(r"\d{4}-\d\d-\d\dT[\d:.]+Z", "2020-01-02T10:00:00.000Z", exported)
    imported = server.call("POST", "/api/sessions/import", json=json.loads(old))
    server.call("DELETE", f"/api/sessions/{s['id']}")
    fork = server.call("POST", f"/api/sessions/{imported['id']}/fork", json={})
    assert fork["group"] == "today"
    page.reload()
    expect(row(page, fork)).to_have_attribute("data-group", "today")
    expect(row(page, imported)).to_have_attribute("data-group", "older")
    labels = page.locator(".group-label").evaluate_all("els => els.map(e => e.dataset.group)")
    order = ["pinned", "today", "yesterday", "this_week", "older"]
    assert labels == sorted(labels, key=order.index), labels


def test_pages_append_to_a_bounded_list_and_live_updates_keep_it(server: Server, page: Any) -> None:
    """140 sessions: pages of 50 are appended as the list scrolls, the DOM keeps fewer than 60
    rows, and a message in a session far down moves only that row (nothing reloaded, no jump)."""
    seeded = [{"id": sid} for sid in server.seed_sessions([f"bulk {i}" for i in range(140)])]
    page.reload()
    listing = page.locator("#session-list")
    page.wait_for_function(
        """() => { const el = document.getElementById('session-list'); el.scrollTop = el.scrollHeight;
        return Number(el.dataset.count) >= 140; }""",
        polling=100,
    )
    total = int(listing.get_attribute("data-count") or 0)
    assert page.locator(".row").count() < 60
    listing.evaluate("el => el.scrollTop = 58 * 60")
    page.wait_for_function("document.querySelectorAll('.row').length > 0")
    before = listing.evaluate("el => el.scrollTop")
    target = seeded[5]  # listed near the bottom: among the oldest
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url) if "/api/sessions" in r.url else None)
    server.call(
        "POST", f"/api/sessions/{target['id']}/messages", json={"role": "user", "content": "moved up"}
    )
    page.wait_for_function(f"document.getElementById('session-list').dataset.top === '{target['id']}'")
    assert int(listing.get_attribute("data-count") or 0) == total
    assert listing.evaluate("el => el.scrollTop") == before
    assert not any("/api/sessions?" in u for u in requests), requests


CONTRAST = """(sel) => {
  const el = document.querySelector(sel);
  const rgb = (c) => (c.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  let bg = null;
  for (let n = el; n && !bg; n = n.parentElement) {
    const c = rgb(getComputedStyle(n).backgroundColor);
    if (c.length === 3 || (c.length === 4 && c[3] > 0.5)) bg = c.slice(0, 3);
  }
  bg = bg || [255, 255, 255];
  const style = getComputedStyle(el);
  const fg = rgb(style.color).slice(0, 3);
  const a = lum(fg), b = lum(bg);
  return { ratio: (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05), opacity: Number(style.opacity) };
}"""


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_contrast_of_badge_and_row_button(server: Server, pages: Pages, scheme: str) -> None:
    """The "interrupted" badge (text: 4.5:1) and the row's "…" button (3:1, always shown) are readable."""
    s = server.session("contrast check", {"role": "assistant", "content": "cut", "status": "interrupted"})
    page = pages.open(path=f"/s/{s['id']}", color_scheme=scheme)
    expect(page.locator(".badge.interrupted")).to_be_visible()
    badge = page.evaluate(CONTRAST, ".badge.interrupted")
    assert badge["ratio"] >= 4.5, badge
    page.mouse.move(900, 700)  # not hovering the list: the button must be readable anyway
    more = page.evaluate(CONTRAST, f'.row[data-id="{s["id"]}"] .row-more')
    assert more["ratio"] >= 3 and more["opacity"] == 1, more


def test_heading_order_theme_switch_and_shortcuts(server: Server, page: Any) -> None:
    """Headings go h1 → h2 → h3 without skipping; the theme button cycles system → light → dark
    (kept over a reload); "?" lists the shortcuts; Alt+↓ opens the next session."""
    a = server.session("first for shortcuts")
    b = server.session("second for shortcuts")
    page.reload()
    levels = page.locator("h1, h2, h3, h4").evaluate_all(
        "els => els.filter(e => e.offsetParent !== null).map(e => Number(e.tagName[1]))"
    )
    assert levels[0] == 1, levels
    assert all(b <= a + 1 for a, b in itertools.pairwise(levels)), levels
    bg = "getComputedStyle(document.body).backgroundColor"
    page.emulate_media(color_scheme="light")
    light = page.evaluate(bg)
    page.click("#theme-btn")  # system -> light
    expect(page.locator("#theme-btn")).to_have_attribute("data-theme", "light")
    page.click("#theme-btn")  # light -> dark
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    dark = page.evaluate(bg)
    assert dark != light
    page.reload()
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    assert page.evaluate(bg) == dark
    page.click("#theme-btn")  # dark -> system
    expect(page.locator("#theme-btn")).to_have_attribute("data-theme", "system")
    page.locator("#session-list").focus()
    page.keyboard.press("?")
    dialog = page.locator("#shortcuts-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.locator("dt").first).to_contain_text("Ctrl+K")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    row(page, b).locator(".row-open").click()
    expect(page.locator("#chat-title")).to_have_text("second for shortcuts")
    page.locator("#session-list").focus()
    page.keyboard.press("Alt+ArrowDown")
    expect(page.locator("#chat-title")).to_have_text("first for shortcuts")
    expect(row(page, a)).to_have_class(re.compile(r"\bactive\b"))


def test_a_chosen_theme_wins_over_the_system_one(pages: Pages) -> None:
    """The palette follows the system until a theme is chosen; light chosen on a dark system
    is light (body and code colours), dark chosen on a light system is dark."""
    bg = "getComputedStyle(document.body).backgroundColor"
    code = "getComputedStyle(document.documentElement).getPropertyValue('color-scheme')"
    for system, chosen_clicks, want in (("dark", 1, "rgb(255, 255, 255)"), ("light", 2, "rgb(21, 23, 27)")):
        page = pages.open(color_scheme=system)
        page.evaluate("localStorage.clear()")
        page.reload()
        system_bg = page.evaluate(bg)
        assert system_bg == ("rgb(21, 23, 27)" if system == "dark" else "rgb(255, 255, 255)"), system_bg
        for _ in range(chosen_clicks):  # system -> light -> dark
            page.click("#theme-btn")
        assert page.evaluate(bg) == want, (system, page.evaluate(code))
        page.close()
