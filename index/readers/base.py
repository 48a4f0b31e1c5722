"""What every reader gives back, and the one method a reader implements."""

from __future__ import annotations

import bisect
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from index.errors import Cancelled, InputError

# Formats that are never text, by their first bytes: a misnamed file gets a message naming what
# it really is instead of "invalid UTF-8 at byte 10".
_SIGNATURES = (
    (b"%PDF-", "a PDF file"),
    (b"PK\x03\x04", "a ZIP archive (or a Word, Excel or OpenDocument file)"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old Office document"),
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"\x7fELF", "a program (ELF)"),
)


@dataclass(frozen=True)
class Page:
    """A page of a paged format: its characters `start`–`end` of the reading's text, and its
    label (the printed page number where the file has one, else its 1-based number; where the
    parts are not printed pages, a name of the place: "slide 3: Results", "Sheet1, rows 2–41",
    see `page_name`). `ocr`: its text was recognised from the page's image (a scan), not read
    from a text layer. `running`: the running header and footer lines dropped from its text (kept
    here, not in any chunk)."""

    number: int
    label: str
    start: int
    end: int
    ocr: bool = False
    running: tuple[str, ...] = ()
    # OCR pages only: each recognised line as (start, end, left, top, right, bottom), its
    # characters in the reading's text and its box as fractions of the page, to highlight a quote.
    boxes: tuple[tuple[int, int, float, float, float, float], ...] = ()
    footnotes: int | None = None  # where the page's footnotes start in the reading's text
    # Where its body starts, when its footnotes come first: a sentence running on to the next page
    # is then not cut by them (index.readers.pdf).
    body: int | None = None
    # The file inside the document that the page is a page of, by its heading path ("From Ada
    # Lovelace, 2024-03-01: Budget › report.pdf": a PDF attached to a mail); its number and label
    # are then that file's own, and it cannot be drawn from the document's bytes.
    within: str = ""


@dataclass(frozen=True)
class Heading:
    """A heading of the document: where it starts in the reading's text, and its path
    ("Report › Keepers": the headings above it, then its own text)."""

    start: int
    path: str


def parts_of(pages: tuple[Page, ...], headings: tuple[Heading, ...]) -> list[tuple[int, str]]:
    """Where the named parts of a document start, for index.clean to cut sections at: pages where
    the format has them (a citation names its page), their footnotes apart; headings name the
    text outside pages (a mail's messages around the pages of its attached PDF)."""
    paged = [part for page in pages for part in sorted(
        [(page.start if page.body is None else page.body, _page_part("page", page))]
        + ([(page.footnotes, _page_part("footnotes, page", page))] if page.footnotes is not None else []))]
    if not headings:
        return paged
    firsts = [page.start for page in pages]

    def outside_pages(at: int) -> bool:
        n = bisect.bisect_right(firsts, at) - 1
        return n < 0 or at >= pages[n].end

    named = [(heading.start, heading.path) for heading in headings if outside_pages(heading.start)]
    return sorted(paged + named, key=lambda part: part[0])


def _page_part(what: str, page: Page) -> str:
    """"page 6"; "report.pdf, page 6" for a page of a file inside the document (`Page.within`)."""
    place = what.removesuffix("page") + page_name(page.label)  # "footnotes, page 6"
    return f"{page.within}, {place}" if page.within else place


def page_name(label: str) -> str:
    """A page as sections and citations name it: "page 6" for a page number (printed or counted),
    or the label itself where it says what kind of place it is, as a slide's or a block of rows'
    does ("slide 3: Results", "Sheet1, rows 2–41"): such labels hold a space, page numbers do not."""
    return label if " " in label else f"page {label}"


# Bumped when the same bytes are indexed differently (a reader's text, blocks or headings, sentence
# roles, what a sentence is embedded as): an index made by another version reads every document
# again on the next `rag index`.
READING_VERSION = "6"
BLOCK_KINDS = ("paragraph", "heading", "item", "code", "row")
# Kinds whose line breaks are the file's wrapping, read as spaces: a sentence runs on across them.
PROSE_KINDS = frozenset({"paragraph", "heading", "item"})


@dataclass(frozen=True)
class Block:
    """A unit of the document's layout: characters `start`–`end` of the reading's text and what
    they are (`BLOCK_KINDS`): a paragraph, a heading, a list item, a code block or a table row.
    Inside prose kinds a line break is the file's wrapping, so a sentence runs on across it; a
    code block keeps its lines. Between blocks, a sentence always ends."""

    start: int
    end: int
    kind: str = "paragraph"


