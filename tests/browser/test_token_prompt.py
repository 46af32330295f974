"""A server with ``[server] tokens`` (issue 18, defect 1): a fresh browser gets one clear prompt
for the token, no WebSocket until a token is accepted, and no pile of toasts."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from .conftest import CONFIG, Pages, Server, run_server

pytestmark = pytest.mark.browser

TOKEN = "browser-test-token-0123456789"
TOKENS = f"""
[server.tokens]
"{TOKEN}" = "default"
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with run_server(tmp_path_factory.mktemp("token-server"), TOKENS + CONFIG) as srv:
        srv.http.headers["Authorization"] = f"Bearer {TOKEN}"
        yield srv


def test_one_prompt_no_reconnect_loop_until_a_token_is_given(server: Server, pages: Pages) -> None:
    s = server.session("behind a token")
    ctx = pages.context()
    sockets: list[str] = []
    # every socket of every page of this context, from before the first load
    ctx.on("page", lambda p: p.on("websocket", lambda ws: sockets.append(ws.url)))
    page = pages.open(ctx, wait=False)
    dialog = page.locator("#settings-dialog")
    expect(dialog).to_be_visible()
    expect(page.locator("#token-needed")).to_have_text("This server needs an API token.")
    expect(page.locator("#token-input")).to_be_focused()
    assert sockets == [], "no WebSocket before a token"
    expect(page.locator(".toast")).to_have_count(0)
    # a wrong token: told in the dialog, still no socket, still no toast
    page.fill("#token-input", "wrong-token-wrong-token")
    page.click("#settings-save")
    expect(dialog).to_be_visible()
    expect(page.locator("#token-needed")).to_contain_text("not accepted")
    assert sockets == []
    expect(page.locator(".toast")).to_have_count(0)
    # the right one: one socket, live, the list, and no "restored" toast
    page.fill("#token-input", TOKEN)
    page.click("#settings-save")
    expect(dialog).to_be_hidden()
    expect(page.locator("#conn")).to_have_text("live")
    expect(page.locator(f'.row[data-id="{s["id"]}"]')).to_be_visible()
    assert len(sockets) == 1, sockets
    expect(page.locator(".toast")).to_have_count(0)
    # a reload with the stored token goes straight in
    page.reload()
    expect(page.locator("#conn")).to_have_text("live")
    expect(dialog).to_be_hidden()
    expect(page.locator(".toast")).to_have_count(0)
