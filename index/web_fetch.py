"""One HTTP GET the way the web mirror needs it (index.web), with the standard library only.

Asks conditionally (If-None-Match / If-Modified-Since) when it has validators, never follows a
redirect to another site, reads the body against a byte limit and a wall-clock deadline (a
Content-Length header is a hint, not a promise), and turns every way a request can go wrong into
`Refused`, whose message is the one line a user sees.
"""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from urllib.parse import urlsplit

USER_AGENT = "rag-index/1.0 (document-chat assistant)"
ROBOTS_AGENT = "rag-index"  # the token robots.txt rules name
_CHUNK = 64 * 1024


class Refused(Exception):
    """This URL is not mirrored; the message says why, in one line. `status`: the HTTP status
    that refused it, if one did."""

    def __init__(self, reason: str, status: int | None = None) -> None:
        super().__init__(reason)
        self.status = status


@dataclass(frozen=True)
class Response:
    url: str  # as asked
    final_url: str  # after same-site redirects
    status: int  # 200, or 304 (not modified: no body)
    body: bytes = b""
    content_type: str = ""  # the media type alone, lowercased ("text/html")
    etag: str | None = None
    last_modified: str | None = None


def site(url: str) -> tuple[str, int]:
    """What "the same site" compares: host and port (the scheme's default when none is given)."""
    parts = urlsplit(url)
    default = 443 if parts.scheme == "https" else 80
    try:
        port = parts.port or default
    except ValueError:
        port = -1
    return (parts.hostname or "").lower(), port


def same_site(a: str, b: str) -> bool:
    (host_a, port_a), (host_b, port_b) = site(a), site(b)
    if host_a != host_b:
        return False
    defaults = {80, 443}
    return port_a == port_b or (port_a in defaults and port_b in defaults)  # http → https of one host


class _SameSiteRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        if not same_site(req.full_url, newurl):
            raise Refused(f"redirects to another site ({newurl}); not followed")
        if urlsplit(newurl).scheme not in ("http", "https"):
            raise Refused(f"redirects to a non-web address ({newurl}); not followed")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _opener() -> urllib.request.OpenerDirector:
    # no ProxyHandler from the environment is dropped: a user behind a proxy needs it
    return urllib.request.build_opener(_SameSiteRedirects())


def get(url: str, *, max_bytes: int, timeout: float, etag: str | None = None,
        last_modified: str | None = None, accept: str = "text/html, text/plain;q=0.9, */*;q=0.1") -> Response:
    """GET `url`; a 304 when the validators still hold. Raises `Refused` for anything else but 200."""
    headers = {"User-Agent": USER_AGENT, "Accept": accept, "Accept-Encoding": "identity"}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    request = urllib.request.Request(url, headers=headers)
    deadline = time.monotonic() + timeout
    try:
        with _opener().open(request, timeout=timeout) as resp:
            final = resp.geturl()
            length = resp.headers.get("Content-Length")
            if length and length.isdigit() and int(length) > max_bytes:
                raise Refused(_too_large(int(length), max_bytes))
            body = _read(resp, max_bytes, deadline, timeout)
            return Response(url, final, resp.status, body, resp.headers.get_content_type().lower(),
                            resp.headers.get("ETag"), resp.headers.get("Last-Modified"))
    except urllib.error.HTTPError as exc:
        with exc:
            if exc.code == 304:
                return Response(url, exc.geturl() or url, 304, etag=exc.headers.get("ETag") or etag,
                                last_modified=exc.headers.get("Last-Modified") or last_modified)
            raise Refused(f"HTTP error {exc.code} {exc.reason}".rstrip(), exc.code) from None
    except Refused:
        raise
    except urllib.error.URLError as exc:
        reason = exc.reason
        raise Refused(f"cannot fetch: {getattr(reason, 'strerror', None) or reason}") from None
    except TimeoutError:
        raise Refused(f"no answer within {timeout:g} s") from None
    except (OSError, ValueError) as exc:  # a reset connection, a malformed URL or header
        raise Refused(f"cannot fetch: {exc}") from None


def _read(resp, max_bytes: int, deadline: float, timeout: float) -> bytes:
    parts: list[bytes] = []
    size = 0
    while True:
        chunk = resp.read(_CHUNK)
        if not chunk:
            return b"".join(parts)
        size += len(chunk)
        if size > max_bytes:
            raise Refused(_too_large(None, max_bytes))
        if time.monotonic() > deadline:
            raise Refused(f"the page took over {timeout:g} s to arrive; not mirrored")
        parts.append(chunk)


def _too_large(size: int | None, max_bytes: int) -> str:
    said = f"is {size / 1e6:.1f} MB, " if size is not None else ""
    return f"page {said}over the {max_bytes / 1e6:.1f} MB limit (RAG_MAX_FILE_MB); not mirrored"