@dataclass(frozen=True)
class Reading:
    """A file as the index sees it. `text` is what chunks and citations point into; `encoding` how
    its bytes were decoded; `pages` where each page's text lies (paged formats only); `headings`
    where each heading starts (formats that mark them); `notes` what
    the reader wants the user to know (one line each, e.g. a page with no text layer); `blocks`
    the text's paragraphs, headings, list items, code and table rows where the format's lines
    are not its paragraphs (wrapped plain text); without them every line is a block. `title` the
    document's own name for itself (metadata, a first heading; index.readers.titles), None when it
    has none and its file name stands in."""

    text: str
    encoding: str
    pages: tuple[Page, ...] = ()
    headings: tuple[Heading, ...] = ()
    notes: tuple[str, ...] = ()
    blocks: tuple[Block, ...] = ()
    title: str | None = None


@dataclass(frozen=True)
class ReadOptions:
    """How to read, and how much work a file may cost. A file says how big it is inside (pages,
    page size, unpacked size) and may lie: these budgets are checked before the work is done, and a
    file over one is refused with one line naming it (the `RAG_MAX_*` setting of the same name).

    `ocr`: recognise the text of scanned pages (seconds a page); off for a quick look at whether a
    file is readable at all, where a scan raises NeedsOcr instead. `max_pages`: pages of a PDF.
    `max_ocr_pages`: scanned pages recognised per document (the rest are reported, not read).
    `max_expansion`: how many times its size on disk a file may unpack to (a ZIP container's
    parts) or read as (characters of text), beyond `EXPANSION_FLOOR`. `max_read_seconds`: how long
    one file's reading may take (checked between pages). `max_ocr_seconds`: how long recognising
    one scanned page may take; past it the document's later scans are reported, not read.

    `progress`: show a bar over a long document's pages (tqdm; the chat shows it as its progress).
    `cancelled`: asked between pages; true, the reading stops with `Cancelled`."""

    ocr: bool = True
    max_pages: int = 2000
    max_ocr_pages: int = 100
    max_expansion: int = 100
    max_read_seconds: float = 600.0
    max_ocr_seconds: float = 60.0
    progress: bool = False
    cancelled: Callable[[], bool] | None = field(default=None, compare=False, repr=False)

    def stopwatch(self) -> Stopwatch:
        return Stopwatch(self)


class Stopwatch:
    """One file's reading against its time budget and the user's cancel, checked between pages."""

    def __init__(self, options: ReadOptions) -> None:
        self.options = options
        self.started = time.monotonic()

    def check(self, where: str) -> None:
        stop_if_cancelled(self.options)
        elapsed = time.monotonic() - self.started
        if elapsed > self.options.max_read_seconds:
            raise InputError(f"reading stopped at {where} after {elapsed:.0f} s; the limit is "
                             f"{self.options.max_read_seconds:g} s a file (RAG_MAX_READ_SECONDS)")


def stop_if_cancelled(options: ReadOptions) -> None:
    if options.cancelled is not None and options.cancelled():
        raise Cancelled("cancelled: nothing from this upload was indexed")


EXPANSION_FLOOR = 10_000_000  # characters or bytes any file may give, however small it is


def check_expansion(what: str, size: int, file_bytes: int, options: ReadOptions) -> None:
    """Refuse a file whose `what` ("unpacks to", "reads as") `size` is more than
    `options.max_expansion` times its `file_bytes` on disk (and more than `EXPANSION_FLOOR`)."""
    if size > max(EXPANSION_FLOOR, options.max_expansion * file_bytes):
        raise InputError(f"the file {what} {size / 1e6:.1f} MB from {file_bytes / 1e3:.0f} KB on disk, more than "
                         f"{options.max_expansion} times its size (RAG_MAX_EXPANSION)")


DEFAULT_OPTIONS = ReadOptions()


class NeedsOcr(InputError):
    """Every page is a scan and OCR was not asked for: readable, but only through OCR."""


class Reader(Protocol):
    suffixes: tuple[str, ...]  # lower case, with the dot

    def read(self, data: bytes, options: ReadOptions = DEFAULT_OPTIONS) -> Reading:
        """The file's text. Raises InputError, with a reason a user can act on, when it has none."""
        ...


def refuse_other_formats(data: bytes, suffix: str) -> None:
    """A file whose first bytes say it is another format is refused, naming that format."""
    for signature, what in _SIGNATURES:
        if data.startswith(signature):
            raise InputError(f"this is {what}, not a {suffix} text file")
