"""Clean a document's text for retrieval while keeping a map back to the original.

Unicode NFC, invisible characters (zero-width, bidi controls) out, web boilerplate out, reader
comments marked as sections, whitespace collapsed. Each character of the cleaned text remembers
the span of original text it came from, so a chunk of clean text can still cite the exact
characters the file contains.
"""

from __future__ import annotations

import bisect
import dataclasses
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from index.readers.base import PROSE_KINDS, Block
from index.sentences import split_sentences

# Zero-width, joiner and direction characters and the BOM (a regex class): they change how text
# displays or splits without being seen. Dropped from what is indexed (with the soft hyphen);
# shown as escapes where text is displayed.
FORMAT_CHARACTERS = "\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff"
_INVISIBLE = re.compile(f"[\u00ad{FORMAT_CHARACTERS}]")
_SPACE_LIKE = re.compile("[\t\u00a0\u2000-\u200a\u202f\u205f\u3000]")

_BOILERPLATE = [re.compile(p, re.I) for p in (
    r"^leave a (reply|comment)\b.*$",
    r"^(cancel reply|post comment|submit comment)$",
    r"^your email address will not be published\b.*$",
    r"^required fields are marked\b.*$",
    r"^this site uses akismet\b.*$",
    r"^powered by (wordpress|blogger|ghost|squarespace)\b.*$",
    r"^(proudly )?powered by\b.{0,60}$",
    r"^(share this|like this|share|related|tweet|email|print)\s*:?$",
    r"^click to (share|email|print)\b.*$",
    r"^like loading\.*$",
    r"^notify me of (follow-up comments|new posts)\b.*$",
    r"^save my name, email\b.*$",
    r"^you get what you pay for\. this blog is free to read\b.*$",
    r"^(posted|filed) (in|under)\b.{0,80}$",
    r"^copyright\s+(©|\(c\))?.{0,80}all rights reserved\.?$",
    r"^(subscribe|sign up) (to|for) (our|the) newsletter\b.*$",
)]
# "Previous"/"Next" navigation: the label and the post title on the following line.
_NAV = re.compile(r"^(previous|next)( post| article)?:?$", re.I)
_COMMENTS_HEADING = re.compile(
    r"^(\d+|one|no) (comments?|responses?|replies|thoughts on\b.*)$|^(comments|reader comments|discussion)$", re.I
)
_COMMENT_AUTHOR = re.compile(r"^(\d{1,4})\.\s+(\S.{0,60})$")


@dataclass(frozen=True)
class Section:
    start: int  # in clean-text coordinates
    end: int
    name: str  # "body", or e.g. "reader comment 3 by KT Chong"


@dataclass(frozen=True)
class CleanText:
    text: str
    starts: list[int]  # starts[i]: original index where clean char i begins
    ends: list[int]  # ends[i]: original index just after clean char i
    sections: list[Section]
    headings: tuple[tuple[int, int], ...] = ()  # clean spans of the reader's heading blocks

    def in_heading(self, start: int, end: int) -> bool:
        """Whether clean characters `start`–`end` lie in one of the document's headings."""
        at = bisect.bisect_right(self.headings, (start, len(self.text) + 1)) - 1
        return at >= 0 and self.headings[at][0] <= start and end <= self.headings[at][1]

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """Map a clean-text span [start, end) to the original text."""
        return self.starts[start], self.ends[end - 1]


class _Builder:
    def __init__(self) -> None:
        self.chars: list[str] = []
        self.starts: list[int] = []
        self.ends: list[int] = []

    def add(self, text: str, starts: list[int], ends: list[int]) -> None:
        self.chars.append(text)
        self.starts.extend(starts)
        self.ends.extend(ends)

    def text(self) -> str:
        return "".join(self.chars)


def clean(original: str, parts: Sequence[tuple[int, str]] = (), blocks: Sequence[Block] = ()) -> CleanText:
    """`parts` (start in `original`'s coordinates, name), each running to the next, cut the
    sections further: a reader's pages ("page 6") or heading paths ("Report › Keepers"), so no chunk
    spans two of them and each is named for its own (index.readers.base.parts_of). `blocks` (the
    reader's, in `original`'s coordinates) say which line breaks are only wrapping: inside a
    paragraph, heading or list item a line break becomes a space, so the cleaned text holds one
    block a line and a sentence runs on across the file's wrapping."""
    text, starts, ends = _normalize_chars(original)
    cleaned = _clean_lines(text, starts, ends, _soft_breaks(text, starts, blocks))
    heads = [(b.start, b.end) for b in blocks if b.kind == "heading"]
    if heads:
        cleaned = dataclasses.replace(cleaned, headings=tuple(
            (a, b) for a, b in ((bisect.bisect_left(cleaned.starts, x), bisect.bisect_left(cleaned.starts, y))
                                for x, y in heads) if a < b))
    return _by_parts(cleaned, parts) if parts else cleaned


def _soft_breaks(text: str, starts: list[int], blocks: Sequence[Block]) -> frozenset[int]:
    """Positions in `text` of the line breaks inside prose blocks."""
    prose = sorted((b.start, b.end) for b in blocks if b.kind in PROSE_KINDS)
    if not prose:
        return frozenset()
    firsts = [a for a, _ in prose]
    soft = set()
    for at in (m.start() for m in re.finditer("\n", text)):
        where = bisect.bisect_right(firsts, starts[at]) - 1
        if where >= 0 and starts[at] < prose[where][1]:
            soft.add(at)
    return frozenset(soft)


