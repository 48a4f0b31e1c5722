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

from index.lexical import terms
from index.sentences import split_sentences
from rag.injection import looks_like_instruction
from rag.types import AnswerSentence, Citation, Hit, ScoredSentence

MARKER = re.compile(r"\[\s*(\d+(?:\s*[,;]\s*\d+)*)\s*\]")
_ABSTAIN = re.compile(
    r"\b(do(es)?n[o’']?t|do(es)? not|cannot|can[’']t|unable to)\b.{0,40}\b(say|answer|know|mention|contain|cover|tell)"
    r"|\bnot (mentioned|covered|stated|answered|found)\b|\bno (information|mention)\b", re.I,
)

DocText = Callable[[str], str]


def citation(marker: int, hit: Hit, sentence: ScoredSentence, doc_text: DocText) -> Citation:
    text = doc_text(hit.source)
    return Citation(
        marker=marker, source=hit.source, quote=sentence.quote, start_char=sentence.start_char,
        end_char=sentence.end_char, passage=text[hit.start_char:hit.end_char], passage_start=hit.start_char,
        passage_end=hit.end_char, chunk_id=hit.chunk_id, section=hit.section, score=sentence.score,
    )


def markers_in(text: str) -> list[int]:
    return [int(n) for group in MARKER.findall(text) for n in re.split(r"\s*[,;]\s*", group)]


def strip_markers(text: str) -> str:
    return " ".join(MARKER.sub(" ", text).split())


def split_reply(text: str) -> list[tuple[str, tuple[int, ...]]]:
    """Sentences of a generated reply with the markers each carries.

    A marker written after the full stop ("... Medinsky. [1]") belongs to the sentence before it.
    """
    pieces: list[tuple[str, tuple[int, ...]]] = []
    for a, b in split_sentences(text):
        sentence = text[a:b]
        found = tuple(markers_in(sentence))
        if pieces and not strip_markers(sentence) and found:
            previous, old = pieces[-1]
            pieces[-1] = (f"{previous} {sentence}", old + found)
            continue
        pieces.append((sentence, found))
    return pieces


def support(claim: str, passage: Hit) -> tuple[float, ScoredSentence | None, bool]:
    """(share of the claim's terms found, the best supporting sentence, whether that is a planted instruction).

    The claim is compared with each sentence, and each pair of adjacent sentences, of the passage
    (a claim may merge two); the quote is the single sentence that holds most of it. Sentences that
    address the model count only to report that the claim follows them.
    """
    claim_terms = set(terms(strip_markers(claim)))
    sentences = sorted(passage.sentences, key=lambda s: s.start_char)
    if not sentences:
        return 0.0, None, False
    if not claim_terms:
        return 1.0, sentences[0], False

    def share(span: list[ScoredSentence]) -> float:
        return len(claim_terms & set(terms(" ".join(s.quote for s in span)))) / len(claim_terms)

    planted = [s for s in sentences if looks_like_instruction(s.quote)]
    clean = [s for s in sentences if s not in planted]
    best_planted = max(planted, key=lambda s: share([s]), default=None)
    if not clean:
        return (share([best_planted]), best_planted, True)
    quote = max(clean, key=lambda s: (share([s]), s.score))
    pairs = [share([a, b]) for a, b in zip(clean, clean[1:]) if b.start_char - a.end_char < 200]
    best = max([share([quote]), *pairs])
    if best_planted is not None and share([best_planted]) > best:
        return share([best_planted]), best_planted, True
    return best, quote, False


def verify(
    reply: str, passages: Sequence[Hit], doc_text: DocText, threshold: float = 0.5,
) -> tuple[tuple[AnswerSentence, ...], tuple[Citation, ...]]:
    """Check each sentence of `reply` against the passages it cites ([1] is passages[0])."""
    sentences: list[AnswerSentence] = []
    cited: dict[int, tuple[float, ScoredSentence]] = {}
    for text, markers in split_reply(reply):
        claim = strip_markers(text)
        if not claim:
            continue
        unknown = [m for m in markers if not 1 <= m <= len(passages)]
        known = [m for m in dict.fromkeys(markers) if 1 <= m <= len(passages)]
        if unknown:
            sentences.append(AnswerSentence(text, tuple(markers), False,
                                            f"cites passage {', '.join(f'[{m}]' for m in unknown)}, which it was never given"))
            continue
        if not known:
            ok = not set(terms(claim)) or bool(_ABSTAIN.search(claim))
            sentences.append(AnswerSentence(text, (), ok, None if ok else "no citation"))
            continue
        results = {m: support(claim, passages[m - 1]) for m in known}
        best_marker = max(results, key=lambda m: results[m][0])
        share, quote, is_planted = results[best_marker]
        for m, (s, q, planted) in results.items():
            if q is not None and not planted and (m not in cited or s > cited[m][0]):
                cited[m] = (s, q)
        if is_planted and share >= threshold:
            sentences.append(AnswerSentence(text, tuple(markers), False,
                                            f"follows an instruction planted in passage [{best_marker}]"))
        elif share < threshold:
            sentences.append(AnswerSentence(text, tuple(markers), False,
                                            f"not supported by passage {', '.join(f'[{m}]' for m in known)}"))
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
    """The model said the passages do not answer the question, and cited nothing."""
    return not markers_in(reply) and bool(_ABSTAIN.search(reply))
