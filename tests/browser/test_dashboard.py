"""The web dashboard in a real browser against a real server (issue 9)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from .conftest import SCREENSHOTS, Pages, Server

pytestmark = pytest.mark.browser


def row(page: Any, session: dict[str, Any]) -> Any:
    return page.locator(f'.row[data-id="{session["id"]}"]')


def open_menu(page: Any, session: dict[str, Any]) -> Any:
    row(page, session).locator(".row-more").click()
    menu = page.locator("#row-menu")
    expect(menu).to_be_visible()
    return menu


def test_sessions_listed_grouped_and_open(server: Server, page: Any) -> None:
    """Seeded sessions appear under Today with their source icon; clicking one shows its history."""
    s = server.session("hello sidebar alpha", "hi there **bold**")
    page.reload()
    r = row(page, s)
    expect(r).to_be_visible()
    expect(r).to_have_attribute("data-group", "today")
    expect(r.locator(".source")).to_have_attribute("data-source", "manual")
    r.locator(".row-open").click()
    expect(page.locator(".msg.user .msg-body")).to_have_text("hello sidebar alpha")
    expect(page.locator(".msg.assistant .msg-body strong")).to_have_text("bold")
    expect(page.locator("#chat-title")).to_have_text("hello sidebar alpha")


def test_create_session_with_agent_and_model(server: Server, page: Any) -> None:
    """New chat: the agent's default model is pre-filled, can be overridden, and the session is created with them."""
    page.click("#new-chat")
    page.select_option("#agent-select", "slow")
    expect(page.locator("#model-input")).to_have_value("echo-slow")
    page.select_option("#agent-select", "main")
    expect(page.locator("#model-input")).to_have_value("echo")
    page.fill("#model-input", "echo-custom")
    page.fill("#composer-input", "create me please")
    page.keyboard.press("Enter")
    expect(page.locator("#new-chat-panel")).to_be_hidden()
    page.wait_for_function("localStorage.getItem('sessionhub.activeSession')")
    sid = page.evaluate("localStorage.getItem('sessionhub.activeSession')")
    s = server.call("GET", f"/api/sessions/{sid}")
    assert (s["agent"], s["model"]) == ("main", "echo-custom")
    expect(page.locator(f'.row[data-id="{sid}"]')).to_be_visible()


def test_reply_streams_word_by_word(server: Server, page: Any) -> None:
    """A reply streams in: partial text first, then the whole echo, persisted."""
    page.click("#new-chat")
    words = " ".join(f"word{i}" for i in range(25))
    page.fill("#composer-input", words)
    page.keyboard.press("Enter")
    reply = page.locator(".msg.assistant .msg-body").last
    expect(reply).to_contain_text("word0")
    partial = reply.inner_text()
    assert "word24" not in partial, "the reply arrived at once instead of streaming"
    expect(page.locator("#stop-btn")).to_be_visible()
    expect(reply).to_contain_text("word24", timeout=15_000)
    expect(page.locator("#send-btn")).to_be_visible()
    expect(page.locator(".msg.user .msg-body")).to_have_text(words)
    page.reload()
    expect(page.locator(".msg.assistant .msg-body").last).to_contain_text("word24")


