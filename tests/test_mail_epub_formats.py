"""Mail (.eml, .mbox) and EPUB: real files written with the standard library, indexed and asked
through the CLI; a citation names the message (sender, date, subject), the attached file and its
page, or the chapter. Bad files get one line and cost nothing already indexed. Mechanics only:
the hashing embedder (`fake`) stands in for the model."""

from __future__ import annotations

import io
import mailbox
import re
import zipfile
from email.message import EmailMessage

import pytest

from index import readers
from index.errors import Cancelled, InputError
from rag.config import RagConfig
from tests.pdfs import make_pdf
from ui import upload

FAKE = {"RAG_EMBED_MODEL": "fake"}
ADA = "From Ada Lovelace, 2024-03-01: Re: engine budget"
BODY_FACT = "The Quillmere engine budget is 1,700 pounds, as the treasury agreed in March."
PAGE_FACT = "The brass gears of the Quillmere engine cost 400 pounds in total."


def _message(sender: str, date: str, subject: str, body: str, html: bool = False) -> EmailMessage:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"], message["Date"] = sender, "charles@example.org", subject, date
    message.set_content(body, subtype="html" if html else "plain")
    return message


def _mail_with_attachments() -> bytes:
    """Ada's reply, with a two-page PDF, a picture no reader takes and a Word file that is not one
    (an old .doc renamed: a bad PDF would leave pdfium's sticky last error behind for other tests)."""
    message = _message("Ada Lovelace <ada@example.org>", "Fri, 01 Mar 2024 10:00:00 +0000", "Re: engine budget",
                       f"Dear Charles,\n\n{BODY_FACT}\n\n> Charles wrote: what does it cost?\n\n-- \nAda\n")
    pdf = make_pdf([["Summary of costs for the engine."], [PAGE_FACT]])
    message.add_attachment(pdf, maintype="application", subtype="pdf", filename="report.pdf")
    message.add_attachment(b"\x89PNG\r\n\x1a\n" + b"\x00" * 32, maintype="image", subtype="png", filename="logo.png")
    message.add_attachment(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64, maintype="application",
                           subtype="msword", filename="minutes.docx")
    return bytes(message)


def _folder(tmp_path, **files: bytes):
    docs = tmp_path / "docs"
    docs.mkdir(exist_ok=True)
    for name, data in files.items():
        (docs / name.replace("_", ".")).write_bytes(data)
    return docs, {**FAKE, "RAG_DATA_DIR": tmp_path / "data"}


def test_a_mail_cites_its_message_and_its_attached_pdf_by_page(tmp_path, cli):
    docs, env = _folder(tmp_path, mail_eml=_mail_with_attachments())
    indexed = cli("index", docs, env=env)
    assert indexed.code == 0, indexed.err
    assert f"{ADA} › minutes.docx: not indexed: an old-format (.doc)" in indexed.err  # the bad one: a line
    assert f"1 attachment not indexed, no reader for its type: {ADA} › logo.png" in indexed.err
    text = readers.read("mail.eml", (docs / "mail.eml").read_bytes()).text
    assert text.startswith(ADA) and text.index(BODY_FACT) < text.index("report.pdf") < text.index(PAGE_FACT)

    answer = cli("ask", "How much did the brass gears of the Quillmere engine cost?", "--json", env=env).json()
    citation = answer["citations"][0]
    assert citation["source"] == "mail.eml" and PAGE_FACT in citation["quote"]
    assert citation["section"] == f"{ADA} › report.pdf, page 2"
    assert [(p["number"], p["label"]) for p in citation["pages"]] == [(2, "2")]
    assert text[citation["start_char"]:citation["end_char"]] == citation["quote"]
    printed = cli("ask", "How much did the brass gears of the Quillmere engine cost?", env=env).out
    assert f"mail.eml  chars {citation['start_char']}-{citation['end_char']}  p. 2  [{ADA} › report.pdf]" in printed

    body = cli("ask", "What is the Quillmere engine budget the treasury agreed?", "--json", env=env).json()
    cited = body["citations"][0]
    assert BODY_FACT in cited["quote"] and cited["section"] == ADA and cited["pages"] == []


