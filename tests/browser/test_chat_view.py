"""The conversation view of issue 18: chat commands that move or rename, provider errors with
Retry, markdown (tables, nested lists, code in lists, highlighting, copy), a bounded window
of messages around a search hit, paging on scroll, announcements, and a URL per session."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from .conftest import CONFIG, Pages, Server, run_server

pytestmark = pytest.mark.browser

# a provider that cannot be reached: every turn of the "broken" agent ends in `error`
BROKEN = """
[[agents]]
id = "broken"
provider = "down"
model = "gpt-x"

[providers.down]
type = "openai"
base_url = "http://127.0.0.1:9/v1"
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with run_server(tmp_path_factory.mktemp("chat-view"), CONFIG + BROKEN) as srv:
        yield srv


def many(server: Server, n: int, marker_at: dict[int, str] | None = None) -> dict[str, Any]:
    """A session of ``n`` short messages (user / assistant alternating), seeded in batches."""
    s = server.call("POST", "/api/sessions", json={})
    marker_at = marker_at or {}
    batch: list[dict[str, Any]] = []
    for seq in range(1, n + 1):
        role = "user" if seq % 2 else "assistant"
        batch.append({"role": role, "content": marker_at.get(seq, f"line {seq}")})
        if len(batch) == 500 or seq == n:
            server.call("POST", f"/api/sessions/{s['id']}/messages", json={"messages": batch})
            batch = []
    return dict(server.call("GET", f"/api/sessions/{s['id']}"))


def open_row(page: Any, s: dict[str, Any]) -> None:
    page.locator(f'.row[data-id="{s["id"]}"] .row-open').click()


def test_new_command_moves_the_view_and_the_next_message(server: Server, page: Any) -> None:
    """/new in the composer opens the new session: the view, the URL and the next message follow it."""
    old = server.session("before the new command", "ok")
    page.reload()
    open_row(page, old)
    expect(page).to_have_url(re.compile(f"/s/{old['id']}$"))
    page.fill("#composer-input", "/new")
    page.keyboard.press("Enter")
    page.wait_for_function(f"localStorage.getItem('sessionhub.activeSession') !== '{old['id']}'")
    new_id = page.evaluate("localStorage.getItem('sessionhub.activeSession')")
    expect(page).to_have_url(re.compile(f"/s/{new_id}$"))
    expect(page.locator(".msg.user")).to_have_count(0)
    page.fill("#composer-input", "lands in the new session")
    page.keyboard.press("Enter")
    expect(page.locator(".msg.assistant .msg-body").last).to_contain_text("lands", timeout=15_000)
    assert server.call("GET", f"/api/sessions/{old['id']}")["message_count"] == 2
    got = server.call("GET", f"/api/sessions/{new_id}/messages")["messages"]
    assert got[0]["content"] == "lands in the new session"


def test_rename_command_updates_header_and_row(server: Server, page: Any) -> None:
    s = server.session("rename me from the chat", "fine")
    page.reload()
    open_row(page, s)
    page.fill("#composer-input", "/rename Named by command")
    page.keyboard.press("Enter")
    expect(page.locator("#chat-title")).to_have_text("Named by command")
    expect(page.locator(f'.row[data-id="{s["id"]}"] .row-title')).to_have_text("Named by command")


def test_provider_error_keeps_reason_on_message_and_retry(server: Server, page: Any) -> None:
    """A provider error shows its reason on the failed reply (not only in a toast) with Retry;
    the reason is still there after a reload."""
    page.click("#new-chat")
    page.select_option("#agent-select", "broken")
    page.fill("#composer-input", "please fail")
    page.keyboard.press("Enter")
    box = page.locator(".msg.assistant .msg-error").last
    expect(box).to_be_visible(timeout=15_000)
    reason = box.locator(".msg-error-text").inner_text()
    assert reason.startswith("Error: ") and len(reason) > len("Error: ") + 5, reason
    assert "not kept" not in reason
    expect(page.locator(".toast.error")).to_have_count(0)
    box.locator(".retry").click()
    expect(page.locator(".msg.assistant .msg-error")).to_have_count(2, timeout=15_000)
    expect(page.locator(".msg.user")).to_have_count(2)
    expect(page.locator(".msg.user .msg-body").last).to_have_text("please fail")
    page.reload()
    expect(page.locator(".msg.assistant .msg-error-text").first).to_have_text(reason)