def test_sent_message_settles_when_history_comes_before_its_event(server: Server, pages: Pages) -> None:
    """The stored user message reaches the page through a history fetch before its WebSocket
    ``message`` event (held back here; under load it happens by itself): the optimistic copy
    gives way to it, no second copy stays on "sending…", and the reply still streams in."""
    words = "history first then the event " + " ".join(f"w{i}" for i in range(10))
    held: list[str | bytes] = []
    holding = [False]
    routes: list[Any] = []

    def route(ws: Any) -> None:
        upstream = ws.connect_to_server()
        routes.append(ws)

        def to_server(message: str | bytes) -> None:
            if json.loads(message).get("action") == "chat":
                holding[0] = True  # from here on, every event but sessions_changed waits
            upstream.send(message)

        def from_server(message: str | bytes) -> None:
            if holding[0] and json.loads(message).get("type") != "sessions_changed":
                held.append(message)
            else:
                ws.send(message)

        upstream.on_message(from_server)
        ws.on_message(to_server)

    ctx = pages.context()
    ctx.route_web_socket(re.compile(r"/ws(\?|$)"), route)
    page = pages.open(ctx)
    page.click("#new-chat")
    page.fill("#composer-input", words)
    page.keyboard.press("Enter")
    # Only a history fetch (after sessions_changed) can show the stored copy: its event is held.
    expect(page.locator('.msg.user:not([data-seq=""])')).to_have_count(1, timeout=15_000)
    expect(page.locator(".msg.user")).to_have_count(1)
    expect(page.locator(".msg.user .badge")).to_have_count(0)
    ws = routes[-1]
    while held:  # the held events go out in order (those arriving meanwhile queue behind)
        ws.send(held[0])
        held.pop(0)
    holding[0] = False
    reply = page.locator(".msg.assistant .msg-body").last
    expect(reply).to_contain_text("w9", timeout=15_000)
    expect(page.locator("#send-btn")).to_be_visible()
    expect(page.locator(".msg.user")).to_have_count(1)
    expect(page.locator(".msg.user .msg-body")).to_have_text(words)
    expect(page.locator(".msg.user .badge")).to_have_count(0)


def test_stop_keeps_partial_reply_after_reload(server: Server, page: Any) -> None:
    """Stop mid-stream: the partial reply stays, marked interrupted, also after a reload."""
    page.click("#new-chat")
    page.select_option("#agent-select", "slow")
    page.fill("#composer-input", " ".join(f"slow{i}" for i in range(60)))
    page.keyboard.press("Enter")
    reply = page.locator(".msg.assistant").last
    expect(reply.locator(".msg-body")).to_contain_text("slow2", timeout=15_000)
    page.click("#stop-btn")
    expect(reply.locator(".badge.interrupted")).to_be_visible()
    text = reply.locator(".msg-body").inner_text()
    assert "slow59" not in text
    page.reload()
    again = page.locator(".msg.assistant").last
    expect(again.locator(".badge.interrupted")).to_be_visible()
    expect(again.locator(".msg-body")).to_contain_text("slow2")
    expect(page.locator("#send-btn")).to_be_visible()


def test_tool_call_strip_and_chat_command(server: Server, page: Any) -> None:
    """A tool call shows as a collapsible strip; a /command is answered in the chat."""
    page.click("#new-chat")
    page.fill("#composer-input", "what time is it [[tool:current_time {}]]")
    page.keyboard.press("Enter")
    strip = page.locator("details.tool").first
    expect(strip.locator(".tool-name")).to_have_text("current_time", timeout=15_000)
    strip.locator("summary").click()
    expect(strip.locator(".tool-input")).to_be_visible()
    expect(page.locator("#send-btn")).to_be_visible(timeout=15_000)
    page.fill("#composer-input", "/help")
    page.keyboard.press("Enter")
    expect(page.locator(".msg.note").last).to_contain_text("/new", timeout=10_000)


def test_openai_items_show_as_labelled_strips(server: Server, page: Any) -> None:
    """Items of other types written through /v1 (reasoning, web search) read as labelled strips."""
    conv = server.call(
        "POST",
        "/v1/conversations",
        json={
            "items": [
                {"role": "user", "content": "find the weather"},
                {
                    "type": "reasoning",
                    "id": "rs_1",
                    "summary": [{"type": "summary_text", "text": "I should search"}],
                },
                {
                    "type": "web_search_call",
                    "id": "ws_1",
                    "status": "completed",
                    "action": {"type": "search"},
                },
                {"role": "assistant", "content": "Sunny."},
            ]
        },
    )
    s = server.call("GET", "/api/sessions/ses_" + conv["id"].removeprefix("conv_"))
    page.reload()
    row(page, s).click()
    strips = page.locator("details.openai-item")
    expect(strips).to_have_count(2, timeout=10_000)
    expect(strips.nth(0).locator(".tool-name")).to_have_text("reasoning")
    expect(strips.nth(1).locator(".tool-name")).to_have_text("web_search_call")
    expect(page.locator('.msg[data-seq="2"]')).to_contain_text("I should search")
    strips.nth(1).locator("summary").click()
    expect(strips.nth(1).locator("pre")).to_contain_text('"ws_1"')
    expect(page.locator('.msg[data-seq="4"]')).to_contain_text("Sunny.")


