"""The ASGI middleware in front of Gradio, and the two records it keeps.

`Guard` refuses a foreign `Host` (DNS rebinding against the loginless loopback default), a POST
from another site (its `Origin` or `Referer` names another host: any page the user visits could
otherwise upload to or ask the loopback chat), every route that serves a file from disk by path
(`file=`, `file/`, `proxy=`, `stream/`: Gradio's upload cache would hand a raw upload back as-is),
event requests too big to be a question (Gradio keeps each event's inputs per session), uploads
beyond a quota of raw uploads not yet added (per browser and in all: they wait in the cache until
claimed or expired), and login attempts beyond a few failures (`LoginThrottle`); and it records
which browser made each raw upload (`UploadLedger`), so that the upload event takes only that
browser's own files.
"""

from __future__ import annotations

import ipaddress
import json
import math
import os
import re
import secrets
import threading
import time
import urllib.parse
from pathlib import Path

from rag.config import RagConfig
from rag.throttle import LoginThrottle

UPLOAD_TTL_S = 600  # a raw upload not handled by then is deleted (and can no longer be submitted)
MAX_EVENT_BYTES = 256_000  # an event request: a 20,000-character question JSON-escaped, and the settings
BROWSER_COOKIE = "rag-browser"  # which browser made an upload: Gradio's upload route records none
_FILE_ROUTE = re.compile(r"/(file|proxy)=|(^|/)gradio_api/(file|stream|proxy)(/|$)")
_COOKIE_VALUE = re.compile(r"[A-Za-z0-9_-]{43}")  # what secrets.token_urlsafe(32) gives


def allowed_hosts(config: RagConfig, share: bool) -> frozenset[str] | None:
    """The `Host` headers this server answers: the loopback names and the configured host, each
    with the port. None (any host) for a share link or a wildcard address, which require a login:
    a rebound name gets no login cookie, so there is nothing to read without one."""
    if share or _is_wildcard(config.ui_host):
        return None
    names = {"localhost", "127.0.0.1", "[::1]", _host_name(config.ui_host)}
    hosts = {f"{name}:{config.ui_port}" for name in names}
    if config.ui_port == 80:  # a browser leaves the default port out
        hosts |= names
    return frozenset(hosts)


