"""Browser fixtures: a real ``sessionhub serve`` process on a temporary database, Debian's
chromium driven by Playwright, and a page that records every request it makes.

Without chromium or the ``playwright`` package the browser tests skip with the reason;
under ``CI=true`` they fail instead (``make test`` installs chromium there).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

import sessionhub
from _env import child_env

CHROMIUM = os.environ.get("SESSIONHUB_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
ROOT = Path(__file__).resolve().parents[2]
# The README's screenshots are refreshed only on request (SESSIONHUB_SCREENSHOTS=1): a test
# run must not dirty the work tree. Otherwise they go to a temporary directory.
SCREENSHOTS = (
    ROOT / "docs" / "screenshots"
    if os.environ.get("SESSIONHUB_SCREENSHOTS") == "1"
    else Path(tempfile.mkdtemp(prefix="sessionhub-screens-"))
)

CONFIG = """
[[agents]]
id = "main"
provider = "echo"
model = "echo"
description = "repeats your words"

[[agents]]
id = "slow"
provider = "slowecho"
model = "echo-slow"
description = "repeats your words, slowly"

[providers.echo]
type = "echo"
words_per_chunk = 1
delay_ms = 40

[providers.slowecho]
type = "echo"
words_per_chunk = 1
delay_ms = 250

[pricing."echo"]
input_per_million = 2
output_per_million = 8
"""


def _problem() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install playwright)"
    if not (os.path.exists(CHROMIUM) or shutil.which(CHROMIUM)):
        return f"chromium not found at {CHROMIUM} (apt-get install chromium)"
    return None


def _require_browser() -> None:
    problem = _problem()
    if problem:
        print(f"browser tests skipped: {problem}")
        if IN_CI:
            pytest.fail(f"CI=true requires the browser tests to run: {problem}")
        pytest.skip(problem)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """The running server: its base URL and a REST client to seed and check data."""

    def __init__(self, base: str, database: str = "") -> None:
        self.base = base
        self.database = database
        # No kept-alive connections: the server closes one idle for 5 s (uvicorn's keep-alive
        # timeout), and a call sent on it at that moment, after a slow browser step, got
        # "Server disconnected without sending a response" (a browser would retry; this client
        # does not). A fresh loopback connection per call costs ~1 ms.
        self.http = httpx.Client(base_url=base, timeout=10, limits=httpx.Limits(max_keepalive_connections=0))

    def seed_sessions(self, texts: list[str]) -> list[str]:
        """One session per text (a user message), written straight into the server's database
        with the Python API: much faster than REST for hundreds. Dashboards are not told."""

        async def seed() -> list[str]:
            ids = []
            async with sessionhub.open(self.database) as hub:
                for text in texts:
                    s = await hub.create_session()
                    await hub.add_message(s.id, "user", text)
                    ids.append(s.id)
            return ids

        # in a thread: Playwright's sync API keeps an event loop running in this one
        with ThreadPoolExecutor(1) as pool:
            return pool.submit(asyncio.run, seed()).result()

    def call(self, method: str, path: str, **kw: Any) -> Any:
        r = self.http.request(method, path, **kw)
        r.raise_for_status()
        return r.json() if r.content else None

    def session(
        self, *messages: str | dict[str, Any], agent: str | None = None, title: str | None = None
    ) -> dict[str, Any]:
        """A session with these messages (strings alternate user / assistant)."""
        body: dict[str, Any] = {}
        if agent:
            body["agent"] = agent
        s = self.call("POST", "/api/sessions", json=body)
        items = [
            m if isinstance(m, dict) else {"role": "user" if i % 2 == 0 else "assistant", "content": m}
            for i, m in enumerate(messages)
        ]
        if items:
            self.call("POST", f"/api/sessions/{s['id']}/messages", json={"messages": items})
        if title:
            self.call("PUT", f"/api/sessions/{s['id']}/title", json={"title": title})
        return dict(self.call("GET", f"/api/sessions/{s['id']}"))


@contextmanager
def run_server(tmp: Path, config: str = CONFIG, database: str | None = None) -> Iterator[Server]:
    """``sessionhub serve`` on a free loopback port with ``config`` (a fresh SQLite file by default)."""
    _require_browser()
    config_file = tmp / "sessionhub.toml"
    config_file.write_text(config)
    port = _free_port()
    exe = Path(sys.executable).with_name("sessionhub")
    cmd = [
        str(exe),
        "serve",
        "--port",
        str(port),
        "--database",
        database or f"sqlite:///{tmp / 'db.sqlite'}",
        "--config",
        str(config_file),
    ]
    database = database or f"sqlite:///{tmp / 'db.sqlite'}"
    cmd[cmd.index("--database") + 1] = database
    env = child_env()
    log = (tmp / "server.log").open("w")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=tmp)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            # A generous read timeout: a read that times out in httpcore's sync client leaves its
            # socket for the garbage collector (a ResourceWarning, an error here, in a later test).
            if httpx.get(f"{base}/api/health", timeout=10).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            proc.wait(10)
            log.close()
            pytest.fail(f"the server did not start: {(tmp / 'server.log').read_text()}")
        time.sleep(0.1)
    srv = Server(base, database)
    try:
        yield srv
    finally:
        srv.http.close()
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server per test module, so that modules do not see each other's sessions."""
    with run_server(tmp_path_factory.mktemp("browser-server")) as srv:
        yield srv


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    # Module scope, not session: Playwright's sync API keeps an event loop running in the main
    # thread while it is open, which would break every async test collected after this package.
    _require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


