"""Citations: build them from retrieved passages, and check a generated answer against them.

Every citation quotes `file_text[start_char:end_char]` exactly, so a reader (or a test) can find
it in the file. An LLM's reply is split into sentences; each sentence's markers [n] must point at
passages it was given, and the passage must back the sentence: enough of the sentence's terms
occur in one of the passage's sentences, not counting sentences that are instructions planted in
the document. Anything else is flagged, never silently dropped.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import NamedTuple

from index.lexical import terms
from index.sentences import split_sentences
from rag.injection import looks_like_instruction
from rag.query import NUMBER_WORDS
from rag.types import AnswerSentence, Citation, Hit, ScoredSentence, pages_over

MARKER = re.compile(r"\[\s*(\d+(?:\s*[,;]\s*\d+)*)\s*\]")
# A whole sentence that declines to answer ("The documents don't say who won."), anchored at both
# ends: a phrase like this inside a claim ("Putin came, but the documents don't say when") is not a
# refusal, and a claim must not ride on one to go uncited.
_PREFACE = r"(?:(?:i'?m sorry|i am sorry|sorry|unfortunately|however|no)\s*[,:.!]?\s*)?"
_SUBJECT = (r"(?:(?:the|these|those|my)\s+)?(?:(?:provided|given|available|supplied|retrieved)\s+)?"
            r"(?:documents?|passages?|sources?|context|texts?|corpus|articles?|files?|information)|i|it|this|that")
_CANNOT = (r"(?:do|does|did|can|could|is|are)\s*(?:not|n['’]t)|cannot|(?:am|is|are)\s+unable\s+to|unable\s+to"
           r"|(?:have|has)\s+no")
_VERB = (r"say|state|answer|know|mention|contain|cover|tell|specify|provide|include|address|discuss|give"
         r"|find|determine|have|information|mentions?|answers?|details?|data|reference|indicate|explain|identify")
_MISSING = r"(?:mentioned|covered|stated|answered|found|given|specified|addressed|provided|known|included|discussed)"
_TAIL = r"(?:(?!\b(?:but|and|although|though|while|whereas|however|yet|so)\b)[^,;:.!?])*"
_REFUSAL = re.compile(
    rf"^\s*{_PREFACE}(?:"
    rf"(?:{_SUBJECT})\s+(?:{_CANNOT})\s+(?:{_VERB})\b"  # the documents don't say who won
    rf"|there\s+(?:is|are|was)\s+no\s+(?:information|mention|answer|data|details?|reference)\b"
    rf"|i\s+(?:have|found|could\s+find|can\s+find)\s+no\s+(?:information|mention|answer)\b"
    rf"|(?:this|that|it|the\s+answer|this\s+information)\s+(?:is|was)\s+not\s+{_MISSING}\b"
    rf"|(?:[\w'-]+\s+){{1,6}}(?:is|are|was|were)\s+not\s+{_MISSING}\s+(?:in|by)\s+(?:{_SUBJECT})\b"  # the venue is not
    rf"|no\s+(?:information|mention|answer)\b"
    rf"){_TAIL}[.!]*\s*$",
    re.IGNORECASE,
)


def is_refusal(sentence: str) -> bool:
    """True when the whole sentence says the documents do not answer, and says nothing else."""
    return bool(_REFUSAL.match(strip_markers(sentence).replace("’", "'")))


DocText = Callable[[str], str]


def citation(marker: int, hit: Hit, sentence: ScoredSentence, doc_text: DocText) -> Citation:
    text = doc_text(hit.source)
    return Citation(
        marker=marker, source=hit.source, quote=sentence.quote, start_char=sentence.start_char,
        end_char=sentence.end_char, passage=text[hit.start_char:hit.end_char], passage_start=hit.start_char,
        passage_end=hit.end_char, chunk_id=hit.chunk_id, section=hit.section, score=sentence.score,
        pages=pages_over(hit.pages, sentence.start_char, sentence.end_char), title=hit.title,
    )


def markers_in(text: str) -> list[int]:
    return [int(n) for group in MARKER.findall(text) for n in re.split(r"\s*[,;]\s*", group)]


def strip_markers(text: str) -> str:
    return " ".join(MARKER.sub(" ", text).split())


# A sentence's end followed by markers: "... Medinsky. [1]" or "... Medinsky.[1][2]".
_MARKERS_AFTER_END = re.compile(rf"(?P<end>[.!?…]+[\"'”’)]*)(?P<markers>(?:[^\S\n]*{MARKER.pattern})+)")


def split_reply(text: str) -> list[tuple[str, tuple[int, ...]]]:
    """Sentences of a generated reply with the markers each carries.

    Models put markers before or after the full stop, with or without a space ("A [1]. B",
    "A. [1] B", "A.[1] B"); a marker always belongs to the sentence before it. The splitter runs on
    a copy where each end and its markers trade places ("A. [1]" reads "A [1]."), the same length,
    so its spans cut the original text, which is what the reader sees.
    """
    moved = _MARKERS_AFTER_END.sub(lambda m: m.group("markers") + m.group("end"), text)
    pieces: list[tuple[str, tuple[int, ...]]] = []
    for a, b in split_sentences(moved):
        sentence = text[a:b]
        found = tuple(markers_in(sentence))
        if pieces and not strip_markers(sentence) and found:
            previous, old = pieces[-1]
            pieces[-1] = (f"{previous} {sentence}", old + found)
            continue
        pieces.append((sentence, found))
    return pieces


_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_NEGATION = re.compile(r"\b(?:not|no|never|cannot)\b|n[’']t\b", re.IGNORECASE)


class ClaimSupport(NamedTuple):
    """How well one passage backs a claim.

    `share` is the share of the claim's terms found in `quote` (or in it and its neighbour);
    `problem` names what the terms cannot see: a number of the claim missing from the quote, or
    a "not" on one side only ("Russia agreed" is not backed by "Russia has not agreed").
    """

    share: float
    quote: ScoredSentence | None
    planted: bool
    problem: str | None = None


def numbers_in(text: str, words: bool = False) -> set[str]:
    """Numbers as written in digits ("1,000" and "1000" alike; "40%" is 40); with `words`, also
    "three" as 3, so a claim may put in digits what its quote spells out."""
    found = {n.replace(",", "") for n in _NUMBER.findall(text)}
    if words:
        found |= {NUMBER_WORDS[w] for w in re.findall(r"[a-z]+", text.lower()) if w in NUMBER_WORDS}
    return found


def is_negated(text: str) -> bool:
    return bool(_NEGATION.search(text))


def mismatch(claim: str, quote: str) -> str | None:
    """Why `quote` cannot back `claim` whatever their shared terms: a number of the claim it lacks,
    or a negation on one side only. Shared terms miss both (numbers and "not" are not terms)."""
    missing = sorted(numbers_in(claim) - numbers_in(quote, words=True), key=lambda n: (len(n), n))
    if missing:
        return f"number{'s' if len(missing) > 1 else ''} {', '.join(missing)} missing from"
    if is_negated(claim) != is_negated(quote):
        return "negation mismatch with"
    return None


def support(claim: str, passage: Hit, threshold: float = 0.5) -> ClaimSupport:
    """How well `passage` backs `claim`: the share of its terms found, the supporting sentence,
    whether that is a planted instruction, and any number or negation the quote contradicts.

    The claim is compared with each sentence, and each pair of adjacent sentences, of the passage
    (a claim may merge two); the quote is the single sentence that holds most of it. A span that
    reaches the threshold without a contradiction wins over one with more terms and a contradiction.
    Sentences that address the model count only to report that the claim follows them.
    """
    claim = strip_markers(claim)
    claim_terms = set(terms(claim))
    sentences = sorted(passage.sentences, key=lambda s: s.start_char)
    if not sentences:
        return ClaimSupport(0.0, None, False)
    if not claim_terms:
        return ClaimSupport(1.0, sentences[0], False)

    def share(span: Sequence[ScoredSentence]) -> float:
        return len(claim_terms & set(terms(" ".join(s.quote for s in span)))) / len(claim_terms)

    planted = [s for s in sentences if looks_like_instruction(s.quote)]
    clean = [s for s in sentences if s not in planted]
    best_planted = max(planted, key=lambda s: share([s]), default=None)
    if not clean:
        return ClaimSupport(share([best_planted]), best_planted, True)
    spans = [[s] for s in clean] + [[a, b] for a, b in zip(clean, clean[1:]) if b.start_char - a.end_char < 200]
    scored = [(share(span), mismatch(claim, " ".join(s.quote for s in span)), span) for span in spans]
    best_share, problem, span = max(scored, key=lambda t: (t[0] >= threshold and t[1] is None, t[0], -len(t[2])))
    quote = max(span, key=lambda s: (share([s]), s.score))
    if best_planted is not None and share([best_planted]) > best_share:
        return ClaimSupport(share([best_planted]), best_planted, True)
    return ClaimSupport(best_share, quote, False, problem)


def verify(
    reply: str, passages: Sequence[Hit], doc_text: DocText, threshold: float = 0.5,
) -> tuple[tuple[AnswerSentence, ...], tuple[Citation, ...]]:
    """Check each sentence of `reply` against the passages it cites ([1] is passages[0])."""
    sentences: list[AnswerSentence] = []
    cited: dict[int, tuple[float, ScoredSentence]] = {}
    for text, markers in split_reply(reply):
        claim = strip_markers(text)
        if not any(ch.isalnum() for ch in claim):  # markers and punctuation: nothing is claimed
            continue
        unknown = [m for m in markers if not 1 <= m <= len(passages)]
        known = [m for m in dict.fromkeys(markers) if 1 <= m <= len(passages)]
        if unknown:
            sentences.append(AnswerSentence(text, tuple(markers), False,
                                            f"cites passage {', '.join(f'[{m}]' for m in unknown)}, which it was never given"))
            continue
        if not known:
            ok = not set(terms(claim)) or is_refusal(claim)
            sentences.append(AnswerSentence(text, (), ok, None if ok else "no citation"))
            continue
        results = {m: support(claim, passages[m - 1], threshold) for m in known}
        best_marker = max(results, key=lambda m: (results[m].share >= threshold and results[m].problem is None,
                                                  results[m].share))
        best = results[best_marker]
        for m, r in results.items():
            if r.quote is not None and not r.planted and (m not in cited or r.share > cited[m][0]):
                cited[m] = (r.share, r.quote)
        cites = ", ".join(f"[{m}]" for m in known)
        if best.planted and best.share >= threshold:
            sentences.append(AnswerSentence(text, tuple(markers), False,
                                            f"follows an instruction planted in passage [{best_marker}]"))
        elif best.share < threshold:
            sentences.append(AnswerSentence(text, tuple(markers), False, f"not supported by passage {cites}"))
        elif best.problem:
            sentences.append(AnswerSentence(text, tuple(markers), False, f"{best.problem} passage {cites}"))
        else:
            sentences.append(AnswerSentence(text, tuple(markers), True))
    citations = []
    for m in sorted(set(range(1, len(passages) + 1)) & {m for s in sentences for m in s.markers}):
        hit = passages[m - 1]
        quote = cited[m][1] if m in cited else next(
            (s for s in hit.sentences if not looks_like_instruction(s.quote)), None)
        if quote is not None:
            citations.append(citation(m, hit, quote, doc_text))
    return tuple(sentences), tuple(citations)


def says_it_cannot_answer(reply: str) -> bool:
    """The model declined: it cited nothing and every sentence of its reply is a refusal."""
    sentences = [text for text, _ in split_reply(reply) if strip_markers(text)]
    return not markers_in(reply) and bool(sentences) and all(is_refusal(s) for s in sentences)
