"""Slides (.pptx), workbooks (.xlsx) and CSV files: each written by its own library, read in
order, indexed and cited by slide or by sheet and rows; a bad file of each kind refused with one
line while what was indexed before stays. Mechanics run on the fake embedder (RAG_EMBED_MODEL=fake)."""

from __future__ import annotations

import csv
import datetime
import io
import os
import re
import struct
import time
import zipfile

import pytest

from index import readers
from index.errors import Cancelled, InputError
from rag.config import RagConfig
from ui import upload

FAKE = {"RAG_EMBED_MODEL": "fake"}
OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # the signature of an OLE compound file
LEDGER_ROWS = 120
MORNING_STAR_ROW = 77  # the sheet row (header is row 1) of the Morning Star's cargo


def _deck(path) -> None:
    """Three slides as PowerPoint's own layouts make them: a title slide; bullets with speaker
    notes; a table, text boxes in two columns, a group and a footer box, added out of reading order."""
    import pptx
    from pptx.util import Inches

    deck = pptx.Presentation()
    first = deck.slides.add_slide(deck.slide_layouts[0])
    first.shapes.title.text = "Quillmere Harbour report"
    first.placeholders[1].text = "Annual review of the lighthouse, 1912"
    second = deck.slides.add_slide(deck.slide_layouts[1])
    second.shapes.title.text = "Keepers"
    body = second.placeholders[1].text_frame
    body.text = "Ada Fenwick kept the Quillmere lamp burning through the winter of 1912."
    body.add_paragraph().text = "Tom Hale took over the lamp in 1920."
    second.notes_slide.notes_text_frame.text = "Remind the board that the lamp burns paraffin shipped from Stornaway."
    third = deck.slides.add_slide(deck.slide_layouts[5])
    third.shapes.title.text = "Ships guided"

    def box(shapes, left, top, text):
        shapes.add_textbox(Inches(left), Inches(top), Inches(3), Inches(0.4)).text_frame.text = text

    box(third.shapes, 1, 6.5, "Footer box below everything.")
    box(third.shapes, 5, 4, "Right column: the tower.")
    box(third.shapes, 1, 4, "Left column: the lamp.")
    group = third.shapes.add_group_shape()
    box(group.shapes, 1, 5.6, "Grouped second line.")
    box(group.shapes, 1, 5.1, "Grouped first line.")
    table = third.shapes.add_table(3, 3, Inches(1), Inches(1.6), Inches(6), Inches(1)).table
    for r, row in enumerate([("Year", "Ships guided", "Keeper"), ("1913", "412", "Ada Fenwick"),
                             ("1914", "388", "Ada Fenwick")]):
        for c, value in enumerate(row):
            table.cell(r, c).text = value
    deck.save(path)


def _workbook(path) -> None:
    """A summary sheet, then a ledger of `LEDGER_ROWS` rows with a blank row, dates and a
    percentage; a third sheet without a header row."""
    import openpyxl

    book = openpyxl.Workbook()
    summary = book.active
    summary.title = "Summary"
    summary.append(["Keeper", "Years kept"])
    summary.append(["Ada Fenwick", 8])
    ledger = book.create_sheet("Ledger")
    ledger.append(["Date", "Ship", "Cargo", "Tons", "Share of year"])
    for row in range(2, LEDGER_ROWS + 2):
        if row == 30:
            ledger.append([])  # a blank row: skipped, its number kept
            continue
        ship, cargo = ("Morning Star", "paraffin for the Quillmere lamp") if row == MORNING_STAR_ROW else \
            (f"Collier {row}", "coal")
        ledger.append([datetime.date(1912, 1, 1) + datetime.timedelta(days=row), ship, cargo, row * 3, row / 1000])
        ledger.cell(row, 5).number_format = "0.0%"
    numbers = book.create_sheet("Soundings")
    numbers.append([12, 14, 15])
    numbers.append([11, 13, 16])
    book.save(path)


def _csv_bytes(delimiter: str = ",", encoding: str = "utf-8") -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out, delimiter=delimiter)
    writer.writerow(["Keeper", "Post", "Years", "Note"])
    writer.writerow(["Ada Fenwick", "Quillmere", 8, "Kept the lamp through the winter of 1912"])
    writer.writerow([])
    writer.writerow(["Tom Hale", "Quillmere", 11, "Took over in 1920; café owner later"])
    writer.writerow(["Jon Birk", "Stornaway", 3, 'Said "never again", the log says'])
    return out.getvalue().encode(encoding)


