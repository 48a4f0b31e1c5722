"""Rows of a table as text a quote can stand in, grouped in blocks a citation can name.

Each row is one line, "Column: value; Column: value.", its columns named by the table's header row
where it has one (`has_header`), else by their place ("column C"), its empty cells left out: a row
read alone says what each of its values is. The full stop makes the row a statement: index.roles
takes a short line without one for a heading, which is never quoted as an answer.

`Tables` groups the rows of a sheet in blocks of at most `BLOCK_ROWS` rows and about `BLOCK_CHARS`
characters, each a `Page` labelled with where its rows are ("Sheet1, rows 2–41"; "rows 2–41" for a
table without a name) so that a citation names them, and each led by the header's names
("Columns of Sheet1: Name; Year"), marked as a heading, so that a chunk reads on its own; a title
row above the header (one cell over a wider table) leads each block too. Blank rows are skipped;
row numbers are the file's own. Rows arrive one at a time and only the text is kept,
counted against the reading budget as it grows (a long header repeated on every row multiplies).
"""

from __future__ import annotations

import datetime
import decimal
import itertools
import re
from collections.abc import Callable, Iterable, Iterator

from index.readers.base import Block, Page, Reading, ReadOptions, check_expansion

BLOCK_ROWS, BLOCK_CHARS = 40, 2000
HEADER_SAMPLE = 20  # rows below the first that decide whether it is a header
_MAX_TITLES = 3  # one-cell rows above a table read as its title, not as rows
_BETWEEN_PAGES = "\n\n"
_LABEL_NAME = 40  # characters of a header cell that still reads as a column's name
_NUMBER = re.compile(r"[-+(]?[$€£¥]?\s?\d[\d,.' ]*%?\)?")
_DATE = re.compile(r"\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}(?:[ T]\d.*)?")

Cells = list[tuple[int, object]]  # a row's non-empty cells: (0-based column, value)


def cell_text(value: object) -> str:
    """A cell's value as it reads: whole floats without ".0", dates as ISO dates, one line."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, datetime.datetime):
        return value.date().isoformat() if value.time() == datetime.time() else value.isoformat(sep=" ")
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    return " ".join(str(value).split())


def row_line(cells: Cells, name_of: Callable[[int], str]) -> str:
    """"Name: Ada Fenwick; Year: 1912." ("" for a row without a value)."""
    line = "; ".join(f"{name_of(column)}: {text}" for column, value in cells if (text := cell_text(value)))
    return line + "." if line and line[-1] not in ".!?…" else line


def has_header(first: Cells, below: list[Cells]) -> bool:
    """Whether the row `first` names the columns of the rows `below` it (a sample of them).

    A header is text only, at least one cell, no name twice, and rows follow it. Then each column
    votes, as csv.Sniffer.has_header does: where the values below are all numbers or dates, a
    text name is a header's; where they are all text of one length, a name of another length is.
    A tie (all-text columns of varied lengths) goes to a row of short labels."""
    texts = [cell_text(value) for _, value in first]
    if not below or not any(texts) or any(_kind(value) != "text" for _, value in first):
        return False
    if len(set(texts)) < len(texts):
        return False
    votes = 0
    below_by_column = [dict(row) for row in below]
    for column, value in first:
        values = [row[column] for row in below_by_column if column in row]
        kinds, lengths = {_kind(v) for v in values}, {len(cell_text(v)) for v in values}
        if kinds and "text" not in kinds:
            votes += 1
        elif kinds == {"text"} and len(lengths) == 1:
            votes += 1 if len(cell_text(value)) not in lengths else -1
    if votes:
        return votes > 0
    return all(len(text) <= _LABEL_NAME and text[-1] not in ".!?…" for text in texts)


def _is_title(first: Cells, below: list[tuple[int, Cells]]) -> bool:
    """A row above a table that names it ("Harbour ledger, 1912"): one text cell over rows
    that mostly have more."""
    wide = sum(1 for _, cells in below if len(cells) > 1)
    return len(first) == 1 and _kind(first[0][1]) == "text" and wide * 2 > len(below)


def _blank(cells: Cells) -> bool:
    return all(value is None or (isinstance(value, str) and not value.strip()) for _, value in cells)


def _kind(value: object) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float, decimal.Decimal)):
        return "number"
    if isinstance(value, (datetime.date, datetime.time, datetime.timedelta)):
        return "date"
    text = cell_text(value)
    if _NUMBER.fullmatch(text):
        return "number"
    return "date" if _DATE.fullmatch(text) else "text"


def column_letter(column: int) -> str:
    """"column C" for the 0-based column 2, as a spreadsheet names it."""
    letters = ""
    column += 1
    while column:
        column, rest = divmod(column - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return f"column {letters}"


def column_number(column: int) -> str:
    return f"column {column + 1}"


class PagedText:
    """A reading's text, pages and blocks, built a page of (block kind, line) pairs at a time: a
    line a block, a blank line between pages."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.pages: list[Page] = []
        self.blocks: list[Block] = []
        self.at = 0

    def page(self, number: int, label: str, lines: list[tuple[str, str]]) -> None:
        if not lines:
            return
        if self.parts:
            self.parts.append(_BETWEEN_PAGES)
            self.at += len(_BETWEEN_PAGES)
        start = self.at
        for kind, line in lines:
            if self.at > start:
                self.parts.append("\n")
                self.at += 1
            self.parts.append(line)
            self.blocks.append(Block(self.at, self.at + len(line), kind))
            self.at += len(line)
        self.pages.append(Page(number, label, start, self.at))

    def reading(self, encoding: str) -> Reading:
        return Reading("".join(self.parts), encoding, pages=tuple(self.pages), blocks=tuple(self.blocks))


