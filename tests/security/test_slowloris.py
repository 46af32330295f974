"""Slowloris: idle and half-sent requests are cut off after ``[server] request_timeout_seconds``.

Raw sockets against one real ``sessionhub serve`` process whose timeout is 1 s: a client
that sends nothing, half a request line, headers a byte at a time, or a body that never
comes loses its connection (the body case with a 408 answer) within a few seconds, while a
WebSocket and a streamed (SSE) answer that outlive the timeout are not touched.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest
from websockets.sync.client import connect

from .conftest import serve

TIMEOUT = 1.0
CUT_OFF_WITHIN = 8.0  # generous: the machine is shared; without the fix the wait is forever
CONFIG = f"""
[server]
request_timeout_seconds = {TIMEOUT}

[providers.echo]
type = "echo"
words_per_chunk = 1
delay_ms = 150
"""


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("slowloris")
    with serve(tmp, f"sqlite:///{tmp / 'db.sqlite'}", CONFIG) as (url, _proc):
        yield url


def open_socket(base: str) -> socket.socket:
    parts = urlsplit(base)
    assert parts.hostname and parts.port
    return socket.create_connection((parts.hostname, parts.port), timeout=CUT_OFF_WITHIN + 5)


def read_until_closed(s: socket.socket) -> tuple[bytes, float]:
    """Everything the server sends until it closes, and how long that took."""
    start = time.monotonic()
    data = b""
    while chunk := s.recv(65536):
        data += chunk
    return data, time.monotonic() - start


def assert_cut_off(s: socket.socket, *, after: float = 0.0) -> bytes:
    with s:
        data, took = read_until_closed(s)
    assert after <= took < CUT_OFF_WITHIN, took
    return data


def test_idle_connection_is_closed(base: str) -> None:
    """A connection that sends nothing is closed."""
    assert assert_cut_off(open_socket(base), after=TIMEOUT * 0.8) == b""


def test_half_request_line_is_cut_off(base: str) -> None:
    """Half a request line, then silence: closed."""
    s = open_socket(base)
    s.sendall(b"GET /api/heal")
    assert assert_cut_off(s) == b""


def test_trickled_headers_are_cut_off(base: str) -> None:
    """Headers sent a few bytes at a time, never finished: closed although bytes keep coming."""
    s = open_socket(base)
    s.sendall(b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    start = time.monotonic()
    with s:
        try:
            while time.monotonic() - start < CUT_OFF_WITHIN:
                s.sendall(b"X-Slow: a\r\n")
                time.sleep(0.2)
            closed = False
        except (BrokenPipeError, ConnectionResetError):
            closed = True
    assert closed, "the server kept reading trickled headers"


def test_second_request_half_sent_is_cut_off(base: str) -> None:
    """After a complete keep-alive exchange, half of the next request's headers: closed."""
    s = open_socket(base)
    s.sendall(b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    first = s.recv(65536)
    while not first.endswith(b"}"):  # the JSON body may come in a second packet
        first += s.recv(65536)
    assert first.startswith(b"HTTP/1.1 200"), first
    s.sendall(b"GET /api/health HTTP/1.1\r\nHost: 127.0")
    assert assert_cut_off(s) == b""


def test_body_that_never_comes_gets_408(base: str) -> None:
    """Headers announce a body that never arrives whole: 408 request_timeout, then the connection closes."""
    before = httpx.get(f"{base}/api/sessions").json()["sessions"]
    s = open_socket(base)
    s.sendall(
        b"POST /api/sessions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b'Content-Length: 100\r\n\r\n{"title": '
    )
    answer = assert_cut_off(s, after=TIMEOUT * 0.8)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408"), answer
    assert json.loads(body)["error"]["code"] == "request_timeout"
    assert httpx.get(f"{base}/api/sessions").json()["sessions"] == before  # nothing was created


def test_trickled_body_gets_408(base: str) -> None:
    """A body sent a byte at a time gets 408 once the deadline passes, although bytes keep coming."""
    s = open_socket(base)
    s.sendall(
        b"POST /api/sessions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Content-Length: 1000\r\n\r\n{"
    )
    start = time.monotonic()
    s.settimeout(0.2)
    answer = b""
    with s:
        while time.monotonic() - start < CUT_OFF_WITHIN and not answer:
            try:
                s.sendall(b" ")
                answer = s.recv(65536)
            except TimeoutError:
                continue
            except (BrokenPipeError, ConnectionResetError):
                break
    assert answer.startswith(b"HTTP/1.1 408"), answer


def test_websocket_and_stream_outlive_the_timeout(base: str) -> None:
    """An idle WebSocket and an SSE answer longer than the timeout are not cut off."""
    with connect(base.replace("http://", "ws://") + "/ws", proxy=None, open_timeout=10) as ws:
        time.sleep(TIMEOUT * 2.5)
        ws.send(json.dumps({"action": "new_session"}))
        assert json.loads(ws.recv(timeout=10))["type"] == "session"
    sid = httpx.post(f"{base}/api/sessions", json={}).json()["id"]
    words = " ".join(f"w{i}" for i in range(15))  # 15 chunks, 150 ms apart: > 2 s
    start = time.monotonic()
    with httpx.stream(
        "POST",
        f"{base}/api/sessions/{sid}/chat",
        json={"content": words},
        headers={"Accept": "text/event-stream"},
        timeout=30,
    ) as r:
        text = "".join(r.iter_text())
    assert time.monotonic() - start > TIMEOUT * 1.5
    assert "event: stream_end" in text and "w14" in text