def test_rename_by_double_click(server: Server, page: Any) -> None:
    """Double-clicking a title edits it inline; Enter saves a user title, Escape cancels."""
    s = server.session("rename me please")
    page.reload()
    title = row(page, s).locator(".row-title")
    title.dblclick()
    box = row(page, s).locator(".rename-input")
    box.fill("Renamed in the browser")
    box.press("Enter")
    expect(row(page, s).locator(".row-title")).to_have_text("Renamed in the browser")
    got = server.call("GET", f"/api/sessions/{s['id']}")
    assert (got["title"], got["title_source"]) == ("Renamed in the browser", "user")
    row(page, s).locator(".row-title").dblclick()
    row(page, s).locator(".rename-input").fill("not this")
    row(page, s).locator(".rename-input").press("Escape")
    expect(row(page, s).locator(".row-title")).to_have_text("Renamed in the browser")
    assert server.call("GET", f"/api/sessions/{s['id']}")["title"] == "Renamed in the browser"


def test_a_refresh_keeps_rows_that_look_the_same(server: Server, page: Any) -> None:
    """A live update that changes nothing a row shows keeps the row's node (a double-click on a
    title whose row is redrawn between its two clicks is lost); a visible change redraws it."""
    s = server.session("keep my row")
    page.reload()
    expect(page.locator("#conn")).to_have_text("live")  # live events reach this page
    row(page, s).evaluate("el => { el.dataset.mark = 'kept' }")
    fetched = f"/api/sessions/{s['id']}"
    with page.expect_response(lambda r: urlsplit(r.url).path == fetched and r.request.method == "GET") as got:
        server.call("PATCH", fetched, json={"metadata": {"unseen": 1}})
    got.value.finished()
    page.evaluate("() => new Promise((r) => setTimeout(r, 50))")  # the fetch's handler ran
    expect(row(page, s)).to_have_attribute("data-mark", "kept")
    server.call("PATCH", fetched, json={"title": "Seen change"})
    expect(row(page, s).locator(".row-title")).to_have_text("Seen change")
    expect(row(page, s)).not_to_have_attribute("data-mark", "kept")
    # the kept row acts on the session as it is now: the menu's rename starts from the new title
    row(page, s).evaluate("el => { el.dataset.mark = 'kept' }")
    with page.expect_response(lambda r: urlsplit(r.url).path == fetched and r.request.method == "GET") as got:
        server.call("PATCH", fetched, json={"metadata": {"unseen": 2}})
    got.value.finished()
    page.evaluate("() => new Promise((r) => setTimeout(r, 50))")
    expect(row(page, s)).to_have_attribute("data-mark", "kept")
    open_menu(page, s).locator('[data-action="rename"]').click()
    expect(row(page, s).locator(".rename-input")).to_have_value("Seen change")
    row(page, s).locator(".rename-input").press("Escape")


