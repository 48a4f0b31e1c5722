"""`rag index https://...`: web pages mirrored into the data folder, then indexed like files.

Against a local, threaded http.server on a free port (never the internet): a 50-page site with a
sitemap, robots.txt, ETags and Last-Modified dates; every request it answers is logged, so a test
can say which were conditional and what they got.
"""

from __future__ import annotations

import hashlib
import threading
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from index.manifest import Manifest
from rag.links import text_fragment

WORDS = ["amber", "basalt", "cobalt", "dune", "ember", "fjord", "glacier", "harbor", "iris", "juniper"]


def _page(n: int) -> str:
    a, b = WORDS[n % 10], WORDS[n // 10]
    return (f"<html><head><title>Station {n}</title></head><body><nav><a href='/'>Home</a></nav><main>"
            f"<h1>Station {n}</h1><h2>Keepers</h2>"
            f"<p>The {a} {b} station number {n} was built on the northern cliffs in {1800 + n}. "
            f"Its keeper Tavish{n} logged every passing {a} ship by lamplight.</p>"
            f"<h2>Weather</h2><p>Storms at station {n} come from the {b} side of the bay, the log says.</p>"
            f"<p><a href='/page-{(n + 1) % 50:02d}.html'>next</a> <a href='http://localhost:1/away'>elsewhere</a>"
            "</p></main></body></html>")


class Site:
    """What the server serves (path → (content type, body)) and every request it was asked."""

    def __init__(self) -> None:
        self.pages: dict[str, tuple[str, bytes]] = {}
        self.redirects: dict[str, str] = {}
        self.unsized: set[str] = set()  # sent without Content-Length
        self.log: list[dict] = []
        self.stamp = formatdate(1_700_000_000, usegmt=True)

    def put(self, path: str, body: str, kind: str = "text/html; charset=utf-8") -> None:
        self.pages[path] = (kind, body.encode())


def _handler(site: Site):
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's name
            path = self.path
            entry = {"path": path, "host": self.headers.get("Host", ""), "etag": self.headers.get("If-None-Match"),
                     "since": self.headers.get("If-Modified-Since")}
            site.log.append(entry)
            if path in site.redirects:
                entry["status"] = 302
                self.send_response(302)
                self.send_header("Location", site.redirects[path])
                self.end_headers()
                return
            if path not in site.pages:
                entry["status"] = 404
                self.send_error(404)
                return
            kind, body = site.pages[path]
            etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
            if entry["etag"] == etag:
                entry["status"] = 304
                self.send_response(304)
                self.send_header("ETag", etag)
                self.end_headers()
                return
            entry["status"] = 200
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("ETag", etag)
            self.send_header("Last-Modified", site.stamp)
            if path not in site.unsized:
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    return Handler


@pytest.fixture
def site():
    site = Site()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(site))
    server.daemon_threads = True
    site.base = f"http://127.0.0.1:{server.server_address[1]}"
    site.host = f"127.0.0.1_{server.server_address[1]}"
    site.put("/robots.txt", "User-agent: *\nDisallow: /private/\n", "text/plain")
    for n in range(50):
        site.put(f"/page-{n:02d}.html", _page(n))
    locs = "".join(f"<url><loc>{site.base}/page-{n:02d}.html</loc></url>" for n in range(50))
    site.put("/sitemap.xml", f'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
                             f"{locs}</urlset>", "application/xml")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield site
    server.shutdown()
    server.server_close()


@pytest.fixture
def env(tmp_path):
    return {"RAG_DATA_DIR": tmp_path / "data", "RAG_EMBED_MODEL": "fake"}


def _own_chunks(data_dir, doc_id):
    manifest = Manifest(data_dir / "manifest.sqlite", readonly=True)
    try:
        return manifest.chunk_ids([doc_id])
    finally:
        manifest.close()


