"""PDF through pypdfium2 (Apache/BSD licensed, fast): each page's text layer as a reader of the
printed page reads it, with where each page lies in the text, so chunks stay within a page and
citations name it (docs/formats.md).

Ligatures are spelt out, also where the font maps one to a bare "f"; a word split by a hyphen at a
line end is joined, across a page break too; lines are joined back into paragraphs by where they
stop on the page, a centred caption or docket line standing apart; running heads, footers and
watermarks are dropped from the text and kept in the page's record; footnotes are marked where
they start, and placed where they cut no sentence; a two-column page is read column by column.
Pages are separated by a blank line, or by a space where a sentence runs on over the break. A page
that is a scan (an image over much of it and next to no text layer) is read by OCR (index.ocr) and
marked so in its page record and notes; without an OCR engine it is reported, and a
PDF with no readable page is refused saying why. Encrypted, damaged and empty files each get one
line. A page's text layer comes from `pdf_layer`, and the lines repeated page to page are taken
out by `pdf_running`.
"""

from __future__ import annotations

import dataclasses
import itertools
import re
import time
from dataclasses import dataclass, field

from index import ocr
from index.errors import InputError
from index.pdfium_lock import PDFIUM
from index.readers.base import DEFAULT_OPTIONS, NeedsOcr, Page, Reading, ReadOptions, check_expansion
from index.readers.pdf_layer import (Layer, damaged_page_errors, image_share, open_pdf, text_layer,
                                     typical_f_widths, unpacked, with_ligatures)
from index.readers.pdf_running import GONE, HYPHENATED, cleaned, running_lines, watermarks
from index.readers.titles import usable

# pdfium marks a hyphen that splits a word at a line end as U+FFFE and joins the line: the word
# is whole again once the mark goes.
_SPELLING = str.maketrans({"\ufb00": "ff", "\ufb01": "fi", "\ufb02": "fl", "\ufb03": "ffi", "\ufb04": "ffl",
                           "\ufb05": "st", "\ufb06": "st", "\ufffe": ""})
_PAGE_END_HYPHEN = re.compile("\ufffe(?![a-z])")
# A line-end hyphen that pdfium marks but that belongs to the word: in a compound that has one
# already ("apples-to-apples") or after a suspended one ("higher- and lower-income").
_MARKED_BREAK = re.compile("\ufffe(?=[a-z])")
_COMPOUND = re.compile(r"(?:-[^\W\d_]+|- (?:and|or|to|nor) [^\W\d_]+)$")
_SEPARATOR = "\n\n"
_RUN_ON = " "  # between two pages whose break falls inside a sentence
_FOOTNOTE_SIZE = 0.88  # a footnote's type is at most this share of the body's
_NOTE_MARK = re.compile(r"(?:\d{1,2}\s+|[*†‡§¶]+\s*)[A-Z“\"‘(]")  # "3 See ...", "*In 2007 ..."
_ITEM_MARKS = ("•", "◦", "▪", "-", "–", "*")
# A page is a scan when an image covers this share of it and its text layer is shorter than this
# (a scanned court order carries a one-line filing stamp as text over the image of its body).
_SCAN_IMAGE_SHARE, _SCAN_MAX_CHARS = 0.3, 200


class PdfReader:
    suffixes = (".pdf",)

    def read(self, data: bytes, options: ReadOptions = DEFAULT_OPTIONS) -> Reading:
        if not data.startswith(b"%PDF-"):
            raise InputError("not a PDF file (it does not start with %PDF-)")
        check_expansion("unpacks to more than", unpacked(data, options), len(data), options)  # counted to the budget
        with PDFIUM:
            document = open_pdf(data)
            count = len(document)
            metadata_title = _metadata_title(document)
        try:
            if count == 0:
                raise InputError("the PDF has no pages")
            if count > options.max_pages:
                raise InputError(f"the PDF has {count:,} pages; the limit is {options.max_pages:,} (RAG_MAX_PAGES)")
            read = _read_pages(document, count, data, options)
        finally:
            with PDFIUM:
                document.close()
        text, pages = _assemble(read)
        notes = [_labelled(note, read.labels) for note in read.notes]
        if not pages:
            if any("no OCR asked" in note for note in notes):
                raise NeedsOcr("every page is a scan, readable only through OCR")
            reason = next((note.split(": ", 1)[1] for note in notes if "not recognised" in note), "")
            raise InputError("no page has text: " + (reason or "every page is blank"))
        title = metadata_title or _large_type_title(read) or _first_paragraph_title(text, pages[0])
        return Reading(text, "pdf", pages=tuple(pages), notes=tuple(notes), title=title)


