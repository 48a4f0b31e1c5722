"""The launched chat window against a hostile visitor, over plain HTTP (issue 14): raw uploads are
never served back, the upload event takes only the caller's own uploads, Gradio's upload cache is
private and emptied, nothing about the index shows before login, logins are throttled, a foreign
`Host` is refused, and what the window shows links nowhere, names no server path and keeps no
huge question."""

from __future__ import annotations

import json
import os
import re
import stat
import time
import urllib.parse
from pathlib import Path

import httpx
import pytest

from tests.conftest import HOSTILE_NAME, SEEDS, free_port
from ui import render
from ui.chat import SEED_EXAMPLES

LOGIN = ("ann", "s3cret")
LINKED_NAME = "zz_contacts.txt"
LINKED = ("Harbour office contacts\n\n"
          "The Quillby harbour office answers questions at https://harbour.example/contact and at "
          "www.harbour.example, and by mail to master@harbour.example every weekday.\n")


@pytest.fixture(scope="module")
def login_app(chat_app):
    """The same window and index behind a login."""
    from ui.launch import launch

    config = chat_app.config.replace(ui_port=free_port(), ui_auth=":".join(LOGIN))
    app = launch(config, block=False)
    yield f"http://127.0.0.1:{config.ui_port}/"
    app.close()


@pytest.fixture
def http(chat_app):
    """A visitor without a browser: its own cookie jar, nothing else."""
    with httpx.Client(base_url=chat_app.url, timeout=60) as client:
        yield client


def upload(http: httpx.Client, name: str, data: bytes) -> str:
    """Put bytes in Gradio's upload cache the way a browser does; the path it answers."""
    response = http.post("gradio_api/upload", files={"files": (name, data, "application/octet-stream")})
    assert response.status_code == 200, response.text
    return response.json()[0]


def call(http: httpx.Client, api: str, data: list) -> tuple[str, object]:
    """Run an event through Gradio's HTTP API: ('complete', outputs) or ('error', message)."""
    started = http.post(f"gradio_api/call/{api}", json={"data": data})
    assert started.status_code == 200, started.text
    stream = http.get(f"gradio_api/call/{api}/{started.json()['event_id']}").text
    event = re.findall(r"^event: (\w+)", stream, re.M)[-1]
    payload = json.loads(re.findall(r"^data: (.*)$", stream, re.M)[-1])
    return event, payload["error"] if event == "error" and isinstance(payload, dict) else payload


def file_record(path: str, name: str) -> dict:
    return {"path": path, "orig_name": name, "meta": {"_type": "gradio.FileData"}}


def indexed_names() -> list[str]:
    return sorted([p.name for p in SEEDS.iterdir() if p.is_file()] + [HOSTILE_NAME])


# 1. Raw uploads are not served back, under any spelling of a file route.

def test_no_route_serves_a_raw_upload(chat_app, http):
    """Gradio serves its upload cache at /gradio_api/file=…, /gradio_api/file/… and more; a raw
    upload is an attacker's HTML page on this origin, so every spelling must be refused."""
    page = b"<script>alert('same origin')</script>"
    path = upload(http, "evil.html", page)
    quoted = urllib.parse.quote(path, safe="")
    spellings = [
        f"/gradio_api/file={path}", f"/gradio_api/file/{path}", f"/gradio_api/file={quoted}",
        f"/gradio_api/file/{quoted}", f"/gradio_api%2Ffile%3D{path}", f"/gradio_api%2ffile%2F{path}",
        f"//gradio_api//file={path}", f"/gradio_api//file/{path}", f"/gradio_api/file=/{path}",
        f"/file={path}", f"/gradio_api/proxy=http://127.0.0.1:{chat_app.config.ui_port}/gradio_api/file={path}",
        "/gradio_api/stream/x/y/1/playlist-file",
    ]
    for raw in spellings:
        url = httpx.URL(chat_app.url).copy_with(raw_path=raw.encode())
        for method in ("GET", "HEAD"):
            response = http.request(method, url)
            assert response.status_code in (403, 404), (method, raw, response.status_code)
            assert b"<script>" not in response.content, raw
    assert http.get(f"gradio_api/file={path}").status_code == 403  # refused by us, not by chance
    assert http.get(f"gradio_api/file/{path}").status_code == 403


