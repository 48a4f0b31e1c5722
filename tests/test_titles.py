"""Titles, not file names: each format's own name for a document (metadata, a first heading),
junk metadata passed over, the file name where there is none; titles carried onto hits,
citations, the document list, the MCP tools and the chat's example questions."""

from __future__ import annotations

import io
import re
import sqlite3
import zipfile
from email.message import EmailMessage

import anyio
import pytest

from index import readers
from rag.types import titled
from tests.pdfs import Large, make_pdf

FAKE = {"RAG_EMBED_MODEL": "fake"}
BODY = ["The Quillmere lighthouse was lit by Ada Fenwick in the winter of 1912 for the first time.",
        "Its lamp burned paraffin shipped from Stornaway every month of that long winter."]


def _docx(title: str | None, heading: str) -> bytes:
    import docx

    document = docx.Document()
    document.core_properties.title = title or ""
    document.add_heading(heading, 1)
    document.add_paragraph(" ".join(BODY))
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def _deck(first_title: str) -> bytes:
    import pptx

    deck = pptx.Presentation()
    slide = deck.slides.add_slide(deck.slide_layouts[0])
    slide.shapes.title.text = first_title
    slide.placeholders[1].text = BODY[0]
    out = io.BytesIO()
    deck.save(out)
    return out.getvalue()


def _mail(subject: str) -> bytes:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "Ada <ada@example.org>", "tom@example.org", subject
    message["Date"] = "Fri, 01 Mar 2024 10:00:00 +0000"
    message.set_content("\n\n".join(BODY))
    return bytes(message)


def _epub(title: str) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as book:
        book.writestr("mimetype", "application/epub+zip")
        book.writestr("META-INF/container.xml", (
            '<?xml version="1.0"?><container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">'
            '<rootfiles><rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/>'
            '</rootfiles></container>'))
        book.writestr("OEBPS/one.xhtml", '<html xmlns="http://www.w3.org/1999/xhtml"><head><title>x</title></head>'
                                         f'<body><h1>Chapter one</h1><p>{" ".join(BODY)}</p></body></html>')
        book.writestr("OEBPS/content.opf", (
            '<?xml version="1.0"?><package xmlns="http://www.idpf.org/2007/opf" version="3.0">'
            '<metadata xmlns:dc="http://purl.org/dc/elements/1.1/">'
            f'<dc:title>{title}</dc:title><dc:language>en</dc:language></metadata>'
            '<manifest><item id="c1" href="one.xhtml" media-type="application/xhtml+xml"/></manifest>'
            '<spine><itemref idref="c1"/></spine></package>'))
    return out.getvalue()


def _html(head_title: str, h1: str) -> bytes:
    return (f"<html><head><title>{head_title}</title></head><body><nav>Home</nav><h1>{h1}</h1>"
            f"<p>{BODY[0]}</p><p>{BODY[1]}</p></body></html>").encode()


CASES = {  # file name -> (bytes, the title expected)
    "meta.pdf": (make_pdf([BODY], title="Lighthouses of the North Sea"), "Lighthouses of the North Sea"),
    "junk_meta.pdf": (make_pdf([["Preface", "", Large("The Quillmere Keepers"), "", *BODY]],
                               title="Microsoft Word - keepers_final.docx"), "The Quillmere Keepers"),
    "no_meta.pdf": (make_pdf([["Harbour Notes", "", *BODY]]), "Harbour Notes"),
    "props.docx": (_docx("Annual Review of the Light", "Keepers"), "Annual Review of the Light"),
    "heading.docx": (_docx(None, "Keepers of the Light"), "Keepers of the Light"),
    "site.html": (_html("Keeping a Lamp — The Lighthouse Wiki", "Keeping a Lamp"), "Keeping a Lamp"),
    "untitled.html": (_html("Untitled", "Lamp Oils Compared"), "Lamp Oils Compared"),
    "atx.md": (f"Some front words.\n\n# The Keeper's Log\n\n{BODY[0]}\n".encode(), "The Keeper's Log"),
    "underlined.txt": (f"Harbour Lights\n==============\n\n{BODY[0]}\n".encode(), "Harbour Lights"),
    "plain.txt": (b"The harbour master of Quillmere logged every ship that passed the lighthouse in 1913.\n\n"
                  b"Ada Fenwick signed the log each evening.\n", None),
    "deck.pptx": (_deck("Quillmere Harbour Report"), "Quillmere Harbour Report"),
    "thread.eml": (_mail("Paraffin for the lamp"), "Paraffin for the lamp"),
    "book.epub": (_epub("The Quillmere Book"), "The Quillmere Book"),
}


@pytest.mark.parametrize("name", CASES)
def test_each_format_names_its_document(name):
    data, expected = CASES[name]
    assert readers.read(name, data).title == expected


