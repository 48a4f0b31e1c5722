"""Readers: one per format, picked by suffix and checked against the content; `rag index`, the
upload check and the eval harness read every file through the same one."""

from __future__ import annotations

import re

import pytest

from index import readers
from index.errors import InputError
from rag.config import RagConfig
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
    ("a.pdf", b"%PDF-1.7", "unsupported type '.pdf'"), ("a", b"text", "unsupported type 'no extension'"),
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
