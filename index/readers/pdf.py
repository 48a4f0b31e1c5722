"""PDF through pypdfium2 (Apache/BSD licensed, fast): each page's text layer, with where each page
lies in the text, so chunks stay within a page and citations name it.

Ligatures are spelt out (ﬁ → fi) and a word split by a hyphen at a line end is joined, so the
text matches the words a user types; lines are joined back into paragraphs; running headers and
footers (a line of the same shape at the top or bottom of half the pages) are dropped. Pages are
separated by a blank line. A page without a text
layer (a scan) is reported in the reading's notes: no OCR engine is used here yet, so its text is
not searchable, and a PDF with no text on any page is refused saying so. Encrypted, damaged and
empty files each get one line.
"""

from __future__ import annotations

import re

from index.errors import InputError
from index.readers.base import Page, Reading

# pdfium marks a hyphen that splits a word at a line end as U+FFFE and joins the line: the word
# is whole again once the mark goes.
_SPELLING = str.maketrans({"\ufb00": "ff", "\ufb01": "fi", "\ufb02": "fl", "\ufb03": "ffi", "\ufb04": "ffl",
                           "\ufb05": "st", "\ufb06": "st", "\ufffe": ""})
# "exam-\nple" (a word split at a line end) but not "Franco-\nGerman" or "1990-\n1995".
_HYPHENATED = re.compile(r"(?<=[^\W\d_])[-\u00ad\x02]\n(?=[^\W\d_A-Z])")
_SEPARATOR = "\n\n"
_ITEM_MARKS = ("•", "◦", "▪", "-", "–", "*")


class PdfReader:
    suffixes = (".pdf",)

    def read(self, data: bytes) -> Reading:
        if not data.startswith(b"%PDF-"):
            raise InputError("not a PDF file (it does not start with %PDF-)")
        document = _open(data)
        try:
            if len(document) == 0:
                raise InputError("the PDF has no pages")
            layers = [_page_lines(document, index) for index in range(len(document))]
            labels = [document.get_page_label(index) or str(index + 1) for index in range(len(document))]
        finally:
            document.close()
        running = _running_lines(layers)
        parts, pages, notes, at = [], [], [], 0
        for index, (lines, label) in enumerate(zip(layers, labels, strict=True)):
            text = _paragraphs(_without(lines, running))
            if not text.strip():
                notes.append(f"page {label}: no text layer (a scanned page?), not searchable without OCR")
                continue
            if parts:
                parts.append(_SEPARATOR)
                at += len(_SEPARATOR)
            parts.append(text)
            pages.append(Page(index + 1, label, at, at + len(text)))
            at += len(text)
        if not pages:
            raise InputError("no page has a text layer: a scanned PDF, and OCR is not set up")
        return Reading("".join(parts), "pdf", pages=tuple(pages), notes=tuple(notes))


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


def _page_lines(document, index: int) -> list[str]:
    page = document[index]
    try:
        textpage = page.get_textpage()
        try:
            raw = textpage.get_text_range()
        finally:
            textpage.close()
    finally:
        page.close()
    text = raw.replace("\r\n", "\n").replace("\r", "\n").translate(_SPELLING)
    return [" ".join(line.split()) for line in _HYPHENATED.sub("", text).split("\n")]


def _shape(line: str) -> str:
    """A line with its numbers blanked: "Page 3 of 12" and "Page 4 of 12" have one shape."""
    return re.sub(r"\d+", "#", line.lower())


def _edges(lines: list[str]) -> list[int]:
    """Where the first and last two lines with text are: where running headers and footers sit."""
    filled = [n for n, line in enumerate(lines) if line]
    return filled[:2] + filled[-2:] if len(filled) > 4 else filled


def _running_lines(layers: list[list[str]]) -> set[str]:
    """Shapes of the lines repeated at the top or bottom of at least half the pages (three or
    more pages with text): running headers, footers and page numbers, which would otherwise be
    glued into the text between two pages' paragraphs and be found by every search for them."""
    with_text = [lines for lines in layers if any(lines)]
    if len(with_text) < 3:
        return set()
    counts: dict[str, int] = {}
    for lines in with_text:
        for shape in {_shape(lines[n]) for n in _edges(lines)}:
            counts[shape] = counts.get(shape, 0) + 1
    return {shape for shape, n in counts.items() if n >= max(2, len(with_text) / 2)}


def _without(lines: list[str], running: set[str]) -> str:
    """The page's lines less its running ones, looked for only at its edges (the same words in
    the body stay)."""
    dropped = {n for n in _edges(lines) if _shape(lines[n]) in running}
    return "\n".join(line for n, line in enumerate(lines) if n not in dropped)


def _paragraphs(text: str) -> str:
    """A text layer's lines joined back into paragraphs. A PDF stores lines, not sentences: read as
    they are, a sentence broken across lines would be cut in two (and its first line taken for a
    heading). A line ends its paragraph when it is clearly shorter than the page's full lines (a
    heading, a paragraph's last line) or the next line is blank or starts a list item."""
    lines = [" ".join(line.split()) for line in text.split("\n")]
    widths = sorted(len(line) for line in lines if line)
    full = widths[len(widths) * 3 // 4] if widths else 0
    out: list[str] = []
    for line, following in zip(lines, [*lines[1:], ""], strict=True):
        if not line:
            continue
        out.append(line)
        ends = len(line) < 0.75 * full or not following or following.startswith(_ITEM_MARKS)
        out.append("\n\n" if ends else " ")
    return "".join(out).strip()
