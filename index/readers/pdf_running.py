"""Lines a PDF repeats page after page, which are no part of its text: running heads and
footers (one shape of line, its numbers the page's), watermarks and stamps. They are dropped from
the pages' text and kept in each page's record (index.readers.pdf); a page that would lose all
its text is a copy of the others and is read as it is."""

from __future__ import annotations

import itertools
import re

# "exam-\nple" (a word split at a line end) but not "Franco-\nGerman" or "1990-\n1995".
HYPHENATED = re.compile(r"(?<=[^\W\d_])[-\u00ad\x02]\n(?=[^\W\d_A-Z])")
GONE = "\x00"  # where a running line or watermark was: not a blank line, which ends a paragraph


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
            if not lines[n] or lines[n] == GONE:
                continue
            picked.add(n)
            plain += _shape(lines[n]) not in running
            if plain == 2:
                break
    return sorted(picked)


def running_lines(layers: list[list[str]]) -> set[str]:
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


def watermarks(layers: list[list[str]]) -> dict[str, str]:
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


def cleaned(lines: list[str], running: set[str], stamps: dict[str, str],
             copy_kept: bool) -> tuple[list[str], list[str]]:
    """`_without`, unless it would leave a page with text none (`copy_kept`): then the page as it is."""
    kept, dropped = _without(lines, running, stamps)
    if copy_kept and any(lines) and not any(line.strip(GONE) for line in kept):
        return list(lines), []
    return kept, dropped


def _without(lines: list[str], running: set[str], stamps: dict[str, str]) -> tuple[list[str], list[str]]:
    """The page's lines less its running ones (looked for only at its edges: the same words in
    the body stay) and watermarks (anywhere), and the lines dropped. A dropped line leaves
    `GONE`, so the remaining lines keep their numbers. A watermark that pdfium glued into a line
    of text ("... was not a signif-Page Proof Pending Publication", "nonwill- Page Proof Pending
    Publication ful") is cut out of it: only its exact text, case and all, never the same words
    in a sentence ("delivered the opinion of the Court")."""
    kept, dropped = list(lines), []
    for n, line in enumerate(lines):
        if line and _shape(line) in stamps:
            kept[n] = GONE
            dropped.append(line)
            continue
        for shape, stamp in stamps.items():
            at = line.find(stamp)
            if "#" in shape or at < 0:
                continue
            before, after = line[:at].rstrip(), line[at + len(stamp):].lstrip()
            joined = before[:-1] + after if HYPHENATED.search(before[-2:] + "\n" + after[:1]) else f"{before} {after}"
            kept[n] = line = joined.strip()
            dropped.append(stamp)
    for n in _edges(kept, running | set(stamps)):
        if _shape(kept[n]) in running:
            dropped.append(kept[n])
            kept[n] = GONE
    return kept, dropped