def _encrypted_ooxml() -> bytes:
    """A password-protected Office file as Office writes one: an OLE compound file (CFB version 3)
    holding an EncryptionInfo and an EncryptedPackage stream (random bytes here)."""
    end, free, no_stream = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFF
    streams = [("EncryptionInfo", os.urandom(4096)), ("EncryptedPackage", os.urandom(4096))]
    header = struct.pack("<8s16sHHHHH6sIIIIIIIII", OLE, bytes(16), 0x3E, 3,
                         0xFFFE, 9, 6, bytes(6), 0, 1, 1, 0, 4096, end, 0, end, 0)
    header += struct.pack("<109I", 0, *[free] * 108)  # the FAT is sector 0
    fat, starts = [0xFFFFFFFD, end], []  # sector 0: the FAT itself; sector 1: the directory
    for _, data in streams:
        starts.append(len(fat))
        fat += [len(fat) + 1 + i for i in range(len(data) // 512 - 1)] + [end]
    fat += [free] * (128 - len(fat))

    def entry(name, kind, right=no_stream, child=no_stream, start=end, size=0):
        encoded = (name + "\0").encode("utf-16-le") if name else b""
        return struct.pack("<64sHBBIII16sIQQIII", encoded, len(encoded), kind, 1, no_stream, right, child,
                           bytes(16), 0, 0, 0, start, size, 0)

    directory = (entry("Root Entry", 5, child=1) + entry(streams[0][0], 2, right=2, start=starts[0], size=4096)
                 + entry(streams[1][0], 2, start=starts[1], size=4096) + entry("", 0))
    return header + struct.pack("<128I", *fat) + directory + b"".join(data for _, data in streams)


def _bomb(package: bytes, megabytes: int = 30) -> bytes:
    """`package` with one more part: `megabytes` of spaces, which deflate to a few KB."""
    out = io.BytesIO(package)
    with zipfile.ZipFile(out, "a", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("docProps/padding.xml", b" " * (megabytes * 1_000_000))
    return out.getvalue()


def _saved(maker, tmp_path, name) -> bytes:
    maker(tmp_path / name)
    return (tmp_path / name).read_bytes()


# --- slides -------------------------------------------------------------------------------------

def test_a_deck_reads_slide_by_slide_in_reading_order_with_notes_apart(tmp_path):
    reading = readers.read("harbour.pptx", _saved(_deck, tmp_path, "harbour.pptx"))
    text = reading.text
    assert [(p.number, p.label) for p in reading.pages] == [
        (1, "slide 1: Quillmere Harbour report"), (2, "slide 2: Keepers"), (2, "notes to slide 2: Keepers"),
        (3, "slide 3: Ships guided")]
    pages = [text[p.start:p.end] for p in reading.pages]
    assert pages[0] == "Quillmere Harbour report\nAnnual review of the lighthouse, 1912"
    assert pages[1] == ("Keepers\n• Ada Fenwick kept the Quillmere lamp burning through the winter of 1912.\n"
                        "• Tom Hale took over the lamp in 1920.")
    assert pages[2] == "Speaker notes\nRemind the board that the lamp burns paraffin shipped from Stornaway."
    assert pages[3] == ("Ships guided\n"
                        "Year: 1913; Ships guided: 412; Keeper: Ada Fenwick.\n"
                        "Year: 1914; Ships guided: 388; Keeper: Ada Fenwick.\n"
                        "Left column: the lamp.\nRight column: the tower.\n"
                        "Grouped first line.\nGrouped second line.\n"
                        "Footer box below everything.")
    titles = [text[b.start:b.end] for b in reading.blocks if b.kind == "heading"]
    assert titles == ["Quillmere Harbour report", "Keepers", "Speaker notes", "Ships guided"]


def test_a_deck_is_indexed_and_a_fact_cited_by_its_slide(tmp_path, cli):
    docs = tmp_path / "docs"
    docs.mkdir()
    _deck(docs / "harbour.pptx")
    env = {"RAG_DATA_DIR": tmp_path / "data", **FAKE}
    assert cli("index", docs, env=env).code == 0
    text = readers.read("harbour.pptx", (docs / "harbour.pptx").read_bytes()).text
    question = "Who kept the Quillmere lamp burning through the winter of 1912?"
    citation = cli("ask", question, "--json", env=env).json()["citations"][0]
    assert "Ada Fenwick kept the Quillmere lamp burning" in citation["quote"]
    assert text[citation["start_char"]:citation["end_char"]] == citation["quote"]
    assert [(p["number"], p["label"]) for p in citation["pages"]] == [(2, "slide 2: Keepers")]
    assert citation["section"] == "slide 2: Keepers"
    printed = cli("ask", question, env=env).out
    assert "harbour.pptx" in printed and "  slide 2: Keepers" in printed and "p. slide" not in printed
    notes = cli("ask", "Where is the paraffin for the lamp shipped from?", "--json", env=env).json()["citations"][0]
    assert "Stornaway" in notes["quote"] and [p["label"] for p in notes["pages"]] == ["notes to slide 2: Keepers"]
    hits = cli("search", "ships guided 1913 412", "--json", env=env).json()
    assert hits[0]["source"] == "harbour.pptx" and [p["number"] for p in hits[0]["pages"]] == [3]
    assert hits[0]["text"].index("Year: 1913") < hits[0]["text"].index("Left column") < hits[0]["text"].index("Footer")
    from rag.assistant import Assistant

    assistant = Assistant(RagConfig.from_env(FAKE, data_dir=tmp_path / "data"))
    try:  # the chat draws a cited PDF page; a slide has no picture, and asking for one is no error
        assert [p.label for p in assistant.document_pages("harbour.pptx")][:2] == [
            "slide 1: Quillmere Harbour report", "slide 2: Keepers"]
        assert assistant.page_image("harbour.pptx", 2) is None
    finally:
        assistant.close()


# --- workbooks ----------------------------------------------------------------------------------

def test_a_workbook_reads_row_by_row_under_its_header_sheet_by_sheet(tmp_path):
    reading = readers.read("harbour.xlsx", _saved(_workbook, tmp_path, "harbour.xlsx"))
    text = reading.text
    labels = [p.label for p in reading.pages]
    assert labels[0] == "Summary, row 2" and labels[-1] == "Soundings, rows 1–2"  # no header: numbers only
    ledger = [p for p in reading.pages if p.label.startswith("Ledger, ")]
    spans = [tuple(map(int, re.findall(r"\d+", p.label))) for p in ledger]
    assert spans[0][0] == 2 and spans[-1][-1] == LEDGER_ROWS + 1
    assert all(a[-1] < b[0] for a, b in zip(spans, spans[1:]))  # in order, none twice
    for page in ledger:  # each block of rows reads on its own: the header's names lead it
        assert text[page.start:page.end].startswith("Columns of Ledger: Date; Ship; Cargo; Tons; Share of year\n")
    assert "Date: 1912-01-03; Ship: Collier 2; Cargo: coal; Tons: 6; Share of year: 0.2%." in text
    assert "Collier 30" not in text and "Collier 29" in text and "Collier 31" in text  # the blank row
    assert text.index("Collier 29") < text.index("Collier 31") < text.index("Morning Star") < text.index("Collier 78")
    assert "Keeper: Ada Fenwick; Years kept: 8." in text
    assert text.endswith("column A: 12; column B: 14; column C: 15.\ncolumn A: 11; column B: 13; column C: 16.")


def test_a_formula_reads_as_the_value_saved_with_it(tmp_path):
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Item", "Tons"])
    sheet.append(["Coal", 40])
    sheet.append(["Total", "=SUM(B2:B2)"])
    book.save(tmp_path / "sum.xlsx")
    # openpyxl saves no value with a formula; a spreadsheet program saves the one it calculated
    with zipfile.ZipFile(tmp_path / "sum.xlsx") as package:
        parts = {info.filename: package.read(info) for info in package.infolist()}
    sheet_xml = parts["xl/worksheets/sheet1.xml"].decode()
    parts["xl/worksheets/sheet1.xml"] = re.sub(r"(<f>SUM\(B2:B2\)</f>)(<v\s*/>|<v></v>)?", r"\1<v>40</v>",
                                               sheet_xml).encode()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as package:
        for name, data in parts.items():
            package.writestr(name, data)
    assert "Item: Total; Tons: 40." in readers.read("sum.xlsx", out.getvalue()).text


def test_a_workbook_is_indexed_and_a_fact_cited_by_sheet_and_rows(tmp_path, cli):
    docs = tmp_path / "docs"
    docs.mkdir()
    _workbook(docs / "harbour.xlsx")
    env = {"RAG_DATA_DIR": tmp_path / "data", **FAKE}
    assert cli("index", docs, env=env).code == 0
    hit = cli("search", "Morning Star cargo", "--json", env=env).json()[0]
    quote = hit["sentences"][0]
    assert quote["quote"] == ("Date: 1912-03-18; Ship: Morning Star; Cargo: paraffin for the Quillmere lamp; "
                              "Tons: 231; Share of year: 7.7%.")
    (page,) = hit["pages"]
    first, last = map(int, re.fullmatch(r"Ledger, rows (\d+)–(\d+)", page["label"]).groups())
    assert first <= MORNING_STAR_ROW <= last and hit["section"] == page["label"]
    text = readers.read("harbour.xlsx", (docs / "harbour.xlsx").read_bytes()).text
    assert text[quote["start_char"]:quote["end_char"]] == quote["quote"]
    block = text[page["start"]:page["end"]]
    assert block.startswith("Columns of Ledger: ") and block.index("Collier 76;") < block.index("Morning Star")
    assert f"  Ledger, rows {first}–{last}" in cli("search", "Morning Star cargo", env=env).out


def test_a_long_sheet_is_read_as_a_stream_within_the_budgets(tmp_path):
    """A row at a time: a sheet of 5,000 rows costs no more memory than its text, and a sheet
    that claims a cell a billion rows down costs no billion empty rows."""
    import tracemalloc

    import openpyxl

    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("Orders")
    sheet.append(["Order", "Customer", "Region", "Product", "Quantity", "Price", "Date", "Status"])
    for n in range(5_000):
        sheet.append([f"ORD-{n:06d}", f"Customer {n % 977}", "North", "Lamp wick", n % 50, 2.5, "2024-01-01", "open"])
    book.save(tmp_path / "orders.xlsx")
    data = (tmp_path / "orders.xlsx").read_bytes()
    tracemalloc.start()
    try:
        reading = readers.read("orders.xlsx", data)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert reading.pages[-1].label.endswith("5001") and len(reading.text) > 500_000
    assert peak < 10 * len(reading.text), f"{peak / 1e6:.0f} MB traced for {len(reading.text) / 1e6:.1f} M characters"
    far = _with_sheet_xml(data, b'<row r="1000000000"><c r="A1000000000" t="inlineStr"><is><t>far</t></is></c></row>')
    started = time.monotonic()
    assert "far" in readers.read("far.xlsx", far).text
    assert time.monotonic() - started < 10


def _with_sheet_xml(package: bytes, row: bytes) -> bytes:
    """`package` with `row` added at the end of its first sheet's data."""
    source, out = zipfile.ZipFile(io.BytesIO(package)), io.BytesIO()
    with source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(b"</sheetData>", row + b"</sheetData>")
            target.writestr(info.filename, data)
    return out.getvalue()


# --- CSV ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("delimiter, encoding", [(",", "utf-8"), (";", "cp1252"), ("\t", "utf-16")])
def test_a_csv_file_is_sniffed_decoded_and_read_row_by_row(delimiter, encoding):
    reading = readers.read("keepers.csv", _csv_bytes(delimiter, encoding))
    assert reading.text == (
        "Columns: Keeper; Post; Years; Note\n"
        "Keeper: Ada Fenwick; Post: Quillmere; Years: 8; Note: Kept the lamp through the winter of 1912.\n"
        "Keeper: Tom Hale; Post: Quillmere; Years: 11; Note: Took over in 1920; café owner later.\n"
        'Keeper: Jon Birk; Post: Stornaway; Years: 3; Note: Said "never again", the log says.')
    assert [p.label for p in reading.pages] == ["rows 2–5"]  # row 3 is blank
    assert reading.encoding.startswith("utf-16" if encoding == "utf-16" else encoding)


def test_a_csv_file_without_a_header_row_names_its_columns_by_number():
    reading = readers.read("soundings.csv", b"12,14.5,2024-03-01\n11,13.0,2024-03-02\n")
    assert reading.text == ("column 1: 12; column 2: 14.5; column 3: 2024-03-01.\n"
                            "column 1: 11; column 2: 13.0; column 3: 2024-03-02.")
    assert [p.label for p in reading.pages] == ["rows 1–2"]


def test_a_title_row_above_the_header_leads_every_block_and_is_no_row():
    rows = "\n".join(["Harbour ledger 1912", "Ship,Tons"] + [f"Collier {n},{n * 3}" for n in range(3, 200)])
    reading = readers.read("ledger.csv", rows.encode())
    first = reading.pages[0]
    assert reading.text[first.start:first.end].startswith(
        "Harbour ledger 1912\nColumns: Ship; Tons\nShip: Collier 3; Tons: 9.\n")
    assert first.label.startswith("rows 3–") and len(reading.pages) > 1
    assert all(reading.text[p.start:p.end].startswith("Harbour ledger 1912\nColumns: Ship; Tons\n") for p in reading.pages)


def test_a_csv_file_is_indexed_and_a_fact_cited_by_its_rows(tmp_path, cli):
    docs = tmp_path / "docs"
    docs.mkdir()
    lines = ["Ship,Arrived,Cargo"] + [f"Collier {n},1912-02-{n % 28 + 1:02d},coal" for n in range(2, 90)]
    lines[60] = "Morning Star,1912-03-19,paraffin for the Quillmere lamp"  # row 61
    (docs / "arrivals.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    env = {"RAG_DATA_DIR": tmp_path / "data", **FAKE}
    assert cli("index", docs, env=env).code == 0
    hit = cli("search", "Morning Star cargo", "--json", env=env).json()[0]
    quote = hit["sentences"][0]
    assert quote["quote"] == "Ship: Morning Star; Arrived: 1912-03-19; Cargo: paraffin for the Quillmere lamp."
    (page,) = hit["pages"]
    first, last = map(int, re.fullmatch(r"rows (\d+)–(\d+)", page["label"]).groups())
    assert first <= 61 <= last
    text = readers.read("arrivals.csv", (docs / "arrivals.csv").read_bytes()).text
    assert text[quote["start_char"]:quote["end_char"]] == quote["quote"]
    block = text[page["start"]:page["end"]]
    assert block.startswith("Columns: Ship; Arrived; Cargo\n") and block.index("Collier 60;") < block.index("Morning")


# --- bad files ----------------------------------------------------------------------------------

def _zip_damaged(package: bytes) -> bytes:
    return package[: len(package) // 2]


BAD_FILES = [  # (file name, maker of the good file, what becomes of it, the one line it gets)
    ("harbour.pptx", _deck, _zip_damaged, "damaged PowerPoint file: File is not a zip file"),
    ("harbour.pptx", _deck, lambda good: _bomb(good), "the file unpacks to 30.1 MB from"),
    ("harbour.xlsx", _workbook, lambda good: _encrypted_ooxml(),
     "a password-protected Excel file: save a copy without a password"),
    ("harbour.xlsx", _workbook, lambda good: _bomb(good), "more than 100 times its size (RAG_MAX_EXPANSION)"),
    ("keepers.csv", lambda path: path.write_bytes(_csv_bytes()), lambda good: os.urandom(2048) + b"\x00",
     "binary file"),
]


@pytest.mark.parametrize("name, make, spoil, message", BAD_FILES, ids=lambda v: v if isinstance(v, str) else "")
def test_a_bad_file_gets_one_line_and_what_was_indexed_stays(tmp_path, cli, name, make, spoil, message):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "notes.txt").write_text("The foghorn at Quillmere was installed in 1930.\n", encoding="utf-8")
    make(docs / name)
    env = {"RAG_DATA_DIR": tmp_path / "data", **FAKE}
    assert cli("index", docs, env=env).code == 0
    before = {hit["chunk_id"] for hit in cli("search", "Ada Fenwick", "--json", env=env).json()}
    (docs / name).write_bytes(spoil((docs / name).read_bytes()))
    again = cli("index", docs, env=env)
    said = again.out + again.err
    assert again.code != 0 and "Traceback" not in said
    (line,) = [line for line in said.splitlines() if name in line]
    assert message in line and "its indexed version is kept" in line, line
    assert {hit["chunk_id"] for hit in cli("search", "Ada Fenwick", "--json", env=env).json()} == before
    assert cli("search", "foghorn installed", "--json", env=env).json()[0]["source"] == "notes.txt"


@pytest.mark.parametrize("name, data, message", [
    ("old.pptx", OLE + bytes(600), "an old-format (.ppt) PowerPoint file: save it as .pptx"),
    ("locked.pptx", _encrypted_ooxml(), "a password-protected PowerPoint file"),
    ("text.pptx", b"just some text", "not a PowerPoint .pptx file (it is not a ZIP package)"),
    ("zip.pptx", b"PK\x03\x04" + bytes(64), "damaged PowerPoint file"),
    ("old.xlsx", OLE + bytes(600), "an old-format (.xls) Excel file: save it as .xlsx"),
    ("zip.xlsx", b"PK\x03\x04" + bytes(64), "damaged Excel file"),
    ("picture.csv", b"\x89PNG\r\n\x1a\n" + bytes(64), "this is a PNG image, not a CSV text file"),
    ("sheet.csv", b"PK\x03\x04" + bytes(64), "this is a ZIP archive (or a Word, Excel or OpenDocument file)"),
])
def test_what_is_not_a_readable_file_of_its_kind_says_why(name, data, message):
    with pytest.raises(InputError, match=re.escape(message)):
        readers.read(name, data)


def test_a_zip_bomb_is_refused_before_it_is_unpacked(tmp_path):
    for name, make in (("harbour.pptx", _deck), ("harbour.xlsx", _workbook)):
        bomb = _bomb(_saved(make, tmp_path, name), megabytes=200)
        started = time.monotonic()
        with pytest.raises(InputError, match=r"unpacks to 2\d\d\.\d MB from \d+ KB on disk"):
            readers.read(name, bomb)
        assert time.monotonic() - started < 1.0  # the sizes its directory claims, nothing inflated


def test_a_csv_whose_rows_repeat_a_long_header_is_stopped_as_its_text_grows():
    header = ",".join(f"{'x' * 5000}{n}" for n in range(40))  # 200 KB of column names, repeated on every row
    rows = (header + "\n" + ("1," * 39 + "1\n") * 3000).encode()
    started = time.monotonic()
    with pytest.raises(InputError, match=r"reads as .* more than 100 times its size"):
        readers.read("wide.csv", rows)
    assert time.monotonic() - started < 5  # stopped at the budget, not at 600 MB of text


@pytest.mark.parametrize("name, make", [("harbour.pptx", _deck), ("harbour.xlsx", _workbook)])
def test_reading_stops_between_slides_and_blocks_of_rows_when_asked(tmp_path, name, make):
    data = _saved(make, tmp_path, name)
    with pytest.raises(Cancelled):
        readers.read(name, data, readers.ReadOptions(cancelled=lambda: True))
    with pytest.raises(InputError, match=r"reading stopped at (slide 1|Summary, row 2) after"):
        readers.read(name, data, readers.ReadOptions(max_read_seconds=-1))
    with pytest.raises(Cancelled):
        readers.read("keepers.csv", _csv_bytes(), readers.ReadOptions(cancelled=lambda: True))


def test_the_new_formats_are_indexed_by_default_and_accepted_by_the_upload(tmp_path):
    assert {".pptx", ".xlsx", ".csv"} <= set(RagConfig().extensions)
    for name, make in (("harbour.pptx", _deck), ("harbour.xlsx", _workbook)):
        assert upload.safe_name(name, RagConfig().extensions) == name
        reading = upload.check_content(name, _saved(make, tmp_path, name), 10_000_000, readers.ReadOptions())
        assert reading is not None and "Ada Fenwick" in reading.text
    assert upload.check_content("keepers.csv", _csv_bytes(), 10_000_000, readers.ReadOptions()) is not None


@pytest.mark.slow  # the real model: loading it alone takes ~10 s on two busy cores
def test_answers_quote_a_slide_and_a_row_by_the_real_model(tmp_path, cli):
    docs = tmp_path / "docs"
    docs.mkdir()
    _deck(docs / "harbour.pptx")
    _workbook(docs / "ledger.xlsx")
    env = {"RAG_DATA_DIR": tmp_path / "data"}
    assert cli("index", docs, env=env).code == 0
    keeper = cli("ask", "Who kept the lamp burning through the winter of 1912?", "--json", env=env).json()
    assert "Ada Fenwick" in keeper["citations"][0]["quote"]
    assert [p["label"] for p in keeper["citations"][0]["pages"]] == ["slide 2: Keepers"]
    cargo = cli("ask", "What cargo did the Morning Star bring?", "--json", env=env).json()
    assert "Morning Star; Cargo: paraffin" in cargo["citations"][0]["quote"]
    assert cargo["citations"][0]["pages"][0]["label"].startswith("Ledger, rows ")
