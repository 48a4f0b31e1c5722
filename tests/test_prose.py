"""Readers give prose, not lines: wrapped text and HTML are read as paragraphs, sentences run on
across the file's wrapping, and the splitter knows the abbreviations of court opinions, manuals
and mail. Citations still quote the file's own characters."""

from __future__ import annotations

import textwrap

import pytest

from index.clean import clean
from index.readers.registry import read
from index.sentences import split_sentences

LIGHTHOUSE = """THE QUILLBY POINT LIGHT

{body}

Today the light is automatic. It is inspected by a technician from the mainland twice a year, in April and in \
October. Visitors may climb the tower on Sundays, e.g. during the summer season, from 10 a.m. to 4 p.m. (local time) \
when the weather allows it.

Notes
- Keep the door closed at all times, because the wind can slam it shut without warning and break the glass.
- Call the keeper at 555-0100.

    $ ./lamp --status
    ok

--
Jane Doe
Harbour Board
"""
BODY = ("The lighthouse at Quillby Point was built in 1871 by the harbour board, after two ships were lost on the "
        "reef in a single winter. Its tower is made of granite quarried on the island, and it was finally "
        "electrified in 1951. The climb has 112 steps from the door to the lamp room.")


def _wrapped(width: int = 72) -> str:
    out = []
    for paragraph in LIGHTHOUSE.format(body=BODY).split("\n\n"):
        lines = paragraph.split("\n")
        if lines[0].startswith(("- ", "    ", "--", "Notes")) or len(lines) > 1 and not lines[0].startswith("Today"):
            out.append("\n".join(textwrap.fill(line, width, subsequent_indent="  " if line.startswith("- ") else "")
                                 if not line.startswith("    ") else line for line in lines))
        else:
            out.append(textwrap.fill(paragraph, width))
    return "\n\n".join(out)


def _sentences(name: str, data: str) -> list[str]:
    reading = read(name, data.encode())
    cleaned = clean(reading.text, (), reading.blocks)
    found = []
    for a, b in split_sentences(cleaned.text):
        start, end = cleaned.original_span(a, b)
        found.append(" ".join(reading.text[start:end].split()))
    return found


@pytest.mark.parametrize("width", [50, 60, 72])
def test_hard_wrapped_text_reads_as_the_same_sentences_as_unwrapped(width):
    unwrapped = _sentences("light.txt", LIGHTHOUSE.format(body=BODY))
    wrapped = _sentences("light.txt", _wrapped(width))
    assert wrapped == unwrapped
    assert "The climb has 112 steps from the door to the lamp room." in wrapped
    assert "It is inspected by a technician from the mainland twice a year, in April and in October." in wrapped
    assert "THE QUILLBY POINT LIGHT" in wrapped and "Notes" in wrapped  # headings stay apart
    assert "$ ./lamp --status" in wrapped and "Jane Doe" in wrapped  # code and signature lines stay lines


def test_a_wrapped_quote_points_at_the_files_own_characters():
    text = _wrapped(60)
    reading = read("light.txt", text.encode())
    cleaned = clean(reading.text, (), reading.blocks)
    sentence = next((a, b) for a, b in split_sentences(cleaned.text) if "electrified" in cleaned.text[a:b])
    start, end = cleaned.original_span(*sentence)
    assert "\n" in text[start:end]  # the file's own line breaks, quoted as they are
    assert " ".join(text[start:end].split()).startswith("Its tower is made of granite")


def test_markdown_headings_become_sections_and_lists_items():
    text = ("# Guide\n\nIntro line that is long enough to wrap across the width of this\nfile, as people write it.\n\n"
            "## Install\n\n1. Download the package from the site and unpack it into a\n   folder of your choice.\n"
            "2. Run the installer.\n\nSetup\n-----\n\nEdit the file.\n")
    reading = read("guide.md", text.encode())
    assert [h.path for h in reading.headings] == ["Guide", "Guide › Install", "Guide › Setup"]
    sentences = _sentences("guide.md", text)
    assert "1. Download the package from the site and unpack it into a folder of your choice." in sentences
    assert "2. Run the installer." in sentences


def test_lines_that_are_paragraphs_stay_paragraphs():
    text = "A title without a full stop\nThe first paragraph is one line. It has two sentences.\nAnother one.\n"
    assert _sentences("a.txt", text) == ["A title without a full stop", "The first paragraph is one line.",
                                          "It has two sentences.", "Another one."]


