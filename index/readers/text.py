"""Plain text and Markdown: the decoded bytes as they are (citations quote the file itself), with
the blocks a reader sees in them.

Mail, RFCs, READMEs and exported notes are hard-wrapped: a paragraph is several lines, and read
line by line every wrap would end a sentence. So the lines are grouped into blocks, and inside a
paragraph, heading or list item a line break is only the wrapping. A block ends at a blank line,
a list marker, a heading (`#`, an underlined line, an ALL CAPS line), an indented or fenced code
block, a line that ends a sentence, or, in a wrapped file, a line that stops well short of the
wrap width (the next word would have fitted: a title, an address, a signature line). A file whose
lines are its paragraphs (no wrap width: lines of every length) keeps one block per line.
Headings also name the parts chunks stay within (`Heading`), as Word headings do.
"""

from __future__ import annotations

import re

from index.decode import decode
from index.readers.base import (
    DEFAULT_OPTIONS,
    Block,
    Heading,
    Reading,
    ReadOptions,
    refuse_other_formats,
)

_FENCE = re.compile(r"^\s{0,3}(```|~~~)")
_ATX = re.compile(r"^\s{0,3}(#{1,6})\s+(\S.*?)\s*#*\s*$")
_UNDERLINE = re.compile(r"^\s{0,3}(=+|-+)\s*$")
_ITEM = re.compile(r"^\s*([-*+•·▪‣◦–]|\(?\d{1,3}[.)]|\(?[a-zA-Z][.)])\s+\S")
_SENTENCE_END = re.compile(r"[.!?…][\"'”’)\]]*$")
_ABBREVIATION_END = re.compile(r"(?i)(?:\b(?:e\.g|i\.e|etc|vs|mr|mrs|ms|dr|prof|st|no|cf|al|approx|fig|u\.s|[ap]\.m)\.|"
                               r"(?<![\w.])[A-Z]\.)$")
_MAX_WRAP = 110  # a file whose typical long line is longer than this is not hard-wrapped


class TextReader:
    suffixes = (".txt", ".md", ".markdown")

    def read(self, data: bytes, options: ReadOptions = DEFAULT_OPTIONS) -> Reading:
        refuse_other_formats(data, "plain")
        text, encoding = decode(data)
        blocks, headings = text_blocks(text)
        return Reading(text, encoding, headings=headings, blocks=blocks, title=marked_title(text, headings))


class _Line:
    __slots__ = ("start", "end", "text", "indent", "code")

    def __init__(self, start: int, end: int, text: str) -> None:
        self.start, self.end, self.text = start, end, text
        self.indent = len(text) - len(text.lstrip(" \t")) + text[:len(text) - len(text.lstrip())].count("\t") * 3
        self.code = False

    @property
    def blank(self) -> bool:
        return not self.text.strip()

    @property
    def stripped(self) -> str:
        return self.text.strip()


def text_blocks(text: str) -> tuple[tuple[Block, ...], tuple[Heading, ...]]:
    """The blocks of a plain-text or Markdown file and its headings (see the module docstring)."""
    lines = _lines(text)
    _mark_code(lines)
    width = _wrap_width(lines)
    blocks: list[Block] = []
    headings: list[Heading] = []
    above: list[tuple[int, str]] = []
    n = 0
    while n < len(lines):
        line = lines[n]
        if line.blank:
            n += 1
            continue
        if line.code:
            last = n
            while last + 1 < len(lines) and lines[last + 1].code:
                last += 1
            while lines[last].blank:
                last -= 1
            blocks.append(Block(line.start, lines[last].end, "code"))
            n = last + 1
            continue
        level, title = _heading(lines, n)
        if level:
            underlined = not _ATX.match(line.text) and n + 1 < len(lines) and _UNDERLINE.match(lines[n + 1].text)
            blocks.append(Block(line.start, lines[n + 1].end if underlined else line.end, "heading"))
            above = [*(h for h in above if h[0] < level), (level, title)]
            headings.append(Heading(line.start, " › ".join(t for _, t in above)))
            n += 2 if underlined else 1
            continue
        last = n
        while last + 1 < len(lines) and _continues(lines[last], lines[last + 1], lines, last + 1, width, line):
            last += 1
        blocks.append(Block(line.start, lines[last].end, "item" if _ITEM.match(line.text) else "paragraph"))
        n = last + 1
    return tuple(blocks), tuple(headings)


def marked_title(text: str, headings: tuple[Heading, ...]) -> str | None:
    """The first heading marked as one (`# Title`, or a line underlined with = or -): an ALL CAPS
    line is taken for a heading inside a text, but is too often a notice or label to name it."""
    from index.readers.titles import usable

    for heading in headings:
        line, _, rest = text[heading.start:].partition("\n")
        match = _ATX.match(line)
        if match:
            return usable(match.group(2))
        if _UNDERLINE.match(rest.split("\n", 1)[0]):
            return usable(line)
    return None


