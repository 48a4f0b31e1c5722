"""The chat window in a real browser: Playwright driving Debian's headless chromium.

Not skipped when chromium is missing: scripts/test.sh installs it, and a missing browser is a
failure to see, not coverage to pretend.
"""

from __future__ import annotations

import pytest

from tests.conftest import HOSTILE_NAME, PDF_NAME, ROOT

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = "/usr/bin/chromium"
# Without the background-networking flags chromium keeps trying to reach Google from a machine
# that has no internet; --no-sandbox because CI runs as root.
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run", "--disable-quic"]
OUTPUT = ROOT / "test-output" / "ui"
QUESTION = "Who heads the Russian delegation in the talks on the Belarusian-Polish border?"
SHOWCASE = "Which two countries could act as mediators according to Jensen?"  # the README's screenshot


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, chat_app):
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    requests = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(chat_app.url)
    page.wait_for_selector("#rag-question textarea", timeout=30_000)
    page.requests = requests
    yield page
    context.close()


def ask(page, question: str) -> None:
    page.fill("#rag-question textarea", question)
    page.press("#rag-question textarea", "Enter")


def test_a_question_gets_an_answer_with_markers_and_a_highlighted_passage(page):
    ask(page, SHOWCASE)
    page.wait_for_selector("#rag-citations mark", timeout=30_000)
    answer = page.locator("#rag-chat .message.bot, #rag-chat [data-testid='bot']").last
    answer.wait_for(timeout=10_000)
    assert "Turkey and Israel could play a useful role as mediators" in page.locator("#rag-chat").inner_text()
    links = page.locator('#rag-chat a[href^="#cite-"]')
    assert links.count() >= 1
    assert page.locator("#rag-citations #cite-1 mark").count() == 1
    highlighted = page.locator("#rag-citations #cite-1 mark").inner_text()
    assert highlighted.startswith("Turkey and Israel could play a useful role as mediators")
    links.first.click()  # the marker jumps to its passage (and does not navigate away)
    assert "#cite" not in page.url
    OUTPUT.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(OUTPUT / "chat.png"))
    assert (OUTPUT / "chat.png").stat().st_size > 10_000


def test_the_full_document_opens_at_the_passage(page):
    ask(page, QUESTION)
    page.wait_for_selector("#rag-citations mark", timeout=30_000)
    page.get_by_text("Full document").click()
    page.locator("#rag-open input").click()
    page.get_by_role("option").first.click()
    mark = page.locator("#rag-document mark#rag-doc-mark")
    mark.wait_for(timeout=10_000)
    assert mark.inner_text().strip()
    page.wait_for_function("() => { const m = document.getElementById('rag-doc-mark'); if (!m) return false;"
                           " const r = m.getBoundingClientRect(); return r.top >= 0 && r.bottom <= innerHeight; }",
                           timeout=10_000)


def test_a_hostile_passage_runs_no_script_and_loads_nothing_remote(page):
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    ask(page, "When does the Zorblax river flood?")
    page.wait_for_selector("#rag-citations mark", timeout=30_000)
    assert HOSTILE_NAME in page.locator("#rag-citations").inner_text()
    page.wait_for_timeout(500)
    assert page.locator("#rag-chat img, #rag-citations img").count() == 0
    assert page.locator("#rag-chat script, #rag-citations script").count() == 0
    assert not dialogs
    assert not [u for u in page.requests if "evil.example" in u]
    assert "<script>alert('xss')</script>" in page.locator("#rag-citations").inner_text()  # shown as text


def test_clear_empties_the_conversation_and_the_panel(page):
    ask(page, QUESTION)
    page.wait_for_selector("#rag-citations mark", timeout=30_000)
    page.click("#rag-clear")
    page.wait_for_selector("#rag-citations mark", state="detached", timeout=10_000)
    assert "Medinsky" not in page.locator("#rag-chat").inner_text()


def test_a_pdf_citation_shows_its_page_with_the_quote_marked_and_the_document_pages_through(page):
    ask(page, "Who kept the Quillmere lamp burning through the winter of 1912?")
    picture = page.locator("#rag-citations img.rag-page-image").first
    picture.wait_for(timeout=30_000)
    assert picture.evaluate("(img) => img.complete && img.naturalWidth") > 300  # decoded: the part of the page around the quote
    assert "p. 2" in page.locator("#rag-citations").inner_text()
    OUTPUT.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(OUTPUT / "pdf-citation.png"))
    page.get_by_text("Full document").click()
    page.locator("#rag-open input").click()
    page.get_by_role("option").first.click()
    shown = page.locator("#rag-page-view img.rag-page-image")
    shown.wait_for(timeout=10_000)
    assert shown.get_attribute("alt") == f"{PDF_NAME}, page 2"
    page.locator("#rag-page-number input[type=range]").focus()
    page.keyboard.press("ArrowLeft")  # to page 1
    page.wait_for_function("() => document.querySelector('#rag-page-view img')?.alt.endsWith('page 1')", timeout=30_000)


def _settled(page, selectors: list[str]) -> list[dict]:
    """The boxes of `selectors` once the layout stops moving (the sidebar slides open on load, and
    a measure taken meanwhile mixes two layouts)."""
    last = None
    for _ in range(50):
        boxes = [page.locator(selector).bounding_box() for selector in selectors]
        if boxes == last:
            return boxes
        last = boxes
        page.wait_for_timeout(100)
    return last


def test_the_question_box_spans_the_conversation_and_the_buttons_are_small(page):
    chat, box, ask_button = _settled(page, ["#rag-chat", "#rag-question textarea", "#rag-ask"])
    assert box["width"] >= 0.9 * chat["width"], (box, chat)  # at 1400 pixels wide
    assert ask_button["width"] <= 0.25 * chat["width"] and ask_button["height"] <= 48


