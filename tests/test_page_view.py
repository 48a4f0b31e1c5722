"""A cited PDF page as a picture with its quote marked: placed from the text layer (or the OCR
boxes of a scan), shown in the citations panel, and never for a file that changed since indexing."""

from __future__ import annotations

import io
import re

import pytest

from index import readers
from rag.page_view import SCALE, _aligned, render_page
from rag.types import Citation, PageRef
from tests.pdfs import Scan, make_pdf
from ui import render

PAGES = [
    ["Harbour report.", "The Quillmere lighthouse was rebuilt in 1911 after a storm destroyed the old tower."],
    ["Keepers.", "The lamp was trimmed every evening.", "Ada Fenwick kept the lamp burning through the winter of 1912.",
     "The harbour board thanked her in 1913."],
    Scan(["Keepers' log.", "Tom Hale kept the Quillmere lamp from 1920 to 1931."]),
]


def _marked_rows(picture: bytes) -> list[int]:
    """Pixel rows (in points from the page top) where the highlight's yellow shows."""
    from PIL import Image

    image = Image.open(io.BytesIO(picture)).convert("RGB")
    width, height = image.size
    pixels = image.load()
    rows = {y for y in range(0, height, 2) for x in range(0, width, 4) if _yellow(*pixels[x, y])}
    return sorted(round(y / SCALE) for y in rows)


def _yellow(red: int, green: int, blue: int) -> bool:
    return red > 200 and green > 150 and blue < 120


@pytest.fixture(scope="module")
def report():
    data = make_pdf(PAGES)
    return data, readers.read("report.pdf", data)


def test_the_quote_is_marked_on_its_own_line_of_the_page(report):
    data, reading = report
    quote = "Ada Fenwick kept the lamp burning through the winter of 1912."
    start = reading.text.index(quote)
    rows = _marked_rows(render_page(data, reading.pages[1], start, start + len(quote), reading.text))
    # make_pdf sets line k of a page at 740 - 14k points from the bottom of a 792-point page:
    # the quote is line 2, its baseline 80 points from the top
    assert rows and 66 <= min(rows) and max(rows) <= 86


def test_a_scanned_page_marks_the_recognised_line(report):
    data, reading = report
    quote = "Tom Hale kept the Quillmere lamp from 1920 to 1931."
    start = reading.text.index(quote)
    scan = reading.pages[2]
    assert scan.ocr
    rows = _marked_rows(render_page(data, scan, start, start + len(quote), reading.text))
    assert rows and 50 <= min(rows) and max(rows) <= 90  # line 1 of the scan, baseline 66 points down


def test_the_panel_shows_the_part_of_the_page_around_the_quote(report):
    from PIL import Image

    data, reading = report
    start = reading.text.index("Ada Fenwick")
    whole = Image.open(io.BytesIO(render_page(data, reading.pages[1], start, start + 30, reading.text)))
    part = Image.open(io.BytesIO(render_page(data, reading.pages[1], start, start + 30, reading.text, around=True)))
    assert whole.size == (round(612 * SCALE), round(792 * SCALE))
    assert part.width >= whole.width / 2 - 8 and part.height < whole.height / 3 and _marked_rows(
        render_page(data, reading.pages[1], start, start + 30, reading.text, around=True))


def test_nothing_is_marked_for_a_span_on_another_page(report):
    data, reading = report
    start = reading.text.index("Ada Fenwick")
    assert _marked_rows(render_page(data, reading.pages[0], start, start + 20, reading.text)) == []


@pytest.mark.parametrize("page_text, quote", [
    ("Cruz's motion was fled late, the court said.", "Cruz's motion was filed late, the court said."),  # a broken ligature
    ("the exam\ufffe\r\nination of 1912 found it sound", "the examination of 1912 found it sound"),  # a joined hyphen
])
def test_the_quote_is_found_in_a_text_layer_that_reads_differently(page_text, quote):
    first, last = _aligned(page_text, quote)
    assert page_text[first] == quote[0] and page_text[last - 1] == quote.rstrip(".")[-1]


def test_a_quote_not_on_the_page_is_not_placed():
    assert _aligned("The lamp burns paraffin.", "Ada Fenwick kept the lamp burning through 1912.") is None


