"""Readers: one per format, picked by suffix and checked against the content; `rag index`, the
upload check and the eval harness read every file through the same one."""

from __future__ import annotations

import re

import pytest

from index import readers
from index.errors import InputError
from rag.config import RagConfig
from tests.pdfs import Scan, Small, encrypted, make_pdf
from ui import upload


def test_each_default_extension_has_a_reader_and_each_reader_is_offered():
    assert set(RagConfig().extensions) == set(readers.SUFFIXES)


@pytest.mark.parametrize("name, data, text", [
    ("notes.txt", "Café “quoted” text.\n".encode("cp1252"), "Café “quoted” text.\n"),
    ("NOTES.MD", b"# Title\n\nBody.\n", "# Title\n\nBody.\n"),
    ("page.html", b"<html><head><title>T</title><script>x()</script></head><body><p>Visible words.</p></body></html>",
     "Visible words."),
])
def test_the_suffix_picks_the_reader(name, data, text):
    reading = readers.read(name, data)
    assert reading.text.strip().endswith(text.strip()) and reading.encoding


@pytest.mark.parametrize("data, what", [
    (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "a PDF file"),
    (b"PK\x03\x04\x14\x00\x06\x00word/document.xml", "a ZIP archive (or a Word"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "a PNG image"),
    (b"\xff\xd8\xff\xe0\x00\x10JFIF", "a JPEG image"),
])
def test_a_file_of_another_format_is_named_for_what_it_is(data, what):
    with pytest.raises(InputError, match=re.escape(f"this is {what}")):
        readers.read("report.txt", data)
    with pytest.raises(InputError, match=re.escape(f"'report.txt' cannot be read as text: this is {what}")):
        upload.check_content("report.txt", data, max_bytes=10_000)


@pytest.mark.parametrize("name, data, reason", [
    ("a.txt", b"", readers.EMPTY), ("a.txt", b" \n\t", readers.EMPTY),
    ("a.html", b"<html><script>only()</script></html>", readers.NO_TEXT),
    ("a.odt", b"PK\x03\x04", "unsupported type '.odt'"), ("a", b"text", "unsupported type 'no extension'"),
])
def test_what_cannot_be_read_says_why(name, data, reason):
    with pytest.raises(InputError, match=reason):
        readers.read(name, data)


def test_index_and_eval_read_html_the_same_way(tmp_path, cli):
    page = tmp_path / "docs" / "page.html"
    page.parent.mkdir()
    page.write_bytes(b"<html><body><h1>Lighthouse</h1><p>The Quillmere lamp was lit in 1911.</p></body></html>")
    assert cli("index", page.parent, env={"RAG_DATA_DIR": tmp_path / "data"}).code == 0
    from eval.run import _decoded
    from index.manifest import Manifest

    manifest = Manifest(tmp_path / "data" / "manifest.sqlite", readonly=True)
    stored = manifest.doc_text("page.html")
    manifest.close()
    assert stored == readers.read("page.html", page.read_bytes()).text == _decoded(page, 0, 0)


def _word_file(path):
    """A .docx as Word writes one: a title, headings, paragraphs, a bulleted list and a table."""
    import docx

    document = docx.Document()
    document.add_heading("Harbour report", level=1)
    document.add_paragraph("The Quillmere lighthouse was rebuilt in 1911 after a storm destroyed the old tower.")
    document.add_heading("Keepers", level=2)
    document.add_paragraph("Ada Fenwick kept the lamp burning through the winter of 1912.", style="List Bullet")
    document.add_paragraph("Tom Hale took over in 1920.", style="List Bullet")
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text, table.cell(0, 1).text = "Year", "Ships guided"
    table.cell(1, 0).text, table.cell(1, 1).text = "1913", "412"
    document.add_paragraph("The lamp burns paraffin, the report says.")
    document.save(path)


