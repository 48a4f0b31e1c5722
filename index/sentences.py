"""Split text into sentences with their character spans.

A regex splitter rather than a model: offline, fast, and good enough for news and web prose.
Line breaks always end a sentence (bullets, headings, comment authors); a full stop after a
common abbreviation or an initial ("Dr.", "N.", "U.S.") does not.
"""

from __future__ import annotations

import re

_END = re.compile(r"[.!?…]+[\"'”’)\]]*\s+|\n+")
_ABBREVIATIONS = {
    "mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "vs", "etc", "e.g", "i.e", "no", "gen",
    "col", "lt", "sgt", "capt", "gov", "sen", "rep", "rev", "jan", "feb", "mar", "apr", "jun",
    "jul", "aug", "sep", "sept", "oct", "nov", "dec", "u.s", "u.k", "u.n", "fig", "al", "approx",
}


def split_sentences(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Return (start, end) spans of the sentences in text[start:end], whitespace trimmed."""
    end = len(text) if end is None else end
    spans: list[tuple[int, int]] = []
    begin = start
    for m in _END.finditer(text, start, end):
        if "\n" not in m.group() and _is_abbreviation(text, begin, m.start()):
            continue
        if m.end() < end and "\n" not in m.group() and text[m.end()].islower():
            continue  # "... e.g. the talks" or a stray full stop: the sentence goes on
        _add(text, begin, m.end(), spans)
        begin = m.end()
    _add(text, begin, end, spans)
    return spans


def _is_abbreviation(text: str, begin: int, dot: int) -> bool:
    if text[dot] != ".":
        return False
    word = text[begin:dot].rsplit(None, 1)[-1] if text[begin:dot].strip() else ""
    word = word.lstrip("(\"“‘'").lower()
    return word in _ABBREVIATIONS or (len(word) == 1 and word.isalpha())


def _add(text: str, a: int, b: int, spans: list[tuple[int, int]]) -> None:
    while a < b and text[a].isspace():
        a += 1
    while b > a and text[b - 1].isspace():
        b -= 1
    if b > a:
        spans.append((a, b))