def test_pin_archive_rules_and_restore(server: Server, page: Any) -> None:
    """Pinned sessions list first and cannot be archived (reason shown); archived ones are read-only until restored."""
    s = server.session("pin and archive me")
    page.reload()
    open_menu(page, s).locator('[data-action="pin"]').click()
    expect(page.locator(f'.row[data-group="pinned"][data-id="{s["id"]}"]')).to_be_visible()
    archive = open_menu(page, s).locator('[data-action="archive"]')
    expect(archive).to_have_attribute("aria-disabled", "true")
    expect(archive).to_have_attribute("title", re.compile("unpin", re.I))
    archive.click(force=True)
    expect(page.locator(".toast").last).to_contain_text("unpin")
    page.keyboard.press("Escape")
    assert server.call("GET", f"/api/sessions/{s['id']}")["status"] == "active"
    open_menu(page, s).locator('[data-action="unpin"]').click()
    expect(page.locator('.group-label[data-group="pinned"]')).to_have_count(0)
    open_menu(page, s).locator('[data-action="archive"]').click()
    expect(row(page, s)).to_have_count(0)
    assert server.call("GET", f"/api/sessions/{s['id']}")["status"] == "archived"

    page.click('.filter[data-view="archived"]')
    row(page, s).locator(".row-open").click()
    expect(page.locator("#readonly-bar")).to_be_visible()
    expect(page.locator("#composer")).to_be_hidden()
    expect(page.locator(".msg.user .msg-body")).to_have_text("pin and archive me")
    page.click("#restore-btn")
    expect(page.locator("#composer")).to_be_visible()
    expect(page.locator("#readonly-bar")).to_be_hidden()
    assert server.call("GET", f"/api/sessions/{s['id']}")["status"] == "active"
    page.click('.filter[data-view="active"]')
    expect(row(page, s)).to_be_visible()


def test_search_and_jump_to_message(server: Server, page: Any) -> None:
    """Search shows ranked results with <mark> snippets; a result opens the session at that message."""
    msgs: list[str | dict[str, Any]] = [f"filler message number {i}" for i in range(80)]
    msgs[4] = "the zanzibarquokka appears <b>here</b> once"
    s = server.session(*msgs)
    page.reload()
    expect(row(page, s)).to_be_visible()
    page.keyboard.press("Control+k")
    expect(page.locator("#search-input")).to_be_focused()
    page.keyboard.type("zanzibarquokka")
    result = page.locator(f'.result[data-id="{s["id"]}"][data-seq="5"]')
    expect(result).to_be_visible()
    expect(result.locator("mark")).to_have_text("zanzibarquokka")
    expect(result.locator(".result-snippet")).to_contain_text("<b>here</b>")
    assert result.locator(".result-snippet b").count() == 0
    result.click()
    hit = page.locator('.msg[data-seq="5"]')
    expect(hit).to_have_class(re.compile(r"\bhit\b"))
    expect(hit).to_be_in_viewport()
    page.fill("#search-input", "")
    expect(page.locator("#session-list")).to_be_visible()


def test_delete_with_confirmation(server: Server, page: Any) -> None:
    """Delete asks first (Cancel keeps it), then removes the session for good."""
    s = server.session("delete me soon")
    page.reload()
    open_menu(page, s).locator('[data-action="delete"]').click()
    expect(page.locator("#confirm-dialog")).to_be_visible()
    page.click("#confirm-cancel")
    expect(row(page, s)).to_be_visible()
    open_menu(page, s).locator('[data-action="delete"]').click()
    page.click("#confirm-ok")
    expect(row(page, s)).to_have_count(0)
    assert server.http.get(f"/api/sessions/{s['id']}").status_code == 404


def test_export_download(server: Server, page: Any) -> None:
    """Export as Markdown and JSON downloads the files the API produces."""
    s = server.session("export this conversation", "exported reply")
    page.reload()
    with page.expect_download() as dl:
        open_menu(page, s).locator('[data-action="export-markdown"]').click()
    text = Path(dl.value.path()).read_text(encoding="utf-8")
    assert "export this conversation" in text and "exported reply" in text
    with page.expect_download() as dl:
        open_menu(page, s).locator('[data-action="export-json"]').click()
    data = json.loads(Path(dl.value.path()).read_text(encoding="utf-8"))
    assert "export this conversation" in json.dumps(data)


def test_switch_sessions_and_reload_keeps_active(server: Server, page: Any) -> None:
    """Switching shows each session's own history; the open session survives a reload."""
    a = server.session("first session text", "reply A")
    b = server.session("second session text", "reply B")
    page.reload()
    row(page, a).locator(".row-open").click()
    expect(page.locator(".msg.user .msg-body")).to_have_text("first session text")
    row(page, b).locator(".row-open").click()
    expect(page.locator(".msg.user .msg-body")).to_have_text("second session text")
    row(page, a).locator(".row-open").click()
    expect(page.locator(".msg.user .msg-body")).to_have_text("first session text")
    expect(row(page, a)).to_have_class(re.compile(r"\bactive\b"))
    page.reload()
    expect(page.locator(".msg.user .msg-body")).to_have_text("first session text")
    expect(row(page, a).locator(".row-open")).to_have_attribute("aria-current", "page")