def test_a_word_file_reads_in_document_order_with_lists_and_tables(tmp_path):
    _word_file(tmp_path / "report.docx")
    text = readers.read("report.docx", (tmp_path / "report.docx").read_bytes()).text
    assert text.index("Harbour report") < text.index("rebuilt in 1911") < text.index("• Ada Fenwick")
    assert "• Tom Hale took over in 1920." in text and "Year | Ships guided\n1913 | 412" in text
    assert text.index("1913 | 412") < text.index("The lamp burns paraffin")
    headings = readers.read("report.docx", (tmp_path / "report.docx").read_bytes()).headings
    assert [(text[h.start:h.start + 14], h.path) for h in headings] == [
        ("Harbour report", "Harbour report"), ("Keepers\n\n• Ada", "Harbour report › Keepers")]


def test_a_word_file_is_indexed_and_quoted_exactly(tmp_path, cli):
    docs = tmp_path / "docs"
    docs.mkdir()
    _word_file(docs / "report.docx")
    env = {"RAG_DATA_DIR": tmp_path / "data"}
    assert cli("index", docs, env=env).code == 0
    answer = cli("ask", "Who kept the Quillmere lamp burning in the winter of 1912?", "--json", env=env).json()
    citation = answer["citations"][0]
    assert citation["source"] == "report.docx" and "Ada Fenwick" in citation["quote"]
    assert citation["section"] == "Harbour report › Keepers"  # the heading path it sits under
    text = readers.read("report.docx", (docs / "report.docx").read_bytes()).text
    assert text[citation["start_char"]:citation["end_char"]] == citation["quote"]


@pytest.mark.parametrize("data, reason", [
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64, "old-format (.doc) or password-protected"),
    (b"PK\x03\x04" + b"\x00" * 64, "damaged Word file"),
    (b"just some text", "not a Word .docx file"),
])
def test_a_bad_word_file_gets_one_line(data, reason):
    with pytest.raises(InputError, match=re.escape(reason)):
        readers.read("bad.docx", data)


PDF_PAGES = [
    ["Harbour report.", "The Quillmere lighthouse was rebuilt in 1911 after a storm", "destroyed the old tower. The exam-",
     "ination of 1912 found it sound."],
    Scan(["Keepers' log.", "Tom Hale kept the Quillmere lamp from 1920 to 1931."]),  # a scan: an image, no text layer
    ["Keepers.", "Ada Fenwick kept the lamp burning through the winter of 1912,", "the report says."],
]


@pytest.mark.slow  # OCR: seconds a page
def test_a_pdf_reads_page_by_page_with_hyphens_joined_and_scans_read_by_ocr():
    reading = readers.read("report.pdf", make_pdf(PDF_PAGES))
    assert "The examination of 1912 found it sound." in reading.text
    assert [(p.number, p.label, p.ocr) for p in reading.pages] == [(1, "1", False), (2, "2", True), (3, "3", False)]
    scanned = reading.pages[1]
    assert reading.text[scanned.start:scanned.end] == "Keepers' log.\n\nTom Hale kept the Quillmere lamp from 1920 to 1931."
    assert reading.text[reading.pages[2].start:reading.pages[2].end].startswith("Keepers.")
    assert reading.notes == ("page 2: text recognised by OCR",)
    # each recognised line keeps its box on the page, to highlight a quote on the scan
    (a, b, left, top, right, bottom), = (box for box in scanned.boxes if "Tom Hale" in reading.text[box[0]:box[1]])
    assert reading.text[a:b] == "Tom Hale kept the Quillmere lamp from 1920 to 1931."
    assert 0.05 < left < right < 0.9 and 0 < top < bottom < 0.2


def test_without_ocr_a_scanned_page_is_reported_not_silently_empty(monkeypatch):
    from index import ocr

    def missing():
        raise ocr.OcrUnavailable("no OCR engine installed (rapidocr is missing: pip install rapidocr onnxruntime)")

    monkeypatch.setattr(ocr, "_engine", missing)
    reading = readers.read("report.pdf", make_pdf(PDF_PAGES))
    assert [p.number for p in reading.pages] == [1, 3]
    assert reading.notes == (("page 2: a scanned page, its text not recognised: no OCR engine installed "
                              "(rapidocr is missing: pip install rapidocr onnxruntime)"),)
    with pytest.raises(InputError, match=re.escape("no page has text: a scanned page, its text not recognised: no OCR")):
        readers.read("scan.pdf", make_pdf([Scan(["Only a picture of words."])]))


