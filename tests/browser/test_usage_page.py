"""The Usage page (/usage) in a real browser: totals, the daily chart and the top lists agree
with GET /api/usage for the browser's own time zone; presets and the date inputs redraw it."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from .conftest import SCREENSHOTS, Pages, Server

pytestmark = pytest.mark.browser


def test_usage_page_draws_what_the_api_sums(server: Server, pages: Pages) -> None:
    s = server.session(
        {"role": "user", "content": "price me", "usage": {"input_tokens": 0, "output_tokens": 0}},
        {"role": "assistant", "content": "sure", "usage": {"input_tokens": 125_000, "output_tokens": 40_000}},
        title="Costly chat",
    )
    ctx = pages.context(timezone_id="Asia/Kathmandu")
    page = ctx.new_page()
    page.on("pageerror", lambda e: pages.errors.append(str(e)))
    page.goto(server.base + "/usage")
    expect(page.locator("body")).to_have_attribute("data-loaded", "true")

    start = page.input_value("#usage-from")
    end = page.input_value("#usage-to")
    api = server.call("GET", "/api/usage", params={"from": start, "to": end, "tz": "Asia/Kathmandu"})
    assert api["totals"]["input_tokens"] >= 125_000
    t = api["totals"]
    expect(page.locator('[data-stat="Input tokens"]')).to_have_text(f"{t['input_tokens']:,}")
    expect(page.locator('[data-stat="Messages"]')).to_have_text(f"{t['messages']:,}")
    cost = t["cost"]
    assert cost is not None and cost >= 0.57  # 125k in at $2/M + 40k out at $8/M
    expect(page.locator('[data-stat="Cost"]')).to_have_text(f"${cost:.4f}" if cost < 1 else f"${cost:.2f}")

    bars = page.locator("#usage-chart g[data-day]")
    expect(bars).to_have_count(30)
    assert [bars.nth(i).get_attribute("data-day") for i in (0, 29)] == [
        api["rows"][0]["key"],
        api["rows"][-1]["key"],
    ]
    link = page.locator("#usage-session a", has_text="Costly chat")
    expect(link).to_have_attribute("href", f"/s/{s['id']}")
    expect(page.locator("#usage-model td").first).to_have_text("echo")
    page.screenshot(path=str(SCREENSHOTS / "usage.png"), full_page=True)

    page.click('[data-days="7"]')
    expect(bars).to_have_count(7)
    expect(page.locator('[data-days="7"]')).to_have_attribute("aria-pressed", "true")
    page.fill("#usage-from", "2020-01-01")
    page.fill("#usage-to", "2020-01-03")
    page.click("#usage-range button[type=submit]")
    expect(bars).to_have_count(3)
    expect(page.locator('[data-stat="Messages"]')).to_have_text("0")
    assert "from=2020-01-01" in page.url


def test_usage_link_from_the_dashboard(page: Any) -> None:
    page.click("a.usage-link")
    page.wait_for_url("**/usage?from=*")
    expect(page.locator("h1")).to_have_text("Usage")