def test_the_page_and_its_assets_still_load(http):
    """Refusing file routes must not take the page's own scripts, theme or icon with it."""
    page = http.get("/")
    assert page.status_code == 200 and "gradio_config" in page.text
    assets = re.findall(r"\./(assets/[\w.-]+\.(?:js|css))", page.text)
    assert assets, "the page names no script"
    for path in [*assets[:3], "theme.css", "favicon.ico", "config"]:
        assert http.get(path).status_code == 200, path


# 2. The upload event takes only the caller's own uploads.

def test_the_upload_event_refuses_another_browsers_upload(chat_app, http):
    """Anyone who learns a path in the upload cache (it is in every upload response, and Gradio's
    own check only asks that the file lie in the cache) could index it and delete it."""
    secret = b"The Tarnwick lantern committee meets in the old mill every Tuesday.\n"
    path = upload(http, "tarnwick notes.txt", secret)
    with httpx.Client(base_url=chat_app.url, timeout=60) as stranger:
        event, message = call(stranger, "upload", [[file_record(path, "stolen.txt")]])
    assert event == "error" and "Not uploaded from this window" in message, message
    assert Path(path).read_bytes() == secret  # neither indexed nor deleted
    assert not (chat_app.config.upload_dir / "stolen.txt").exists()
    assert not (chat_app.config.upload_dir / "tarnwick notes.txt").exists()

    event, outputs = call(http, "upload", [[file_record(path, "tarnwick notes.txt")]])  # the uploader may
    assert event == "complete" and "Indexed and searchable now: tarnwick notes.txt" in outputs[0].replace("\\", "")
    assert not Path(path).exists() and not Path(path).parent.exists()  # the raw copy and its folder are gone
    event, message = call(http, "upload", [[file_record(path, "tarnwick notes.txt")]])  # and only once
    assert event == "error" and "Not uploaded from this window" in message


def test_the_upload_event_refuses_a_file_it_did_not_receive(chat_app, http):
    """A file that lies in the upload cache without having come through the upload route."""
    folder = Path(os.environ["GRADIO_TEMP_DIR"])
    planted = folder / "planted" / "planted.txt"
    planted.parent.mkdir(exist_ok=True)
    planted.write_text("Planted straight into the cache.\n", encoding="utf-8")
    try:
        event, message = call(http, "upload", [[file_record(str(planted), "planted.txt")]])
        assert event == "error" and "Not uploaded from this window" in message, message
        assert planted.exists() and not (chat_app.config.upload_dir / "planted.txt").exists()
    finally:
        planted.unlink(missing_ok=True)
        planted.parent.rmdir()


# 3. Gradio's upload cache is private to the app and does not keep raw uploads.

def test_the_upload_cache_is_private_to_the_app(chat_app, http):
    """By default every Gradio app on the machine shares /tmp/gradio, readable by other users."""
    folder = (chat_app.config.data_dir / "tmp-uploads").resolve()
    assert Path(os.environ["GRADIO_TEMP_DIR"]) == folder, "Gradio's upload cache is not the app's own folder"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700, oct(folder.stat().st_mode)
    assert Path(upload(http, "cached.txt", b"cached\n")).is_relative_to(folder)


def test_refused_and_forgotten_uploads_do_not_pile_up(chat_app, http):
    """A refused upload is deleted at once; one never submitted goes with Gradio's scheduled sweep."""
    from gradio.route_utils import delete_files_created_by_app

    from ui.guard import UPLOAD_TTL_S

    refused = upload(http, "drawing.svg", b"<svg onload='alert(1)'/>")
    event, message = call(http, "upload", [[file_record(refused, "drawing.svg")]])
    assert event == "error" and "drawing.svg" in message
    assert not Path(refused).exists()

    forgotten = upload(http, "forgotten.txt", b"never submitted\n")
    assert chat_app.app.delete_cache == (60, UPLOAD_TTL_S)
    delete_files_created_by_app(chat_app.app, age=0)  # what the schedule runs, minus the wait
    assert not Path(forgotten).exists()


