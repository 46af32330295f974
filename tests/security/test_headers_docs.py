"""Security headers on every answer, and /docs from the installed package (CONTRACT 11.1).

One real ``sessionhub serve`` process; the browser checks use Debian's chromium through
Playwright with the server's Content-Security-Policy enforced (no ``bypass_csp``) and every
request outside the server aborted, as if the machine were offline.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from .conftest import serve

CHROMIUM = os.environ.get("SESSIONHUB_CHROMIUM", "/usr/bin/chromium")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
CONFIG = """
[providers.echo]
type = "echo"
words_per_chunk = 2
delay_ms = 20
"""


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("headers-docs")
    with serve(tmp, f"sqlite:///{tmp / 'db.sqlite'}", CONFIG) as (url, _proc):
        yield url


def csp_directives(value: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for part in value.split(";"):
        name, *sources = part.split()
        out[name] = sources
    return out


def assert_secure(r: httpx.Response) -> None:
    h = r.headers
    where = f"{r.request.method} {r.request.url.path} ({r.status_code})"
    assert h.get("x-content-type-options") == "nosniff", where
    assert h.get("x-frame-options") == "DENY", where
    assert h.get("referrer-policy") == "no-referrer", where
    csp = csp_directives(h.get("content-security-policy", ""))
    assert csp.get("frame-ancestors") == ["'none'"], where
    assert csp.get("object-src") == ["'none'"] and csp.get("base-uri") == ["'none'"], where
    for directive in ("default-src", "script-src"):
        assert csp.get(directive) == ["'self'"], f"{where}: {directive} {csp.get(directive)}"
    sources = " ".join(s for values in csp.values() for s in values)
    assert "unsafe" not in sources and "http" not in sources and "*" not in sources, where


def test_security_headers_on_every_answer(base: str) -> None:
    """Dashboard, API, docs, static files and error answers all carry the security headers."""
    with httpx.Client(base_url=base) as c:
        answers = [
            c.get("/"),
            c.get("/api/health"),
            c.get("/api/sessions"),
            c.get("/api/sessions/ses_nope"),
            c.get("/docs"),
            c.get("/openapi.json"),
            c.get("/static/app.js"),
            c.put("/api/sessions"),
            c.post("/api/sessions", content="{}", headers={"content-type": "text/plain"}),
            c.get("/api/sessions", headers={"Host": "evil.example"}),
        ]
    assert [r.status_code for r in answers] == [200, 200, 200, 404, 200, 200, 200, 405, 415, 400]
    for r in answers:
        assert_secure(r)


def test_docs_loads_only_local_assets(base: str) -> None:
    """/docs names no outside URL, and every script and stylesheet it names answers 200 here."""
    with httpx.Client(base_url=base) as c:
        html = c.get("/docs").text
        assert "//" not in html and "http" not in html
        assets = re.findall(r'(?:src|href)="([^"]+)"', html)
        scripts = [a for a in assets if a.endswith(".js")]
        assert len(scripts) == 2 and any(a.endswith(".css") for a in assets), assets
        for asset in assets:
            if asset.startswith("data:"):
                continue
            assert asset.startswith("/") and not asset.startswith("//"), asset
            r = c.get(asset)
            assert r.status_code == 200 and len(r.content) > 100, asset
            if asset.endswith(".js"):
                assert "javascript" in r.headers["content-type"], asset
        assert "http" not in c.get("/static/docs.js").text
        assert c.get("/redoc").status_code == 404  # ReDoc would come from a CDN: not offered


# ---- in a browser, with the CSP enforced and the network outside the server cut -----------------


@pytest.fixture(scope="module")
def browser(base: str) -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        problem: str | None = "the playwright package is not installed"
    else:
        problem = (
            None if (os.path.exists(CHROMIUM) or shutil.which(CHROMIUM)) else f"no chromium at {CHROMIUM}"
        )
    if problem:
        if IN_CI:
            pytest.fail(f"CI=true requires the browser tests to run: {problem}")
        pytest.skip(problem)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        try:
            yield b
        finally:
            b.close()


class Offline:
    """A page whose requests outside the server are aborted and recorded, with its console errors."""

    def __init__(self, browser: Any, base: str) -> None:
        self.context = browser.new_context(viewport={"width": 1280, "height": 800})
        self.context.set_default_timeout(15_000)
        self.outside: list[str] = []
        self.problems: list[str] = []
        host = urlsplit(base).netloc
        self.context.route("**/*", self._route(host))
        self.page = self.context.new_page()
        self.page.on("console", lambda m: m.type == "error" and self.problems.append(m.text))
        self.page.on("pageerror", lambda e: self.problems.append(str(e)))

    def _route(self, host: str) -> Any:
        def handle(route: Any) -> None:
            url = route.request.url
            if url.startswith("data:") or urlsplit(url).netloc == host:
                route.continue_()
            else:
                self.outside.append(url)
                route.abort()

        return handle


def test_docs_render_offline_under_the_csp(browser: Any, base: str) -> None:
    """/docs lists the API's operations with no request leaving the server and no CSP violation."""
    view = Offline(browser, base)
    try:
        view.page.goto(f"{base}/docs")
        view.page.wait_for_selector(".opblock", state="attached")
        operations = view.page.locator(".opblock").count()
        assert operations >= 20, operations
        assert view.page.locator(".opblock-summary-path", has_text="/api/sessions/{session_id}").count() >= 1
    finally:
        view.context.close()
    assert not view.outside, view.outside
    assert not view.problems, view.problems


def test_dashboard_runs_under_the_csp(browser: Any, base: str) -> None:
    """The dashboard loads, opens its WebSocket and streams a reply with the CSP enforced."""
    view = Offline(browser, base)
    page = view.page
    try:
        page.goto(base + "/")
        page.wait_for_selector("#session-list .row, #session-list .empty", state="attached")
        page.click("#new-chat")
        page.fill("#composer-input", "alpha beta gamma delta")
        page.keyboard.press("Enter")
        # A locator, not wait_for_function: that one evals a string, which the CSP forbids.
        page.locator(".msg.assistant .msg-body", has_text="delta").wait_for()
        assert page.locator("#conn").inner_text().strip() != "offline"
    finally:
        view.context.close()
    assert not view.outside, view.outside
    assert not view.problems, view.problems