def test_html_blocks_are_lines_with_navigation_out_and_table_cells_apart():
    html = """<html><head><title>CREATE INDEX</title></head><body>
    <div class="navheader"><table><tr><td><a href="a.html">Prev</a></td><td><a href="b.html">Up</a></td>
    <th>SQL Commands</th><td><a href="index.html">Home</a></td><td><a href="c.html">Next</a></td></tr></table></div>
    <h2>CREATE INDEX</h2><p>CREATE INDEX — define a new index</p>
    <h2>Description</h2><p>
       <code class="command">CREATE INDEX</code> constructs an index on the specified column(s)
       of the specified relation, which can be a table or a materialized view.
    </p>
    <table><tr><th>Item</th><th>Limit</th></tr><tr><td>field size</td><td>1 GB</td></tr></table>
    <pre>CREATE INDEX ON films (title);
CREATE INDEX ON films (code);</pre>
    <div class="navfooter"><a href="a.html">Prev</a> <a href="b.html">Up</a></div></body></html>"""
    reading = read("x.html", html.encode())
    assert "Prev" not in reading.text and "Home" not in reading.text
    assert ("CREATE INDEX constructs an index on the specified column(s) of the specified relation, which can be "
            "a table or a materialized view.") in reading.text
    assert "field size | 1 GB" in reading.text
    assert "CREATE INDEX ON films (title);\nCREATE INDEX ON films (code);" in reading.text
    assert [h.path for h in reading.headings] == ["CREATE INDEX", "CREATE INDEX › Description"]
    assert {b.kind for b in reading.blocks} == {"heading", "paragraph", "row", "code"}


@pytest.mark.parametrize("text, expected", [
    ("See 11 U. S. C. § 523(a)(2)(A). The Court disagrees.", ["See 11 U. S. C. § 523(a)(2)(A).", "The Court disagrees."]),
    ("No. 21–908. Argued December 6, 2022.", ["No. 21–908.", "Argued December 6, 2022."]),
    ("See, e. g., Gleason v. Thaw, 236 U. S. 558, 559–562. Pp. 74–79.",
     ["See, e. g., Gleason v. Thaw, 236 U. S. 558, 559–562.", "Pp. 74–79."]),
    ("Arizona's rule applies. 251 Ariz. 402, 405 (App. 2011). It is settled.",
     ["Arizona's rule applies.", "251 Ariz. 402, 405 (App. 2011).", "It is settled."]),
    ("Use ALTER TABLE ... SET to change it. Version 15.2 fixed this.",
     ["Use ALTER TABLE ... SET to change it.", "Version 15.2 fixed this."]),
    ("Talks were held in the U.S. The U.S. side agreed.", ["Talks were held in the U.S.", "The U.S. side agreed."]),
    ("Dr. Donald N. Jensen said so. Mr. Smith did not.", ["Dr. Donald N. Jensen said so.", "Mr. Smith did not."]),
    ("He called it “a clear break.” ” Ibid. Then he left.", ["He called it “a clear break.” ”", "Ibid.", "Then he left."]),
    ("1. Set the path. 2. Run it.", ["1. Set the path.", "2. Run it."]),
])
def test_the_splitter_knows_legal_and_technical_abbreviations(text, expected):
    assert [text[a:b] for a, b in split_sentences(text)] == expected


def test_an_index_made_by_older_readers_is_read_again(tmp_path, cli):
    import sqlite3

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "light.txt").write_text(_wrapped(60), encoding="utf-8")
    env = {"RAG_DATA_DIR": tmp_path / "data"}
    assert cli("index", docs, env=env).code == 0
    hits = cli("search", "How many steps does the climb have?", "--json", env=env).json()
    assert "The climb has 112 steps" in " ".join(hits[0]["text"].split())
    assert cli("index", docs, "--json", env=env).json()["changed"] == []  # same readers: nothing to do
    with sqlite3.connect(tmp_path / "data" / "manifest.sqlite") as db:
        db.execute("UPDATE meta SET value = '1' WHERE key = 'reading'")  # as an index of the readers before
    assert cli("index", docs, "--json", env=env).json()["changed"] == ["light.txt"]
    assert cli("index", docs, "--json", env=env).json()["changed"] == []