def test_sitemap_indexes_pages_then_asks_only_conditionally(cli, site, env, tmp_path):
    first = cli("index", f"{site.base}/sitemap.xml", "--json", env=env)
    assert first.code == 0, first.err
    summary = first.json()
    assert len(summary["added"]) == 50 and not summary["failed"]
    assert f"{site.host}/page-07.html" in summary["added"]
    assert summary["chunks_written"] == summary["chunks_total"] > 0
    assert (tmp_path / "data" / "web" / site.host / "page-07.html").is_file()

    site.log.clear()
    again = cli("index", f"{site.base}/sitemap.xml", "--json", env=env)
    assert again.code == 0, again.err
    assert again.json()["chunks_written"] == 0 and again.json()["unchanged"] == 50
    assert len(site.log) == 52  # robots.txt, the sitemap, 50 pages
    assert all(e["etag"] and e["since"] and e["status"] == 304 for e in site.log), site.log

    site.put("/page-07.html", _page(7).replace("northern cliffs", "southern dunes"))
    changed = cli("index", f"{site.base}/sitemap.xml", "--json", env=env).json()
    assert changed["changed"] == [f"{site.host}/page-07.html"] and changed["unchanged"] == 49
    assert changed["chunks_written"] == len(_own_chunks(tmp_path / "data", f"{site.host}/page-07.html"))
    fetched = [e["path"] for e in site.log if e["status"] == 200]
    assert fetched == ["/page-07.html"]

    answer = cli("ask", "Where was the station built whose keeper was Tavish7?", "--json", env=env)
    assert answer.code == 0, answer.err
    citations = answer.json()["citations"]
    assert citations and citations[0]["source"] == f"{site.host}/page-07.html"
    assert citations[0]["url"].startswith(f"{site.base}/page-07.html#:~:text=")
    shown = cli("ask", "Where was the station built whose keeper was Tavish7?", env=env)
    assert f"{site.base}/page-07.html#:~:text=" in shown.out
    hits = cli("search", "Tavish7 keeper", "--json", "-k", "1", env=env).json()
    assert hits[0]["url"].startswith(f"{site.base}/page-07.html#:~:text=")
    files = cli("search", "Tavish7 keeper", "-k", "1", env=env)
    assert "#:~:text=" in files.out


def test_refusals_are_one_line_each_and_indexed_pages_stay(cli, site, env):
    site.put("/big.html", "<p>" + "a large page " * 10_000 + "</p>")
    site.unsized.add("/big.html")  # over the limit without saying so in a header
    site.redirects["/away.html"] = "http://localhost:9/elsewhere.html"
    site.put("/private/secret.html", "<p>not for robots</p>")
    pages = ["/page-01.html", "/big.html", "/away.html", "/private/secret.html"]
    locs = "".join(f"<url><loc>{site.base}{p}</loc></url>" for p in pages)
    site.put("/mixed.xml", f"<urlset>{locs}</urlset>", "text/xml")
    env = {**env, "RAG_MAX_FILE_MB": "0.05"}

    result = cli("index", f"{site.base}/mixed.xml", env=env)
    failed = [line for line in result.err.splitlines() if line.startswith("failed: ")]
    assert len(failed) == 3, result.err
    assert any(f"{site.base}/big.html" in line and "limit" in line for line in failed)
    assert any(f"{site.base}/away.html" in line and "another site" in line for line in failed)
    assert any(f"{site.base}/private/secret.html" in line and "robots.txt" in line for line in failed)
    assert "Traceback" not in result.err
    assert "files: 1 added" in result.out and result.code == 1  # partial, as for files that fail
    assert not any(e["path"] == "/private/secret.html" for e in site.log)
    assert not any(e["host"].startswith("localhost") for e in site.log)

    site.redirects["/page-01.html"] = "http://localhost:9/moved.html"  # now refused: the copy stays
    again = cli("index", f"{site.base}/mixed.xml", "--json", env=env).json()
    assert again["unchanged"] == 1 and not again["removed"]
    assert any(f["path"] == f"{site.base}/page-01.html" and "kept" in f["reason"] for f in again["failed"])

    nothing = cli("index", "http://127.0.0.1:9/none.html", env=env)
    assert nothing.code != 0 and "failed: http://127.0.0.1:9/none.html" in nothing.err


def test_crawl_follows_same_site_links_to_depth(cli, site, env):
    other_site = "http://localhost:" + site.base.rsplit(":", 1)[1]  # this server, by another name
    for name, link in (("a", "b"), ("b", "c"), ("c", "d"), ("d", "e")):
        site.put(f"/crawl/{name}.html", f"<h1>Crawl page {name}</h1><p>Page {name} of the crawl test.</p>"
                                        f"<a href='{link}.html'>next</a> <a href='{other_site}/crawl/x.html'>away</a>")
    result = cli("index", f"{site.base}/crawl/a.html", "--crawl", "2", "--json", env=env)
    assert result.code == 0, result.err
    assert sorted(result.json()["added"]) == [f"{site.host}/crawl/{n}.html" for n in "abc"]
    asked = {e["path"] for e in site.log}
    assert "/crawl/d.html" not in asked and not any(e["host"].startswith("localhost") for e in site.log)

    capped = cli("index", f"{site.base}/sitemap.xml", "--max-pages", "5", "--json", env=env).json()
    assert len(capped["added"]) == 5
    assert any("--max-pages" in n["note"] for n in capped["notes"])


def test_text_fragment_is_short_and_encoded():
    assert text_fragment("Short quote, here-now & done") == ":~:text=Short%20quote%2C%20here%2Dnow%20%26%20done"
    long = "one two three four five six seven eight nine ten"
    assert text_fragment(long) == ":~:text=one%20two%20three%20four,seven%20eight%20nine%20ten"