def _lines(text: str) -> list[_Line]:
    out, at = [], 0
    for piece in text.splitlines(keepends=True):
        body = piece.rstrip("\r\n")
        out.append(_Line(at, at + len(body), body))
        at += len(piece)
    return out


def _mark_code(lines: list[_Line]) -> None:
    """Fenced blocks, and runs of lines indented four or more past the text's own margin that
    follow a blank line or a line ending in a colon (an RFC indents all its prose by three); a
    first line indented over lines at the margin is a paragraph's, not code."""
    fence = None
    for line in lines:
        match = _FENCE.match(line.text)
        if fence is not None:
            line.code = True
            if match and match.group(1) == fence:
                fence = None
        elif match:
            fence, line.code = match.group(1), True
    margin = _margin(lines)

    def indented(n: int) -> bool:  # a code line, unless it is a paragraph's indented first line
        line, after = lines[n], lines[n + 1] if n + 1 < len(lines) else None
        return line.indent >= margin + 4 and not line.blank and not _ITEM.match(line.text) \
            and (after is None or after.blank or after.indent >= margin + 4)

    for n, line in enumerate(lines):
        if line.code or not indented(n):
            continue
        before = lines[n - 1] if n else None
        if before is None or before.blank or before.code or before.stripped.endswith(":"):
            following = n
            while following < len(lines) and not lines[following].code \
                    and (lines[following].blank or indented(following)):
                lines[following].code = True
                following += 1


def _margin(lines: list[_Line]) -> int:
    """The indentation most lines of text have."""
    counts: dict[int, int] = {}
    for line in lines:
        if not line.blank and not line.code:
            counts[line.indent] = counts.get(line.indent, 0) + 1
    return max(counts, key=lambda k: (counts[k], -k)) if counts else 0


def _wrap_width(lines: list[_Line]) -> int | None:
    """The width the file is wrapped at, or None when its lines are its paragraphs: the length
    most long lines come close to, when that is short and many lines reach it."""
    lengths = sorted(len(line.text.rstrip()) for line in lines if not line.blank and not line.code)
    if len(lengths) < 3:
        return None
    width = lengths[min(len(lengths) - 1, int(len(lengths) * 0.95))]
    if width > _MAX_WRAP or width < 30:
        return None
    # Lines followed by another line of text: in a wrapped file most of them reach near the width.
    going_on = [len(line.text.rstrip()) for line, following in zip(lines, lines[1:])
                if not line.blank and not line.code and not following.blank and not following.code]
    if len(going_on) < 2 or sum(length >= 0.7 * width for length in going_on) < 0.5 * len(going_on):
        return None
    return width


def _heading(lines: list[_Line], n: int) -> tuple[int, str]:
    """(level, title) when line `n` is a heading, else (0, "")."""
    line = lines[n]
    match = _ATX.match(line.text)
    if match:
        return len(match.group(1)), match.group(2)
    following = lines[n + 1] if n + 1 < len(lines) else None
    title = line.stripped
    if following is not None and not following.code and _UNDERLINE.match(following.text) \
            and len(following.stripped) >= 3 and not _ITEM.match(line.text) and len(title) <= 80:
        return (1 if following.stripped[0] == "=" else 2), title
    letters = [ch for ch in title if ch.isalpha()]
    if 3 <= len(letters) and len(title) <= 60 and all(not ch.islower() for ch in letters) \
            and not _SENTENCE_END.search(title) and not _ITEM.match(line.text):
        return 1, title
    return 0, ""


def _continues(line: _Line, following: _Line, lines: list[_Line], n: int, width: int | None, first: _Line) -> bool:
    """Whether `following` (line `n`) goes on with the block that `line` is in (`first` opened it)."""
    if following.blank or following.code or _heading(lines, n)[0]:
        return False
    if _ITEM.match(following.text) and not (following.stripped[0] in "–—" and not _ITEM.match(first.text)):
        return False  # a new list item; a dash may be a wrapped sentence's own ("... negotiators\n– Steve ...")
    if following.stripped and following.stripped[0] == ">" and not line.stripped.startswith(">"):
        return False
    end = line.stripped
    sentence_end = _SENTENCE_END.search(end) and not _ABBREVIATION_END.search(end)
    if following.stripped[:1].islower() and (width is not None or not sentence_end):
        return True  # a sentence never starts in lower case: the line runs on
    if width is None or sentence_end:
        return False  # lines are paragraphs, or this one ends a sentence
    if not _ITEM.match(first.text) and following.indent > line.indent + 1:
        return False  # a first-line indent starts the next paragraph
    next_word = following.stripped.split()[0]
    return len(line.text.rstrip()) + 1 + len(next_word) > width - 2
