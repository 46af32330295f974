"""The dashboard's search box (server/static/searchbox.js): as you type, one hit per session."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from .conftest import Server

pytestmark = pytest.mark.browser


def test_search_as_you_type_groups_by_session(server: Server, page: Any) -> None:
    """A typed prefix finds the word; a session with five hits shows once, with "4 more in this session"."""
    many = server.session(*[f"the quollbandicoot count is {i}" for i in range(5)], title="notes")
    one = server.session("a single quollbandicoot here", "and 苹果很好吃", title="notes")
    page.reload()
    page.wait_for_selector("#session-list .row", state="attached")  # the page's scripts are running
    page.keyboard.press("Control+k")
    expect(page.get_by_role("searchbox", name="Search sessions")).to_be_focused()
    page.keyboard.type("quollband")  # a prefix of the word: found while typing
    hit = page.locator(f'.result[data-id="{many["id"]}"]')
    # The first search of a fresh server may wait for the embedding model (hybrid is the default
    # with the semantic extra): a longer first wait, the rest at the default.
    expect(hit).to_be_visible(timeout=30_000)
    expect(hit.locator(".result-more")).to_have_text("4 more in this session")
    expect(hit.locator("mark")).to_have_text("quollbandicoot")
    single = page.locator(f'.result[data-id="{one["id"]}"]')
    expect(single).to_be_visible()
    expect(single.locator(".result-more")).to_have_count(0)
    expect(page.locator(".results-count")).to_have_text("2 sessions, 6 hits")
    page.fill("#search-input", "苹果")
    expect(page.locator(f'.result[data-id="{one["id"]}"] mark')).to_have_text("苹果")
    expect(page.locator(".result")).to_have_count(1)
