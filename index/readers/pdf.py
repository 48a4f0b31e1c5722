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
line.
"""

from __future__ import annotations

import bisect
import dataclasses
import itertools
import re
import time
from dataclasses import dataclass, field

from index import ocr
from index.errors import InputError
from index.pdfium_lock import PDFIUM
from index.readers.base import (DEFAULT_OPTIONS, EXPANSION_FLOOR, NeedsOcr, Page, Reading, ReadOptions,
                                check_expansion)

# pdfium marks a hyphen that splits a word at a line end as U+FFFE and joins the line: the word
# is whole again once the mark goes.
_SPELLING = str.maketrans({"\ufb00": "ff", "\ufb01": "fi", "\ufb02": "fl", "\ufb03": "ffi", "\ufb04": "ffl",
                           "\ufb05": "st", "\ufb06": "st", "\ufffe": ""})
# "exam-\nple" (a word split at a line end) but not "Franco-\nGerman" or "1990-\n1995".
_HYPHENATED = re.compile(r"(?<=[^\W\d_])[-\u00ad\x02]\n(?=[^\W\d_A-Z])")
_PAGE_END_HYPHEN = re.compile("\ufffe(?![a-z])")
# A line-end hyphen that pdfium marks but that belongs to the word: in a compound that has one
# already ("apples-to-apples") or after a suspended one ("higher- and lower-income").
_MARKED_BREAK = re.compile("\ufffe(?=[a-z])")
_COMPOUND = re.compile(r"(?:-[^\W\d_]+|- (?:and|or|to|nor) [^\W\d_]+)$")
_SEPARATOR = "\n\n"
_RUN_ON = " "  # between two pages whose break falls inside a sentence
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_FOOTNOTE_SIZE = 0.88  # a footnote's type is at most this share of the body's
_NOTE_MARK = re.compile(r"(?:\d{1,2}\s+|[*†‡§¶]+\s*)[A-Z“\"‘(]")  # "3 See ...", "*In 2007 ..."
_GONE = "\x00"  # where a running line or watermark was: not a blank line, which ends a paragraph
_ITEM_MARKS = ("•", "◦", "▪", "-", "–", "*")
# A page is a scan when an image covers this share of it and its text layer is shorter than this
# (a scanned court order carries a one-line filing stamp as text over the image of its body).
_SCAN_IMAGE_SHARE, _SCAN_MAX_CHARS = 0.3, 200


class PdfReader:
    suffixes = (".pdf",)

    def read(self, data: bytes, options: ReadOptions = DEFAULT_OPTIONS) -> Reading:
        if not data.startswith(b"%PDF-"):
            raise InputError("not a PDF file (it does not start with %PDF-)")
        check_expansion("unpacks to more than", _unpacked(data, options), len(data), options)  # counted to the budget
        with PDFIUM:
            document = _open(data)
            count = len(document)
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
        return Reading(text, "pdf", pages=tuple(pages), notes=tuple(notes))


@dataclass
class _Read:
    """What the pages of a document gave, before they are put together: each page's text layer
    (`layers`), its lines (from the layer, or from OCR for the pages in `recognised`), the notes
    ("#index: ..."), the scanned pages whose text layer is no copy of a page (`unread`), labels."""

    layers: list[_Layer]
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
                layers.append(_text_layer(document, index, data, chars, options))
        except _damaged_page_errors():  # a page the file lists but cannot give
            layers.append(_Layer("", [], [], [], []))
            broken.add(index)
        chars += len(layers[-1].raw)
    typical = _typical_f_widths([f for layer in layers for f in layer.f_widths])
    lines_of, scans, notes = [], _Scans(), [f"#{index}: damaged, it cannot be loaded" for index in sorted(broken)]
    unread: set[int] = set()
    for index, layer in enumerate(_pages_shown(layers, options)):
        watch.check(f"page {index + 1}")
        lines = _lines(layer.text(_with_ligatures(layer.raw, layer.f_widths, typical)))
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
    running, stamped = _running_lines(read.lines), _watermarks(read.lines)
    # A page that would lose all its text is a copy of the others (a form printed three times,
    # a ledger of one line a page), not their running lines: it is read as it is.
    kept, dropped = zip(*(_cleaned(lines, running, stamped, copy_kept=index not in read.unread)
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
            if joint == _RUN_ON and _HYPHENATED.search(parts[-1][-2:] + "\n" + text[:1]):
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
            image_share = _image_share(page)
        if image_share < _SCAN_IMAGE_SHARE:
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


def _image_share(page) -> float:
    """The share of the page that images cover (their bounding boxes, overlaps counted twice)."""
    import pypdfium2.raw as pdfium_c

    width, height = page.get_size()
    covered = 0.0
    for obj in page.get_objects(filter=(pdfium_c.FPDF_PAGEOBJ_IMAGE,)):
        left, bottom, right, top = obj.get_bounds()
        covered += max(0.0, min(right, width) - max(left, 0.0)) * max(0.0, min(top, height) - max(bottom, 0.0))
    return covered / (width * height) if width and height else 0.0


_STREAM_START = re.compile(rb"(?<!end)stream\r?\n")


def _unpacked(data: bytes, options: ReadOptions) -> int:
    """How many bytes the file's deflated streams unpack to, counted before pdfium parses any: a
    52 KB page can hold 11 MB of text, and pdfium spends some 150 bytes a character on a page's
    text before it can be counted (or aborts the process when memory runs out). Stops counting
    once over the budget; a stream that is not deflated (a JPEG) counts nothing."""
    import zlib

    budget = max(EXPANSION_FLOOR, options.max_expansion * len(data))
    view, total = memoryview(data), 0
    for match in _STREAM_START.finditer(data):
        head = data[match.end():match.end() + 2]
        if len(head) < 2 or head[0] & 0x0F != 8 or (head[0] << 8 | head[1]) % 31:
            continue  # no zlib header: not a deflated stream
        inflate = zlib.decompressobj()
        try:
            total += len(inflate.decompress(view[match.end():], budget - total + 1))
        except zlib.error:
            continue
        if total > budget:
            break
    return total


def _damaged_page_errors() -> type[Exception]:
    import pypdfium2 as pdfium

    return pdfium.PdfiumError


def _open(data: bytes):
    import pypdfium2 as pdfium

    try:
        return pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        if "password" in str(exc).lower():
            raise InputError("the PDF is encrypted: save a copy without a password") from None
        if "(PDFium: Success)" in str(exc):  # loads no page tree, yet reports no error: an empty PDF
            raise InputError("the PDF has no pages") from None
        raise InputError(f"damaged PDF: {exc}") from None


@dataclass(frozen=True)
class _Layer:
    """A page's text layer: pdfium's text (`raw`), the reading order of its characters (`order`:
    their indices, -1 for a line break put between columns), the width of each "f" (`_f_widths`)
    and the type size of each line of the text in reading order (`_line_heights`)."""

    raw: str
    order: list[int]
    f_widths: list[tuple[int, bytes, float]]
    heights: list[float]
    edges: list[tuple[float, float] | None]

    def text(self, pieces: list[str]) -> str:
        """The text in reading order, each character as `pieces` spells it (`_with_ligatures`)."""
        return "".join("\n" if at < 0 else pieces[at] for at in self.order)


def _text_layer(document, index: int, data: bytes, before: int, options: ReadOptions) -> _Layer:
    """Page `index`'s text layer; the characters of the pages `before` it and its own are held to
    the reading budget (`check_expansion`) before they are read."""
    page = document[index]
    try:
        textpage = page.get_textpage()
        try:
            check_expansion("reads as", before + textpage.count_chars(), len(data), options)
            raw = textpage.get_text_range()
            if len(raw) != textpage.count_chars():  # characters beyond one UTF-16 unit: no positions
                return _Layer(raw, list(range(len(raw))), [], [], [])
            order = _column_order(textpage, raw, page.get_width()) or list(range(len(raw)))
            return _Layer(raw, order, _f_widths(textpage, raw), *_line_heights(textpage, raw, order))
        finally:
            textpage.close()
    finally:
        page.close()


def _char_boxes(textpage, count: int) -> list[tuple[float, float, float, float]]:
    """(left, right, bottom, top) of each character."""
    import ctypes

    import pypdfium2.raw as pdfium_c

    box = [ctypes.c_double() for _ in range(4)]
    refs = [ctypes.byref(v) for v in box]
    out = []
    for at in range(count):
        pdfium_c.FPDFText_GetCharBox(textpage.raw, at, *refs)
        out.append(tuple(v.value for v in box))
    return out


def _column_order(textpage, raw: str, width: float) -> list[int] | None:
    """The reading order of a two-column page: each band between full-width lines read down its
    left column, then down its right one. pdfium reads a page in the order its lines were drawn,
    and a page drawn row by row across both columns would read "left line 1, right line 1, ...".
    None for a page that is not in two columns (no gutter: an empty vertical band near the middle
    that most text runs keep to one side of)."""
    runs = [(left, right) for left, _, right, _ in (textpage.get_rect(n) for n in range(textpage.count_rects()))]
    if len(runs) < 10 or sum(right - left < 0.45 * width for left, right in runs) < 0.7 * len(runs):
        return None  # most runs of a one-column page reach across its middle: no gutter to look for
    gutter = _gutter(runs, width)
    if gutter is None:
        return None
    boxes = _char_boxes(textpage, len(raw))
    order: list[int] = []
    left_lines: list[list[int]] = []
    right_lines: list[list[int]] = []

    def flush() -> None:
        for lines in (left_lines, right_lines):
            for line in lines:
                order.extend([*line, -1])
            lines.clear()

    start = 0
    for end in [m.start() for m in _LINE_BREAK.finditer(raw)] + [len(raw)]:
        chars = list(range(start, end))
        start = end + (2 if raw.startswith("\r\n", end) else 1)
        side, left, right = 0, [], []
        for at in chars:
            if raw[at].strip():
                side = 1 if (boxes[at][0] + boxes[at][1]) / 2 > gutter else 0
            (right if side else left).append(at)
        inked = [[at for at in part if raw[at].strip()] for part in (left, right)]
        if all(inked) and min(boxes[at][0] for at in inked[1]) - max(boxes[at][1] for at in inked[0]) < 12:
            flush()  # one run of words across the gutter (a title): the columns above it end here
            order.extend([*chars, -1])
            continue
        if "".join(raw[at] for at in left).strip():
            left_lines.append(left)
        if "".join(raw[at] for at in right).strip():
            right_lines.append(right)
    flush()
    return order


def _gutter(runs: list[tuple[float, float]], width: float) -> float | None:
    """The middle of the widest vertical band in the page's middle third that the fewest runs of
    text cross: a gutter when at most one run in seven crosses it (a title may), it is at least 8
    points wide, and at least five runs lie wholly on either side; None without one."""
    low, high = width / 3, 2 * width / 3
    cuts = sorted({low, high, *(x for run in runs for x in run if low < x < high)})
    lefts, rights = sorted(left for left, _ in runs), sorted(right for _, right in runs)

    def crossing(x: float) -> int:  # runs that start left of x and end right of it
        return bisect.bisect_left(lefts, x) - bisect.bisect_right(rights, x)

    bands = [(crossing((a + b) / 2), -(b - a), a, b) for a, b in itertools.pairwise(cuts)]
    crossing, minus_width, a, b = min(bands)
    middle = (a + b) / 2
    on_left = sum(right <= middle for _, right in runs)
    on_right = sum(left >= middle for left, _ in runs)
    if -minus_width < 8 or crossing > len(runs) / 7 or min(on_left, on_right) < 5:
        return None
    return middle


def _line_heights(textpage, raw: str, order: list[int]) -> tuple[list[float], list[tuple[float, float] | None]]:
    """For each line of the text in reading order (split as `_lines` splits it), the tallest of
    its first 12 letters and digits (its type size, near enough to tell a footnote's small print
    from the body's), and where its ink starts and ends across the page (None for an empty line)."""
    import ctypes

    import pypdfium2.raw as pdfium_c

    box = [ctypes.c_double() for _ in range(4)]
    refs = [ctypes.byref(v) for v in box]

    def edges(first: int, last: int) -> tuple[float, float] | None:
        if first < 0:
            return None
        pdfium_c.FPDFText_GetCharBox(textpage.raw, first, *refs)
        left = box[0].value
        pdfium_c.FPDFText_GetCharBox(textpage.raw, last, *refs)
        return left, box[1].value

    heights, extents, tallest, seen, after_return, first, last = [], [], 0.0, 0, False, -1, -1
    for at in order:
        char = "\n" if at < 0 else raw[at]
        if char in "\r\n":
            if not (char == "\n" and after_return):  # "\r\n" is one break
                heights.append(tallest)
                extents.append(edges(first, last))
                tallest, seen, first, last = 0.0, 0, -1, -1
            after_return = char == "\r"
            continue
        after_return = False
        if not char.isspace() and char != "\ufffe":
            first, last = (at if first < 0 else first), at
        if seen < 12 and char.isalnum():
            pdfium_c.FPDFText_GetCharBox(textpage.raw, at, *refs)
            tallest, seen = max(tallest, box[3].value - box[2].value), seen + 1
    heights.append(tallest)
    extents.append(edges(first, last))
    return heights, extents


def _footnotes(lines: list[str], heights: list[float]) -> int | None:
    """The line where the page's footnotes start: the run of lines at its foot set clearly smaller
    than the page's body, when one of them opens with a note mark ("3 See ...", "*In 2007 ...")."""
    if len(heights) != len(lines):
        return None
    filled = [n for n, line in enumerate(lines) if line and line != _GONE and heights[n] > 0]
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

def _f_widths(textpage, raw: str) -> list[tuple[int, bytes, float]]:
    """(index, font, advance / height) of each "f" followed by a letter on the same line."""
    import ctypes

    import pypdfium2.raw as pdfium_c

    if "f" not in raw or len(raw) != textpage.count_chars():
        return []
    handle, x, y = textpage.raw, ctypes.c_double(), ctypes.c_double()
    box = [ctypes.c_double() for _ in range(4)]
    name, flags = ctypes.create_string_buffer(128), ctypes.c_int()
    found = []
    for at in (n for n in range(len(raw) - 1) if raw[n] == "f" and (raw[n + 1].isalpha() or raw[n + 1] == "\ufffe")):
        pdfium_c.FPDFText_GetCharOrigin(handle, at, ctypes.byref(x), ctypes.byref(y))
        x0, y0 = x.value, y.value
        pdfium_c.FPDFText_GetCharOrigin(handle, at + 1, ctypes.byref(x), ctypes.byref(y))
        pdfium_c.FPDFText_GetCharBox(handle, at, *(ctypes.byref(v) for v in box))
        height = box[3].value - box[2].value
        if abs(y.value - y0) > 0.5 or x.value <= x0 or height <= 0:
            continue
        pdfium_c.FPDFText_GetFontInfo(handle, at, name, len(name), ctypes.byref(flags))
        found.append((at, name.value, (x.value - x0) / height))
    return found


def _typical_f_widths(found: list[tuple[int, bytes, float]]) -> dict[bytes, float]:
    """A plain "f"'s width per font: the lower quartile, as a page (or a document) about filing
    may have more ligatures than plain "f"s."""
    by_font: dict[bytes, list[float]] = {}
    for _, font, width in found:
        by_font.setdefault(font, []).append(width)
    return {font: sorted(widths)[len(widths) // 4] for font, widths in by_font.items() if len(widths) >= 4}


def _with_ligatures(raw: str, found: list[tuple[int, bytes, float]], typical: dict[bytes, float]) -> list[str]:
    """Each character of `raw` as it should read: a ligature's bare "f" as "fi" or "fl"."""
    pieces = list(raw)
    for at, font, width in found:
        if font in typical and width > _LIGATURE_WIDTH * typical[font]:
            pieces[at] = _ligature(raw[at + 1:at + 6].replace("\ufffe", "")[:3])
    return pieces


_LIGATURE_WIDTH = 1.3
# After an "fl" ligature: a, i, o, u, y (flaw, conflict, flow, influence, fly) or the e of
# reflect, flesh, flex, flee, flew. Anything else follows "fi": final, first, filed, specified.
_AFTER_FL = re.compile(r"[aiouy]|e(?:ct|x|sh|e|w)")


def _ligature(after: str) -> str:
    return "fl" if _AFTER_FL.match(after.lower()) else "fi"


def _shape(line: str) -> str:
    """A line with its numbers blanked: "Page 3 of 12" and "Page 4 of 12" have one shape."""
    return re.sub(r"\d+", "#", line.lower())


def _edges(lines: list[str], running: set[str] | frozenset = frozenset()) -> list[int]:
    """Where the first and last two lines with text are, not counting lines already known to be
    running (a watermark above a header): where running headers and footers sit."""
    picked: set[int] = set()
    for order in (range(len(lines)), range(len(lines) - 1, -1, -1)):
        plain = 0
        for n in order:
            if not lines[n] or lines[n] == _GONE:
                continue
            picked.add(n)
            plain += _shape(lines[n]) not in running
            if plain == 2:
                break
    return sorted(picked)


def _running_lines(layers: list[list[str]]) -> set[str]:
    """Shapes of the lines repeated at the top or bottom of many pages (of three or more with
    text): running headers, footers and page numbers, which would otherwise be glued into the text
    between two pages' paragraphs and be found by every search for them. "Many" is half the pages
    of a short document and a quarter of a long one, where a book's left and right pages each carry
    their own header ("18 CRUZ v. ARIZONA", "Cite as: 598 U. S. 17 (2023) 19")."""
    with_text = [lines for lines in layers if any(lines)]
    if len(with_text) < 3:
        return set()
    counts: dict[str, int] = {}
    numbers = _numbers_by_shape(line for lines in with_text for line in lines)
    for lines in with_text:
        for shape in {_shape(lines[n]) for n in _edges(lines)}:
            counts[shape] = counts.get(shape, 0) + 1
    many = max(2, min(len(with_text) / 2, max(3, len(with_text) / 4)))
    # A running line's numbers are the same on every page but one, the page number ("Cite as: 598
    # U. S. 17 (2023) 19"); lines of one shape whose numbers differ in several places are data, a
    # table's rows ("2021  4.5 %  3.2 %").
    running = {shape for shape, n in counts.items() if n >= many and _varying(numbers[shape]) <= 1}
    # a section's own running head ("Syllabus", "Opinion of the Court") over a few pages in a row
    edges = [{_shape(lines[n]) for n in _edges(lines, running)} for lines in with_text]
    for before, shapes, after in zip(edges, edges[1:], edges[2:], strict=False):
        running |= {shape for shape in before & shapes & after if _varying(numbers.get(shape, set())) <= 1}
    return running


def _numbers_by_shape(lines) -> dict[str, set[tuple[str, ...]]]:
    """For each shape of `lines`, the numbers each of its lines holds."""
    numbers: dict[str, set[tuple[str, ...]]] = {}
    for line in lines:
        numbers.setdefault(_shape(line), set()).add(tuple(re.findall(r"\d+", line)))
    return numbers


def _varying(values: set[tuple[str, ...]]) -> int:
    """In how many places the numbers of a line's occurrences differ."""
    return sum(len(set(column)) > 1 for column in itertools.zip_longest(*values))


def _watermarks(layers: list[list[str]]) -> dict[str, str]:
    """Lines of twelve characters or more found whole on at least half the pages (three or more),
    by shape, with their text: a stamp such as "Page Proof Pending Publication", wherever on the
    page it sits (mid-page, where no edge rule finds it, or glued into a line of text)."""
    with_text = [lines for lines in layers if any(lines)]
    counts: dict[str, int] = {}
    texts: dict[str, str] = {}
    numbers = _numbers_by_shape(line for lines in with_text for line in lines if len(line) >= 12)
    for lines in with_text:
        for line in lines:
            if len(line) >= 12:
                texts.setdefault(_shape(line), line)
        for shape in {_shape(line) for line in lines if len(line) >= 12}:
            counts[shape] = counts.get(shape, 0) + 1
    return {shape: texts[shape] for shape, n in counts.items()
            if n >= max(3, len(with_text) / 2) and _varying(numbers[shape]) <= 1}  # table rows are data


def _join_across_pages(layers: list[list[str]]) -> None:
    """A word split by a hyphen at the foot of one page ("Crimi-" / "nal Procedure") is made whole
    on the first page, as pdfium joins those within a page."""
    filled = [lines for lines in layers if any(line.strip(_GONE) for line in lines)]
    for lines, following in itertools.pairwise(filled):
        last = max(n for n, line in enumerate(lines) if line.strip(_GONE))
        first = next(n for n, line in enumerate(following) if line.strip(_GONE))
        below = next((n for n, line in enumerate(following) if n > first and line.strip(_GONE)), None)
        if below is not None and len(following[first]) <= 40 and following[first][:1].isupper():
            first = below  # past a short heading the running-line rules missed ("Gorsuch, J., dissenting")
        head, _, rest = following[first].partition(" ")
        if _HYPHENATED.search(lines[last][-2:] + "\n" + head[:1]):
            lines[last] = lines[last][:-1] + head
            following[first] = rest


def _cleaned(lines: list[str], running: set[str], stamps: dict[str, str],
             copy_kept: bool) -> tuple[list[str], list[str]]:
    """`_without`, unless it would leave a page with text none (`copy_kept`): then the page as it is."""
    kept, dropped = _without(lines, running, stamps)
    if copy_kept and any(lines) and not any(line.strip(_GONE) for line in kept):
        return list(lines), []
    return kept, dropped


def _without(lines: list[str], running: set[str], stamps: dict[str, str]) -> tuple[list[str], list[str]]:
    """The page's lines less its running ones (looked for only at its edges: the same words in
    the body stay) and watermarks (anywhere), and the lines dropped. A dropped line leaves
    `_GONE`, so the remaining lines keep their numbers. A watermark that pdfium glued into a line
    of text ("... was not a signif-Page Proof Pending Publication", "nonwill- Page Proof Pending
    Publication ful") is cut out of it: only its exact text, case and all, never the same words
    in a sentence ("delivered the opinion of the Court")."""
    kept, dropped = list(lines), []
    for n, line in enumerate(lines):
        if line and _shape(line) in stamps:
            kept[n] = _GONE
            dropped.append(line)
            continue
        for shape, stamp in stamps.items():
            at = line.find(stamp)
            if "#" in shape or at < 0:
                continue
            before, after = line[:at].rstrip(), line[at + len(stamp):].lstrip()
            joined = before[:-1] + after if _HYPHENATED.search(before[-2:] + "\n" + after[:1]) else f"{before} {after}"
            kept[n] = line = joined.strip()
            dropped.append(stamp)
    for n in _edges(kept, running | set(stamps)):
        if _shape(kept[n]) in running:
            dropped.append(kept[n])
            kept[n] = _GONE
    return kept, dropped


def _centred(lines: list[str], layer: _Layer | None) -> frozenset[int]:
    """The lines set centred on the page on their own (a caption, a docket line, a title): both
    ends stand well in from the text's edges, by about as much, and the lines above and below
    start elsewhere (the lines of an indented quotation share their start)."""
    if layer is None or len(layer.edges) != len(lines):
        return frozenset()
    inked = [(n, e) for n, e in enumerate(layer.edges) if e is not None and lines[n] not in ("", _GONE)]
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
    present = [n for n, line in enumerate(lines) if line != _GONE]
    lines = [line if line == _GONE else " ".join(line.split()) for line in lines]
    widths = sorted(len(line) for line in lines if line.strip(_GONE))
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
        elif _HYPHENATED.search(line[-2:] + "\n" + after[:1]):  # "exam-" / "ination": one word
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