def test_feedback_marks_the_right_span_and_becomes_an_eval_case_the_answer_misses(page, chat_app, tmp_path):
    """Ask, open the document, select the sentence that should have been cited, say "wrong source";
    `rag feedback export` makes it a case, and `rag eval` reports the answer as missing it."""
    import json
    import re
    import shlex

    from tests.conftest import run_subprocess

    ask(page, QUESTION)
    page.wait_for_selector("#rag-citations mark", timeout=30_000)
    page.get_by_text("Full document").click()
    page.locator("#rag-open input").click()
    page.get_by_role("option").first.click()
    page.locator("#rag-document mark#rag-doc-mark").wait_for(timeout=10_000)
    wanted = "The man who was the negotiator for Russia, Dmitry Kozak"
    page.evaluate("""(wanted) => {
        const view = document.querySelector('#rag-document .rag-passage');
        const walker = document.createTreeWalker(view, NodeFilter.SHOW_TEXT);
        for (let node = walker.nextNode(); node; node = walker.nextNode()) {
            const at = node.textContent.indexOf(wanted);
            if (at < 0) continue;
            const range = document.createRange();
            range.setStart(node, at);
            range.setEnd(node, at + wanted.length);
            getSelection().removeAllRanges();
            getSelection().addRange(range);
            return;
        }
        throw new Error('sentence not in the document view');
    }""", wanted)
    page.locator("#rag-right input").click()  # takes the focus: the page's selection is gone, ours is kept
    page.get_by_role("option", name="The text I selected in the full document").click()
    page.click("#rag-fb-wrong_source")
    page.wait_for_function("() => document.querySelector('#rag-fb-note')?.innerText.includes('Recorded')", timeout=15_000)
    assert "wrong source" in page.locator("#rag-fb-note").inner_text()
    assert re.search(r"\d+ feedback", page.locator("#rag-status").inner_text())
    OUTPUT.mkdir(parents=True, exist_ok=True)
    page.locator("#rag-feedback").first.screenshot(path=str(OUTPUT / "feedback.png"))

    cases = tmp_path / "cases.jsonl"
    exported = run_subprocess("feedback", "export", "--out", cases, env={"RAG_DATA_DIR": chat_app.config.data_dir})
    assert exported.returncode == 0, exported.stderr
    case = next(c for c in map(json.loads, cases.read_text().splitlines()) if c["question"] == QUESTION)
    assert case["evidence"] == [wanted]
    command = shlex.split(exported.stdout.strip().split("run: ", 1)[1])  # rag eval FILE --corpus ROOT
    evaluated = run_subprocess(*command[1:], "--out", tmp_path / "report", "--cache", tmp_path / "cache", "--json",
                               env={"RAG_DATA_DIR": tmp_path / "eval-data"})
    assert evaluated.returncode == 0, evaluated.stderr
    rows = json.loads((tmp_path / "report" / "results.json").read_text())["configs"][0]["per_case"]
    row = next(r for r in rows if r["id"] == case["id"])
    assert row["answerable"] and row["answer_evidence"] == 0.0  # the answer marked wrong misses it


def test_a_conversation_reopens_after_a_restart_with_its_citations_and_goes_on(browser, chat_app):
    """Ask; launch the window anew on the same data folder; open the conversation from the list:
    the answer and its citations panel are back, and a follow-up resolves against its turns."""
    from tests.conftest import free_port
    from ui.launch import launch

    first = browser.new_context(viewport={"width": 1400, "height": 900})
    page = first.new_page()
    page.goto(chat_app.url)
    page.wait_for_selector("#rag-question textarea", timeout=30_000)
    ask(page, "What does China think about the negotiations?")
    page.wait_for_selector("#rag-citations mark", timeout=30_000)
    page.close()

    config = chat_app.config.replace(ui_port=free_port())
    app = launch(config, block=False)  # a new server: what it shows comes from the data folder
    try:
        stranger = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
        stranger.goto(f"http://127.0.0.1:{config.ui_port}/")
        stranger.wait_for_selector("#rag-question textarea", timeout=30_000)
        assert "What does China think" not in stranger.locator("#rag-conv-list").inner_text(), \
            "without a login, another browser does not see this one's conversations"
        stranger.context.close()
        context = first  # the same browser (its cookie), the server restarted
        page = context.new_page()
        page.goto(f"http://127.0.0.1:{config.ui_port}/")
        page.wait_for_selector("#rag-question textarea", timeout=30_000)
        entry = page.locator("#rag-conv-list label", has_text="What does China think about the negotiations?")
        entry.first.click(timeout=30_000)  # the newest first
        page.wait_for_selector("#rag-citations mark", timeout=30_000)
        assert "[1]" in page.locator("#rag-citations").inner_text()
        assert "China" in page.locator("#rag-chat").inner_text()
        ask(page, "And what about Turkey?")
        page.wait_for_function("() => document.querySelector('#rag-chat')?.innerText.includes('understood as')",
                               timeout=30_000)
        understood = page.locator("#rag-chat").inner_text().split("understood as")[-1]
        assert "Turkey" in understood and "negotiations" in understood
        OUTPUT.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(OUTPUT / "conversation-reopened.png"))
        page.get_by_text("Rename, delete, export the open one").click()
        page.click("#rag-conv-export")
        link = page.locator("#rag-conv-download a[download]")
        link.wait_for(timeout=15_000)  # a data: link: the window serves no files by path
        assert link.get_attribute("download").endswith(".md")
        assert link.get_attribute("href").startswith("data:text/markdown;charset=utf-8;base64,")
        context.close()
    finally:
        app.close()
