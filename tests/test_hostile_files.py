"""Files that claim more than they weigh: every reader, OCR pass and page picture works within a
budget checked before the work is done, and a file over one is refused in one line naming it.

Each hostile file is written by the test itself, a few kilobytes on disk."""

from __future__ import annotations

import io
import resource
import time
import zipfile
import zlib

import pytest

from index import readers
from index.errors import InputError
from tests.pdfs import Scan, make_pdf

_DOCX_TYPES = ('<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
               '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
               '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.'
               'wordprocessingml.document.main+xml"/></Types>')
_DOCX_RELS = ('<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
              '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
              'officeDocument" Target="word/document.xml"/></Relationships>')


def _docx(body: str) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as package:
        package.writestr("[Content_Types].xml", _DOCX_TYPES)
        package.writestr("_rels/.rels", _DOCX_RELS)
        package.writestr("word/document.xml", '<?xml version="1.0"?><w:document xmlns:w="http://schemas.openxml'
                                              f'formats.org/wordprocessingml/2006/main"><w:body>{body}</w:body></w:document>')
    return out.getvalue()


def _one_page_pdf(content: bytes) -> bytes:
    """A one-page PDF whose content stream is `content`, compressed."""
    packed = zlib.compress(content, 9)
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [4 0 R] /Count 1 >>",
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 5 0 R /Resources << /Font << /F1 3 0 R >> >> >>",
               b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(packed) + packed + b"\nendstream"]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1) + b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def _refused_fast(name: str, data: bytes, match: str, options: readers.ReadOptions = readers.ReadOptions(),
                  seconds: float = 5, megabytes: float = 1000) -> None:
    before, started = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, time.perf_counter()
    with pytest.raises(InputError, match=match):
        readers.read(name, data, options)
    assert time.perf_counter() - started < seconds
    assert (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024 < megabytes


def test_a_docx_that_unpacks_to_hundreds_of_times_its_size_is_refused_before_it_is_parsed():
    bomb = _docx("<w:p/>" * 2_000_000)  # 2 million empty paragraphs: 12 MB of XML in a few KB
    assert len(bomb) < 100_000
    _refused_fast("bomb.docx", bomb, r"unpacks to 12\.\d MB from \d+ KB on disk, more than 100 times its size "
                                     r"\(RAG_MAX_EXPANSION\)")
    ordinary = _docx("<w:p><w:r><w:t>The fee is twelve pounds.</w:t></w:r></w:p>")
    assert "twelve pounds" in readers.read("fee.docx", ordinary).text


def test_a_pdf_page_that_reads_as_megabytes_of_text_is_refused_before_its_text_is_read():
    # 11 MB of text in a file of a few KB (pdfium reads a string up to 32,767 characters, and one
    # drawn over the same place again once: so many strings, each one point lower)
    flood = _one_page_pdf(b"".join(b"BT /F1 1 Tf 10 %d Td (%s) Tj ET\n" % (n % 700, b"a" * 1000) for n in range(11_000)))
    assert len(flood) < 100_000
    # Refused before pdfium parses it (its text table costs some 150 bytes a character): the file's
    # deflated streams are measured first.
    _refused_fast("flood.pdf", flood, r"unpacks to more than 10\.0 MB from \d+ KB on disk")


def test_a_pdf_of_more_pages_than_the_limit_is_refused_at_once():
    many = make_pdf([[]] * 60_000)  # 60,000 blank pages
    _refused_fast("many.pdf", many, r"the PDF has 60,000 pages; the limit is 2,000 \(RAG_MAX_PAGES\)")
    with pytest.raises(InputError, match="limit is 3"):
        readers.read("four.pdf", make_pdf([["One."], ["Two."], ["Three."], ["Four."]]), readers.ReadOptions(max_pages=3))


def test_a_scanned_page_larger_than_the_pixel_budget_is_reported_not_recognised():
    giant = make_pdf([Scan(["Keepers' log.", "Tom Hale kept the Quillmere lamp from 1920 to 1931."])], size=(14400, 14400))
    assert len(giant) < 100_000
    _refused_fast("giant.pdf", giant, r"no page has text: a scanned page, its text not recognised: the page is "
                                      r"14400 × 14400 pt, too large to recognise")


@pytest.mark.slow  # OCR: seconds a page
def test_only_the_first_scanned_pages_are_recognised():
    scans = make_pdf([Scan(["Keepers' log.", "Tom Hale kept the Quillmere lamp from 1920 to 1931."]),
                      Scan(["Keepers' log.", "Ada Fenwick kept the Quillmere lamp from 1931 to 1940."])])
    reading = readers.read("scans.pdf", scans, readers.ReadOptions(max_ocr_pages=1))
    assert "Tom Hale" in reading.text and "Ada Fenwick" not in reading.text
    assert any("page 2: a scanned page, its text not recognised: the document's first 1 scanned pages were "
               "(RAG_MAX_OCR_PAGES)" in note for note in reading.notes)


def test_recognising_stops_after_a_page_over_the_time_budget(monkeypatch):
    from index import ocr

    def slow(page):  # each page a second: the budget below is half of that
        time.sleep(1.0)
        return [ocr.Line("Tom Hale kept the Quillmere lamp from 1920 to 1931.", (0.1, 0.1, 0.9, 0.2))]

    monkeypatch.setattr(ocr, "recognise", slow)
    scans = make_pdf([Scan(["One."]), Scan(["Two."])])
    started = time.perf_counter()
    reading = readers.read("scans.pdf", scans, readers.ReadOptions(max_ocr_seconds=0.5))
    assert time.perf_counter() - started < 1.8  # the first page only
    assert [page.number for page in reading.pages] == [1]
    assert any("page 2: a scanned page, its text not recognised: recognising page 1 took 1 s, over the 0.5 s a "
               "page allowed (RAG_MAX_OCR_SECONDS)" in note for note in reading.notes)


def test_reading_a_file_stops_at_its_time_budget_between_pages(monkeypatch):
    from index.readers import pdf

    layer = pdf.text_layer

    def slow_layer(*args):
        time.sleep(0.2)
        return layer(*args)

    monkeypatch.setattr(pdf, "text_layer", slow_layer)
    many = make_pdf([[f"Page {n} says the lamp was lit on day {n}."] for n in range(1, 31)])
    started = time.perf_counter()
    with pytest.raises(InputError, match=r"reading stopped at page \d+ after 1 s; the limit is 0.5 s a file "
                                         r"\(RAG_MAX_READ_SECONDS\)"):
        readers.read("slow.pdf", many, readers.ReadOptions(max_read_seconds=0.5))
    assert time.perf_counter() - started < 2  # not the 6 s the 30 pages would take


def test_reading_stops_when_the_user_cancels():
    from index.errors import Cancelled

    asked = []

    def cancelled() -> bool:
        asked.append(1)
        return len(asked) > 2  # the user cancels while page 3 is next

    with pytest.raises(Cancelled):
        readers.read("long.pdf", make_pdf([[f"Page {n}."] for n in range(1, 11)]), readers.ReadOptions(cancelled=cancelled))
    assert len(asked) == 3


def test_pdfs_read_in_threads_read_as_they_do_one_by_one():
    """pdfium may not be called from two threads at once; every call goes through one lock."""
    from concurrent.futures import ThreadPoolExecutor

    from rag.page_view import render_page

    files = [make_pdf([[f"Document {d}, page {n}: the keeper wrote {d * n} lines."] for n in range(1, 13)])
             for d in range(1, 7)]
    alone = [readers.read(f"{d}.pdf", data).text for d, data in enumerate(files)]

    def read_and_draw(d: int) -> str:
        reading = readers.read(f"{d}.pdf", files[d])
        assert render_page(files[d], reading.pages[0], 0, 10, reading.text)
        return reading.text

    with ThreadPoolExecutor(6) as pool:
        assert list(pool.map(read_and_draw, range(6))) == alone


def test_the_budgets_are_settings_and_reach_the_readers():
    from rag.config import RagConfig

    options = RagConfig.from_env({"RAG_MAX_PAGES": "7", "RAG_MAX_OCR_PAGES": "0", "RAG_MAX_EXPANSION": "5",
                                  "RAG_MAX_READ_SECONDS": "30", "RAG_MAX_OCR_SECONDS": "4"}).read_options()
    assert (options.max_pages, options.max_ocr_pages, options.max_expansion, options.ocr) == (7, 0, 5, True)
    assert (options.max_read_seconds, options.max_ocr_seconds) == (30, 4)


def _bare_docx(document_xml: str) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as package:
        package.writestr("[Content_Types].xml", _DOCX_TYPES)
        package.writestr("_rels/.rels", _DOCX_RELS)
        package.writestr("word/document.xml", document_xml)
    return out.getvalue()


def _p(text: str) -> str:
    return f"<w:p><w:r><w:t xml:space='preserve'>{text}</w:t></w:r></w:p>"


def test_word_text_inside_content_controls_insertions_and_nested_tables_is_read():
    body = ("<w:sdt><w:sdtContent>" + _p("Block control text.") + "</w:sdtContent></w:sdt>"
            "<w:p><w:r><w:t xml:space='preserve'>The fee is </w:t></w:r><w:ins><w:r><w:t>twelve</w:t></w:r></w:ins>"
            "<w:del><w:r><w:delText>ten</w:delText></w:r></w:del><w:r><w:t xml:space='preserve'> pounds, </w:t></w:r>"
            "<w:sdt><w:sdtContent><w:r><w:t>payable monthly</w:t></w:r></w:sdtContent></w:sdt><w:r><w:t>.</w:t></w:r></w:p>"
            "<w:tbl><w:tblPr/><w:tr><w:tc>" + _p("outer") + "<w:tbl><w:tblPr/><w:tr><w:tc>" + _p("inner cell")
            + "</w:tc></w:tr></w:tbl></w:tc><w:tc>" + _p("second") + "</w:tc></w:tr>"
            "<w:tr><w:tc><w:tcPr><w:vMerge w:val='restart'/></w:tcPr>" + _p("Fruit") + "</w:tc><w:tc>" + _p("apple")
            + "</w:tc></w:tr><w:tr><w:tc><w:tcPr><w:vMerge/></w:tcPr><w:p/></w:tc><w:tc>" + _p("pear")
            + "</w:tc></w:tr></w:tbl>")
    text = readers.read("controls.docx", _docx(body)).text
    assert text == ("Block control text.\n\nThe fee is twelve pounds, payable monthly.\n\n"
                    "outer inner cell | second\nFruit | apple\nFruit | pear\n")


@pytest.mark.parametrize("name, data, expected", [
    ("count.pdf", make_pdf([["One page of text here."]]).replace(b"/Count 1", b"/Count 5"),  # /Count beyond its pages
     "page 2: damaged, it cannot be loaded"),
    ("no-tblpr.docx", _docx(_p("Before the table.") + "<w:tbl><w:tr><w:tc>" + _p("cell") + "</w:tc></w:tr></w:tbl>"),
     "Before the table.\n\ncell\n"),
    ("vmerge-first-row.docx", _docx("<w:tbl><w:tblPr/><w:tr><w:tc><w:tcPr><w:vMerge/></w:tcPr>" + _p("merged")
                                    + "</w:tc></w:tr></w:tbl>"), "merged\n"),
    ("no-body.docx", _bare_docx('<?xml version="1.0"?><w:document xmlns:w="http://schemas.openxmlformats.org/'
                                'wordprocessingml/2006/main"></w:document>'), "damaged Word file: it has no document body"),
])
def test_a_damaged_file_reads_what_it_can_or_is_one_line(name, data, expected):
    try:
        reading = readers.read(name, data)
    except InputError as exc:
        assert str(exc) == expected
        return
    assert reading.text == expected or expected in reading.notes


def test_a_damaged_file_does_not_stop_the_run(cli, tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "no-body.docx").write_bytes(_bare_docx('<?xml version="1.0"?><w:document xmlns:w="http://schemas.'
                                                   'openxmlformats.org/wordprocessingml/2006/main"></w:document>'))
    (docs / "bomb.docx").write_bytes(_docx("<w:p/>" * 2_000_000))
    (docs / "good.txt").write_text("The Quillmere lamp was lit at dusk every evening.\n", encoding="utf-8")
    result = cli("index", docs, env={"RAG_DATA_DIR": tmp_path / "data"})
    assert result.code != 0 and "Traceback" not in result.err + result.out
    assert "no-body.docx" in result.out + result.err and "bomb.docx" in result.out + result.err
    found = cli("search", "when was the lamp lit", env={"RAG_DATA_DIR": tmp_path / "data"})
    assert "good.txt" in found.out


def test_table_rows_of_numbers_are_data_not_running_lines():
    """Lines of one shape on every page are running heads only when their numbers stay the same but
    for a page number; a report's table rows differ in every column."""
    pages = [[f"Yield report, page {page} of 4", "Quarterly yields by fund, as published by the trustees."]
             + [f"{2000 + page * 6 + row}  {page}.{row}%  {row + 2}.{page}%  {page * row + 7}.{row}%" for row in range(6)]
             + [f"Page {page} of 4"] for page in range(1, 5)]
    reading = readers.read("yields.pdf", make_pdf(pages))
    for page in range(1, 5):
        for row in range(6):
            assert f"{2000 + page * 6 + row}  {page}.{row}%" in reading.text or \
                   f"{2000 + page * 6 + row} {page}.{row}%" in reading.text, (page, row)
    assert "Page 2 of 4" not in reading.text  # the footer still goes


@pytest.mark.parametrize("pages", [
    [["Application form.", "Name of the applicant, in capitals, as on the passport.", "Signature and date."]] * 3,
    [[f"2024-03-0{day} paid the harbour dues of {day * 7} pounds"] for day in range(1, 6)],  # a ledger: a line a page
])
def test_pages_that_are_copies_or_one_line_each_are_read_not_refused(pages):
    reading = readers.read("copies.pdf", make_pdf(pages))
    assert len(reading.pages) == len(pages)
    assert all(line in reading.text.replace("\n", " ") for page in pages for line in page)
