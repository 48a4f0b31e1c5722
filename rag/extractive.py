"""The default answerer: quote the sentences that answer the question, each with its citation.

No model writes anything, so every word of the answer is a verbatim quote from a file and is
supported by construction; what is left to get right is choosing the sentences. The best
sentence (by the rescoring in rag.rescore) anchors the answer; sentences scoring within
`margin` of it join, the best of each other document first (a question may need two sources),
up to `max_sentences`. They are then ordered by document and position, so they read in order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rag.cite import DocText, citation
from rag.injection import looks_like_instruction
from rag.types import AnswerSentence, Citation, Hit, ScoredSentence

MIN_WORDS = 4  # shorter "sentences" are headings, bylines and fragments, not answers


@dataclass(frozen=True)
class Extract:
    text: str
    sentences: tuple[AnswerSentence, ...]
    citations: tuple[Citation, ...]


def candidates(hits: Sequence[Hit]) -> list[tuple[ScoredSentence, Hit]]:
    """Each distinct sentence of the passages once (chunks overlap), from its best-ranked passage."""
    seen: set[tuple[str, int]] = set()
    pool: list[tuple[ScoredSentence, Hit]] = []
    for hit in hits:
        for sentence in hit.sentences:
            key = (hit.source, sentence.start_char)
            if key in seen or len(sentence.quote.split()) < MIN_WORDS or looks_like_instruction(sentence.quote):
                continue
            seen.add(key)
            pool.append((sentence, hit))
    return sorted(pool, key=lambda p: (-p[0].score, p[1].rank, p[0].start_char))


def select(pool: list[tuple[ScoredSentence, Hit]], max_sentences: int, margin: float) -> list[tuple[ScoredSentence, Hit]]:
    if not pool:
        return []
    # The anchor is the best sentence of the best-ranked passage: passage ranking has seen the
    # whole chunk and both retrievers, so it is the better judge of where the answer is.
    anchor = min(pool, key=lambda p: (p[1].rank, -p[0].score))
    floor = max(pool[0][0].score, anchor[0].score) - margin
    close = [anchor] + [p for p in pool if p[0].score >= floor and p is not anchor]
    chosen = [close[0]]
    for item in close[1:]:  # the best sentence of each other document first
        if len(chosen) < max_sentences and item[1].source not in {c[1].source for c in chosen}:
            chosen.append(item)
    for item in close[1:]:
        if len(chosen) < max_sentences and item not in chosen:
            chosen.append(item)
    order = list(dict.fromkeys(c[1].source for c in chosen))
    return sorted(chosen, key=lambda c: (order.index(c[1].source), c[0].start_char))


def answer(hits: Sequence[Hit], doc_text: DocText, max_sentences: int = 3, margin: float = 0.1) -> Extract:
    chosen = select(candidates(hits), max_sentences, margin)
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