def test_a_quick_read_without_ocr_says_a_scan_needs_it_and_the_upload_check_lets_it_through():
    scan = make_pdf([Scan(["Only a picture of words."])])
    with pytest.raises(readers.NeedsOcr):
        readers.read("scan.pdf", scan, readers.ReadOptions(ocr=False))
    upload.check_content("scan.pdf", scan, 10_000_000)  # indexing reads it, by OCR


def test_printed_page_labels_name_the_pages():
    reading = readers.read("book.pdf", make_pdf([["Preface text."], ["Chapter one begins."]], labels=["xii", "1"]))
    assert [(p.number, p.label) for p in reading.pages] == [(1, "xii"), (2, "1")]


@pytest.mark.slow  # end to end: a PDF indexed by the real model, then asked
def test_a_pdf_answer_cites_its_page(tmp_path, cli):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "report.pdf").write_bytes(make_pdf(PDF_PAGES))
    env = {"RAG_DATA_DIR": tmp_path / "data"}
    indexed = cli("index", docs, env=env)
    assert indexed.code == 0 and "note: " in indexed.err and "page 2: text recognised by OCR" in indexed.err
    question = "Who kept the Quillmere lamp burning through the winter of 1912?"
    answer = cli("ask", question, "--json", env=env).json()
    citation = answer["citations"][0]
    assert citation["source"] == "report.pdf" and "Ada Fenwick" in citation["quote"]
    assert [(p["number"], p["label"], p["ocr"]) for p in citation["pages"]] == [(3, "3", False)]
    text = readers.read("report.pdf", (docs / "report.pdf").read_bytes()).text
    assert text[citation["start_char"]:citation["end_char"]] == citation["quote"]
    printed = cli("ask", question, env=env).out
    assert "report.pdf" in printed and "p. 3" in printed
    hits = cli("search", "lighthouse rebuilt storm", "--json", env=env).json()
    assert [p["number"] for p in hits[0]["pages"]] == [1]
    scanned = cli("ask", "Who kept the Quillmere lamp from 1920 to 1931?", env=env).out
    assert "Tom Hale" in scanned and "p. 2 (OCR)" in scanned


def test_an_index_from_before_page_layouts_is_upgraded_by_rag_index(tmp_path, cli):
    import sqlite3

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "report.pdf").write_bytes(make_pdf([PDF_PAGES[0], PDF_PAGES[2]]))
    (docs / "notes.txt").write_text("The foghorn was installed in 1930.\n")
    env = {"RAG_DATA_DIR": tmp_path / "data"}
    assert cli("index", docs, env=env).code == 0
    with sqlite3.connect(tmp_path / "data" / "manifest.sqlite") as db:
        db.execute("ALTER TABLE docs DROP COLUMN layout")  # as an index written before layouts were
    old = cli("search", "Ada Fenwick winter", "--json", env=env)
    assert old.code == 0 and old.json()[0]["pages"] == []  # readable, without pages
    upgraded = cli("index", docs, "--json", env=env)
    assert upgraded.code == 0 and upgraded.json()["changed"] == ["report.pdf"]  # read again; notes.txt is not
    assert [p["number"] for p in cli("search", "Ada Fenwick winter", "--json", env=env).json()[0]["pages"]] == [2]
    with sqlite3.connect(tmp_path / "data" / "manifest.sqlite") as db:
        db.execute("UPDATE docs SET layout = '{\"schema\": 99}' WHERE doc_id = 'report.pdf'")
    newer = cli("search", "Ada Fenwick winter", env=env)
    assert newer.code != 0 and "newer version" in newer.err and "Traceback" not in newer.err


@pytest.mark.parametrize("data, reason", [
    (make_pdf([[], []]), "no page has text: every page is blank"),
    (make_pdf([]), "the PDF has no pages"),
    (encrypted(make_pdf([["Secret text."]])), "the PDF is encrypted: save a copy without a password"),
    (b"%PDF-1.4\n" + b"\x00garbage" * 20, "damaged PDF"),
    (make_pdf([["text"]])[:60], "damaged PDF"),
    (b"<html>not a pdf</html>", "not a PDF file"),
])
def test_a_bad_pdf_gets_one_line(data, reason):
    with pytest.raises(InputError, match=re.escape(reason)):
        readers.read("bad.pdf", data)