def test_the_upload_cache_starts_empty_and_private(tmp_path, monkeypatch):
    """Raw uploads left by an earlier run are gone when the window starts again."""
    import ui.launch

    monkeypatch.setattr(ui.launch, "_temp_folder", None)
    monkeypatch.setenv("GRADIO_TEMP_DIR", os.environ.get("GRADIO_TEMP_DIR", ""))
    stale = tmp_path / "data" / "tmp-uploads" / "0123abcd" / "left over.txt"
    stale.parent.mkdir(parents=True)
    stale.write_text("from the last run\n", encoding="utf-8")
    folder = ui.launch.private_temp_folder(tmp_path / "data")
    assert folder == stale.parents[1] and os.environ["GRADIO_TEMP_DIR"] == str(folder)
    assert not any(folder.iterdir()) and stat.S_IMODE(folder.stat().st_mode) == 0o700


# 4. Nothing about the index before login.

def test_before_login_nothing_names_a_document(login_app):
    """Gradio embeds its API description, choices included, in the login page itself."""
    with httpx.Client(base_url=login_app, timeout=30) as stranger:
        for route in ("/", "config", "gradio_api/info", "gradio_api/openapi.json", "manifest.json"):
            text = stranger.get(route).text
            leaked = [n for n in indexed_names() + list(SEED_EXAMPLES) if n in text]
            assert not leaked, (route, leaked)
        assert stranger.get("config").status_code == 401
    from gradio_client import Client

    *_, answer, _, _ = Client(login_app, auth=LOGIN, verbose=False).predict(
        message="Who heads the Russian delegation?", sources=[HOSTILE_NAME], api_name="/ask")
    assert {p["source"] for p in json.loads(answer)["passages"]} <= {HOSTILE_NAME}  # a name typed in still works


# 5. Failed logins are throttled per address.

def test_failed_logins_are_throttled(login_app):
    """100 wrong passwords used to take 1.4 s; now the sixth waits, and the wait grows."""
    with httpx.Client(base_url=login_app, timeout=30) as guesser:
        tries = [guesser.post("login", data={"username": "ann", "password": f"guess{i}"}) for i in range(5)]
        assert [t.status_code for t in tries] == [400] * 5
        blocked = guesser.post("login", data={"username": "ann", "password": "guess5"})
        assert blocked.status_code == 429 and int(blocked.headers["retry-after"]) >= 1
        right_too_soon = guesser.post("login", data={"username": "ann", "password": LOGIN[1]})
        assert right_too_soon.status_code == 429  # no password is checked while blocked
        time.sleep(int(right_too_soon.headers["retry-after"]))
        assert guesser.post("login", data={"username": "ann", "password": LOGIN[1]}).status_code == 200  # count reset


def test_guesses_sent_at_once_are_held_to_the_same_pace(login_app):
    """Twenty guesses in parallel: the check must not let all of them through before any fails."""
    from concurrent.futures import ThreadPoolExecutor

    def guess(i: int) -> int:
        with httpx.Client(base_url=login_app, timeout=30) as guesser:
            return guesser.post("login", data={"username": "ann", "password": f"parallel{i}"}).status_code

    with ThreadPoolExecutor(max_workers=20) as pool:
        codes = list(pool.map(guess, range(20)))
    assert codes.count(400) == 5 and codes.count(429) == 15, codes
    time.sleep(2)  # the wait after five failures is one second
    with httpx.Client(base_url=login_app, timeout=30) as owner:
        assert owner.post("login", data={"username": "ann", "password": LOGIN[1]}).status_code == 200


# 6. A foreign Host is refused (DNS rebinding against the loginless default).

def test_a_foreign_host_is_refused(chat_app, http):
    """A page on evil.example rebound to 127.0.0.1 sends Host: evil.example; it must read nothing."""
    port = chat_app.config.ui_port
    foreign = {"Host": f"evil.example:{port}", "Origin": f"http://evil.example:{port}"}
    for route in ("/", "config", "gradio_api/info"):
        refused = http.get(route, headers=foreign)
        assert refused.status_code == 400 and "components" not in refused.text, route
    asked = http.post("gradio_api/call/ask", json={"data": ["Who heads the Russian delegation?"]}, headers=foreign)
    assert asked.status_code == 400
    for name in ("localhost", "127.0.0.1", "[::1]"):
        assert http.get("config", headers={"Host": f"{name}:{port}"}).status_code == 200, name
    assert http.get("config", headers={"Host": "127.0.0.1:1"}).status_code == 400  # another port is another site


