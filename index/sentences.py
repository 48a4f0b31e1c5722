"""Split text into sentences with their character spans.

A rule-based splitter, chosen by measurement (bench/sentence_bench.py on the gold set in
eval/data/sentences_gold.jsonl: news, court opinions, a manual's prose and wrapped mail): more
accurate there than pysbd, syntok, blingfire and sentencex, and faster than all but sentencex.

A line break always ends a sentence: readers give one block (paragraph, list item, heading) a
line, with a file's own wrapping already joined (index.readers, index.clean). Inside a line a
sentence ends at ".", "!", "?" or "…" attached to a word, with any closing quotes or brackets,
before a space — except:
- after a common abbreviation, a title or an initial ("Dr.", "N.", "U. S.", "e.g.", "No.",
  "v.", "Pp.", "Ariz."), unless a word that usually opens a sentence follows an abbreviation that
  can also close one ("... in the U.S. The talks ...", "... and so on, etc. It ...");
- before a lower-case word, a digit after a short capitalised abbreviation ("251 Ariz. 402",
  "(App. 2011)") or a section sign;
- a dot standing alone (" . . . ", "ruff check . && ...") or an elision (" ... ") ends nothing;
- a list marker ("1.", "a)") is the start of its item, not a sentence of its own.
"""

from __future__ import annotations

import re

# A terminator attached to a word, its closing quotes and brackets (a closing quote may follow
# after a space: "... case law.' ”"), then the space before the next sentence.
_END = re.compile(r"(?<=[^\s.!?…])[.!?…]+(?:[\"'”’»)\]]|\s[”’](?=\s|$))*\s+|\n+")
# Abbreviations that do not end a sentence, whatever follows (titles, "e.g.", court reporters).
_NEVER_END = frozenset("""
    mr mrs ms dr prof sr st gen col lt sgt capt gov sen rep rev hon messrs mme mlle fig figs e.g i.e
    viz cf nos vs v pp p para paras art arts ch sec secs cl subch supp stat ann app ariz cal crim
    proc civ rel tr arg cir ct dist jud admin amend const ed eds vol vols op ops approx ca seq
""".split())
# Abbreviations that may also close a sentence: they end one when a sentence opener follows.
_MAY_END = frozenset("""
    etc inc ltd co corp bros jr al no u.s u.k u.n a.m p.m ave assn dept jan feb mar apr jun jul aug sep
    sept oct nov dec
""".split())
_OPENERS = frozenset("""
    the a an in on at it its he she they we i you this that these those there here but and or so
    yet if when while as after before since although though however meanwhile then still also
    his her their our my your one some many most all no not what who why how where which
""".split())
_MARKER = re.compile(r"^(\(?\d{1,3}[.)]|\(?[a-zA-Z][.)]|[ivxlcIVXLC]{1,5}[.)])$")


def split_sentences(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Return (start, end) spans of the sentences in text[start:end], whitespace trimmed."""
    end = len(text) if end is None else end
    spans: list[tuple[int, int]] = []
    begin = start
    for m in _END.finditer(text, start, end):
        if "\n" not in m.group() and not _ends_here(text, begin, m.start(), m.end(), end):
            continue
        _add(text, begin, m.end(), spans)
        begin = m.end()
    _add(text, begin, end, spans)
    return spans


def _ends_here(text: str, begin: int, stop: int, after: int, end: int) -> bool:
    """Whether the terminator at `stop` (the next sentence would start at `after`) ends one."""
    before = text[begin:stop]
    words = before.split()
    if not words:
        return False
    word = words[-1].lstrip("(\"“‘'[").lower()
    following = text[after:end]
    next_word = following.split(None, 1)[0] if following.strip() else ""
    opener = next_word.strip("\"“‘'(").lower()
    if len(words) == 1 and _MARKER.match(words[0] + text[stop]):
        return False  # "1." opening a list item
    if not next_word:
        return True
    first = next_word[0]
    if first.islower() or first in ",;:":
        return False  # "e.g. the talks", a stray full stop inside a sentence
    if text[stop] != ".":
        return True
    if word.endswith("...") or text[stop:stop + 3] == "...":
        return True
    if first.isdigit() and (word in _NEVER_END or word in _MAY_END):
        return False  # "No. 21–908", "Pp. 4–9", "Dec. 5"
    if word in _MAY_END:
        return opener in _OPENERS
    if len(word) == 1 and word.isalpha() and words[-1][-1:].islower():
        return opener in _OPENERS  # a unit ("2.1 s. The cause ...")
    if word in _NEVER_END or (len(word) == 1 and word.isalpha()):
        return False
    if "." in word and all(part.isalpha() and len(part) <= 3 for part in word.split(".")):
        return opener in _OPENERS  # "U.S.", "C.F.R.", "N.D.N.Y."
    if first.isdigit() and word[:1].isalpha() and len(word) <= 5 and words[-1][:1].isupper():
        return False  # "251 Ariz. 402", "(App. 2011)"
    return True


def _add(text: str, a: int, b: int, spans: list[tuple[int, int]]) -> None:
    while a < b and text[a].isspace():
        a += 1
    while b > a and text[b - 1].isspace():
        b -= 1
    if b > a:
        spans.append((a, b))