def test_a_pdf_s_fault_is_its_own_not_the_one_read_before():
    """pdfium keeps its last error across documents: an empty PDF read after an encrypted one is
    still 'no pages'."""
    with pytest.raises(InputError, match="encrypted"):
        readers.read("secret.pdf", encrypted(make_pdf([["Secret text."]])))
    with pytest.raises(InputError, match="the PDF has no pages"):
        readers.read("empty.pdf", make_pdf([]))


@pytest.mark.slow  # OCR: seconds a page
def test_an_uploaded_pdf_is_indexed_with_its_scan_note(seeds_index, tmp_path):
    import shutil

    from rag.assistant import Assistant
    from ui.chat import ChatService

    data_dir = tmp_path / "data"
    shutil.copytree(seeds_index, data_dir)
    service = ChatService(Assistant(RagConfig.from_env({}, data_dir=data_dir, upload_dir=tmp_path / "uploads")))
    source = tmp_path / "browser-copy.pdf"
    source.write_bytes(make_pdf(PDF_PAGES))
    result = service.add_files([(source, "report.pdf")])
    assert result.added == ["report.pdf"], result.message()
    assert "Note: 'report.pdf': page 2: text recognised by OCR" in result.message()
    *_, answer = service.ask("Who kept the Quillmere lamp burning through the winter of 1912?")
    assert answer.citations and [p.number for p in answer.citations[0].pages] == [3]
    service.assistant.close()


def test_running_headers_and_page_numbers_are_dropped_but_the_body_keeps_the_same_words():
    body = [
        ["The Quillmere lighthouse was rebuilt in 1911.", "Harbour Report 2024 is quoted here in the body."],
        ["Ada Fenwick kept the lamp burning through 1912."],
        ["Tom Hale took over in 1920."],
        ["The lamp burns paraffin."],
    ]
    pages = [["Harbour Report 2024", *lines, f"Page {n} of 4"] for n, lines in enumerate(body, 1)]
    reading = readers.read("report.pdf", make_pdf(pages))
    assert "Page 1 of 4" not in reading.text and "Page 4 of 4" not in reading.text
    assert not reading.text.startswith("Harbour Report 2024")
    assert "Harbour Report 2024 is quoted here in the body." in reading.text
    assert [reading.text[p.start:p.end] for p in reading.pages][2] == "Tom Hale took over in 1920."
    assert reading.pages[2].running == ("Harbour Report 2024", "Page 3 of 4")  # kept in the page's record
    two_pages = readers.read("short.pdf", make_pdf(pages[:2]))
    assert two_pages.text.startswith("Harbour Report 2024")  # too few pages to call anything running


def test_a_book_layout_reads_as_running_text():
    """Left and right pages with their own running heads, a section head over three pages, a
    watermark stamped mid-page, a word split across a page break, footnotes in small print."""
    words = ["harbour", "lantern", "keeper", "storm", "ledger", "schooner", "beacon", "tide"]
    pages = []
    for n, word in enumerate(words):
        head = f"{18 + n} CRUZ v. ARIZONA" if n % 2 == 0 else f"Cite as: 598 U. S. 17 (2023) {18 + n}"
        body = [f"On page {n + 1} the {word} is described at length by the court, line {k}, {word * (k % 3 + 1)}."
                for k in range(6)]
        pages.append([head, "Opinion of the Court", *body[:3], "Page Proof Pending Publication", *body[3:]])
    pages[2][-1] = "The keeper wrote the entries in a careful hand and signed each one with his initials, the exam-"
    pages[3][2] = "ination of the log says. " + pages[3][2]
    pages[5] += [Small("1 The log itself was lost in a fire in 1950, and only a copy survives in the"), Small("county archive.")]
    reading = readers.read("opinion.pdf", make_pdf(pages))
    for leaked in ("CRUZ v. ARIZONA", "Cite as", "Opinion of the Court", "Page Proof"):
        assert leaked not in reading.text, leaked
    third, fourth = (reading.text[p.start:p.end] for p in reading.pages[2:4])
    assert third.endswith("his initials, the examination") and fourth.startswith("of the log says.")  # word whole
    assert set(reading.pages[4].running) == {"22 CRUZ v. ARIZONA", "Opinion of the Court", "Page Proof Pending Publication"}
    sixth = reading.pages[5]
    assert sixth.footnotes is not None
    assert reading.text[sixth.footnotes:sixth.end] == ("1 The log itself was lost in a fire in 1950, and only a copy "
                                                       "survives in the county archive.")
    assert [p.footnotes for n, p in enumerate(reading.pages) if n != 5] == [None] * 7


