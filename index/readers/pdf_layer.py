"""A PDF page's text layer as pdfium gives it (index.readers.pdf reads pages through it): the
characters in reading order (a two-column page column by column), each line's type size and
where it starts and stops, how each "f" was drawn (to spell out ligatures the font maps to a bare
"f"); the share of a page that pictures cover (to tell a scan); and, before pdfium parses a file,
how much its deflated streams unpack to. Every pdfium call is made under `PDFIUM` by the caller."""

from __future__ import annotations

import bisect
import itertools
import re
from dataclasses import dataclass

from index.errors import InputError
from index.readers.base import EXPANSION_FLOOR, ReadOptions, check_expansion

LINE_BREAK = re.compile(r"\r\n|\r|\n")


def image_share(page) -> float:
    """The share of the page that images cover (their bounding boxes, overlaps counted twice)."""
    import pypdfium2.raw as pdfium_c

    width, height = page.get_size()
    covered = 0.0
    for obj in page.get_objects(filter=(pdfium_c.FPDF_PAGEOBJ_IMAGE,)):
        left, bottom, right, top = obj.get_bounds()
        covered += max(0.0, min(right, width) - max(left, 0.0)) * max(0.0, min(top, height) - max(bottom, 0.0))
    return covered / (width * height) if width and height else 0.0


_STREAM_START = re.compile(rb"(?<!end)stream\r?\n")


def unpacked(data: bytes, options: ReadOptions) -> int:
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


def damaged_page_errors() -> type[Exception]:
    import pypdfium2 as pdfium

    return pdfium.PdfiumError


_NO_PAGES = re.compile(rb"/Count\s+0\b")


def open_pdf(data: bytes):
    import pypdfium2 as pdfium

    try:
        return pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        # pdfium sets no error for a PDF without a page tree, so the one it reports may be the last
        # failure's in this process (an encrypted PDF read before): each cause is checked in the bytes.
        if "password" in str(exc).lower() and b"/Encrypt" in data:
            raise InputError("the PDF is encrypted: save a copy without a password") from None
        if "(PDFium: Success)" in str(exc) or _NO_PAGES.search(data):
            raise InputError("the PDF has no pages") from None
        raise InputError(f"damaged PDF: {exc}") from None


@dataclass(frozen=True)
class Layer:
    """A page's text layer: pdfium's text (`raw`), the reading order of its characters (`order`:
    their indices, -1 for a line break put between columns), the width of each "f" (`_f_widths`)
    and the type size of each line of the text in reading order (`_line_heights`)."""

    raw: str
    order: list[int]
    f_widths: list[tuple[int, bytes, float]]
    heights: list[float]
    edges: list[tuple[float, float] | None]

    def text(self, pieces: list[str]) -> str:
        """The text in reading order, each character as `pieces` spells it (`with_ligatures`)."""
        return "".join("\n" if at < 0 else pieces[at] for at in self.order)


def text_layer(document, index: int, data: bytes, before: int, options: ReadOptions) -> Layer:
    """Page `index`'s text layer; the characters of the pages `before` it and its own are held to
    the reading budget (`check_expansion`) before they are read."""
    page = document[index]
    try:
        textpage = page.get_textpage()
        try:
            check_expansion("reads as", before + textpage.count_chars(), len(data), options)
            raw = textpage.get_text_range()
            if len(raw) != textpage.count_chars():  # characters beyond one UTF-16 unit: no positions
                return Layer(raw, list(range(len(raw))), [], [], [])
            order = _column_order(textpage, raw, page.get_width()) or list(range(len(raw)))
            return Layer(raw, order, _f_widths(textpage, raw), *_line_heights(textpage, raw, order))
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
    for end in [m.start() for m in LINE_BREAK.finditer(raw)] + [len(raw)]:
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


def typical_f_widths(found: list[tuple[int, bytes, float]]) -> dict[bytes, float]:
    """A plain "f"'s width per font: the lower quartile, as a page (or a document) about filing
    may have more ligatures than plain "f"s."""
    by_font: dict[bytes, list[float]] = {}
    for _, font, width in found:
        by_font.setdefault(font, []).append(width)
    return {font: sorted(widths)[len(widths) // 4] for font, widths in by_font.items() if len(widths) >= 4}


def with_ligatures(raw: str, found: list[tuple[int, bytes, float]], typical: dict[bytes, float]) -> list[str]:
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
