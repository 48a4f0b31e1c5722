"""The default answerer: quote the sentences that answer the question, each with its citation.

No model writes anything, so every word of the answer is a verbatim quote from a file and is
supported by construction; what is left to get right is choosing the sentences:

- only statements are quoted: a question the text asks itself, a heading, a byline, a caption or
  a disclaimer (their role, found at index time) never is, however well it matches;
- the answer leads with its best sentence (the sentence scores of rag.rescore: similarity,
  the question's terms it holds, the kind of answer it holds; a lower-ranked passage starts
  behind by `answer_rank_penalty` per place);
- a further sentence joins only when it scores within `margin` of the lead and adds evidence the
  chosen ones lack: a term of the question they do not hold, an answer of the asked kind they do
  not give, a second document, or the lead's own next sentence (which often carries the answer
  the lead only introduces); up to `max_sentences`;
- after the lead, the others follow in document order, so they read in order.

Whether to answer at all is rag.abstain's call, made on the passages and on the chosen quotes.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from index.lexical import terms
from index.roles import QUOTABLE
from rag.answer.base import Corpus, Request, timings
from rag.cite import DocText, citation
from rag.config import RagConfig
from rag.injection import looks_like_instruction
from rag.query import Query, analyse
from rag.types import Answer, AnswerSentence, Citation, Hit, ScoredSentence

MIN_WORDS = 4  # shorter "sentences" are fragments, not answers


class Quotable(NamedTuple):
    """A sentence that could stand in an answer, and the passage it is quoted from."""

    sentence: ScoredSentence
    hit: Hit


@dataclass(frozen=True)
class Extract:
    text: str
    sentences: tuple[AnswerSentence, ...]
    citations: tuple[Citation, ...]


class ExtractiveAnswerer:
    """Quotes, or an abstention that says what is missing."""

    def __init__(self, config: RagConfig, corpus: Corpus) -> None:
        self.config = config
        self.corpus = corpus

    def stream(self, request: Request) -> Iterator[str | Answer]:
        answer = self.answer(request)
        yield answer.text
        yield answer

    def answer(self, request: Request) -> Answer:
        from rag import abstain
        from rag.followup import resolve

        cfg = self.config
        resolved = resolve(request.question, request.conversation, self.corpus.similarity)
        hits = self.corpus.search(resolved, k=request.k, mode=request.mode, sources=request.sources)
        retrieved = time.perf_counter()
        query = analyse(resolved)
        support = abstain.check(resolved, hits, cfg.abstain_min_score, self.corpus.vocabulary(),
                                cfg.abstain_missing_name_score)
        extract = compose(hits, self.corpus.doc_text, query, cfg.answer_sentences, cfg.answer_margin,
                          cfg.answer_rank_penalty)
        reason = support.reason if not support.answerable else (
            abstain.answer_type_gap(query, [c.quote for c in extract.citations]) if extract.citations
            else "no sentence in the passages that match the question can stand as an answer")
        common = dict(question=request.question, resolved_question=resolved, generator="extractive",
                      warnings=tuple(request.warnings), timings=timings(request.started, retrieved))
        if reason:
            text = f"The documents don't answer this: {reason}. The closest passages are shown below."
            return Answer(text=text, abstained=True, passages=tuple(hits[:3]), missing_terms=support.missing_terms,
                          **common)
        return Answer(text=extract.text, abstained=False, citations=extract.citations, sentences=extract.sentences,
                      passages=tuple(hits), **common)


def candidates(hits: Sequence[Hit], doc_text: DocText | None = None) -> list[Quotable]:
    """Each distinct quotable sentence of the passages once (chunks overlap), from its best-ranked
    passage; with `doc_text`, never a piece of a sentence (`whole`)."""
    seen: set[tuple[str, int]] = set()
    pool: list[Quotable] = []
    for hit in hits:
        for sentence in hit.sentences:
            key = (hit.source, sentence.start_char)
            if key in seen or sentence.role not in QUOTABLE or len(sentence.quote.split()) < MIN_WORDS \
                    or looks_like_instruction(sentence.quote) \
                    or (doc_text is not None and not whole(doc_text(hit.source), sentence.start_char, sentence.end_char)):
                continue
            seen.add(key)
            pool.append(Quotable(sentence, hit))
    return pool


_CONCLUSION = re.compile(r"^\W*(therefore|thus|hence|so|accordingly|consequently|as a result|for this reason|"
                         r"that is why|this is why|which is why)\b", re.I)
# A lead that opens by pointing back at the sentence before ("This deadlock ...", "Such plans ...").
_POINTS_BACK = re.compile(r"^\W*(this|these|those|such)\s+(?!(is|was|are|were|has|had|will|would|can|could|may|might|must|"
                          r"should|who|which|that|year|week|month|morning|evening|afternoon|time|summer|winter|spring|"
                          r"autumn|fall|weekend|century|decade|quarter|session|term)\b)[\"“‘']?[a-z]", re.I)
_ENDS = ".!?…:;"
_CLOSERS = "\"'”’»)]"


def whole(text: str, start: int, end: int) -> bool:
    """Whether `text[start:end]` is a whole sentence, not a piece of one: it does not open with a
    lower-case word after text that ends no sentence, nor stop without a full stop where the text
    runs on in lower case. A sentence a document interrupts (with a code block, a table, a page's
    footnotes) is split by the reader; its halves are not quoted as answers."""
    quote = text[start:end]
    first = next((ch for ch in quote if ch.isalnum()), "")
    before = text[max(0, start - 200):start].rstrip()
    if first.islower() and before and before.rstrip(_CLOSERS)[-1:] not in _ENDS and before[-1:] not in "•*-–—":
        return False
    if quote.rstrip().rstrip(_CLOSERS)[-1:] in _ENDS:
        return True
    after = text[end:end + 200].lstrip()
    last = quote.split()[-1].lower().strip(_CLOSERS) if quote.split() else ""
    return not (after[:1].islower() or after[:1] in ",;" or last in _OPEN_WORDS)


# Words a sentence cannot end with: a quote that stops on one was cut.
_OPEN_WORDS = frozenset("a an the of to in on at by for from with and or but nor as than that which who whose whom "
                        "if when while because his her its their our your my".split())


def select(pool: list[Quotable], query: Query, max_sentences: int, margin: float,
           rank_penalty: float = 0.0) -> list[Quotable]:
    """The lead, then what adds to it, in document order (see the module docstring)."""
    if not pool:
        return []

    def strength(item: Quotable) -> float:
        return item.sentence.score - rank_penalty * (max(item.hit.rank, 1) - 1)

    ranked = sorted(pool, key=lambda p: (-strength(p), p.hit.rank, p.sentence.start_char))
    lead = ranked[0]
    points_back = query.form in ("definition", "wh") and _POINTS_BACK.match(lead.sentence.quote)
    if (query.form == "why" and _CONCLUSION.match(lead.sentence.quote)) or points_back:
        # "Therefore ctid is useless as ...": the reason is the sentence before. Asked what X is,
        # "This 'fighting for talks' deadlock has ...", "These statements, which are often referred
        # to as CTEs, ...": what X is was said in the sentence before. It leads; the lead follows it.
        before = next((item for item in pool if item.hit.source == lead.hit.source
                       and 0 <= lead.sentence.start_char - item.sentence.end_char <= 3), None)
        if before is not None:
            ranked = [before, *(item for item in ranked if item is not before)]
            lead = before
    chosen = [lead]
    held = set(terms(lead.sentence.quote)) & set(query.terms)
    answers = set(query.answer_words(lead.sentence.quote))
    for item in ranked[1:]:
        if len(chosen) >= max_sentences or strength(item) < strength(lead) - margin:
            break
        own = set(terms(item.sentence.quote)) & set(query.terms)
        new_answers = set(query.answer_words(item.sentence.quote)) - answers
        other_document = item.hit.source not in {c.hit.source for c in chosen}
        follows_lead = item.hit.source == lead.hit.source and 0 <= item.sentence.start_char - lead.sentence.end_char <= 3
        if own - held or new_answers or other_document or follows_lead:
            chosen.append(item)
            held |= own
            answers |= new_answers
    order = list(dict.fromkeys(c.hit.source for c in chosen))
    return [lead] + sorted(chosen[1:], key=lambda c: (order.index(c.hit.source), c.sentence.start_char))


def compose(hits: Sequence[Hit], doc_text: DocText, query: Query | None = None, max_sentences: int = 3,
            margin: float = 0.1, rank_penalty: float = 0.0) -> Extract:
    chosen = select(candidates(hits, doc_text), query or analyse(""), max_sentences, margin, rank_penalty)
    parts: list[str] = []
    sentences: list[AnswerSentence] = []
    citations: list[Citation] = []
    for marker, (sentence, hit) in enumerate(chosen, start=1):
        quote = " ".join(sentence.quote.split())
        if hit.section.startswith("reader comment"):
            quote = f"{hit.section[0].upper()}{hit.section[1:]}: “{quote}”"  # say who said it
        text = f"{quote} [{marker}]"
        parts.append(text)
        sentences.append(AnswerSentence(text, (marker,), True))
        citations.append(citation(marker, hit, sentence, doc_text))
    return Extract(" ".join(parts), tuple(sentences), tuple(citations))
