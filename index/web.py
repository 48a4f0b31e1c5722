"""Web pages into the index by "mirror, then index": `mirror(urls, data_dir, limits)` fetches pages
into `DATA_DIR/web/<host>/<path>.html` (index.datadir.web_mirror), and the normal pipeline indexes
that folder, so a page is read by the HTML reader like any file, and an unchanged page is found
unchanged by its bytes' hash.

Every page's record (URL, final URL, ETag, Last-Modified, when it was fetched, content type) is
kept in `DATA_DIR/web.sqlite` (index.datadir.web_records), beside the mirror rather than in it so
the pipeline does not meet it. A run asks again with If-None-Match / If-Modified-Since: a 304
leaves the mirrored file untouched. robots.txt and sitemaps are kept there too (their bodies), so
an unchanged site answers a second run with nothing but 304s.

What is fetched: the URLs given; a sitemap's <loc> pages (a sitemap index's sitemaps followed one
level); with `crawl` N, same-site links to depth N. Only the site of the page or sitemap that
led there, at most `max_pages` pages, robots.txt honoured, text/html and text/plain bodies only.
Each page refused is one `FileIssue` (by URL); pages mirrored before stay, and stay indexed.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import sqlite3
import time
import urllib.robotparser
from collections import deque
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urldefrag, urljoin, urlsplit, urlunsplit

from index import datadir
from index.errors import StoreError
from index.types import FileIssue
from index.web_fetch import ROBOTS_AGENT, Refused, Response, get, same_site

log = logging.getLogger(__name__)

PAGE_TYPES = {"text/html": ".html", "application/xhtml+xml": ".html", "text/plain": ".txt"}
MAX_ROBOTS_BYTES = 500_000


def is_url(path) -> bool:
    """Whether a path a user gave is a web address (http:// or https://) rather than a file."""
    return isinstance(path, str) and path[:8].lower().startswith(("http://", "https://"))


@dataclass(frozen=True)
class Limits:
    crawl: int = 0  # follow same-site links this many links deep from the pages given
    max_pages: int = 200  # pages fetched (or found unchanged) in one run
    max_bytes: int = 20_000_000  # per page, counted while reading the body
    timeout: float = 30.0  # seconds per request, the whole body included


@dataclass
class MirrorReport:
    fetched: list[str] = field(default_factory=list)  # URLs whose new content was written
    unchanged: list[str] = field(default_factory=list)  # answered 304, or the same bytes again
    failed: list[FileIssue] = field(default_factory=list)  # one line each, by URL
    skipped: list[FileIssue] = field(default_factory=list)
    notes: list[FileIssue] = field(default_factory=list)
    requests: int = 0


def mirror(urls: list[str], data_dir: Path, limits: Limits = Limits()) -> MirrorReport:
    """Fetch `urls` (and what their sitemaps and links lead to) into the mirror; see the module."""
    folder = datadir.web_mirror(data_dir)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        records = _Records(datadir.web_records(data_dir))
    except (OSError, sqlite3.Error) as exc:
        raise StoreError(f"cannot write the web mirror in {data_dir}: {exc}") from None
    try:
        return _Run(folder, records, limits).run(urls)
    finally:
        records.close()


_read_urls: dict[Path, tuple[bytes, dict[str, str]]] = {}  # records file -> (its change counter, what it said)


def page_urls(data_dir: Path) -> dict[str, str]:
    """Mirrored file (its path under the mirror, as the index names it) → the page's URL. Asked
    for every answer: the records are read again only after a run has changed them."""
    path = datadir.web_records(data_dir)
    try:
        with path.open("rb") as f:
            stamp = f.read(28)[24:]  # SQLite's file change counter: one more at every commit (no WAL here)
    except OSError:
        return {}
    known = _read_urls.get(path)
    if known is not None and known[0] == stamp:
        return known[1]
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
        try:
            rows = db.execute("SELECT path, final_url FROM pages WHERE kind = 'page' AND path != ''").fetchall()
        finally:
            db.close()
    except sqlite3.Error as exc:
        log.warning("cannot read %s: %s", path, exc)
        return {}
    _read_urls[path] = (stamp, dict(rows))
    return _read_urls[path][1]


def mirror_path(url: str, suffix: str) -> str:
    """Where a page is mirrored, relative to the mirror: `<host>[_<port>]/<path><suffix>`. Only
    safe characters; no hidden or parent parts; a query string becomes a short hash."""
    parts = urlsplit(url)
    host = _safe(parts.hostname or "unknown")
    if parts.port:
        host += f"_{parts.port}"
    segments = [_safe(s) for s in parts.path.split("/") if s]
    if not segments or parts.path.endswith("/"):
        segments.append("index")
    if parts.query:
        segments[-1] += "_" + hashlib.sha256(parts.query.encode()).hexdigest()[:10]
    if not segments[-1].lower().endswith(suffix):
        segments[-1] += suffix
    return "/".join([host, *segments])


def _safe(segment: str) -> str:
    safe = re.sub(r"[^A-Za-z0-9._~%-]", "_", segment)
    if len(safe) > 120:
        safe = safe[:100] + "_" + hashlib.sha256(safe.encode()).hexdigest()[:10]
    return "_" + safe if safe.startswith(".") else safe


def normalize(url: str) -> str:
    parts = urlsplit(urldefrag(url.strip())[0])
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path or "/", parts.query, ""))


