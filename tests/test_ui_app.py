"""The launched chat window, through gradio_client and plain HTTP: answers with citations,
separate sessions, uploads (good and bad), and what the server refuses to serve."""

from __future__ import annotations

import json

import re
import urllib.parse

import httpx
import pytest

from tests.conftest import HOSTILE_NAME, SEEDS, TRUMP_QUESTION, free_port

pytestmark = pytest.mark.slow  # launches the chat window

MEDINSKY = "Who heads the Russian delegation in the talks on the Belarusian-Polish border?"


@pytest.fixture
def client(chat_app):
    from gradio_client import Client

    return Client(chat_app.url, verbose=False)


def ask(client, question: str):
    chat, citations, passages, answer, *_ = client.predict(question, api_name="/ask")
    return chat, citations, passages, json.loads(answer)


def file_text(source: str) -> str:
    return (SEEDS / source).read_text(encoding="utf-8")


def test_ask_answers_with_linked_markers_and_highlighted_passages(client):
    chat, citations, passages, answer = ask(client, MEDINSKY)
    assert not answer["abstained"] and answer["citations"]
    assert any("Vladimir Medinsky" in c["quote"] for c in answer["citations"])
    for c in answer["citations"]:  # every quote is exactly the file's text at its span
        assert file_text(c["source"])[c["start_char"]:c["end_char"]] == c["quote"]
    bubble = chat[-1]["content"][0]["text"]
    assert chat[-1]["role"] == "assistant" and "[\\[1\\]](#cite-1)" in bubble and "extractive" in bubble
    assert 'id="cite-1"' in citations and "<mark>" in citations and answer["citations"][0]["source"] in citations
    assert len(passages["choices"]) == len(answer["citations"])


def test_controls_filter_sources_set_passages_and_retrieval_mode(client):
    only = "001_6930dc61861687c8.txt"
    *_, answer, _, _ = client.predict(message="What do the writers say about Putin's reliance on negotiations?",
                                   sources=[only], k=2, mode="lexical", generator="extractive", api_name="/ask")
    answer = json.loads(answer)
    assert answer["citations"] and {c["source"] for c in answer["citations"]} == {only}
    assert len(answer["passages"]) <= 2 and {p["source"] for p in answer["passages"]} == {only}
    assert all(p["dense_score"] is None and p["lexical_score"] for p in answer["passages"])  # BM25 alone
    assert answer["generator"] == "extractive"


def test_a_user_mistake_is_a_message_not_a_traceback(client):
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match="Type a question first"):
        client.predict(message="   ", api_name="/ask")
    status = client.predict(api_name="/status_markdown")
    assert re.search(r"\*\*\d+\*\* documents · \*\*\d+\*\* chunks · model `.+` · store `.+`", status), status


def test_follow_ups_resolve_per_session(chat_app):
    from gradio_client import Client

    first, second = Client(chat_app.url, verbose=False), Client(chat_app.url, verbose=False)
    ask(first, "What does China think about the negotiations?")
    *_, followed = ask(first, "And what about Turkey?")
    *_, fresh = ask(second, "And what about Turkey?")
    assert followed["resolved_question"] != "And what about Turkey?"
    assert "Turkey" in followed["resolved_question"] and "negotiations" in followed["resolved_question"]
    assert fresh["resolved_question"] == "And what about Turkey?"  # the other session's history is not shared


def test_abstention_is_a_visible_note_with_closest_passages(client):
    chat, citations, _, answer = ask(client, "What is the boiling point of mercury on Mars?")
    assert answer["abstained"] and not answer["citations"]
    assert chat[-1]["content"][0]["text"].startswith("⚠️ **The documents don't answer this.**")
    assert "Closest passages: they do not answer the question" in citations


