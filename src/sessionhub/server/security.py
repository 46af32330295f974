"""The request guard: what a browser page of another site can make this server do (nothing).

A pure ASGI middleware, the outermost layer, so that its refusals cost nothing (no body is
read, no route is resolved) and its headers are on every answer, the body limit's 413
included. Four rules (CONTRACT 11.1), in this order:

- **Host** (DNS rebinding): a page of ``evil.example`` whose name an attacker re-points at
  127.0.0.1 reaches the server with ``Host: evil.example``. Without tokens only loopback
  names (``localhost``, 127.0.0.0/8, ``[::1]``, any port) and ``[server] allowed_hosts``
  are answered; others get 400 (a WebSocket is closed before accept). With tokens there
  is no Host check unless ``allowed_hosts`` is set: a rebound page holds no token (the
  dashboard keeps it in the real origin's storage), and a server with tokens usually
  sits behind a proxy under a public name.
- **Origin** (cross-site WebSocket and CSRF): ``/ws`` and every POST, PUT, PATCH and
  DELETE that carries ``Origin`` pass only from the server's own origin (the request's
  scheme and Host) or one of ``[server] allowed_origins``; others get 403 (``Origin:
  null`` is foreign). Requests without ``Origin`` (curl, SDKs, platform webhooks) pass.
- **Content type**: a POST, PUT or PATCH body must be JSON (``application/json``, with
  parameters, or ``application/*+json``), else 415. A body without ``Content-Type`` is
  refused too: a page may send one cross-site without a preflight (a ``Blob`` body). The
  platform webhooks and triggers take what their platform sends.
- **Headers** on every answer: no MIME sniffing, no framing, no referrer, and a
  Content-Security-Policy that lets pages run only scripts and styles of this server.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..config import ServerSettings
from .errors import error_response

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
)
_SECURITY_NAMES = frozenset(name for name, _ in SECURITY_HEADERS)

STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
WITH_BODY = frozenset({"POST", "PUT", "PATCH"})
# Platform endpoints: Slack, Telegram and the sources of triggers post what they post.
PLATFORM_PATHS = re.compile(r"^/api/(channels/[^/]+/webhook|triggers/[^/]+)/?$")
_DEFAULT_PORTS = {"http": "80", "https": "443"}
_HTTP_SCHEME = {"ws": "http", "wss": "https"}
MAX_HOST_VERDICTS = 1024  # a WebSocket's page has the http(s) origin


def is_loopback_name(hostname: str) -> bool:
    """``localhost`` or a loopback address (127.0.0.0/8, ``::1``); ``hostname`` has no port."""
    if hostname == "localhost":
        return True
    try:
        return ipaddress.ip_address(hostname.strip("[]")).is_loopback
    except ValueError:
        return False


def split_host(host: str) -> tuple[str, str]:
    """``"Example.com:8765"`` → ``("example.com", "8765")``; ``"[::1]:80"`` → ``("[::1]", "80")``."""
    host = host.strip().lower()
    if host.startswith("["):
        name, _, rest = host.partition("]")
        return name + "]", rest.removeprefix(":")
    name, _, port = host.partition(":")
    return name.rstrip("."), port


def normalize_origin(origin: str) -> str:
    """``scheme://host[:port]`` in lower case, without the scheme's default port."""
    scheme, sep, rest = origin.strip().lower().rstrip("/").partition("://")
    if not sep:
        return origin
    name, port = split_host(rest)
    if port and port != _DEFAULT_PORTS.get(scheme):
        return f"{scheme}://{name}:{port}"
    return f"{scheme}://{name}"


def is_json_type(content_type: str) -> bool:
    """``application/json`` (any parameters) or a ``+json`` type such as ``application/merge-patch+json``."""
    media = content_type.partition(";")[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


class RequestGuard:
    """The Host, Origin and Content-Type rules and the security headers (see the module docstring)."""

    def __init__(self, app: ASGIApp, server: ServerSettings) -> None:
        self.app = app
        self.allowed_hosts = frozenset(split_host(h)[0] for h in server.allowed_hosts)  # any port
        self.check_host = not server.tokens or bool(server.allowed_hosts)
        self.allowed_origins = frozenset(normalize_origin(o) for o in server.allowed_origins)
        self._host_verdicts: dict[str, bool] = {}  # Host value -> allowed; a server sees few

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        host = origin = content_type = ""
        has_body = False
        for name, value in scope["headers"]:
            if name == b"host":
                host = value.decode("latin-1")
            elif name == b"origin":
                origin = value.decode("latin-1")
            elif name == b"content-type":
                content_type = value.decode("latin-1")
            elif name == b"content-length":
                has_body = value.strip() not in (b"0", b"")
            elif name == b"transfer-encoding":
                has_body = True
        refusal = self._refusal(scope, host, origin, content_type, has_body)
        if kind == "websocket":
            if refusal is not None:
                # Closing before accept fails the handshake (403): the page never gets a socket.
                await send({"type": "websocket.close", "code": 1008, "reason": refusal[2]})
                return
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = with_security_headers(message.get("headers", ()))
            await send(message)

        if refusal is not None:
            status, code, text = refusal
            await error_response(status, code, text, path=scope["path"])(scope, receive, send_with_headers)
            return
        await self.app(scope, receive, send_with_headers)

    def _refusal(
        self, scope: Scope, host: str, origin: str, content_type: str, has_body: bool
    ) -> tuple[int, str, str] | None:
        """``(status, code, message)`` when a rule refuses the request, else None."""
        if self.check_host and not self._host_allowed(host):
            return 400, "bad_request", f"Host {host!r} is not served here: add it to [server] allowed_hosts"
        method = scope.get("method", "GET")
        checked = scope["type"] == "websocket" or method in STATE_CHANGING
        if origin and checked and not self._origin_allowed(origin, scope, host):
            return 403, "forbidden", f"Origin {origin!r} may not do this: add it to [server] allowed_origins"
        if (
            has_body
            and method in WITH_BODY
            and not is_json_type(content_type)
            and not PLATFORM_PATHS.match(scope["path"])
        ):
            given = content_type or "no Content-Type"
            return 415, "unsupported_media_type", f"send Content-Type: application/json (got {given})"
        return None

    def _host_allowed(self, host: str) -> bool:
        verdict = self._host_verdicts.get(host)
        if verdict is None:
            name, _ = split_host(host)
            verdict = is_loopback_name(name) or name in self.allowed_hosts
            if len(self._host_verdicts) >= MAX_HOST_VERDICTS:  # random Hosts must not grow it
                self._host_verdicts.clear()
            self._host_verdicts[host] = verdict
        return verdict

    def _origin_allowed(self, origin: str, scope: Scope, host: str) -> bool:
        given = normalize_origin(origin)
        if given in self.allowed_origins:
            return True
        scheme = str(scope.get("scheme", "http"))
        scheme = _HTTP_SCHEME.get(scheme, scheme)
        return bool(host) and given == normalize_origin(f"{scheme}://{host}")


def with_security_headers(headers: Iterable[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """The response's headers plus the security headers it does not set itself."""
    out = list(headers)
    if any(name.lower() in _SECURITY_NAMES for name, _ in out):
        present = {name.lower() for name, _ in out}
        out.extend(h for h in SECURITY_HEADERS if h[0] not in present)
    else:
        out.extend(SECURITY_HEADERS)
    return out