TABLE_REPLY = """Here you go:

| tool | stars |
|:-----|------:|
| marked | 35k |
| DOMPurify | 14k |

1. first
   - nested a
   - nested b
2. second, with code:

   ```python
   def hello():
       return "hi"
   ```
"""


def test_markdown_tables_nested_lists_code_and_copy(server: Server, pages: Pages) -> None:
    """GFM tables, nested lists and fenced code inside a list item render; code is highlighted;
    copy buttons copy the code and the message. Under the real CSP (no bypass)."""
    s = server.session("show me markdown", TABLE_REPLY)
    ctx = pages.context(bypass_csp=False)
    ctx.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.base)
    page = pages.open(ctx, path=f"/s/{s['id']}")
    body = page.locator(".msg.assistant .msg-body")
    expect(body.locator("table th")).to_have_text(["tool", "stars"])
    expect(body.locator("table td").nth(1)).to_have_text("35k")
    expect(body.locator("ol > li > ul > li")).to_have_text(["nested a", "nested b"])
    code = body.locator("ol > li .code-block pre code")
    expect(code).to_contain_text('return "hi"')
    expect(code.locator(".hljs-keyword").first).to_have_text("def")
    body.locator(".code-block .copy-code").click()
    expect(body.locator(".code-block .copy-code")).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == 'def hello():\n    return "hi"'
    msg = page.locator(".msg.assistant")
    msg.hover()
    msg.locator(".copy-msg").click()
    assert page.evaluate("navigator.clipboard.readText()") == TABLE_REPLY


def test_jump_to_old_hit_loads_a_window_and_pages_outwards(server: Server, page: Any) -> None:
    """Hit #120 of 1,200: a window around it (not the whole history), later pages on scroll
    down, and the scroll-to-bottom button brings the latest messages back."""
    s = many(server, 1200, {120: "the quixotrombone appears here"})
    page.keyboard.press("Control+k")
    page.keyboard.type("quixotrombone")
    page.locator(f'.result[data-id="{s["id"]}"][data-seq="120"]').click()
    hit = page.locator('.msg[data-seq="120"]')
    expect(hit).to_have_class(re.compile(r"\bhit\b"))
    expect(hit).to_be_in_viewport()
    shown = page.locator(".msg").count()
    assert 50 <= shown <= 120, shown
    expect(page.locator("#to-bottom")).to_be_visible()
    # scrolling down pages forward: later messages arrive without a click
    page.wait_for_function(
        """() => { const el = document.getElementById('messages-scroll'); el.scrollTop = el.scrollHeight;
        return !!document.querySelector('.msg[data-seq="200"]'); }""",
        polling=100,
    )
    assert page.locator(".msg").count() <= 320
    page.click("#to-bottom")
    expect(page.locator('.msg[data-seq="1200"]')).to_be_in_viewport()
    assert page.locator(".msg").count() <= 60
    expect(page.locator("#to-bottom")).to_be_hidden()


