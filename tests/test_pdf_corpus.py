"""Floors on the project's real-world PDF corpus (../shared/data/pdfs beside the checkout, present on
CI, never copied into the project): every file reads with pages and indexes (the scanned court
order through OCR); the Supreme Court prints read without broken ligatures ("fled" for "filed"),
without words split by a line-end hyphen, and without running headers in any chunk; every
citation names the pages its quote lies on; the scanned order's body is found on its page.

The corpus is indexed once for the module, through the CLI in this process; the scanned order is
read by OCR once, there (its reading below is the one the index stored: the same `readers.read`).
"""

from __future__ import annotations

import io
import json
import os
import re
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

import pytest

from index import readers
from index.readers import ReadOptions, Reading

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "pdfs"
SKIP_REASON = "needs ../shared/data/pdfs (the project's real-world PDF corpus, present on CI)"
FILES = ("598us1r3_j4ek.pdf", "598us1r4_1a7d.pdf", "598us1r5_1b72.pdf", "598us1r6_0813.pdf",
         "datasheet.pdf", "dr_a_motion.pdf", "dr_a_order.pdf", "std270.pdf")
PRINTS = tuple(name for name in FILES if name.startswith("598us1r"))
SCANNED = "dr_a_order.pdf"
TEXT_LAYER = tuple(name for name in FILES if name != SCANNED)
KNOWN_HEADERS = ("Page Proof Pending Publication", "Cite as: 598 U. S.")
# How the Supreme Court's fonts read when an fi/fl ligature comes out as a bare "f".
BROKEN_LIGATURES = ("fled", "fle", "fles", "fling", "signifcant", "signifcantly", "fnancial", "fnding", "fnal",
                    "frst", "fre", "fts", "offcer", "offcers", "diffcult", "defcient", "specifc", "confict",
                    "benefts", "fows", "fow", "fnd")
# A hyphen left before a conjunction is the author's ("daily- and hourly-rate employees").
SUSPENDED = {"and", "or", "nor", "to"}

pytestmark = [pytest.mark.skipif(not CORPUS.is_dir(), reason=SKIP_REASON), pytest.mark.slow]


@dataclass
class Indexed:
    data_dir: Path
    code: int
    out: str
    err: str

    def json(self):
        return json.loads(self.out) if self.out.lstrip().startswith("{") else {}


def _rag(*args: str) -> tuple[int, str, str]:
    """`rag ARGS` in this process, with no RAG_* setting from the environment."""
    from rag.cli import main

    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as mp:
        for key in [k for k in os.environ if k.startswith("RAG_")]:
            mp.delenv(key)
        with redirect_stdout(out), redirect_stderr(err):
            code = main([str(a) for a in args])
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def indexed(tmp_path_factory) -> Indexed:
    """The whole corpus folder indexed once (OCR on, the default), in a data dir of the module's."""
    data_dir = tmp_path_factory.mktemp("pdf-corpus-index")
    code, out, err = _rag("--data-dir", data_dir, "index", CORPUS, "--json", "--no-progress")
    return Indexed(data_dir, code, out, err)


@pytest.fixture(scope="module")
def stored(indexed):
    """What the index holds: {doc_id: (text, pages)} and every chunk as (doc_id, text)."""
    from index.manifest import Manifest

    manifest = Manifest(indexed.data_dir / "manifest.sqlite", readonly=True)
    try:
        docs = {name: (manifest.doc_text(name), manifest.doc_pages(name)) for name in manifest.docs()}
        ids, *_ = manifest.all_chunks()
        chunks = [(chunk.doc_id, chunk.text) for chunk in manifest.chunks_by_id(ids).values()]
    finally:
        manifest.close()
    return docs, chunks


@pytest.fixture(scope="module")
def readings(indexed, stored) -> dict[str, Reading]:
    """Every file's reading: the text-layer ones read here, the scanned order as the index read it
    (with OCR: reading it here too would double the module's slowest step)."""
    found = {name: readers.read(name, (CORPUS / name).read_bytes()) for name in TEXT_LAYER}
    docs, _ = stored
    if SCANNED in docs:
        text, pages = docs[SCANNED]
        notes = tuple(n["note"] for n in indexed.json().get("notes", []) if Path(n["path"]).name == SCANNED)
        found[SCANNED] = Reading(text, "pdf", pages=pages, notes=notes)
    return found


