"""Value types the facade hands out. Names are stable: the UI, eval and users' scripts use them."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import TypeVar

from index.clean import FORMAT_CHARACTERS  # noqa: F401 - what makes text display otherwise than it reads
from index.readers.base import page_name
from index.roles import UNRANKED

_Spanned = TypeVar("_Spanned")


@dataclass(frozen=True)
class PageRef:
    """A page a passage or quote lies on: `number` is 1-based, `label` the page number printed on
    it where the file has one; `start`/`end` are the page's characters in the document's text;
    `ocr` says its text was recognised from a scan (so a quote may differ from the paper)."""

    number: int
    label: str
    start: int
    end: int
    ocr: bool = False


def pages_over(pages: Sequence[_Spanned], start: int, end: int) -> tuple[_Spanned, ...]:
    """The pages that characters `start`–`end` of their document touch, in order (PageRef, or the
    index's own index.readers.base.Page: anything with a `start` and an `end`)."""
    return tuple(p for p in pages if p.start < end and start < p.end)


def pages_label(pages: tuple[PageRef, ...]) -> str:
    """"p. 6", "pp. 6–7", with "(OCR)" when any of them was read by OCR; "" without pages. A label
    that names its own place is shown as it is ("slide 3: Results", "Sheet1, rows 2–41";
    index.readers.base.page_name)."""
    if not pages:
        return ""
    first, last = pages[0].label, pages[-1].label
    if page_name(first) == first:
        labels = first if len(pages) == 1 else f"{first} – {last}"
    else:
        labels = ("p. " + first) if len(pages) == 1 else f"pp. {first}–{last}"
    return labels + (" (OCR)" if any(p.ocr for p in pages) else "")


def section_beside_pages(section: str, pages: tuple[PageRef, ...]) -> str:
    """A section's name to show beside its pages: a paged document's section is its page ("page
    6", "footnotes, page 6", "slide 3: Results"), which `pages_label` already names; "body" when
    nothing else is left."""
    if not pages:
        return section
    names = "|".join(re.escape(page_name(p.label)) for p in pages)
    return re.sub(rf"(^|, )(?:{names}|page \S+)$", "", section) or "body"


def titled(title: str | None, source: str) -> str:
    """A document as a person names it, with the file it is: "Annual Report — reports/2024.pdf",
    or the file alone."""
    return f"{title} — {source}" if title else source


@dataclass(frozen=True)
class ScoredSentence:
    """A sentence of a retrieved chunk, scored against the question.

    `start_char`/`end_char` index the original file, so `quote` is exactly what the file holds
    there; `coverage` is the share of the question's (idf-weighted) terms the sentence contains;
    `bonus` is the part of `score` that ranks sentences but is no evidence that the documents
    answer the question: holding the kind of answer asked for (a name for "who", a reason for
    "why", a description for "what is X"; rag.rescore). `role` is what the
    sentence is on the page (index.roles): only "body" sentences are quoted as answers.
    """

    quote: str
    start_char: int
    end_char: int
    score: float
    similarity: float
    coverage: float
    bonus: float = 0.0
    role: str = "body"


@dataclass(frozen=True)
class Hit:
    """One retrieved chunk. `start_char`/`end_char` index the original document text."""

    chunk_id: str
    source: str
    text: str
    start_char: int
    end_char: int
    score: float
    section: str = "body"
    rank: int = 0
    dense_score: float | None = None
    lexical_score: float | None = None
    sentences: tuple[ScoredSentence, ...] = ()  # best first; empty when not rescored
    pages: tuple[PageRef, ...] = ()  # the pages the passage lies on (paged formats)
    title: str | None = None  # the document's title; None: it has none, name it by `source`
    url: str | None = None  # a web page's address, with a text fragment to the passage (rag.links)

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def best_sentence(self) -> ScoredSentence | None:
        """The best sentence the passage was ranked for (not the text's own question, which ranks
        nothing by itself); else the best of any."""
        return next((s for s in self.sentences if s.role not in UNRANKED), self.sentences[0] if self.sentences else None)


@dataclass(frozen=True)
class Citation:
    """What a marker [n] in an answer points at: an exact quote inside a retrieved passage.

    `quote` is `file_text[start_char:end_char]`; `passage` is the original text of the chunk the
    quote came from, starting at `passage_start`, so a UI can highlight the quote inside it.
    """

    marker: int
    source: str
    quote: str
    start_char: int
    end_char: int
    passage: str
    passage_start: int
    passage_end: int
    chunk_id: str
    section: str = "body"
    score: float = 0.0
    pages: tuple[PageRef, ...] = ()  # the pages the quote lies on (paged formats)
    title: str | None = None  # the document's title; None: it has none, name it by `source`
    url: str | None = None  # a web page's address, with a text fragment to the quote (rag.links)


@dataclass(frozen=True)
class AnswerSentence:
    """One sentence of an answer, with the markers it carries and whether they hold up."""

    text: str
    markers: tuple[int, ...] = ()
    supported: bool = True
    problem: str | None = None  # why it is flagged: no citation, unsupported, unknown passage


@dataclass(frozen=True)
class Answer:
    question: str  # as asked
    text: str  # the answer with markers [1] [2]
    abstained: bool
    citations: tuple[Citation, ...] = ()
    sentences: tuple[AnswerSentence, ...] = ()
    passages: tuple[Hit, ...] = ()  # what the answer was drawn from (the closest ones when abstaining)
    generator: str = "extractive"
    resolved_question: str = ""  # the question retrieval ran with, after resolving a follow-up
    missing_terms: tuple[str, ...] = ()  # question words no passage mentions (why it abstained)
    warnings: tuple[str, ...] = ()  # e.g. the LLM was unreachable and the extractive answer stands in
    timings: dict[str, float] = field(default_factory=dict)  # milliseconds per step

    @property
    def verified(self) -> bool:
        """True when every sentence is supported by the passages it cites."""
        return all(s.supported for s in self.sentences)

    def to_dict(self) -> dict:
        data = asdict(self)
        data["verified"] = self.verified
        return data


@dataclass(frozen=True)
class IndexStatus:
    documents: int
    chunks: int
    model: str
    dimension: int | None
    store: str  # a folder or a server URL
    data_dir: str
    size_bytes: int
    sources: list[str] = field(default_factory=list)
    titles: dict[str, str] = field(default_factory=dict)  # source -> title, for those that have one

    def to_dict(self) -> dict:
        return asdict(self)