class _Run:
    def __init__(self, folder: Path, records: _Records, limits: Limits) -> None:
        self.folder = folder
        self.records = records
        self.limits = limits
        self.report = MirrorReport()
        self.robots: dict[str, urllib.robotparser.RobotFileParser | None] = {}

    def run(self, urls: list[str]) -> MirrorReport:
        queue: deque[tuple[str, int, str]] = deque()  # (url, depth, the page or sitemap it came from)
        for given in urls:
            url = normalize(given)
            if urlsplit(url).path.lower().endswith(".xml"):
                queue.extend((page, 0, url) for page in self._sitemap(url))
            else:
                queue.append((url, 0, url))
        seen: set[str] = set()
        left_over = 0
        while queue:
            url, depth, origin = queue.popleft()
            if url in seen:
                continue
            seen.add(url)
            if len(self.report.fetched) + len(self.report.unchanged) >= self.limits.max_pages:
                left_over += 1
                continue
            body = self._page(url)
            if body is not None and depth < self.limits.crawl:
                queue.extend((link, depth + 1, url) for link in _links(url, body) if same_site(link, url))
        if left_over:
            self.report.notes.append(FileIssue(urls[0], f"{left_over} more pages not fetched: the limit of "
                                               f"{self.limits.max_pages} pages was reached (--max-pages)", failed=False))
        return self.report

    # --- one page ---------------------------------------------------------------------------
    def _page(self, url: str) -> bytes | None:
        """Mirror one page; its body (new or as mirrored) for its links, or None when refused."""
        if not self._allowed(url):
            self._fail(url, "robots.txt does not allow fetching it")
            return None
        record = self.records.get(url)
        existing = self.folder / record["path"] if record and record["path"] else None
        have = existing is not None and existing.is_file()
        try:
            response = self._get(url, record if have else None, self.limits.max_bytes)
        except Refused as exc:
            self._fail(url, str(exc) + ("; its mirrored copy is kept" if have else ""))
            return None
        if response.status == 304:
            self.records.touch(url, response)
            self.report.unchanged.append(url)
            return _read_bytes(existing)
        suffix = PAGE_TYPES.get(response.content_type)
        if suffix is None:
            kind = response.content_type or "no content type"
            self._fail(url, f"not an HTML or text page ({kind}); not mirrored")
            return None
        relative = mirror_path(url, suffix)
        target = self.folder / relative
        try:
            if _read_bytes(target) == response.body:
                self.report.unchanged.append(url)
            else:
                _write(target, response.body)
                self.report.fetched.append(url)
            if existing is not None and existing != target:
                existing.unlink(missing_ok=True)  # the page changed type (HTML ↔ text)
        except OSError as exc:
            raise StoreError(f"cannot write the web mirror at {target}: {exc.strerror or exc}") from None
        self.records.put(url, response, relative, "page")
        return response.body if suffix == ".html" else None

    def _get(self, url: str, record: dict | None, max_bytes: int) -> Response:
        self.report.requests += 1
        return get(url, max_bytes=max_bytes, timeout=self.limits.timeout,
                   etag=record and record["etag"], last_modified=record and record["last_modified"])

    def _fail(self, url: str, reason: str) -> None:
        log.info("%s: %s", url, reason)
        self.report.failed.append(FileIssue(url, reason))

    # --- robots.txt and sitemaps, kept with their bodies so that they too are asked conditionally ---
    def _kept(self, url: str, kind: str, max_bytes: int) -> bytes:
        """The body of a robots.txt or sitemap, fetched or (304) as kept. Raises Refused."""
        record = self.records.get(url)
        held = record if record and record["body"] is not None else None
        response = self._get(url, held, max_bytes)
        if response.status == 304 and held:
            self.records.touch(url, response)
            return held["body"]
        self.records.put(url, response, "", kind, response.body)
        return response.body

    def _allowed(self, url: str) -> bool:
        parts = urlsplit(url)
        root = f"{parts.scheme}://{parts.netloc}"
        if root not in self.robots:
            parser: urllib.robotparser.RobotFileParser | None = urllib.robotparser.RobotFileParser()
            try:
                body = self._kept(root + "/robots.txt", "robots", MAX_ROBOTS_BYTES)
                parser.parse(body.decode("utf-8", "replace").splitlines())
            except Refused as exc:
                if exc.status in (401, 403):
                    parser.disallow_all = True  # as urllib.robotparser reads such an answer
                else:
                    parser = None  # none, or unreachable: the page's own request says what is wrong
            self.robots[root] = parser
        parser = self.robots[root]
        return parser is None or parser.can_fetch(ROBOTS_AGENT, url)

    def _sitemap(self, url: str) -> list[str]:
        """The page URLs of a sitemap (following a sitemap index one level), same site only."""
        pages: list[str] = []
        try:
            kind, locs = _sitemap_locs(self._kept(url, "sitemap", self.limits.max_bytes))
        except Refused as exc:
            self._fail(url, f"sitemap: {exc}")
            return []
        for loc in locs:
            if not same_site(loc, url):
                self.report.skipped.append(FileIssue(loc, "listed by a sitemap of another site", failed=False))
            elif kind == "index":
                try:
                    child_kind, child = _sitemap_locs(self._kept(loc, "sitemap", self.limits.max_bytes))
                except Refused as exc:
                    self._fail(loc, f"sitemap: {exc}")
                    continue
                if child_kind == "index":
                    self._fail(loc, "sitemap: a sitemap index inside a sitemap index is not followed")
                    continue
                pages += [p for p in child if same_site(p, url)]
            else:
                pages.append(loc)
        return pages