def _ask_json(indexed: Indexed, *args: str):
    code, out, err = _rag("--data-dir", indexed.data_dir, *args, "--json")
    assert code == 0, f"rag {' '.join(args)} exited {code}: {err}"
    return json.loads(out)


# --- every file reads and indexes -------------------------------------------------------------

def test_the_corpus_holds_the_eight_files():
    assert sorted(p.name for p in CORPUS.glob("*.pdf")) == sorted(FILES)


@pytest.mark.parametrize("name", TEXT_LAYER)
def test_each_text_layer_pdf_reads_with_pages(name, readings):
    reading = readings[name]
    assert reading.text.strip() and reading.pages, f"{name}: no text or no pages"
    ends = 0
    for page in reading.pages:
        assert ends <= page.start < page.end <= len(reading.text), f"{name}: page {page.number} out of order"
        assert not page.ocr, f"{name}: page {page.number} read by OCR, yet it has a text layer"
        ends = page.end


def test_the_scanned_order_needs_ocr_and_says_so():
    with pytest.raises(readers.NeedsOcr):
        readers.read(SCANNED, (CORPUS / SCANNED).read_bytes(), ReadOptions(ocr=False))


def test_rag_index_indexes_all_eight_the_scan_by_ocr(indexed, stored, readings):
    assert indexed.code == 0, f"rag index exited {indexed.code}: {indexed.err}"
    summary = indexed.json()
    assert summary, f"rag index --json printed no summary: {indexed.out!r}"
    assert not summary["failed"], summary["failed"]
    assert set(FILES) <= set(summary["added"]), f"not indexed: {sorted(set(FILES) - set(summary['added']))}"
    docs, _ = stored
    order = readings[SCANNED]
    assert order.pages and all(page.ocr for page in order.pages), [(p.number, p.ocr) for p in order.pages]
    assert [p.number for p in order.pages] == [1, 2, 3, 4, 5]
    assert order.notes and all("text recognised by OCR" in note for note in order.notes), order.notes
    for name in TEXT_LAYER:  # the index stores the text and pages the reader gives
        text, pages = docs[name]
        assert text == readings[name].text, f"{name}: the indexed text is not the reading's"
        assert [(p.number, p.start, p.end) for p in pages] == [(p.number, p.start, p.end) for p in readings[name].pages]


# --- the Supreme Court prints ------------------------------------------------------------------

@pytest.mark.parametrize("name", PRINTS)
def test_no_broken_ligature_spellings(name, readings):
    text = readings[name].text
    found = {word: len(re.findall(rf"\b{word}\b", text, re.IGNORECASE)) for word in BROKEN_LIGATURES}
    found = {word: n for word, n in found.items() if n}
    assert not found, f"{name}: broken fi/fl ligatures read as {found}"


@pytest.mark.parametrize("name", PRINTS)
def test_no_word_left_split_by_a_line_end_hyphen(name, readings):
    text = readings[name].text
    split = [m.group() for m in re.finditer(r"\b[a-z]+- [a-z]+\b", text) if m.group().split()[1] not in SUSPENDED]
    assert not split, f"{name}: words split by a hyphen: {split}"


def _ligature_tolerant(word: str) -> re.Pattern:
    """The word as it should read: each bare "f" may have been an fi or fl ligature."""
    return re.compile(r"(?<![\w-])" + "".join("f[il]?" if c == "f" else re.escape(c) for c in word) + r"(?![\w-])")