class Pages:
    """Opens pages in fresh contexts; records every request and every page error."""

    def __init__(self, browser: Any, server: Server) -> None:
        self.browser = browser
        self.server = server
        self.contexts: list[Any] = []
        self.requests: list[str] = []
        self.errors: list[str] = []

    def context(self, **kw: Any) -> Any:
        kw.setdefault("viewport", {"width": 1280, "height": 800})
        # bypass_csp: the page's CSP would block Playwright's own evaluations; it also means the
        # XSS test proves the escaping itself, not the CSP behind it.
        kw.setdefault("bypass_csp", True)
        ctx = self.browser.new_context(accept_downloads=True, **kw)
        ctx.set_default_timeout(10_000)
        ctx.on("request", lambda r: self.requests.append(r.url))
        self.contexts.append(ctx)
        return ctx

    def open(self, ctx: Any = None, path: str = "/", wait: bool = True, **kw: Any) -> Any:
        ctx = ctx or self.context(**kw)
        page = ctx.new_page()
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("dialog", lambda d: (self.errors.append(f"unexpected dialog: {d.message}"), d.dismiss()))
        page.on("console", lambda m: self._console(m))
        page.goto(self.server.base + path)
        if wait:
            page.wait_for_selector("#session-list .row, #session-list .empty", state="attached")
        return page

    def _console(self, message: Any) -> None:
        # a Content-Security-Policy violation is a bug of the page (an inline style or script)
        if "Content Security Policy" in message.text:
            self.errors.append(f"CSP: {message.text}")

    def close(self) -> None:
        for ctx in self.contexts:
            ctx.close()


@pytest.fixture
def pages(browser: Any, server: Server) -> Iterator[Pages]:
    """Fresh browser contexts; afterwards: no request left 127.0.0.1 and no page error."""
    p = Pages(browser, server)
    try:
        yield p
    finally:
        p.close()
    outside = [
        u
        for u in p.requests
        if urlsplit(u).hostname not in ("127.0.0.1",) and not u.startswith(("data:", "blob:"))
    ]
    assert not outside, f"requests left the server: {outside}"
    assert not p.errors, f"page errors: {p.errors}"


@pytest.fixture
def page(pages: Pages) -> Any:
    return pages.open()