def test_a_hostile_passage_is_shown_inert(client):
    chat, citations, _, answer = ask(client, "When does the Zorblax river flood?")
    assert any(c["source"] == HOSTILE_NAME for c in answer["citations"]), answer["text"]
    bubble = chat[-1]["content"][0]["text"]  # Markdown: every active character escaped
    unescaped = re.compile(r"(?<!\\)(<|!\[|\]\()")
    assert not unescaped.search(bubble.replace("](#cite-", "")), bubble
    panel = "".join(ask(client, "What does the Zorblax bulletin say about boats?")[1:2]) + citations  # HTML
    assert HOSTILE_NAME in panel
    assert "<script" not in panel and "<img" not in panel and "href=" not in panel and "onload" not in panel
    assert "&lt;script&gt;alert('xss')&lt;/script&gt;" in panel or "&lt;script&gt;alert(&#x27;xss&#x27;)" in panel


def test_upload_is_indexed_and_answerable_at_once(client, chat_app, tmp_path):
    from gradio_client import handle_file

    note = tmp_path / "quokka festival notes.txt"
    note.write_text("The Quokka Festival in Perth is held every October on Rottnest Island.\n"
                    "Visitors count the quokkas at dawn.\n", encoding="utf-8")
    message, sources, status, cleared = client.predict([handle_file(str(note))], api_name="/upload")
    assert "Indexed and searchable now: quokka festival notes.txt" in message.replace("\\", "")
    assert "quokka festival notes.txt" in sources["choices"][-1][0] or any(
        "quokka festival notes.txt" in c[0] for c in sources["choices"])
    assert (chat_app.config.upload_dir / "quokka festival notes.txt").is_file()
    *_, answer = ask(client, "When is the Quokka Festival held?")
    assert not answer["abstained"]
    assert answer["citations"][0]["source"] == "quokka festival notes.txt"
    assert "every October" in answer["citations"][0]["quote"]


def test_a_long_upload_is_cancelled_from_the_window_and_another_window_uploads_meanwhile(client, chat_app, tmp_path,
                                                                                         monkeypatch):
    import threading

    from gradio_client import Client, handle_file

    from index import readers

    reading, release = threading.Event(), threading.Event()
    read = readers.read

    def read_held(name, data, options=readers.ReadOptions()):
        if name == "long scan.txt":  # as long as an OCR pass, for all the window can tell
            reading.set()
            assert release.wait(60)
        return read(name, data, options)

    monkeypatch.setattr(readers, "read", read_held)
    long = tmp_path / "long scan.txt"
    long.write_text("The Quillmere pier was rebuilt in 1931 by Tom Hale.\n", encoding="utf-8")
    job = client.submit([handle_file(str(long))], api_name="/upload")
    assert reading.wait(30)
    other = tmp_path / "short note.txt"
    other.write_text("The Quillmere ferry leaves at nine every Tuesday.\n", encoding="utf-8")
    message, *_ = Client(chat_app.url, verbose=False).predict([handle_file(str(other))], api_name="/upload")
    assert "Indexed and searchable now: short note.txt" in message.replace("\\", "")
    assert "Cancelling" in client.predict(api_name="/cancel_uploads")
    release.set()
    message, *_ = job.result(timeout=60)
    assert message == "Upload cancelled: nothing from it was indexed."
    assert not (chat_app.config.upload_dir / "long scan.txt").exists()
    assert "No upload of this window" in client.predict(api_name="/cancel_uploads")


def test_damaged_files_in_an_upload_are_one_line_each_and_the_good_one_is_indexed(client, chat_app, tmp_path):
    from gradio_client import handle_file

    from tests.pdfs import make_pdf
    from tests.test_hostile_files import _bare_docx

    files = {"count beyond pages.pdf": make_pdf([["The Quillmere bell was cast in 1802."]]).replace(b"/Count 1", b"/Count 5"),
             "no body.docx": _bare_docx('<?xml version="1.0"?><w:document xmlns:w="http://schemas.openxmlformats.org/'
                                        'wordprocessingml/2006/main"></w:document>'),
             "bell note.txt": b"The Quillmere bell rings twice at noon.\n"}
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    message, *_ = client.predict([handle_file(str(tmp_path / name)) for name in files], api_name="/upload")
    message = message.replace("\\", "")
    added = message.split("Indexed and searchable now: ")[1].split(".\n")[0]
    assert sorted(added.split(", ")) == ["bell note.txt", "count beyond pages.pdf"]
    assert "Note: 'count beyond pages.pdf': page 2: damaged, it cannot be loaded" in message
    assert "Refused: 'no body.docx' cannot be read as text: damaged Word file: it has no document body" in message
    assert "error" not in message.lower() and "Traceback" not in message