def test_the_page_view_leaves_out_the_pages_of_an_attached_pdf(tmp_path, cli):
    from rag.assistant import Assistant

    docs, env = _folder(tmp_path, mail_eml=_mail_with_attachments(), report_pdf=make_pdf([["A page of its own."]]))
    assert cli("index", docs, env=env).code == 0
    assistant = Assistant(RagConfig(data_dir=tmp_path / "data", embed_model="fake"))
    try:
        assert assistant.document_pages("mail.eml") == ()  # the mail's bytes are no PDF to draw from
        assert assistant.page_image("mail.eml", 2) is None
        assert [p.number for p in assistant.document_pages("report.pdf")] == [1]
    finally:
        assistant.close()


def test_an_html_only_mail_is_read_as_the_page_a_reader_sees(tmp_path, cli):
    html = ("<html><head><style>p {color: red}</style></head><body><p>Dear Ada,</p>"
            "<p>The <b>analytical engine</b> will weave algebraic patterns as the Jacquard loom weaves "
            "flowers and leaves.</p><script>track()</script></body></html>")
    message = _message("Charles Babbage <charles@example.org>", "Sat, 02 Mar 2024 09:30:00 +0000",
                       "Analytical engine", html, html=True)
    docs, env = _folder(tmp_path, letter_eml=bytes(message))
    assert cli("index", docs, env=env).code == 0
    text = readers.read("letter.eml", (docs / "letter.eml").read_bytes()).text
    assert "<b>" not in text and "track()" not in text and "color: red" not in text
    assert text.index("Dear Ada,") < text.index("The analytical engine will weave algebraic patterns")
    hits = cli("search", "analytical engine weave algebraic patterns Jacquard", "--json", env=env).json()
    assert hits[0]["source"] == "letter.eml" and "Jacquard loom" in hits[0]["text"]
    assert hits[0]["section"] == "From Charles Babbage, 2024-03-02: Analytical engine"


def _mailbox(path) -> None:
    box = mailbox.mbox(path)
    box.add(_message("Ada Lovelace <ada@example.org>", "Fri, 01 Mar 2024 10:00:00 +0000", "Engine budget",
                     "The first letter says the engine needs 2,000 brass gears.\n"))
    box.add(_message("Charles Babbage <charles@example.org>", "Sat, 02 Mar 2024 10:00:00 +0000", "Re: Engine budget",
                     "From here on the lathe in Lambeth cuts every gear.\n\nThe second letter names the lathe.\n"))
    box.add(_message("Mary Somerville <mary@example.org>", "Sun, 03 Mar 2024 10:00:00 +0000", "Re: Re: Engine budget",
                     "The third letter reports that the gears were delivered to Dorset Street.\n"))
    box.flush()
    box.close()


def test_an_mbox_gives_each_message_its_own_part_in_file_order(tmp_path, cli):
    docs, env = _folder(tmp_path)
    _mailbox(docs / "list.mbox")
    assert cli("index", docs, env=env).code == 0
    reading = readers.read("list.mbox", (docs / "list.mbox").read_bytes())
    names = ["From Ada Lovelace, 2024-03-01: Engine budget", "From Charles Babbage, 2024-03-02: Re: Engine budget",
             "From Mary Somerville, 2024-03-03: Re: Re: Engine budget"]
    assert [h.path for h in reading.headings] == names  # the body's "From here on" starts no message
    facts = ["needs 2,000 brass gears", "the lathe in Lambeth cuts every gear", "delivered to Dorset Street"]
    assert [reading.text.index(fact) for fact in facts] == sorted(reading.text.index(fact) for fact in facts)
    answer = cli("ask", "Where were the gears delivered?", "--json", env=env).json()
    citation = answer["citations"][0]
    assert "Dorset Street" in citation["quote"] and citation["section"] == names[2]
    assert citation["source"] == "list.mbox"


def test_a_mailbox_is_cut_only_at_from_lines_that_start_a_message():
    data = (b"From ada@example.org Fri Mar  1 10:00:00 2024\nFrom: Ada <ada@example.org>\nSubject: One\n\n"
            b"First body.\n\nFrom the desk of Ada, unescaped, after a blank line.\n\n"
            b"From charles@example.org Sat Mar  2 10:00:00 2024\nFrom: Charles <charles@example.org>\nSubject: Two\n\n"
            b"Second body.\n")
    reading = readers.read("box.mbox", data)
    assert [h.path for h in reading.headings] == ["From Ada: One", "From Charles: Two"]
    assert reading.text.index("From the desk of Ada") < reading.text.index("From Charles: Two")