def test_scroll_up_loads_older_and_a_live_change_keeps_them(server: Server, page: Any) -> None:
    """Scrolling to the top loads earlier messages by itself; a message arriving meanwhile
    keeps what was loaded and where the reader is."""
    s = many(server, 260)
    page.reload()
    open_row(page, s)
    expect(page.locator('.msg[data-seq="260"]')).to_be_visible()
    assert page.locator(".msg").count() == 50
    scroller = page.locator("#messages-scroll")
    scroller.evaluate("el => el.scrollTop = 0")
    expect(page.locator('.msg[data-seq="180"]')).to_be_attached()
    scroller.evaluate("el => el.scrollTop = 0")
    expect(page.locator('.msg[data-seq="150"]')).to_be_attached()
    expect(page.locator("#to-bottom")).to_be_visible()
    loaded = page.locator(".msg").count()
    assert loaded >= 110, loaded
    anchor = page.evaluate(
        """() => { const top = document.getElementById('messages-scroll').getBoundingClientRect().top;
        const li = [...document.querySelectorAll('.msg')].find(m => m.getBoundingClientRect().bottom > top + 1);
        return [li.dataset.seq, li.getBoundingClientRect().top]; }"""
    )
    server.call(
        "POST", f"/api/sessions/{s['id']}/messages", json={"role": "user", "content": "from elsewhere"}
    )
    expect(page.locator('.msg[data-seq="261"]')).to_be_attached()
    assert page.locator(".msg").count() == loaded + 1
    top = page.locator(f'.msg[data-seq="{anchor[0]}"]').evaluate("el => el.getBoundingClientRect().top")
    assert abs(top - anchor[1]) < 2, (top, anchor)


def test_one_announcement_per_message(server: Server, page: Any) -> None:
    """Streaming does not re-announce: the message list is no live region, and the announcer
    speaks once for the finished reply."""
    assert page.locator("#messages").get_attribute("aria-live") is None
    page.evaluate(
        """() => { window.__said = []; new MutationObserver(() => window.__said.push(
        document.getElementById('announcer').textContent)).observe(document.getElementById('announcer'),
        {childList: true, characterData: true, subtree: true}); }"""
    )
    page.click("#new-chat")
    page.fill("#composer-input", " ".join(f"tok{i}" for i in range(20)))
    page.keyboard.press("Enter")
    expect(page.locator(".msg.assistant .msg-body").last).to_contain_text("tok19", timeout=15_000)
    expect(page.locator("#send-btn")).to_be_visible()
    page.wait_for_function("window.__said.length >= 1")
    said = page.evaluate("window.__said")
    assert len(said) == 1 and said[0].startswith("Assistant") and "tok19" in said[0], said


def test_session_urls_back_forward_and_cached_reload(server: Server, pages: Pages) -> None:
    """/s/<id> per session: back and forward move between sessions, a deep link opens one, and a
    reload shows the cached messages before the server answers."""
    a = server.session("alpha session words", "alpha reply")
    b = server.session("beta session words", "beta reply")
    ctx = pages.context()
    page = pages.open(ctx)
    href = page.locator(f'.row[data-id="{a["id"]}"] .row-open').get_attribute("href")
    assert href == f"/s/{a['id']}"
    open_row(page, a)
    expect(page).to_have_url(re.compile(f"/s/{a['id']}$"))
    open_row(page, b)
    expect(page.locator(".msg.user .msg-body")).to_have_text("beta session words")
    page.go_back()
    expect(page).to_have_url(re.compile(f"/s/{a['id']}$"))
    expect(page.locator(".msg.user .msg-body")).to_have_text("alpha session words")
    page.go_forward()
    expect(page.locator(".msg.user .msg-body")).to_have_text("beta session words")
    deep = pages.open(ctx, path=f"/s/{a['id']}")
    expect(deep.locator(".msg.user .msg-body")).to_have_text("alpha session words")
    expect(deep.locator(f'.row[data-id="{a["id"]}"]')).to_have_class(re.compile(r"\bactive\b"))
    deep.wait_for_function(f"localStorage.getItem('sessionhub.cache.{a['id']}') !== null")
    held: list[Any] = []
    deep.route(re.compile(r"/api/sessions/[^/]+/messages"), lambda route: held.append(route))
    deep.reload()
    expect(deep.locator(".msg.user .msg-body")).to_have_text("alpha session words")  # from the cache
    for _ in range(250):  # the refresh request follows the cached view
        if held:
            break
        deep.wait_for_timeout(20)
    assert held, "the reload did not ask the server"
    for route in held:
        route.continue_()
    deep.unroute(re.compile(r"/api/sessions/[^/]+/messages"))