def _is_wildcard(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_unspecified
    except ValueError:
        return False


def _host_name(host: str) -> str:
    """How a host appears in a `Host` header: lower case, IPv6 in brackets."""
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return host.lower()
    return f"[{address.compressed}]" if address.version == 6 else address.compressed


class UploadLedger:
    """Which browser made each raw upload still waiting in the upload cache, and how many bytes.

    Gradio keeps no such record (its `upload_file_set` is one set for every visitor, and a browser
    sends no session hash with an upload), so its upload event takes any file in the cache by path.
    `Guard` records here the paths `/gradio_api/upload` returns, under the browser's cookie; the
    upload handler claims each path once, for that browser only. What waits unclaimed is held to
    `per_browser` and `total` bytes (`room`): a browser's cookie is its own to change, so the total
    is what keeps the disk."""

    def __init__(self, ttl_s: float = UPLOAD_TTL_S, per_browser: int = 100_000_000, total: int = 1_000_000_000) -> None:
        self.ttl_s, self.per_browser, self.total = ttl_s, per_browser, total
        self._lock = threading.Lock()
        self._owners: dict[str, tuple[str, float, int]] = {}  # real path → (browser, when uploaded, bytes)

    def record(self, browser: str, paths: list[str]) -> None:
        now = time.monotonic()
        with self._lock:
            self._expire(now)
            self._owners.update((os.path.realpath(p), (browser, now, _size(p))) for p in paths)

    def room(self, browser: str, size: int) -> bool:
        """Whether `size` more bytes from `browser` fit in both quotas."""
        with self._lock:
            self._expire(time.monotonic())
            mine = sum(entry[2] for entry in self._owners.values() if entry[0] == browser)
            waiting = sum(entry[2] for entry in self._owners.values())
        return mine + size <= self.per_browser and waiting + size <= self.total

    def _expire(self, now: float) -> None:
        self._owners = {p: entry for p, entry in self._owners.items() if now - entry[1] < self.ttl_s}

    def claim(self, browser: str | None, path: str | Path) -> bool:
        """True once for a path this browser uploaded within the time limit."""
        with self._lock:
            entry = self._owners.get(os.path.realpath(path))
            if not browser or entry is None or entry[0] != browser:
                return False
            del self._owners[os.path.realpath(path)]
            return time.monotonic() - entry[1] < self.ttl_s


class Guard:
    """ASGI middleware in front of Gradio; see the module docstring for what it refuses."""

    def __init__(self, app, hosts: frozenset[str] | None, uploads: UploadLedger, logins: LoginThrottle) -> None:
        self.app, self.hosts, self.uploads, self.logins = app, hosts, uploads, logins

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        if self.hosts is not None and _header(scope, b"host").lower() not in self.hosts:
            return await _refuse(scope, send, 400, "unknown host")
        if scope["type"] == "websocket":
            return await self.app(scope, receive, send)
        path = re.sub(r"/{2,}", "/", scope.get("path", "")).lower()
        if _FILE_ROUTE.search(path):
            return await _refuse(scope, send, 403, "files are not served")
        post, route = scope.get("method") == "POST", path.rstrip("/")
        if post and _cross_site(scope):
            return await _refuse(scope, send, 403, "a request from another site")
        if post and route != "/gradio_api/upload":  # Gradio keeps each event's inputs per session
            messages = await _read_body(receive, MAX_EVENT_BYTES)
            if messages is None:
                return await _refuse(scope, send, 413, "request too large")
            receive = _replay(messages, receive)
        if post and route == "/login":
            return await self._login(scope, receive, send)
        browser = _cookie(scope, BROWSER_COOKIE)
        issued = None if browser and _COOKIE_VALUE.fullmatch(browser) else secrets.token_urlsafe(32)
        browser = issued or browser
        if post and route == "/gradio_api/upload":
            length = _header(scope, b"content-length")
            if not length.isdigit():
                return await _refuse(scope, send, 411, "an upload must say its length")
            if not self.uploads.room(browser, int(length)):
                return await _refuse(scope, send, 413, "too many files uploaded and not yet added: add them, "
                                                       "or wait a few minutes, then upload again")
            send = self._recording_uploads(browser, send)
        if issued:
            send = _setting_cookie(issued, send)
        await self.app(scope, receive, send)

    async def _login(self, scope, receive, send) -> None:
        client = (scope.get("client") or ("?", 0))[0]
        wait = self.logins.attempt(client)
        if wait > 0:
            return await _refuse(scope, send, 429, "too many failed logins: try again later",
                                 [(b"retry-after", str(math.ceil(wait)).encode())])

        async def observed(message) -> None:
            if message["type"] == "http.response.start" and message["status"] < 400:
                self.logins.succeeded(client)
            await send(message)

        await self.app(scope, receive, observed)

    def _recording_uploads(self, browser: str, send):
        """Hold the upload response until it is complete, record its paths, then pass it on."""
        held: list[dict] = []

        async def recording(message) -> None:
            held.append(message)
            if message["type"] != "http.response.body" or message.get("more_body"):
                return
            if held[0].get("status") == 200:
                try:
                    paths = json.loads(b"".join(m.get("body", b"") for m in held[1:]))
                    self.uploads.record(browser, [p for p in paths if isinstance(p, str)])
                except (ValueError, TypeError):
                    pass
            for item in held:
                await send(item)

        return recording


def _cross_site(scope) -> bool:
    """Whether the request's `Origin` (else its `Referer`) names another host than the one it is
    sent to. A request with neither (a script, curl) is not a browser acting for another page."""
    source = _header(scope, b"origin") or _header(scope, b"referer")
    if not source:
        return False
    if source == "null":  # a sandboxed frame or a local file
        return True
    return urllib.parse.urlsplit(source).netloc.lower() != _header(scope, b"host").lower()


def _size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def _header(scope, name: bytes) -> str:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin-1")
    return ""


def _cookie(scope, name: str) -> str | None:
    """A cookie's value, read leniently: other apps on localhost share the cookie jar, and one
    malformed cookie of theirs must not hide ours (http.cookies gives up at the first)."""
    for item in _header(scope, b"cookie").split(";"):
        key, sep, value = item.strip().partition("=")
        if sep and key == name:
            return value.strip('"')
    return None


def _setting_cookie(value: str, send):
    cookie = f"{BROWSER_COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax".encode()

    async def setting(message) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", []), (b"set-cookie", cookie)]}
        await send(message)

    return setting


async def _read_body(receive, limit: int) -> list[dict] | None:
    """The request's messages, or None once its body passes `limit` bytes."""
    messages, size = [], 0
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            return messages
        size += len(message.get("body", b""))
        if size > limit:
            return None
        if not message.get("more_body"):
            return messages


def _replay(messages: list[dict], receive):
    pending = list(messages)

    async def replayed():
        return pending.pop(0) if pending else await receive()

    return replayed


async def _refuse(scope, send, status: int, detail: str, headers: list | None = None) -> None:
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1008})
        return
    body = json.dumps({"detail": detail}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            *(headers or [])]})
    await send({"type": "http.response.body", "body": body})