@pytest.mark.parametrize("junk", ["untitled", "Microsoft Word - report.docx", "report_final.pdf", "  ",
                                  "C:\\work\\out", "PowerPoint Presentation", "12345", "x" * 300])
def test_junk_is_no_title(junk):
    from index.readers.titles import usable

    assert usable(junk) is None


def _folder(tmp_path, names):
    docs = tmp_path / "docs"
    docs.mkdir()
    for name in names:
        (docs / name).write_bytes(CASES[name][0])
    return docs


def test_titles_reach_hits_citations_and_the_document_list(tmp_path, cli):
    docs = _folder(tmp_path, ["meta.pdf", "plain.txt", "deck.pptx"])
    env = {"RAG_DATA_DIR": tmp_path / "data", **FAKE}
    assert cli("index", docs, env=env).code == 0

    hits = cli("search", "Quillmere lighthouse Ada Fenwick", "--json", "-k", "10", env=env).json()
    titles = {hit["source"]: hit["title"] for hit in hits}
    assert titles == {"meta.pdf": "Lighthouses of the North Sea", "plain.txt": None,
                      "deck.pptx": "Quillmere Harbour Report"}
    printed = cli("search", "Quillmere lighthouse Ada Fenwick", "-k", "10", env=env).out
    assert "Lighthouses of the North Sea — meta.pdf  chars" in printed
    assert re.search(r"^\d+\. plain\.txt  chars", printed, re.MULTILINE)  # no title: the file name stands in

    answer = cli("ask", "Who lit the Quillmere lighthouse?", "--json", env=env).json()
    assert answer["citations"] and all(c["title"] == titles[c["source"]] for c in answer["citations"])
    shown = cli("ask", "Who lit the Quillmere lighthouse?", env=env).out
    first = answer["citations"][0]
    assert f"[1] {titled(first['title'], first['source'])}  chars" in shown

    status = cli("status", "--json", env=env).json()
    assert status["titles"] == {"meta.pdf": "Lighthouses of the North Sea", "deck.pptx": "Quillmere Harbour Report"}
    assert sorted(status["sources"]) == ["deck.pptx", "meta.pdf", "plain.txt"]


def test_an_index_made_before_titles_gains_them_without_reindexing(tmp_path, cli):
    docs = _folder(tmp_path, ["props.docx", "underlined.txt"])
    env = {"RAG_DATA_DIR": tmp_path / "data", **FAKE}
    assert cli("index", docs, env=env).code == 0
    manifest = next((tmp_path / "data").rglob("manifest.sqlite"))
    with sqlite3.connect(manifest) as db:
        db.execute("ALTER TABLE docs DROP COLUMN title")  # as an older version wrote it
    assert cli("status", "--json", env=env).json()["titles"] == {}

    report = cli("index", docs, "--json", env=env).json()
    assert report["chunks_written"] == 0 and not report["changed"]  # read for the title, not re-embedded
    assert cli("status", "--json", env=env).json()["titles"] == {
        "props.docx": "Annual Review of the Light", "underlined.txt": "Harbour Lights"}


def test_example_questions_are_built_from_titles():
    from ui.chat import example_questions

    sources = ["598us1r3_j4ek.pdf", "notes/a.txt", "report.docx", "scan.pdf"]
    titles = {"598us1r3_j4ek.pdf": "Smith v. Jones", "report.docx": "Annual Review of the Light"}
    assert example_questions(sources, titles) == [
        "What is Smith v. Jones about?", "What is Annual Review of the Light about?", "What is a about?"]
    assert example_questions(["598us1r3_j4ek.pdf"], {}) == ["What is 598us1r3 j4ek about?"]  # no title: its name
    assert example_questions(["long.pdf"], {"long.pdf": "word " * 40}) == []  # too long to ask about
    assert example_questions([], {}) == []


def test_mcp_tools_give_titles(tmp_path, cli):
    from mcp import Client

    from rag.assistant import Assistant
    from rag.config import RagConfig
    from rag.mcp_server import build_server

    docs = _folder(tmp_path, ["meta.pdf", "plain.txt"])
    env = {"RAG_DATA_DIR": tmp_path / "data", **FAKE}
    assert cli("index", docs, env=env).code == 0
    assistant = Assistant(RagConfig.from_env(FAKE, data_dir=tmp_path / "data"))

    async def calls():
        async with Client(build_server(assistant)) as client:
            listed = (await client.call_tool("list_documents", {})).structured_content["documents"]
            found = (await client.call_tool("search", {"query": "Quillmere lighthouse", "k": 5})).structured_content
            return listed, found["passages"]

    try:
        listed, passages = anyio.run(calls)
    finally:
        assistant.close()
    expected = {"meta.pdf": "Lighthouses of the North Sea", "plain.txt": None}
    assert {d["source"]: d["title"] for d in listed} == expected
    assert {p["source"]: p["title"] for p in passages} == expected