def test_two_pages_stay_in_sync(server: Server, pages: Pages) -> None:
    """A reply in one tab appears in another tab showing the same session (sessions_changed)."""
    s = server.session("sync start")
    ctx = pages.context()
    one = pages.open(ctx)
    two = pages.open(ctx)
    one.locator(f'.row[data-id="{s["id"]}"] .row-open').click()
    two.locator(f'.row[data-id="{s["id"]}"] .row-open').click()
    expect(one.locator("#conn")).to_have_text("live")
    expect(two.locator("#conn")).to_have_text("live")
    one.fill("#composer-input", "synchronised words travel")
    one.keyboard.press("Enter")
    expect(two.locator(".msg.assistant .msg-body").last).to_contain_text("travel", timeout=15_000)
    server.call("PUT", f"/api/sessions/{s['id']}/title", json={"title": "Renamed elsewhere"})
    expect(two.locator(f'.row[data-id="{s["id"]}"] .row-title')).to_have_text("Renamed elsewhere")


def test_narrow_viewport_drawer(server: Server, pages: Pages) -> None:
    """On a phone the sidebar is a drawer: it opens from the menu button, closes on Escape and on choosing a session."""
    s = server.session("phone sized session")
    page = pages.open(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    expect(page.locator("#sidebar")).not_to_be_in_viewport()
    page.click("#drawer-open")
    expect(page.locator("#sidebar")).to_be_in_viewport()
    page.keyboard.press("Escape")
    expect(page.locator("#sidebar")).not_to_be_in_viewport()
    page.click("#drawer-open")
    row(page, s).locator(".row-open").click()
    expect(page.locator("#sidebar")).not_to_be_in_viewport()
    expect(page.locator(".msg.user .msg-body")).to_have_text("phone sized session")
    expect(page.locator("#composer-input")).to_be_in_viewport()


def test_xss_in_messages_renders_as_text(server: Server, page: Any) -> None:
    """HTML in message content and titles is shown as text: no element, no script, no handler runs."""
    payload = (
        '<img src=x onerror="window.__xss=1"> <script>window.__xss=2</script> [x](javascript:window.__xss=3)'
    )
    s = server.session(payload, "**ok** <iframe src=javascript:alert(1)></iframe>")
    page.reload()
    row(page, s).locator(".row-open").click()
    body = page.locator(".msg.user .msg-body")
    expect(body).to_contain_text('<img src=x onerror="window.__xss=1">')
    expect(body).to_contain_text("<script>window.__xss=2</script>")
    for sel in ("img", "script", "iframe", "a[href^='javascript']"):
        assert page.locator(f"#messages {sel}, #session-list {sel}").count() == 0, sel
    expect(page.locator(".msg.assistant strong")).to_have_text("ok")
    page.locator(".msg.user .msg-body").click()
    assert page.evaluate("window.__xss") is None
    expect(row(page, s).locator(".row-title")).to_contain_text("<img src=x")


def test_keyboard_menu(server: Server, page: Any) -> None:
    """The row menu opens from the keyboard, arrows move, Escape closes and gives focus back."""
    s = server.session("keyboard user session")
    page.reload()
    more = row(page, s).locator(".row-more")
    more.focus()
    page.keyboard.press("Enter")
    expect(page.locator("#row-menu")).to_be_visible()
    expect(page.locator('#row-menu [data-action="rename"]')).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(page.locator('#row-menu [data-action="pin"]')).to_be_focused()
    page.keyboard.press("Escape")
    expect(page.locator("#row-menu")).to_be_hidden()
    expect(more).to_be_focused()
    expect(more).to_have_attribute("aria-expanded", "false")


def test_checkpoints_and_fork(server: Server, page: Any) -> None:
    """Checkpoints: save, list, restore, delete; fork from a message opens a new session."""
    s = server.session("cp one", "cp two")
    page.reload()
    row(page, s).locator(".row-open").click()
    page.click("#checkpoints-btn")
    page.fill("#checkpoint-name", "two messages")
    page.click("#checkpoint-form button[type=submit]")
    item = page.locator(".checkpoint")
    expect(item).to_have_count(1)
    expect(item.locator(".checkpoint-name")).to_have_text("two messages")
    server.call("POST", f"/api/sessions/{s['id']}/messages", json={"role": "user", "content": "cp three"})
    page.reload()
    expect(page.locator(".msg")).to_have_count(3)
    page.click("#checkpoints-btn")
    page.locator(".checkpoint button", has_text="Restore").click()
    page.click("#confirm-ok")
    expect(page.locator(".msg")).to_have_count(2)
    page.locator(".checkpoint button", has_text="Delete").click()
    page.click("#confirm-ok")
    expect(page.locator(".checkpoint")).to_have_count(0)
    page.locator('.msg[data-seq="1"]').hover()
    page.locator('.msg[data-seq="1"] .fork').click()
    page.wait_for_function(f"localStorage.getItem('sessionhub.activeSession') !== '{s['id']}'")
    expect(page.locator(".msg")).to_have_count(1)
    expect(page.locator(".msg.user .msg-body")).to_have_text("cp one")


def hide_toasts(page: Any) -> None:
    page.add_style_tag(content=".toasts { display: none !important; }")


def test_screenshots(server: Server, pages: Pages) -> None:
    """Screenshots of the main views (light, dark, phone) for the README."""
    for old in server.call("GET", "/api/sessions", params={"view": "all", "limit": 500})["sessions"]:
        server.call("DELETE", f"/api/sessions/{old['id']}")
    server.call(
        "POST",
        "/api/inbound",
        json={"channel": "telegram", "chat": "42", "sender": "ana", "text": "Can you book the team dinner?"},
    )
    server.call(
        "POST",
        "/api/inbound",
        json={"channel": "slack", "chat": "C1", "sender": "U7", "text": "Deploy notes for release 2.4"},
    )
    voice = server.call("POST", "/api/sessions", json={"metadata": {"type": "voice"}})
    server.call(
        "POST",
        f"/api/sessions/{voice['id']}/messages",
        json={"role": "user", "content": "Remind me to call Sam"},
    )
    server.session("Summarise yesterday's standup", "Three items: deploy, docs, benchmarks.")
    server.session(
        "How do I keep **context** across channels?",
        "Use one session per chat:\n\n| scope | one session per |\n|---|---|\n| `per-chat` | chat (default) |\n"
        "| `per-peer` | person, across channels |\n| `main` | agent |\n\n1. pick a scope\n   - `/session scope`"
        ' in chat\n2. save a checkpoint:\n\n   ```toml\n   [session]\n   scope = "per-peer"\n   ```',
        title="Context across channels",
    )
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for scheme in ("light", "dark"):
        page = pages.open(color_scheme=scheme)
        page.locator(".row-open", has_text="Context across channels").first.click()
        expect(page.locator(".msg.assistant table")).to_be_visible()
        expect(page.locator(".msg.assistant pre")).to_be_visible()
        hide_toasts(page)
        page.screenshot(path=str(SCREENSHOTS / f"dashboard-{scheme}.png"))
    phone = pages.open(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, color_scheme="light"
    )
    phone.click("#drawer-open")
    phone.locator(".row-open", has_text="Context across channels").first.click()
    expect(phone.locator(".msg.assistant pre")).to_be_visible()
    hide_toasts(phone)
    phone.screenshot(path=str(SCREENSHOTS / "dashboard-phone.png"))
    phone.click("#drawer-open")
    expect(phone.locator("#sidebar")).to_be_in_viewport()
    phone.wait_for_timeout(300)
    hide_toasts(phone)
    phone.screenshot(path=str(SCREENSHOTS / "dashboard-phone-drawer.png"))