def _hyphenated_line_ends(name: str, reading: Reading) -> list[tuple[int, str]]:
    """(page, joined word) for each word the PDF hyphenates at a line end: pdfium's U+FFFE mark
    inside a page ("lan\\ufffeguage"; a compound keeps its hyphens: "apples-to\\ufffeapples"
    reads "apples-to-apples"), and a raw line ending in letter + "-" whose next line goes on in
    lower case; at a page's foot, the next page's first line past its running header (a foot-
    note's word that goes on in the next page's footnotes is not followed)."""
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument((CORPUS / name).read_bytes())
    try:
        raws = []
        for index in range(len(document)):
            page = document[index]
            textpage = page.get_textpage()
            raws.append(textpage.get_text_range())
            textpage.close()
            page.close()
    finally:
        document.close()
    running = {page.number: {" ".join(line.split()) for line in page.running} for page in reading.pages}
    words = []
    for index, raw in enumerate(raws):
        for m in re.finditer(r"([A-Za-z][A-Za-z-]*)\ufffe([a-z]+)", raw):
            compound = "-" in m.group(1)  # "apples-to-apples" keeps the hyphen it was broken at
            words.append((index + 1, m.group(1) + "-" * compound + m.group(2)))
        lines = [" ".join(line.split()) for line in raw.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
        for n, line in enumerate(lines):
            end = re.search(r"([A-Za-z][A-Za-z-]*)-$", line)
            if not end:
                continue
            if n + 1 < len(lines):
                following = lines[n + 1]
            elif index + 1 < len(raws):
                below = [" ".join(x.split()) for x in raws[index + 1].replace("\r\n", "\n").split("\n")]
                heads = running.get(index + 2, set()) | set(KNOWN_HEADERS)
                following = next((x for x in below if x and x not in heads and not x.startswith(KNOWN_HEADERS)), "")
            else:
                continue
            start = re.match(r"[a-z]+", following)
            if start:
                words.append((index + 1, end.group(1) + start.group()))
    return words


@pytest.mark.parametrize("name", PRINTS)
def test_hyphenated_line_ends_are_joined_into_their_words(name, readings):
    text = readings[name].text
    words = _hyphenated_line_ends(name, readings[name])
    assert len(words) > 50, f"{name}: only {len(words)} hyphenated line ends found in the raw text"
    missing = sorted({f"p{page}:{word}" for page, word in words if not _ligature_tolerant(word).search(text)})
    assert not missing, f"{name}: {len(missing)} of {len(words)} hyphen-joined words not in the reading: {missing}"


def _running_leaks(texts: list[str], readings: dict[str, Reading]) -> dict[str, int]:
    """Running lines of the prints found in chunk texts: a line with a number or one of the known
    headers anywhere; a plain one ("Syllabus", "Barrett, J., dissenting", which the body may
    name in a sentence) where it stands alone as a line of the chunk."""
    lines = set(KNOWN_HEADERS)
    for name in PRINTS:
        lines |= {line.strip() for page in readings[name].pages for line in page.running if line.strip()}
    leaks = {}
    for line in sorted(lines):
        if line in KNOWN_HEADERS or re.search(r"\d", line):
            hits = sum(line in text for text in texts)
        else:
            alone = re.compile(rf"(?m)^[ \t]*{re.escape(line)}[ \t]*$")
            hits = sum(bool(alone.search(text)) for text in texts)
        if hits:
            leaks[line] = hits
    return leaks


def test_running_headers_are_in_no_chunk(stored, readings):
    """In no chunk of the prints (the corpus's README.md names the headers, rightly)."""
    _, chunks = stored
    texts = [text for doc_id, text in chunks if doc_id in PRINTS]
    assert texts, "no chunk of the prints is indexed"
    leaks = _running_leaks(texts, readings)
    assert not leaks, f"running header/footer lines found in chunks (line: chunks): {leaks}"


@pytest.mark.parametrize("name", PRINTS)
def test_dropping_running_heads_keeps_the_body(name, readings):
    """"Opinion of the Court" is a running head; "... delivered the opinion of the Court." is body."""
    text = " ".join(readings[name].text.split())
    assert re.search(r"delivered the opinion of the Court\b", text), \
        f"{name}: 'delivered the opinion of the Court' lost from the body: " \
        f"{re.findall(r'.{40}delivered the.{40}', text)}"


# --- citations name the right pages ------------------------------------------------------------

QUESTIONS = (
    "When was Cruz convicted and sentenced to death for the murder of a Tucson police officer?",
    "When did Arizona amend its parole statute to abolish parole for all felonies?",
    "How many hours a week did Hewitt work for Helix on the offshore oil rig?",
    "How much was Hewitt paid per day?",
    "What defects did Buckley discover in the house that the Bartenwerfers had not divulged?",
    "How did the government calculate Bittner's penalty of $2.72 million for his late-filed reports?",
    "What is the maximum penalty for nonwillful violations under the Bank Secrecy Act?",
    "What is the standard in the Second Circuit for issuance of a temporary restraining order?",
    "Who are the seventeen plaintiffs from all four judicial districts?",
    "Are religious exemptions forbidden while medical exemptions are available under the Vaccine Mandate?",
)


def _page_problems(citation: dict, reading: Reading) -> list[str]:
    text, start, end, quote = reading.text, citation["start_char"], citation["end_char"], citation["quote"]
    problems = []
    if " ".join(text[start:end].split()) != " ".join(quote.split()):
        problems.append(f"quote is not the text at [{start}, {end}): {text[start:end]!r}")
    overlapping = [p.number for p in reading.pages if p.start < end and start < p.end]
    named = [p["number"] for p in citation["pages"]]
    if named != overlapping:
        problems.append(f"names pages {named}, its span [{start}, {end}) lies on {overlapping}")
    by_number = {p.number: p for p in reading.pages}
    for named_page in citation["pages"]:
        page = by_number.get(named_page["number"])
        if page is None:
            problems.append(f"names page {named_page['number']}, which the reading does not have")
            continue
        if (named_page["start"], named_page["end"], named_page["ocr"]) != (page.start, page.end, page.ocr):
            problems.append(f"page {page.number} given as {named_page}, the reading has {page}")
        part = text[max(start, page.start):min(end, page.end)].strip()
        if not part or part not in text[page.start:page.end] or " ".join(part.split()) not in " ".join(quote.split()):
            problems.append(f"the quote's part on page {page.number} is not on it: {part!r}")
    if len(overlapping) == 1 and quote.strip() not in text[by_number[overlapping[0]].start:by_number[overlapping[0]].end]:
        problems.append(f"quote not in the text of page {overlapping[0]}")
    return problems


def test_every_citation_names_the_pages_its_quote_is_on(indexed, readings):
    problems, answered = [], 0
    for question in QUESTIONS:
        answer = _ask_json(indexed, "ask", question)
        if answer["citations"]:
            answered += 1
        for citation in answer["citations"]:
            reading = readings.get(citation["source"])
            if reading is None:  # README.md: no pages to name
                if citation["pages"]:
                    problems.append(f"{question!r}: {citation['source']} has no pages, cited with {citation['pages']}")
                continue
            problems += [f"{question!r} [{citation['source']}]: {p}" for p in _page_problems(citation, reading)]
    assert answered >= len(QUESTIONS) - 1, f"only {answered} of {len(QUESTIONS)} questions answered with citations"
    assert not problems, "\n".join(problems)


# --- the scanned order is found on its page ---------------------------------------------------

ORDER_PHRASES = (
    # (query, words that stand together on the page: where the OCR text holds the phrase)
    ("temporary restraining order GRANTED", "temporary restraining order is GRANTED"),
    ("vaccine mandate suspended in operation", "vaccine mandate is suspended in operation"),
    ("SHOW CAUSE at an in-person oral argument", "SHOW CAUSE at an in-person oral argument"),
)


@pytest.mark.parametrize("query, phrase", ORDER_PHRASES)
def test_the_scanned_orders_body_is_found_on_its_page(indexed, readings, query, phrase):
    order = readings[SCANNED]
    wanted = re.compile(r"\s+".join(map(re.escape, phrase.split())), re.IGNORECASE)
    holding = [p for p in order.pages if wanted.search(order.text[p.start:p.end])]
    assert holding, f"no page of the OCR text holds {phrase!r}: {order.text!r}"
    page = holding[0]
    assert page.ocr, f"page {page.number} holds {phrase!r} but is not marked as read by OCR"
    hits = _ask_json(indexed, "search", query)
    in_order = [hit for hit in hits if hit["source"] == SCANNED]
    assert in_order, f"{query!r}: no hit in {SCANNED}: {[(h['source'], h['section']) for h in hits]}"
    on_page = [hit for hit in in_order if page.number in [p["number"] for p in hit["pages"]]]
    assert on_page, f"{query!r}: hits in {SCANNED} name pages {[h['pages'] for h in in_order]}, not page {page.number}"
    assert all(p["ocr"] for hit in on_page for p in hit["pages"] if p["number"] == page.number)