def test_mail_attached_to_mail_is_read_to_a_depth_and_noted_past_it():
    inner = _message("Mary <mary@example.org>", "Sun, 03 Mar 2024 10:00:00 +0000", "level 5", "Level five text.\n")
    for level in (4, 3, 2, 1, 0):
        outer = _message("Ada <ada@example.org>", "Fri, 01 Mar 2024 10:00:00 +0000", f"level {level}",
                         f"Level {level} text.\n")
        outer.add_attachment(inner)
        inner = outer
    reading = readers.read("deep.eml", bytes(inner))
    assert [f"Level {n} text." in reading.text for n in range(5)] == [True, True, True, True, False]
    assert [h.path.count(" › ") for h in reading.headings] == [0, 1, 2, 3]  # each under the one it came in
    assert len(reading.notes) == 1 and "not indexed: mail attached to mail more than 3 deep" in reading.notes[0]


def _cancelled() -> readers.ReadOptions:
    return readers.ReadOptions(cancelled=lambda: True)


def test_reading_mail_and_books_stops_at_the_users_cancel(tmp_path):
    _mailbox(tmp_path / "list.mbox")
    with pytest.raises(Cancelled):
        readers.read("list.mbox", (tmp_path / "list.mbox").read_bytes(), _cancelled())
    with pytest.raises(Cancelled):
        readers.read("book.epub", _epub(), _cancelled())


@pytest.mark.parametrize("name, data, reason", [
    ("a.eml", bytes(range(256)) * 8, "not an e-mail message: it does not start with mail headers"),
    ("a.eml", b"Just a note, not a mail.\nSecond line.\n", "not an e-mail message"),
    ("a.eml", b"X-Note: a header\n\nbut none that mail has\n", "not an e-mail message: it has no From, To, Subject"),
    ("a.eml", make_pdf([["A PDF named .eml."]]), "this is a PDF file"),
    ("a.mbox", b"Subject: one message, not a mailbox\n\nBody.\n",
     'not an mbox mailbox: it does not start with a "From " line'),
], ids=["binary", "plain-text", "no-mail-headers", "a-pdf", "mbox-without-from-line"])
def test_a_bad_mail_gets_one_line(name, data, reason):
    with pytest.raises(InputError, match=re.escape(reason)):
        readers.read(name, data)


def test_a_bad_mail_costs_nothing_already_indexed(tmp_path, cli):
    docs, env = _folder(tmp_path, notes_txt=b"The foghorn at Quillmere was installed in 1930.\n")
    assert cli("index", docs, env=env).code == 0
    (docs / "junk.eml").write_bytes(b"\x00\x01\x02\x03binary\xff\xfe" * 64)
    again = cli("index", docs, env=env)
    lines = [line for line in again.err.splitlines() if "junk.eml" in line]
    assert again.code == 1 and "Traceback" not in again.err
    assert len(lines) == 1 and "not an e-mail message" in lines[0]
    hits = cli("search", "foghorn Quillmere installed", "--json", env=env).json()
    assert hits and hits[0]["source"] == "notes.txt"


CONTAINER = ('<?xml version="1.0"?><container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">'
             '<rootfiles><rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/>'
             '</rootfiles></container>')
# (file, navigation entry or None, the chapter's body): file three is not in the navigation (a
# chapter split in two files), and the navigation nests the chapters under "Part One".
CHAPTERS = [
    ("one.xhtml", "The Storm", "<h1>The Storm</h1><p>The storm of 1911 destroyed the old Quillmere tower.</p>"
                               "<h2>Aftermath</h2><p>The harbour board voted to rebuild it in stone.</p>"),
    ("two.xhtml", "The Keepers",
     "<h1>Chapter Two</h1><p>Ada Fenwick kept the Quillmere lamp in the winter of 1912.</p>"),
    ("three.xhtml", None, "<p>Tom Hale trimmed the wick of the Quillmere lamp every evening until 1931.</p>"),
]


def _xhtml(body: str) -> str:
    return ('<?xml version="1.0" encoding="utf-8"?><!DOCTYPE html><html xmlns="http://www.w3.org/1999/xhtml">'
            f'<head><title>The Quillmere Book</title></head><body>{body}</body></html>')