@pytest.mark.parametrize("name, content, reason", [
    ("drawing.svg", '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "files can be added"),
    ("sneaky.txt", '<svg onload="alert(1)"></svg>', "SVG or script"),
    ("empty.txt", "", "empty"),
])
def test_a_bad_upload_is_refused_and_changes_nothing(client, chat_app, tmp_path, name, content, reason):
    from gradio_client import handle_file
    from gradio_client.exceptions import AppError

    before = client.predict(api_name="/status_markdown")
    bad = tmp_path / name
    bad.write_text(content, encoding="utf-8")
    with pytest.raises(AppError, match=reason):
        client.predict([handle_file(str(bad))], api_name="/upload")
    assert client.predict(api_name="/status_markdown") == before
    assert not (chat_app.config.upload_dir / name).exists()


def test_a_bad_replacement_keeps_the_earlier_upload_and_a_name_clash_leaves_nothing(client, chat_app, tmp_path):
    import random

    from gradio_client import handle_file
    from gradio_client.exceptions import AppError

    good = tmp_path / "wombat notes.txt"
    good.write_text("Wombats produce cube-shaped droppings, the wombat notes say.\n", encoding="utf-8")
    client.predict([handle_file(str(good))], api_name="/upload")
    kept = chat_app.config.upload_dir / "wombat notes.txt"
    assert kept.read_bytes() == good.read_bytes()
    bad = tmp_path / "replacement" / "wombat notes.txt"
    bad.parent.mkdir()
    random.seed(7)
    bad.write_bytes(bytes(random.randrange(0x80, 0x100) for _ in range(400)))  # no encoding decodes it
    with pytest.raises(AppError, match="UTF-8"):
        client.predict([handle_file(str(bad))], api_name="/upload")
    assert kept.read_bytes() == good.read_bytes()  # on disk as in the index: the earlier file
    assert sorted(p.name for p in kept.parent.iterdir() if "wombat" in p.name) == ["wombat notes.txt"]
    *_, answer = ask(client, "What shape are wombat droppings?")
    assert "cube-shaped" in answer["citations"][0]["quote"]

    clash = tmp_path / "000_51828c4c6a9453e8.txt"  # the name of an indexed seed document
    clash.write_text("Something else entirely about the talks.\n", encoding="utf-8")
    with pytest.raises(AppError, match="already indexed"):
        client.predict([handle_file(str(clash))], api_name="/upload")
    assert not (chat_app.config.upload_dir / clash.name).exists()


def test_an_upload_over_the_size_limit_is_refused(client, tmp_path):
    from gradio_client import handle_file

    big = tmp_path / "big.txt"
    big.write_text("words " * 400_000, encoding="utf-8")  # 2.4 MB, the app allows 1 MB
    with pytest.raises(Exception, match="(?i)size|large|limit"):
        client.predict([handle_file(str(big))], api_name="/upload")


def test_the_server_serves_no_index_or_uploaded_files(chat_app):
    data = chat_app.config.data_dir.resolve()
    targets = [
        data / "manifest.sqlite", data / "chroma" / "chroma.sqlite3",
        chat_app.config.upload_dir.resolve() / "quokka festival notes.txt",
        "../../../../etc/passwd", f"{data}/../{data.name}/manifest.sqlite", "/etc/passwd",
    ]
    with httpx.Client(base_url=chat_app.url, timeout=10) as http:
        # Gradio keeps what the browser uploads in its cache; it must not hand it back as-is.
        cached = http.post("gradio_api/upload", files={"files": ("evil.html", b"<script>alert(1)</script>", "text/html")})
        assert cached.status_code == 200
        targets.append(cached.json()[0])
        for target in targets:
            for url in (f"gradio_api/file={target}", f"gradio_api/file={urllib.parse.quote(str(target), safe='')}",
                        f"file={target}"):
                response = http.get(url)
                assert response.status_code in (403, 404), (url, response.status_code)
                assert b"SQLite format" not in response.content and b"root:" not in response.content
                assert b"<script>" not in response.content


def test_an_llm_answer_streams_into_the_window_with_unverified_sentences_struck_through(chat_app, seeds_index):
    from gradio_client import Client

    from tests.openai_server import ScriptedServer, passage_number
    from ui.launch import launch

    def script(messages):
        n = passage_number(messages, "000_51828c4c6a9453e8.txt")
        return (f"The Russian delegation is headed by Vladimir Medinsky [{n}]. "
                f"Putin attended the talks in person [9].")

    with ScriptedServer(script) as server:
        config = chat_app.config.replace(data_dir=seeds_index, ui_port=free_port(), generator="openai",
                                         llm_base_url=server.url)
        app = launch(config, block=False)
        try:
            job = Client(f"http://127.0.0.1:{config.ui_port}/", verbose=False).submit(
                message=MEDINSKY, generator="openai", api_name="/ask")
            final = job.result(timeout=120)
            updates = [o[0][-1]["content"][0]["text"] for o in job.outputs() if o[0]]
        finally:
            app.close()
    growing = [u for u in updates[:-1] if u not in ("…", updates[-1])]
    assert len(growing) >= 3, updates  # the reply appears word by word before it is checked
    bubble, answer = final[0][-1]["content"][0]["text"], json.loads(final[3])
    assert answer["generator"] == "openai" and "openai" in bubble
    assert "~~" in bubble and "unverified" in bubble and "never given" in bubble  # [9] was never given
    assert "Vladimir Medinsky" in bubble and answer["citations"][0]["source"] == "000_51828c4c6a9453e8.txt"


def test_login_is_required_when_configured(chat_app):
    from gradio_client import Client

    from ui.launch import launch

    config = chat_app.config.replace(ui_port=free_port(), ui_auth="ann:s3cret")
    app = launch(config, block=False, assistant=None)
    try:
        url = f"http://127.0.0.1:{config.ui_port}/"
        with httpx.Client(timeout=10) as http:
            refused = http.get(f"{url}config")
            assert refused.status_code == 401 and "components" not in refused.text
            assert http.post(f"{url}login", data={"username": "ann", "password": "wrong"}).status_code >= 400
        with pytest.raises(Exception):
            Client(url, verbose=False).predict(TRUMP_QUESTION, api_name="/ask")
        *_, answer = Client(url, auth=("ann", "s3cret"), verbose=False).predict(TRUMP_QUESTION, api_name="/ask")[:4]
        assert json.loads(answer)["citations"]
    finally:
        app.close()


def test_rag_chat_serves_the_window_from_a_fresh_process(seeds_index, tmp_path):
    import os
    import subprocess
    import sys
    import time

    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")} | {
        "RAG_DATA_DIR": str(seeds_index), "RAG_UPLOAD_DIR": str(tmp_path / "uploads")}
    server = subprocess.Popen([sys.executable, "-m", "rag", "chat", "--port", str(port)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline, page = time.time() + 120, None
        while time.time() < deadline and server.poll() is None:
            try:
                page = httpx.get(f"http://127.0.0.1:{port}/", timeout=2)
                break
            except httpx.HTTPError:
                time.sleep(0.5)
        assert page is not None and page.status_code == 200, server.stderr.read() if server.poll() is not None else ""
        from gradio_client import Client

        *_, answer = Client(f"http://127.0.0.1:{port}/", verbose=False).predict(TRUMP_QUESTION, api_name="/ask")[:4]
        answer = json.loads(answer)
        assert answer["citations"] and not answer["abstained"]
    finally:
        server.terminate()
        _, err = server.communicate(timeout=20)
    assert f"chat window: http://127.0.0.1:{port}/" in err
    assert "Traceback" not in err