def _sitemap_locs(body: bytes) -> tuple[str, list[str]]:
    """("index" or "urlset", the <loc> URLs). Raises Refused for what is not a sitemap."""
    import xml.etree.ElementTree as ET

    try:
        root = ET.fromstring(body)
    except ET.ParseError as exc:
        raise Refused(f"not a readable sitemap ({exc})") from None
    name = root.tag.rsplit("}", 1)[-1]
    if name not in ("urlset", "sitemapindex"):
        raise Refused(f"not a sitemap (its root element is <{name}>)")
    locs = [normalize(e.text) for e in root.iter() if e.tag.rsplit("}", 1)[-1] == "loc" and e.text and e.text.strip()]
    web = [u for u in locs if urlsplit(u).scheme in ("http", "https")]
    return ("index" if name == "sitemapindex" else "urlset"), web


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.hrefs: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            href = dict(attrs).get("href")
            if href:
                self.hrefs.append(href)


def _links(base: str, body: bytes) -> list[str]:
    parser = _Links()
    try:
        parser.feed(body.decode("utf-8", "replace"))
        parser.close()
    except Exception:  # noqa: BLE001 - a page whose links cannot be parsed has none to follow
        return []
    found = (normalize(urljoin(base, h)) for h in parser.hrefs)
    return [u for u in dict.fromkeys(found) if urlsplit(u).scheme in ("http", "https")]


def _read_bytes(path: Path | None) -> bytes | None:
    try:
        return path.read_bytes() if path is not None else None
    except OSError:
        return None


def _write(target: Path, data: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.part")
    temporary.write_bytes(data)
    os.replace(temporary, target)


class _Records:
    """web.sqlite: one row per URL fetched (pages, robots.txt, sitemaps)."""

    def __init__(self, path: Path) -> None:
        self.db = sqlite3.connect(path, timeout=30)
        self.db.row_factory = sqlite3.Row
        self.db.execute("""CREATE TABLE IF NOT EXISTS pages (
            url TEXT PRIMARY KEY, final_url TEXT NOT NULL, path TEXT NOT NULL DEFAULT '',
            kind TEXT NOT NULL, etag TEXT, last_modified TEXT, fetched_at REAL NOT NULL,
            checked_at REAL NOT NULL, content_type TEXT, body BLOB)""")
        self.db.commit()

    def get(self, url: str) -> dict | None:
        row = self.db.execute("SELECT * FROM pages WHERE url = ?", (url,)).fetchone()
        return dict(row) if row else None

    def put(self, url: str, r: Response, path: str, kind: str, body: bytes | None = None) -> None:
        now = time.time()
        with self.db:
            self.db.execute(
                "INSERT OR REPLACE INTO pages VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (url, r.final_url, path, kind, r.etag, r.last_modified, now, now, r.content_type, body))

    def touch(self, url: str, r: Response) -> None:
        """A 304: the same content, still current; keep the validators the server sent."""
        with self.db:
            self.db.execute("UPDATE pages SET checked_at = ?, etag = ?, last_modified = ? WHERE url = ?",
                            (time.time(), r.etag, r.last_modified, url))

    def close(self) -> None:
        self.db.close()