def test_a_post_from_another_site_is_refused(chat_app, http):
    """Any page the user visits can POST to the loopback chat: an upload or a question from it is
    refused; the chat's own page (same origin) and clients that send no Origin are not."""
    own = chat_app.url.rstrip("/")
    for origin in ("https://evil.example", "null"):
        refused = http.post("gradio_api/upload", files={"files": ("x.txt", b"planted", "text/plain")},
                            headers={"Origin": origin})
        assert refused.status_code == 403 and "another site" in refused.text
        asked = http.post("gradio_api/call/ask", json={"data": ["Who heads the Russian delegation?"]},
                          headers={"Origin": origin})
        assert asked.status_code == 403
    assert http.post("gradio_api/upload", files={"files": ("x.txt", b"own", "text/plain")},
                     headers={"Referer": "https://evil.example/page"}).status_code == 403
    assert http.post("gradio_api/upload", files={"files": ("x.txt", b"own", "text/plain")},
                     headers={"Origin": own}).status_code == 200


def test_uploads_waiting_unclaimed_are_held_to_a_quota(tmp_path):
    """Raw uploads wait in the cache until added or expired: per browser and in all, the bytes
    waiting are capped, so a loop of POSTs cannot fill the disk. (The app behind the guard is a
    stand-in for Gradio's upload route: it stores the body and answers its path.)"""
    from starlette.testclient import TestClient

    from rag.throttle import LoginThrottle
    from ui.guard import Guard, UploadLedger

    stored: list[Path] = []

    async def upload_route(scope, receive, send):
        body, more = b"", True
        while more:
            message = await receive()
            body, more = body + message.get("body", b""), message.get("more_body", False)
        path = tmp_path / f"upload-{len(stored)}"
        path.write_bytes(body)
        stored.append(path)
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": json.dumps([str(path)]).encode()})

    guard = Guard(upload_route, None, UploadLedger(per_browser=3000, total=5000), LoginThrottle())
    clients = [TestClient(guard, base_url="http://127.0.0.1:7860") for _ in range(3)]  # three cookie jars
    sent = [[client.post("/gradio_api/upload", content=b"x" * 900).status_code for _ in range(4)] for client in clients]
    assert sent[0] == [200, 200, 200, 413]  # one browser: 3,000 bytes
    assert sent[1] == [200, 200, 413, 413] and sent[2] == [413] * 4  # all browsers: 5,000
    assert sum(p.stat().st_size for p in stored) <= 5000
    unsized = clients[0].post("/gradio_api/upload", content=iter([b"x"]))  # a chunked body says no length
    assert unsized.status_code == 411


# 7. What the window shows: inert links, no server paths, a fresh document list, no huge question kept.

def test_markdown_escaping_breaks_bare_links_but_reads_the_same():
    text = "Write to master@harbour.example, see https://harbour.example/a?b=c, www.harbour.example or ftp://x."
    escaped = render.escape_markdown(text)
    assert "https\\://" in escaped and "www\\." in escaped and "master\\@" in escaped and "ftp\\://" in escaped
    assert re.sub(r"\\(.)", r"\1", escaped) == text  # unescaped, it is the text as it was


@pytest.fixture(scope="module")
def linked_document(chat_app, tmp_path_factory):
    """A document quoting a URL and an e-mail address, uploaded and indexed through the window."""
    from gradio_client import Client, handle_file

    source = tmp_path_factory.mktemp("linked") / LINKED_NAME
    source.write_text(LINKED, encoding="utf-8")
    message, *_ = Client(chat_app.url, verbose=False).predict([handle_file(str(source))], api_name="/upload")
    assert LINKED_NAME in message.replace("\\", ""), message
    return LINKED_NAME


QUILLBY = "How can the Quillby harbour office be reached?"


def test_a_quoted_url_or_address_is_not_a_link_in_the_bubble(chat_app, linked_document):
    from gradio_client import Client

    chat, _, _, answer, *_ = Client(chat_app.url, verbose=False).predict(QUILLBY, api_name="/ask")
    answer = json.loads(answer)
    assert any(c["source"] == linked_document for c in answer["citations"]), answer["text"]
    bubble = chat[-1]["content"][0]["text"]
    assert "harbour.example" in bubble
    assert not re.search(r"(?<!\\)(https?|ftp)://|(?<!\\)www\.|[\w.]+(?<!\\)@\w", bubble), bubble