def _epub(navigation: str = "nav", extra: dict[str, bytes] | None = None, dtd: str = "", in_labels: str = "") -> bytes:
    """An EPUB as a publisher's tool writes one: container, package (manifest listed out of order,
    spine in reading order), navigation (EPUB 3 nav document or EPUB 2 NCX) and XHTML chapters.
    `dtd`: entity declarations for the NCX, whose labels end with `in_labels`."""
    links = "".join(f'<li><a href="text/{file}">{label}</a></li>' for file, label, _ in CHAPTERS if label)
    points = "".join(f'<navPoint id="p{n}"><navLabel><text>{label}{in_labels}</text></navLabel>'
                     f'<content src="text/{file}"/></navPoint>' for n, (file, label, _) in enumerate(CHAPTERS) if label)
    items = [f'<item id="c{n}" href="text/{file}" media-type="application/xhtml+xml"/>'
             for n, (file, _, _) in enumerate(CHAPTERS)][::-1]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as book:
        book.writestr(zipfile.ZipInfo("mimetype"), "application/epub+zip")
        book.writestr("META-INF/container.xml", CONTAINER)
        for file, _, body in CHAPTERS:
            book.writestr(f"OEBPS/text/{file}", _xhtml(body))
        if navigation == "nav":
            book.writestr("OEBPS/nav.xhtml", _xhtml('<nav xmlns:epub="http://www.idpf.org/2007/ops" epub:type="toc">'
                                                    f'<ol><li><span>Part One</span><ol>{links}</ol></li></ol></nav>'))
            items.append('<item id="nav" href="nav.xhtml" media-type="application/xhtml+xml" properties="nav"/>')
        else:
            book.writestr("OEBPS/toc.ncx", f'<?xml version="1.0"?>{dtd and f"<!DOCTYPE ncx [{dtd}]>"}'
                          '<ncx xmlns="http://www.daisy.org/z3986/2005/ncx/">'
                          f'<navMap><navPoint id="part"><navLabel><text>Part One</text></navLabel>{points}'
                          '</navPoint></navMap></ncx>')
            items.append('<item id="ncx" href="toc.ncx" media-type="application/x-dtbncx+xml"/>')
        spine = "".join(f'<itemref idref="c{n}"/>' for n in range(len(CHAPTERS)))
        book.writestr("OEBPS/content.opf", '<?xml version="1.0"?><package xmlns="http://www.idpf.org/2007/opf">'
                      f'<manifest>{"".join(items)}</manifest><spine toc="ncx">{spine}</spine></package>')
        for name, data in (extra or {}).items():
            book.writestr(name, data)
    return out.getvalue()


@pytest.mark.parametrize("navigation", ["nav", "ncx"])
def test_an_epub_reads_in_spine_order_and_cites_its_chapters(tmp_path, cli, navigation):
    docs, env = _folder(tmp_path, book_epub=_epub(navigation))
    assert cli("index", docs, env=env).code == 0
    reading = readers.read("book.epub", (docs / "book.epub").read_bytes())
    facts = ["storm of 1911", "rebuild it in stone", "Ada Fenwick kept", "Tom Hale trimmed"]
    assert [reading.text.index(fact) for fact in facts] == sorted(reading.text.index(fact) for fact in facts)
    assert "The Quillmere Book" not in reading.text  # each chapter's <title> is the book's, not text
    assert [h.path for h in reading.headings] == [
        "Part One › The Storm", "Part One › The Storm › Aftermath", "Part One › The Keepers",
        "Part One › The Keepers"]  # the unnamed third file continues the chapter before it
    answer = cli("ask", "Who kept the Quillmere lamp in the winter of 1912?", "--json", env=env).json()
    citation = answer["citations"][0]
    assert citation["source"] == "book.epub" and "Ada Fenwick" in citation["quote"]
    assert citation["section"] == "Part One › The Keepers"
    assert reading.text[citation["start_char"]:citation["end_char"]] == citation["quote"]
    aftermath = cli("ask", "What did the harbour board vote to do after the storm?", "--json", env=env).json()
    assert aftermath["citations"][0]["section"] == "Part One › The Storm › Aftermath"


