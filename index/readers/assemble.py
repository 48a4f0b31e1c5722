"""One Reading from the readings of a document's parts (a mail's messages and attachments, an
EPUB's chapters): each part's text, headings, blocks and pages moved to where the part lands in
the whole, its headings put under the part's path, its notes prefixed with that path. Parts are
separated by a blank line, so no sentence runs from one into the next."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from index.readers.base import Block, Heading, Page, Reading

SEPARATOR = "\n\n"
PATH_JOINT = " › "  # between the names of a heading path ("From Ada … › report.pdf")


def under(path: str, inner: str) -> str:
    """`inner` (a heading path of a part) placed under `path`."""
    return f"{path}{PATH_JOINT}{inner}" if path and inner else path or inner


class Assembly:
    """The text of a document built part by part; `reading()` gives the whole."""

    def __init__(self, encoding: str) -> None:
        self.encoding = encoding
        self._pieces: list[str] = []
        self._at = 0
        self.headings: list[Heading] = []
        self.blocks: list[Block] = []
        self.pages: list[Page] = []
        self.notes: list[str] = []

    def heading(self, line: str, path: str) -> None:
        """A heading line of its own (a message's sender, date and subject; an attachment's name)
        starting the part named `path`."""
        start = self._place(line)
        self.blocks.append(Block(start, start + len(line), "heading"))
        self.headings.append(Heading(start, path))

    def add(self, reading: Reading, path: str = "", headings: Iterable[Heading] | None = None) -> None:
        """`reading`'s text as the next part: its headings under `path` ("… › report.pdf › Summary"),
        unless `headings` (in the reading's own coordinates, with their full paths) are given
        instead; its pages are the pages of the file at `path` (`Page.within`); its notes say
        `path` first."""
        if not reading.text.strip():
            return
        at = self._place(reading.text)
        own = headings if headings is not None else (Heading(h.start, under(path, h.path)) for h in reading.headings)
        self.headings.extend(Heading(at + h.start, h.path) for h in own)
        self.blocks.extend(Block(at + b.start, at + b.end, b.kind) for b in reading.blocks)
        self.pages.extend(_moved(page, at, path) for page in reading.pages)
        self.notes.extend(f"{path}: {note}" if path else note for note in reading.notes)

    def reading(self) -> Reading:
        return Reading("".join(self._pieces), self.encoding, pages=tuple(self.pages), headings=tuple(self.headings),
                       notes=tuple(self.notes), blocks=tuple(self.blocks))

    def _place(self, text: str) -> int:
        if self._pieces:
            self._pieces.append(SEPARATOR)
            self._at += len(SEPARATOR)
        start = self._at
        self._pieces.append(text)
        self._at += len(text)
        return start


def _moved(page: Page, at: int, path: str) -> Page:
    """`page` of a part that starts at `at` of the whole, as a page of the file at `path`."""
    return dataclasses.replace(
        page, start=page.start + at, end=page.end + at,
        boxes=tuple((a + at, b + at, *box) for a, b, *box in page.boxes),
        footnotes=None if page.footnotes is None else page.footnotes + at,
        body=None if page.body is None else page.body + at,
        within=under(path, page.within))