class Tables:
    """The text, pages and blocks of tables added one after another, read row by row (`add`)."""

    def __init__(self, options: ReadOptions, file_bytes: int) -> None:
        self.options, self.file_bytes = options, file_bytes
        self.watch = options.stopwatch()
        self.text = PagedText()

    def add(self, name: str | None, rows: Iterable[tuple[int, Cells]], unnamed: Callable[[int], str]) -> None:
        """The rows of the table `name` (a sheet's name; None for the only table of a file), each
        (row number, non-empty cells). Columns without a header name are called `unnamed(column)`."""
        rows = (row for row in rows if not _blank(row[1]))
        sample = list(itertools.islice(rows, HEADER_SAMPLE + _MAX_TITLES + 1))
        headings = []  # the lines that lead every block: title rows, then the header's names
        while len(headings) < _MAX_TITLES and len(sample) > 2 and _is_title(sample[0][1], sample[1:]):
            headings.append(cell_text(sample.pop(0)[1][0][1]))
        names: dict[int, str] = {}
        if sample and has_header(sample[0][1], [cells for _, cells in sample[1:]]):
            names = {column: text for column, value in sample.pop(0)[1] if (text := cell_text(value))}
            headings.append(f"Columns{f' of {name}' if name else ''}: " + "; ".join(names[c] for c in sorted(names)))
        block: list[tuple[int, str]] = []
        size = 0
        for number, line in self._lines(itertools.chain(sample, rows), lambda c: names.get(c) or unnamed(c)):
            if block and (len(block) >= BLOCK_ROWS or size + len(line) > BLOCK_CHARS):
                self._close(name, headings, block)
                block, size = [], 0
            block.append((number, line))
            size += len(line) + 1
        if block:
            self._close(name, headings, block)

    def _lines(self, rows: Iterator[tuple[int, Cells]], name_of: Callable[[int], str]) -> Iterator[tuple[int, str]]:
        produced = self.text.at
        for number, cells in rows:
            line = row_line(cells, name_of)
            produced += len(line) + 1
            if produced > self.options.max_expansion * self.file_bytes:  # checked as it grows, not at the end
                check_expansion("reads as", produced, self.file_bytes, self.options)
            yield number, line

    def _close(self, name: str | None, headings: list[str], block: list[tuple[int, str]]) -> None:
        first, last = block[0][0], block[-1][0]
        rows = f"row {first}" if first == last else f"rows {first}–{last}"
        label = f"{name}, {rows}" if name else rows
        self.watch.check(label)
        lines = [("heading", line) for line in headings] + [("row", line) for _, line in block]
        self.text.page(len(self.text.pages) + 1, label, lines)

    def reading(self, encoding: str) -> Reading:
        return self.text.reading(encoding)