def test_no_absolute_server_path_is_shown(chat_app, tmp_path):
    """The status named the store by its full path, and a refusal the data folder."""
    from gradio_client import Client

    from ui.launch import launch

    status = Client(chat_app.url, verbose=False).predict(api_name="/status_markdown")
    assert str(chat_app.config.data_dir.resolve()) not in status and not re.search(r"`/", status), status
    assert "store `" in status

    empty = chat_app.config.replace(data_dir=tmp_path / "nothing yet", ui_port=free_port())
    app = launch(empty, block=False)
    try:
        chat, *_ = Client(f"http://127.0.0.1:{empty.ui_port}/", verbose=False).predict("Anything?", api_name="/ask")
    finally:
        app.close()
    bubble = chat[-1]["content"][0]["text"]
    assert "indexed" in bubble and str(tmp_path) not in bubble.replace("\\", ""), bubble


def test_a_huge_question_is_refused_and_not_kept(chat_app, http):
    """A session sending a 1 MB question kept about 2 MB (the question as Gradio's stored input,
    again in the chat history); now the request is refused before Gradio reads it, the box stops
    at the limit, and an over-long question that does arrive is not kept by the handler."""
    from gradio_client import Client
    from gradio_client.exceptions import AppError

    from rag.assistant import MAX_QUERY_CHARS

    huge = http.post("gradio_api/call/ask", json={"data": ["q" * 1_000_000]})
    assert huge.status_code == 413
    box = next(c for c in http.get("config").json()["components"] if c["props"].get("elem_id") == "rag-question")
    assert box["props"]["max_length"] == MAX_QUERY_CHARS

    client = Client(chat_app.url, verbose=False)
    long_question = "zyzzyva " * (MAX_QUERY_CHARS // 8 + 10)
    with pytest.raises(AppError, match=f"the limit is {MAX_QUERY_CHARS:,}"):
        client.predict(long_question, api_name="/ask")
    session = chat_app.app.state_holder[client.session_hash]
    question_id = next(i for i, b in chat_app.app.blocks.items() if getattr(b, "elem_id", None) == "rag-question")
    kept = [repr(session.state_data)] + [repr(v) for k, v in session.config_values.items() if k != question_id]
    assert not [k for k in kept if "zyzzyva" in k]


# 7, in a browser: bubbles link nowhere, and the document list follows uploads made elsewhere.

@pytest.fixture
def page(chat_app):
    from playwright.sync_api import sync_playwright

    from tests.test_ui_browser import CHROMIUM, FLAGS

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.goto(chat_app.url)
        page.wait_for_selector("#rag-question textarea", timeout=30_000)
        yield page
        browser.close()


@pytest.mark.browser
def test_in_the_browser_a_quoted_url_is_plain_text(page, linked_document):
    page.fill("#rag-question textarea", QUILLBY)
    page.press("#rag-question textarea", "Enter")
    page.wait_for_selector("#rag-citations mark", timeout=30_000)
    bubble = page.locator("#rag-chat .message.bot, #rag-chat [data-testid='bot']").last
    assert "https://harbour.example/contact" in bubble.inner_text()
    assert "master@harbour.example" in bubble.inner_text()
    hrefs = bubble.locator("a").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    assert all(h.startswith("#cite-") for h in hrefs), hrefs


@pytest.mark.browser
def test_in_the_browser_the_document_list_follows_uploads_elsewhere(page, chat_app, tmp_path):
    from gradio_client import Client, handle_file

    page.locator("#rag-sources input").click()
    assert page.get_by_role("option", name=HOSTILE_NAME).count() == 1  # filled on load
    page.keyboard.press("Escape")
    note = tmp_path / "elsewhere notes.txt"
    note.write_text("The Brindlecombe ferry leaves at dawn from the north pier.\n", encoding="utf-8")
    Client(chat_app.url, verbose=False).predict([handle_file(str(note))], api_name="/upload")  # another browser
    page.fill("#rag-question textarea", "When does the Brindlecombe ferry leave?")
    page.press("#rag-question textarea", "Enter")
    page.wait_for_selector("#rag-citations mark", timeout=30_000)
    page.wait_for_timeout(500)
    page.locator("#rag-sources input").click()
    assert page.get_by_role("option", name=note.name).count() == 1