def _citation(pages: tuple[PageRef, ...], passage: str = "Ada Fenwick kept the lamp.") -> Citation:
    return Citation(marker=1, source="report.pdf", quote=passage, start_char=0, end_char=len(passage),
                    passage=passage, passage_start=0, passage_end=len(passage), chunk_id="c", pages=pages)


def test_the_citations_panel_shows_the_page_picture_and_its_label():
    from rag.types import Answer

    page = PageRef(2, "ii", 0, 100, ocr=True)
    answer = Answer(question="q", text="Ada Fenwick kept the lamp. [1]", abstained=False, citations=(_citation((page,)),))
    asked = []
    panel = render.citations_html(answer, lambda *args: asked.append(args) or b"RIFF-picture")
    assert asked == [("report.pdf", 2, 0, 26, True)]
    assert re.search(r'<img class="rag-page-image" alt="report.pdf, p. ii \(OCR\), the quote highlighted" '
                     r'src="data:image/webp;base64,[A-Za-z0-9+/=]+">', panel)
    assert "p. ii (OCR)" in panel
    assert "<img" not in render.citations_html(answer)  # no picture without a page source


def test_a_passage_cannot_smuggle_markup_through_the_picture_slots():
    from rag.types import Answer

    hostile = 'rag-page-0123 <img src="https://evil.example/x.png"> <div class="rag-page">rag-page-0</div>'
    answer = Answer(question="q", text="x [1]", abstained=False,
                    citations=(_citation((PageRef(1, "1", 0, 500),), hostile),))
    panel = render.citations_html(answer, lambda *args: b"png")
    assert panel.count("<img") == 1 and "&lt;img src=\"https://evil.example/x.png\"&gt;" in panel  # shown as text


def test_the_assistant_shows_a_page_only_while_the_file_is_the_one_indexed(tmp_path):
    from rag.assistant import Assistant
    from rag.config import RagConfig

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "report.pdf").write_bytes(make_pdf(PAGES[:2]))
    assistant = Assistant(RagConfig.from_env({}, data_dir=tmp_path / "data"))
    try:
        assert assistant.index([docs]).ok
        text = assistant.document_text("report.pdf")
        start = text.index("Ada Fenwick")
        picture = assistant.page_image("report.pdf", 2, start, start + 20)
        assert picture[:4] == b"RIFF" and picture[8:12] == b"WEBP" and _marked_rows(picture)
        assert assistant.page_image("report.pdf", 9) is None  # no such page
        assert assistant.page_image("notes.txt", 1) is None  # no such document
        (docs / "report.pdf").write_bytes(make_pdf([["Another text entirely."]]))
        assert assistant.page_image("report.pdf", 2, start, start + 20) is None  # changed since indexing
    finally:
        assistant.close()


def test_a_page_is_drawn_within_a_pixel_budget_whatever_size_it_claims():
    """A 2.6 KB PDF can claim a 14400 × 14400 pt page: 8 GB of pixels at the usual scale."""
    import resource
    import time

    from PIL import Image

    from rag.page_view import MAX_PIXELS, MAX_SIDE

    lines = ["Giant page.", "The Quillmere lamp was lit at dusk."]
    giant = make_pdf([lines], size=(14400, 14400))
    assert len(giant) < 4096
    reading = readers.read("giant.pdf", giant)
    start = reading.text.index("The Quillmere")
    before, started = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, time.perf_counter()
    assert render_page(giant, reading.pages[0], start, start + 20, reading.text) is None  # too large to show
    assert time.perf_counter() - started < 5
    poster = make_pdf([lines], size=(3000, 3000))  # large but drawable: smaller, within the budget
    reading = readers.read("poster.pdf", poster)
    image = Image.open(io.BytesIO(render_page(poster, reading.pages[0], start, start + 20, reading.text)))
    assert image.width * image.height <= MAX_PIXELS and max(image.size) <= MAX_SIDE
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mb < 500
    banner = make_pdf([lines], size=(14400, 300))  # WebP cannot hold a side over 16383 pixels
    reading = readers.read("banner.pdf", banner)
    assert max(Image.open(io.BytesIO(render_page(banner, reading.pages[0], 0, 5, reading.text))).size) <= MAX_SIDE