def _by_parts(cleaned: CleanText, parts: Sequence[tuple[int, str]]) -> CleanText:
    cuts = [(0, None), *((_past_sentence(cleaned.text, bisect.bisect_left(cleaned.starts, start)), name)
                         for start, name in parts)]
    sections = []
    for section in cleaned.sections:
        for n, (cut, part) in enumerate(cuts):
            start = max(section.start, cut)
            end = min(section.end, cuts[n + 1][0] if n + 1 < len(cuts) else section.end)
            if start < end:
                name = section.name if part is None else part if section.name == "body" else f"{section.name}, {part}"
                sections.append(Section(start, end, name))
    return dataclasses.replace(cleaned, sections=sections)


def _past_sentence(text: str, cut: int) -> int:
    """Where a part that starts at `cut` really starts: at `cut`, unless a sentence runs on over it
    (a page break inside a sentence, joined by a space rather than a line break); then after that
    sentence, so the sentence stays whole in the part before (and its citation names both pages)."""
    if not 0 < cut < len(text) or text[cut - 1] != " ":
        return cut
    window = max(0, cut - 3000)
    for a, b in split_sentences(text, window, min(len(text), cut + 3000)):
        if a < cut < b:
            while b < len(text) and text[b].isspace():
                b += 1
            return b
    return cut


def _normalize_chars(original: str) -> tuple[str, list[int], list[int]]:
    """NFC, invisibles dropped, odd spaces to ' ', CR/CRLF to '\\n' — one original span per char."""
    if (
        unicodedata.is_normalized("NFC", original)
        and not _INVISIBLE.search(original)
        and "\r" not in original
    ):
        text = _SPACE_LIKE.sub(" ", original)
        return text, list(range(len(text))), list(range(1, len(text) + 1))
    out = _Builder()
    i, n = 0, len(original)
    while i < n:
        j = i + 1
        while j < n and unicodedata.combining(original[j]):
            j += 1
        cluster = original[i:j]
        if cluster == "\r\n" or cluster == "\r":
            j = i + (2 if original.startswith("\r\n", i) else 1)
            out.add("\n", [i], [j])
        else:
            piece = _INVISIBLE.sub("", unicodedata.normalize("NFC", cluster))
            piece = _SPACE_LIKE.sub(" ", piece)
            out.add(piece, [i] * len(piece), [j] * len(piece))
        i = j
    return out.text(), out.starts, out.ends


def _logical_lines(text: str, soft: frozenset[int]):
    """(start, line) of each line of `text`, a line running on across the breaks in `soft`."""
    begin = 0
    for match in re.finditer("\n", text):
        if match.start() in soft:
            continue
        yield begin, text[begin:match.start()]
        begin = match.end()
    yield begin, text[begin:]


def _clean_lines(text: str, starts: list[int], ends: list[int], soft: frozenset[int] = frozenset()) -> CleanText:
    """Drop boilerplate lines, collapse whitespace, and cut the text into named sections."""
    out = _Builder()
    sections: list[Section] = []
    section_name, section_start = "body", 0
    in_comments = False
    skip_next_content_line = False
    pending_break = ""
    for line_start, line in _logical_lines(text, soft):
        stripped = " ".join(line.split())
        if not stripped:
            if out.chars:
                pending_break = "\n\n"
            continue
        if skip_next_content_line:
            skip_next_content_line = False
            continue
        if _NAV.match(stripped):
            skip_next_content_line = True
            continue
        if any(p.match(stripped) for p in _BOILERPLATE):
            continue
        new_section = None
        if _COMMENTS_HEADING.match(stripped):
            # The heading itself ("14 Comments") is chrome; what follows is reader comments.
            in_comments = True
            section_name = _switch(sections, section_name, section_start, len(out.starts), "reader comments")
            section_start = len(out.starts)
            continue
        if in_comments and (m := _COMMENT_AUTHOR.match(stripped)):
            new_section = f"reader comment {m.group(1)} by {m.group(2).strip()}"
        if out.chars:
            brk = pending_break or "\n"
            out.add(brk, [starts[line_start - 1]] * len(brk), [ends[line_start - 1]] * len(brk))
        pending_break = ""
        if new_section:
            section_name = _switch(sections, section_name, section_start, len(out.starts), new_section)
            section_start = len(out.starts)
        if stripped == line:  # nothing to collapse: the line maps one to one
            out.add(line, starts[line_start:line_start + len(line)], ends[line_start:line_start + len(line)])
        else:
            _add_collapsed(out, line, line_start, starts, ends)
    if len(out.starts) > section_start:
        sections.append(Section(section_start, len(out.starts), section_name))
    return CleanText(out.text(), out.starts, out.ends, sections)


def _switch(sections: list[Section], name: str, start: int, here: int, new_name: str) -> str:
    """Close the running section at `here` (if it holds anything) and return the new name."""
    if here > start:
        sections.append(Section(start, here, name))
    return new_name


def _add_collapsed(out: _Builder, line: str, offset: int, starts: list[int], ends: list[int]) -> None:
    """Append `line` trimmed, with runs of spaces reduced to one."""
    first = True
    for m in re.finditer(r"\S+", line):
        if not first:
            gap = offset + m.start() - 1
            out.add(" ", [starts[gap]], [ends[gap]])
        first = False
        a, b = offset + m.start(), offset + m.end()
        out.add(m.group(), starts[a:b], ends[a:b])