def _metadata_title(document) -> str | None:
    """The Title of the document's information dictionary, unless a tool left junk there (the
    name of the file it was printed from, "untitled")."""
    try:
        return usable(document.get_metadata_value("Title"))
    except Exception:  # noqa: BLE001 - damaged metadata costs the title, not the document
        return None


_TITLE_TYPE = 1.2  # a title's type is at least this many times the size of the page's body
_TITLE_LINES = 3  # lines a title may wrap over


def _large_type_title(read: _Read) -> str | None:
    """The line set clearly larger than the body among the first page's first lines, with the
    lines in the same type right after it (a title that wraps)."""
    first = next((n for n, lines in enumerate(read.lines) if any(lines)), None)
    if first is None or first in read.recognised:
        return None
    lines, heights = read.lines[first], read.layers[first].heights
    if len(lines) != len(heights):
        return None
    filled = [(line, height) for line, height in zip(lines, heights, strict=True) if line and height > 0]
    if len(filled) < 2:
        return None
    body = sorted(height for _, height in filled)[len(filled) // 2]
    top = max(range(min(len(filled), 15)), key=lambda n: filled[n][1])
    size = filled[top][1]
    if size < _TITLE_TYPE * body:
        return None
    run = []
    for line, height in filled[top:top + _TITLE_LINES]:  # stops at the first line in other type
        if abs(height - size) > 0.05 * size:
            break
        run.append(line)
    return usable(" ".join(run))


def _first_paragraph_title(text: str, page: Page) -> str | None:
    """The first page's first paragraph, when it is short enough to be a title line."""
    first = text[page.start:page.end].strip().split("\n\n", 1)[0]
    return usable(first) if len(first) <= 120 and len(first.split()) <= 16 else None


@dataclass
class _Read:
    """What the pages of a document gave, before they are put together: each page's text layer
    (`layers`), its lines (from the layer, or from OCR for the pages in `recognised`), the notes
    ("#index: ..."), the scanned pages whose text layer is no copy of a page (`unread`), labels."""

    layers: list[Layer]
    lines: list[list[str]]
    recognised: dict[int, list]
    notes: list[str]
    unread: set[int]
    labels: list[str]


def _read_pages(document, count: int, data: bytes, options: ReadOptions) -> _Read:
    """Every page's text layer, then its lines (a scan's by OCR), within the reading budgets."""
    watch = options.stopwatch()
    layers, chars, broken = [], 0, set()
    for index in range(count):
        watch.check(f"page {index + 1}")
        try:
            with PDFIUM:
                layers.append(text_layer(document, index, data, chars, options))
        except damaged_page_errors():  # a page the file lists but cannot give
            layers.append(Layer("", [], [], [], []))
            broken.add(index)
        chars += len(layers[-1].raw)
    typical = typical_f_widths([f for layer in layers for f in layer.f_widths])
    lines_of, scans, notes = [], _Scans(), [f"#{index}: damaged, it cannot be loaded" for index in sorted(broken)]
    unread: set[int] = set()
    for index, layer in enumerate(_pages_shown(layers, options)):
        watch.check(f"page {index + 1}")
        lines = _lines(layer.text(with_ligatures(layer.raw, layer.f_widths, typical)))
        if index not in broken:
            lines, page_notes = _page_layer(document, index, lines, options, scans)
            notes.extend(page_notes)
            if any("a scanned page" in note for note in page_notes):
                unread.add(index)  # a scan's text layer (a filing stamp) is no copy of a page
        lines_of.append(lines)
    with PDFIUM:
        labels = [document.get_page_label(index) or str(index + 1) for index in range(count)]
    return _Read(layers, lines_of, scans.found, notes, unread, labels)


def _assemble(read: _Read) -> tuple[str, list[Page]]:
    """The document's text and its pages: running lines and watermarks out, paragraphs joined,
    footnotes placed where they cut no sentence, a sentence run on over a page break kept whole."""
    running, stamped = running_lines(read.lines), watermarks(read.lines)
    # A page that would lose all its text is a copy of the others (a form printed three times,
    # a ledger of one line a page), not their running lines: it is read as it is.
    kept, dropped = zip(*(cleaned(lines, running, stamped, copy_kept=index not in read.unread)
                          for index, lines in enumerate(read.lines)), strict=True)
    _join_across_pages(kept)
    recognised = read.recognised
    parts, pages, at = [], [], 0
    ends_open = False  # the last page's text stops inside a sentence
    for index, label in enumerate(read.labels):
        notes_from = None if index in recognised else _footnotes(kept[index], read.layers[index].heights)
        shape = None if index in recognised else read.layers[index]
        text, spans = _paragraphs(kept[index], notes_from, _centred(kept[index], shape),
                                  None if shape is None else shape.edges)
        if not text.strip():
            continue
        if parts:  # a sentence that runs on over the page break is one sentence (index.clean keeps it whole)
            joint = _RUN_ON if ends_open and not text[:1].isspace() else _SEPARATOR
            if joint == _RUN_ON and HYPHENATED.search(parts[-1][-2:] + "\n" + text[:1]):
                joint, parts[-1], at = "", parts[-1][:-1], at - 1  # "indi-" / "vidual": one word
                pages[-1] = dataclasses.replace(pages[-1], end=pages[-1].end - 1)
            parts.append(joint)
            at += len(joint)
        missed, shift = _missed_running_head(text) if ends_open and index not in recognised else ("", 0)
        if missed:
            text = text[shift:]
        notes_at, body_at = (None, None) if notes_from is None else (spans[notes_from][0] - shift, None)
        if notes_at is not None:
            # A sentence running on from the last page, or on to the next, is not cut by the
            # footnotes: they go after the first sentence the page finishes, or first.
            body, small_print = text[:notes_at].rstrip(), text[notes_at:].rstrip()
            head = _first_sentence_end(body) if ends_open else 0
            if head is not None and (head or _open_ended(body)):
                before = body[:head].rstrip()
                text = (before + _SEPARATOR if before else "") + small_print + _SEPARATOR + body[head:].lstrip()
                notes_at = len(before) + len(_SEPARATOR) if before else 0
                body_at = notes_at + len(small_print) + len(_SEPARATOR)
        ends_open = (notes_at is None or body_at is not None) and _open_ended(text)
        parts.append(text)
        boxes = ()
        if index in recognised:
            boxes = tuple((at + a, at + b, *recognised[index][n].box) for n, (a, b) in spans.items())
        pages.append(Page(index + 1, label, at, at + len(text), ocr=index in recognised,
                          running=tuple(dropped[index]) + ((missed,) if missed else ()), boxes=boxes,
                          footnotes=None if notes_at is None else at + notes_at,
                          body=None if body_at is None else at + body_at))
        at += len(text)
    return "".join(parts), pages


_SENTENCE_END = re.compile(r"[.!?][\"'”’)\]]*(?:\s+(?=[A-Z“\"‘(§])|\n\n)")


def _missed_running_head(text: str) -> tuple[str, int]:
    """A short line heading a page between the two halves of a sentence ("Because Hewitt's" /
    "Gorsuch, J., dissenting" / "compensation did not ..."): a running head the rules missed (it
    shows on the first page of an opinion only), and how much text it takes with its break."""
    first, joint, rest = text.partition(_SEPARATOR)
    if joint and len(first) <= 40 and rest[:1].islower() and first.rstrip()[-1:] not in ".!?:;":
        return first, len(first) + len(joint)
    return "", 0


def _first_sentence_end(text: str) -> int | None:
    """Where the first sentence of `text` ends (after its full stop and the space after it)."""
    match = _SENTENCE_END.search(text)
    return match.end() if match else None


def _open_ended(text: str) -> bool:
    """Whether a page's text stops inside a sentence: its last paragraph is prose (several words)
    and ends with no full stop, colon or closing quote after one."""
    last = text.rstrip().rsplit("\n\n", 1)[-1]
    return len(last.split()) >= 6 and last.rstrip("\"'”’)]")[-1:] not in ".!?:;…"


def _labelled(note: str, labels: list[str]) -> str:
    """Notes are made before page labels are read: "#3: ..." becomes "page iii: ..."."""
    number, _, rest = note.partition(": ")
    return f"page {labels[int(number[1:])]}: {rest}"


@dataclass
class _Scans:
    """The pages of a document recognised by OCR so far (index → lines), and why recognising
    stopped, if a budget stopped it: the later scans are then reported, not read."""

    found: dict[int, list] = field(default_factory=dict)
    stopped: str = ""


def _pages_shown(texts: list, options: ReadOptions):
    """The pages in order, through a progress bar when one was asked for and there are several."""
    from tqdm import tqdm

    return tqdm(texts, unit="page", desc="reading", leave=False, disable=not options.progress or len(texts) < 2)


def _page_layer(document, index: int, lines: list[str], options: ReadOptions,
                scans: _Scans) -> tuple[list[str], list[str]]:
    """A page's lines: those of its text layer or, for a scan, those OCR finds (then also kept in
    `scans.found[index]`); and the notes to give about it ("#index: ...")."""
    chars = sum(len(line) for line in lines)
    if chars >= _SCAN_MAX_CHARS:
        return lines, []
    with PDFIUM:
        page = document[index]
    try:
        with PDFIUM:
            covered = image_share(page)
        if covered < _SCAN_IMAGE_SHARE:
            return lines, [] if chars else [f"#{index}: blank, no text and no picture"]
        if not options.ocr:
            return lines, [f"#{index}: a scanned page, no OCR asked for"]
        if len(scans.found) >= options.max_ocr_pages:
            scans.stopped = (f"the document's first {options.max_ocr_pages} scanned pages were "
                             "(RAG_MAX_OCR_PAGES)")
        if scans.stopped:
            return lines, [f"#{index}: a scanned page, its text not recognised: {scans.stopped}"]
        started = time.monotonic()
        try:
            found = ocr.recognise(page)
        except (ocr.OcrUnavailable, ocr.PageTooLarge) as exc:
            return lines, [f"#{index}: a scanned page, its text not recognised: {exc}"]
        took = time.monotonic() - started
        scans.found[index] = found
        if took > options.max_ocr_seconds:
            scans.stopped = (f"recognising page {index + 1} took {took:.0f} s, over the "
                             f"{options.max_ocr_seconds:g} s a page allowed (RAG_MAX_OCR_SECONDS)")
        return [line.text for line in found], [f"#{index}: text recognised by OCR"]
    finally:
        with PDFIUM:
            page.close()


def _footnotes(lines: list[str], heights: list[float]) -> int | None:
    """The line where the page's footnotes start: the run of lines at its foot set clearly smaller
    than the page's body, when one of them opens with a note mark ("3 See ...", "*In 2007 ...")."""
    if len(heights) != len(lines):
        return None
    filled = [n for n, line in enumerate(lines) if line and line != GONE and heights[n] > 0]
    if len(filled) < 6:
        return None
    body = sorted(heights[n] for n in filled)[len(filled) // 2]
    small: list[int] = []
    for n in reversed(filled):
        if heights[n] >= _FOOTNOTE_SIZE * body:
            break
        small.append(n)
    if not any(_NOTE_MARK.match(lines[n]) for n in small) or small[-1] == filled[0]:
        return None
    return small[-1]  # from the top of the small print: a note carried over from the last page first


def _lines(raw: str) -> list[str]:
    # pdfium's U+FFFE is a line-end hyphen inside a word, which it joins; at the foot of a page,
    # before a watermark glued on ("signif\ufffePage Proof ..."), it stays a hyphen for
    # `_join_across_pages`.
    raw = _PAGE_END_HYPHEN.sub("-", raw)
    raw = _MARKED_BREAK.sub(lambda m: "-" if _COMPOUND.search(raw[max(0, m.start() - 40):m.start()]) else m[0], raw)
    text = raw.replace("\r\n", "\n").replace("\r", "\n").translate(_SPELLING)
    return [" ".join(line.split()) for line in text.split("\n")]  # `_paragraphs` joins split words


# Some typesetters' fonts (the Supreme Court's prints among them) map an "fi" or "fl" ligature's
# glyph to "f" alone, so "filed" reads "fled" and "conflict" "confict". The glyph gives itself away
# by its width: it advances about as far as an "f" and an "i" together, well past the document's
# other "f"s in the same font, measured in the f's own height (so type sizes compare). Which
# ligature it was is told by the letters after it (`_ligature`).


def _join_across_pages(layers: list[list[str]]) -> None:
    """A word split by a hyphen at the foot of one page ("Crimi-" / "nal Procedure") is made whole
    on the first page, as pdfium joins those within a page."""
    filled = [lines for lines in layers if any(line.strip(GONE) for line in lines)]
    for lines, following in itertools.pairwise(filled):
        last = max(n for n, line in enumerate(lines) if line.strip(GONE))
        first = next(n for n, line in enumerate(following) if line.strip(GONE))
        below = next((n for n, line in enumerate(following) if n > first and line.strip(GONE)), None)
        if below is not None and len(following[first]) <= 40 and following[first][:1].isupper():
            first = below  # past a short heading the running-line rules missed ("Gorsuch, J., dissenting")
        head, _, rest = following[first].partition(" ")
        if HYPHENATED.search(lines[last][-2:] + "\n" + head[:1]):
            lines[last] = lines[last][:-1] + head
            following[first] = rest


def _centred(lines: list[str], layer: Layer | None) -> frozenset[int]:
    """The lines set centred on the page on their own (a caption, a docket line, a title): both
    ends stand well in from the text's edges, by about as much, and the lines above and below
    start elsewhere (the lines of an indented quotation share their start)."""
    if layer is None or len(layer.edges) != len(lines):
        return frozenset()
    inked = [(n, e) for n, e in enumerate(layer.edges) if e is not None and lines[n] not in ("", GONE)]
    if len(inked) < 4:
        return frozenset()
    low, high = min(e[0] for _, e in inked), max(e[1] for _, e in inked)
    sizes = sorted(layer.heights[n] for n, _ in inked if layer.heights[n] > 0)
    em = sizes[len(sizes) // 2] if sizes else 10.0
    found = set()
    for where, (n, (left, right)) in enumerate(inked):
        gaps = left - low, high - right
        if min(gaps) < em or abs(gaps[0] - gaps[1]) > em / 2:
            continue
        neighbours = [inked[k][1][0] for k in (where - 1, where + 1) if 0 <= k < len(inked)]
        if all(abs(other - left) > em / 2 for other in neighbours):
            found.add(n)
    return frozenset(found)


def _stops_short(edges: list[tuple[float, float] | None], present: list[int], where: int, line: str,
                 after: str, notes_from: int | None = None) -> bool | None:
    """Whether line `present[where]` ends well before the right edge of the lines around it (on
    the same side of the footnotes' start, `notes_from`): by more than the next line's first word
    would take, which a typesetter would have put on it. None where the positions are missing."""
    here = edges[present[where]]

    def side(n: int) -> bool:
        return notes_from is not None and n >= notes_from

    around = [edges[present[k]] for k in range(max(0, where - 3), min(len(present), where + 4))
              if k != where and side(present[k]) == side(present[where])]
    around = [e for e in around if e is not None]
    if here is None or not around or len(line) < 2:
        return None
    margin = max(right for _, right in around)
    letter = (here[1] - here[0]) / len(line)
    return here[1] < margin - letter * (len(after.split(" ", 1)[0]) + 1)


def _paragraphs(lines: list[str], notes_from: int | None = None, centred: frozenset[int] = frozenset(),
                edges: list[tuple[float, float] | None] | None = None) -> tuple[str, dict[int, tuple[int, int]]]:
    """A page's lines joined back into paragraphs, and where each line with text lies in the
    result. A PDF stores lines, not sentences: read as they are, a sentence broken across lines
    would be cut in two (and its first line taken for a heading). A line ends its paragraph when it
    stops short of the lines around it by more than the next line's first word (where the text
    layer gives positions: `edges`; else when it is clearly shorter than the page's full lines), or
    the next line is blank, starts a list item or starts the footnotes (line `notes_from`); a line
    set centred on its own (`centred`: a caption or docket line) is a paragraph of its own."""
    present = [n for n, line in enumerate(lines) if line != GONE]
    lines = [line if line == GONE else " ".join(line.split()) for line in lines]
    widths = sorted(len(line) for line in lines if line.strip(GONE))
    full = widths[len(widths) * 3 // 4] if widths else 0
    if edges is not None and len(edges) != len(lines):
        edges = None
    out: list[str] = []
    spans: dict[int, tuple[int, int]] = {}
    at, joint = 0, ""
    following = dict(itertools.pairwise(present))
    for where, n in enumerate(present):
        line, after = lines[n], lines[following[n]] if n in following else ""
        if not line:
            continue
        if following.get(n) == notes_from or n in centred or following.get(n) in centred:
            end = "\n\n"
        elif HYPHENATED.search(line[-2:] + "\n" + after[:1]):  # "exam-" / "ination": one word
            line, end = line[:-1], ""
        elif not after or after.startswith(_ITEM_MARKS):
            end = "\n\n"
        else:
            short = _stops_short(edges, present, where, line, after, notes_from) if edges else None
            end = "\n\n" if (len(line) < 0.75 * full if short is None else short) else " "
        out += [joint, line]
        spans[n] = (at + len(joint), at + len(joint) + len(line))
        at, joint = spans[n][1], end
    return "".join(out), spans