def _bomb() -> bytes:
    """A book whose one chapter unpacks to 20 MB of spaces from a few KB: past the expansion limit."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as book:
        book.writestr("META-INF/container.xml", CONTAINER)
        book.writestr("OEBPS/text/one.xhtml", b" " * 20_000_000)
    return out.getvalue()


def _plain_zip() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("notes.txt", "Not a book.")
    return out.getvalue()


@pytest.mark.parametrize("data, reason", [
    (b"PK\x03\x04" + b"\x00" * 64, "damaged EPUB"),
    (_epub()[:400], "damaged EPUB"),
    (b"<html>not a book</html>", "not an EPUB book (it is not a ZIP archive)"),
    (_plain_zip(), "not an EPUB book: the ZIP has no META-INF/container.xml"),
    (_epub(extra={"META-INF/encryption.xml": b'<encryption xmlns="urn:oasis:names:tc:opendocument:xmlns:container" '
                  b'xmlns:enc="http://www.w3.org/2001/04/xmlenc#"><enc:EncryptedData><enc:CipherData>'
                  b'<enc:CipherReference URI="OEBPS/text/two.xhtml"/></enc:CipherData></enc:EncryptedData>'
                  b'</encryption>'}), "the EPUB is DRM-protected"),
], ids=["damaged-zip", "truncated", "not-a-zip", "zip-without-container", "drm"])
def test_a_bad_epub_gets_one_line(data, reason):
    with pytest.raises(InputError, match=re.escape(reason)):
        readers.read("bad.epub", data)


def test_an_epub_bomb_is_refused_before_it_is_unpacked(monkeypatch):
    bomb, opened = _bomb(), []
    monkeypatch.setattr(zipfile.ZipFile, "open", lambda self, name, *a, **k: opened.append(name))
    with pytest.raises(InputError, match=r"the file unpacks to 20\.\d MB from \d+ KB on disk.*RAG_MAX_EXPANSION"):
        readers.read("bomb.epub", bomb)
    assert opened == []  # not even the container was read


def test_xml_entities_in_an_epub_are_never_resolved(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET")
    external = f'<!ENTITY ext SYSTEM "{secret.as_uri()}">'
    reading = readers.read("book.epub", _epub("ncx", dtd=external, in_labels="&ext;"))
    assert "Part One › The Storm" in [h.path for h in reading.headings]
    assert "TOPSECRET" not in reading.text + "".join(h.path for h in reading.headings)
    laughs = '<!ENTITY a0 "lol">' + "".join(f'<!ENTITY a{n} "{f"&a{n - 1};" * 10}">' for n in range(1, 10))
    reading = readers.read("laughs.epub", _epub("ncx", dtd=laughs, in_labels="&a9;"))  # 10^9 lols, if expanded
    assert "Ada Fenwick kept the Quillmere lamp" in reading.text and "lol" not in reading.text
    assert reading.notes[0].startswith("table of contents not read, chapters named by their headings: damaged EPUB")
    assert [h.path for h in reading.headings][:2] == ["The Storm", "The Storm › Aftermath"]


def test_a_bad_epub_costs_nothing_already_indexed(tmp_path, cli):
    docs, env = _folder(tmp_path, notes_txt=b"The foghorn at Quillmere was installed in 1930.\n")
    assert cli("index", docs, env=env).code == 0
    (docs / "bomb.epub").write_bytes(_bomb())
    again = cli("index", docs, env=env)
    lines = [line for line in again.err.splitlines() if "bomb.epub" in line]
    assert again.code == 1 and "Traceback" not in again.err
    assert len(lines) == 1 and "unpacks to" in lines[0] and "RAG_MAX_EXPANSION" in lines[0]
    hits = cli("search", "foghorn Quillmere installed", "--json", env=env).json()
    assert hits and hits[0]["source"] == "notes.txt"


def test_the_new_formats_are_indexed_by_default_and_accepted_as_uploads():
    extensions = RagConfig().extensions
    assert {".eml", ".mbox", ".epub"} <= set(extensions)
    assert upload.safe_name("Ada's reply.eml", extensions) == "Ada_s reply.eml"
    assert upload.check_content("book.epub", _epub(), 10_000_000) is None  # read, and accepted
    with pytest.raises(InputError, match="'junk.eml' cannot be read as text: not an e-mail message"):
        upload.check_content("junk.eml", bytes(range(256)), 10_000)