def test_a_footnote_is_cited_as_one(tmp_path, cli):
    docs = tmp_path / "docs"
    docs.mkdir()
    body = ["The keeper logged every ship that passed the point in the winter storms of that year,",
            "and the harbour board read the log each spring when the new season of shipping began."] * 4
    (docs / "log.pdf").write_bytes(make_pdf([
        body, [*body, Small("2 The log was lost in a fire at the harbour office in 1950."), Small("Only a copy survives.")]]))
    env = {"RAG_DATA_DIR": tmp_path / "data"}
    assert cli("index", docs, env=env).code == 0
    hits = cli("search", "log lost in a fire harbour office", "--json", env=env).json()
    assert hits[0]["section"] == "footnotes, page 2" and [p["number"] for p in hits[0]["pages"]] == [2]
    assert "p. 2  [footnotes]" in cli("search", "log lost in a fire harbour office", env=env).out


def test_a_page_drawn_row_by_row_across_two_columns_reads_down_each_column():
    from tests.pdfs import two_columns

    left = [f"The keeper log, line {n}, records the harbour lamp and its oil." for n in range(1, 9)]
    right = [f"The storm report, line {n}, describes the tower of 1911 and its fall." for n in range(1, 9)]
    reading = readers.read("columns.pdf", two_columns("Quillmere Harbour Annual Report for the Year 1912", left, right))
    text = reading.text
    assert text.startswith("Quillmere Harbour Annual Report for the Year 1912")
    positions = [text.index(line) for line in [*left, *right]]
    assert positions == sorted(positions)  # every left line, in order, before every right line


def test_a_pdf_that_turns_unreadable_keeps_its_indexed_version(tmp_path, cli):
    docs = tmp_path / "docs"
    docs.mkdir()
    report = docs / "report.pdf"
    report.write_bytes(make_pdf([["The Quillmere lighthouse was rebuilt in 1911 after a storm."]]))
    env = {"RAG_DATA_DIR": tmp_path / "data"}
    assert cli("index", docs, env=env).code == 0
    report.write_bytes(encrypted(report.read_bytes()))
    again = cli("index", docs, env=env)
    assert again.code == 1 and "the PDF is encrypted" in again.err and "Traceback" not in again.err
    hits = cli("search", "lighthouse rebuilt storm", "--json", env=env).json()
    assert hits and hits[0]["source"] == "report.pdf"  # the indexed version is kept


def test_a_site_name_in_the_title_and_sphinx_permalinks_stay_out_of_heading_paths():
    from index.html_text import html_to_text

    page = ('<html><head><title>Embedding kobjects — The Linux Kernel documentation</title></head><body>'
            '<h1>Embedding kobjects<a class="headerlink" href="#e" title="Permalink to this heading">¶</a></h1>'
            '<p>It is rare for kernel code to create a standalone kobject.</p>'
            '<h2>Initialization<a class="headerlink" href="#i">¶</a></h2><p>Code must call kobject_init.</p>'
            '</body></html>')
    text = html_to_text(page)
    assert [h.path for h in text.headings] == ["Embedding kobjects", "Embedding kobjects › Initialization"]
    assert "¶" not in text.text and "Linux Kernel documentation" not in text.text
    plain = html_to_text("<title>CREATE INDEX</title><h1>CREATE INDEX</h1><p>Define a new index.</p>")
    assert [h.path for h in plain.headings] == ["CREATE INDEX"]
