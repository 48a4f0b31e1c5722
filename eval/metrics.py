"""Retrieval and answer metrics for the eval harness.

Pure functions over plain strings and numbers, stdlib only, so a score can be
recomputed from a saved run without the model, the index or numpy.
"""

from __future__ import annotations

import math
import re
import unicodedata
from typing import Callable, Collection, Iterable, Mapping, Sequence

_QUOTES = str.maketrans({
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"',
    "\u00ab": '"', "\u00bb": '"',
})


def normalize(text: str) -> str:
    """Canonical form for evidence matching.

    Evidence is copied verbatim from a source, but the chunker, PDF extraction
    or an editor may have swapped quote styles or rewrapped lines; those
    differences must not turn a hit into a miss. Case is kept on purpose.
    """
    # Quotes are mapped before NFKC because NFKC splits ″ into two primes.
    text = unicodedata.normalize("NFKC", text.translate(_QUOTES)).translate(_QUOTES)
    return " ".join(text.split())


def contains_evidence(passage: str, evidence: str) -> bool:
    """True when the evidence string occurs in the passage, modulo normalize().

    Empty evidence matches nothing: an empty string is in every passage and
    would hand out free hits for a broken dataset row.
    """
    needle = normalize(evidence)
    return bool(needle) and needle in normalize(passage)


def _top(items: Sequence, k: int) -> Sequence:
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    return items[:k]


def _dedupe(items: Iterable[str]) -> list[str]:
    """Keep the first occurrence of each item, in order."""
    return list(dict.fromkeys(items))


def _unique_evidence(evidence: Sequence[str]) -> list[str]:
    # The same quote listed twice (or in two quote styles) is one fact, not two.
    return [e for e in _dedupe(normalize(e) for e in evidence) if e]


def evidence_rank(passages: Sequence[str], evidence: Sequence[str]) -> int | None:
    """1-based rank of the first passage holding any evidence string, else None."""
    for rank, passage in enumerate(passages, start=1):
        if any(contains_evidence(passage, e) for e in evidence):
            return rank
    return None


def hit_at_k(passages: Sequence[str], evidence: Sequence[str], k: int) -> float:
    """1.0 if any of the top-k passages holds evidence, else 0.0."""
    return 0.0 if evidence_rank(_top(passages, k), evidence) is None else 1.0


def reciprocal_rank(passages: Sequence[str], evidence: Sequence[str], k: int = 10) -> float:
    """1/rank of the first evidence-bearing passage; 0.0 past the cutoff (MRR@k)."""
    rank = evidence_rank(_top(passages, k), evidence)
    return 0.0 if rank is None else 1.0 / rank


def recall_at_k(passages: Sequence[str], evidence: Sequence[str], k: int) -> float:
    """Share of distinct evidence strings found in at least one top-k passage.

    Hit@k rewards finding one piece; this tells whether retrieval surfaced all
    the pieces a multi-part answer needs. No evidence gives 0.0.
    """
    wanted = _unique_evidence(evidence)
    if not wanted:
        return 0.0
    top = _top(passages, k)
    found = sum(any(contains_evidence(p, e) for p in top) for e in wanted)
    return found / len(wanted)


def doc_hit_at_k(ranked_sources: Sequence[str], relevant: Collection[str], k: int) -> float:
    """1.0 if any of the top-k distinct sources is relevant, else 0.0.

    Several chunks of one document would otherwise eat the cutoff, so the
    ranking is deduplicated before cutting.
    """
    top = _top(_dedupe(ranked_sources), k)
    return 1.0 if any(s in relevant for s in top) else 0.0


def ndcg_at_k(ranked_ids: Sequence[str], qrels: Mapping[str, int], k: int = 10) -> float:
    """Graded nDCG@k, trec_eval/BEIR convention.

    Gain is the grade itself (linear, not 2^g - 1) and the discount is
    1/log2(rank + 1), so numbers are comparable with published BEIR tables.
    Grades <= 0 are non-relevant; a repeated id only counts where it first
    appears; a query with no relevant ids scores 0.0.
    """
    grades = sorted((g for g in qrels.values() if g > 0), reverse=True)
    if not grades:
        return 0.0
    top = _top(_dedupe(ranked_ids), k)
    dcg = sum(max(qrels.get(i, 0), 0) / math.log2(r + 1) for r, i in enumerate(top, 1))
    idcg = sum(g / math.log2(r + 1) for r, g in enumerate(_top(grades, k), 1))
    return dcg / idcg


def recall_ids_at_k(ranked_ids: Sequence[str], qrels: Mapping[str, int], k: int = 100) -> float:
    """Share of relevant ids (grade > 0) retrieved in the top k; 0.0 if none exist."""
    relevant = {i for i, g in qrels.items() if g > 0}
    if not relevant:
        return 0.0
    top = _top(_dedupe(ranked_ids), k)
    return len(relevant.intersection(top)) / len(relevant)


def evidence_recall(
    answer_text: str, cited_passages: Sequence[str], evidence: Sequence[str]
) -> float:
    """Share of distinct evidence strings present in the answer or a cited passage.

    An answer may paraphrase what it cites, so a fact counts as delivered if
    the user can reach it through a citation. No evidence gives 0.0.
    """
    wanted = _unique_evidence(evidence)
    if not wanted:
        return 0.0
    texts = [answer_text, *cited_passages]
    found = sum(any(contains_evidence(t, e) for t in texts) for e in wanted)
    return found / len(wanted)


_CITATION = re.compile(r"\[\s*\d+(?:\s*[,;]\s*\d+)*\s*\]")
_WORD = re.compile(r"\w+")
_STOPWORDS = frozenset("""
    a about above after again against all also am an and any are as at be
    because been before being below between both but by can could did do does
    doing down during each few for from further had has have having he her here
    hers him his how if in into is it its itself just may me might more most
    must my no nor not now of off on once only or other our ours out over own
    same she should so some such than that the their theirs them then there
    these they this those through to too under until up very was we were what
    when where which while who whom why will with would you your yours
""".split())


def _content_tokens(text: str) -> set[str]:
    words = _WORD.findall(_CITATION.sub(" ", text).lower())
    return {w for w in words if len(w) > 1 and w not in _STOPWORDS}


def supports(sentence: str, passage: str, threshold: float = 0.6) -> bool:
    """Lexical judge: does the passage back the sentence that cites it?

    Supported when at least `threshold` of the sentence's distinct content
    words (citation markers, stopwords and 1-char tokens dropped) occur in the
    passage. It is deterministic, offline and free, so scores are reproducible
    and need no LLM. Known limits: it is blind to paraphrase and synonyms
    (false "unsupported"), and to negation, numbers swapped between words or
    reordered claims (false "supported"). Treat it as a floor-level check and
    pass another judge to citation_precision for semantic grading.
    A sentence with no content words has nothing to contradict: supported.
    """
    claim = _content_tokens(sentence)
    if not claim:
        return True
    overlap = len(claim & _content_tokens(passage)) / len(claim)
    return overlap >= threshold


def citation_precision(
    pairs: Sequence[tuple[str, str]],
    judge: Callable[[str, str], bool] = supports,
) -> float | None:
    """Share of (citing sentence, cited passage) pairs the judge accepts.

    None, not 0.0, when nothing was cited: an answer without citations has no
    precision to speak of, and averaging it as zero would punish abstentions.
    """
    if not pairs:
        return None
    return sum(bool(judge(s, p)) for s, p in pairs) / len(pairs)


def _ratio(num: int, den: int) -> float | None:
    return num / den if den else None


def abstention_scores(cases: Sequence[tuple[bool, bool]]) -> dict[str, float | None]:
    """Precision/recall of "I don't know" over (should_abstain, did_abstain) cases.

    Abstaining is the positive class. false_abstention_rate is the share of
    answerable questions the system refused, the cost of being too cautious.
    A ratio with a zero denominator is None rather than a made-up 0 or 1.
    """
    tp = sum(1 for should, did in cases if should and did)
    fp = sum(1 for should, did in cases if not should and did)
    fn = sum(1 for should, did in cases if should and not did)
    answerable = sum(1 for should, _ in cases if not should)
    return {
        "abstention_precision": _ratio(tp, tp + fp),
        "abstention_recall": _ratio(tp, tp + fn),
        "false_abstention_rate": _ratio(fp, answerable),
    }


def percentile(values: Sequence[float], q: float) -> float | None:
    """q-th percentile (0..100) with linear interpolation, as numpy's default."""
    if not 0 <= q <= 100:
        raise ValueError(f"q must be in [0, 100], got {q}")
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    lo = math.floor(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def latency_summary(values_ms: Sequence[float]) -> dict[str, float | None]:
    """p50, p95 and mean latency plus the sample count, so p95 of 3 runs reads as such."""
    return {
        "p50": percentile(values_ms, 50),
        "p95": percentile(values_ms, 95),
        "mean": mean(values_ms),
        "n": len(values_ms),
    }


def mean(values: Sequence[float | None]) -> float | None:
    """Average of the non-None values; None when there are none.

    Metrics return None for "not applicable" (e.g. no citations), and those
    cases must drop out of the average instead of counting as zero.
    """
    present = [v for v in values if v is not None]
    return sum(present) / len(present) if present else None


# --- answer-level -------------------------------------------------------------


def first_sentence_evidence(sentence: str, quotes: Sequence[str], evidence: Sequence[str]) -> float:
    """1.0 when the answer's first sentence, or a quote it cites, holds any evidence string.

    A reader glances at the first sentence; an answer whose evidence comes third has made them read
    two quotes that do not answer first. No evidence gives 0.0.
    """
    return 1.0 if any(contains_evidence(t, e) for t in (sentence, *quotes) for e in evidence) else 0.0


_CLOSERS = "\"'”’»)]"
_CREDIT = re.compile(
    r"^\W*(?i:photo(graph)?|image|picture|illustration|source|original source|credits?|courtesy|disclaimer)\s*:"
    r"|^\W*(?i:by)\s+(the\s+)?[A-Z][\w.'’-]*(\s+[A-Z][\w.'’-]*)*\s*([,\]|]|$)"
    r"|\b(?i:(translated|reporting|editing|written) by)\b|^\W*\S+@\S+\.\w+\W*$",
)
# A line with one of these is a statement, not a title ("Kiev is either split ...").
_VERB = re.compile(r"(?i)\b(is|are|was|were|has|have|had|will|would|can|could|should|must|does|did|says|said|"
                   r"wants|needs|gets|got|goes|went|makes|made)\b|n[’']t\b")
_LIST_ITEM = re.compile(r"^\s*([•·▪‣◦*–—-]|\(?\d{1,3}[.)])\s")  # a bullet is content, not a heading
_SENTENCE_END = re.compile(r"[.!?…:;][" + re.escape(_CLOSERS) + r"]*$")


# A court document's caption or docket line: "No. 21–908. Argued December 6, 2022—Decided ...",
# "Cite as: 598 U. S. 69 (2023)", "Case 1:21-cv-01009-DNH-ML Document 6 Filed 09/14/21 Page 2 of 28".
_CAPTION = re.compile(r"Argued[^.]{0,40}\d{4}\s*[—–-]\s*Decided|^\W*No\.\s*\d[\d–-]+\.?\s*$|Cite as:\s*\d"
                      r"|Case\s+\d:\d\d-[a-z]{2}-\d+|Document\s+\d+\s+Filed\s+\d|ON WRIT OF CERTIORARI", re.I)


def echo_kind(text: str, line: str | None = None) -> str | None:
    """Why `text`, quoted as an answer sentence, answers nothing: "question" (it asks), "caption" (a
    court document's caption or docket line), "credit" (a
    byline, photo credit, source or translator line) or "heading" (a whole line of the file with no
    sentence ending, no bullet and no common verb: a title, heading or caption); None for an
    ordinary sentence. `line` is the
    whole line of the file the quote comes from, when known; without it no heading is judged.

    This judge is the eval's own, deliberately simple and independent of how the answerer labels
    sentences, so it can catch the answerer's mistakes.
    """
    body = " ".join(_CITATION.sub(" ", text).split())
    if not body:
        return None
    if body.rstrip(_CLOSERS).endswith("?"):
        return "question"
    if _CAPTION.search(body):
        return "caption"
    if _CREDIT.search(body):
        return "credit"
    if line is not None and " ".join(line.split()) == body and not _SENTENCE_END.search(body) \
            and not _LIST_ITEM.match(body) and not _VERB.search(body) and len(body.split()) <= 20:
        return "heading"
    return None


_TERMINATOR = ".!?…:;"
_FUNCTION_END = frozenset("a an the of to in on at by for from with and or but nor as than that which who whose "
                          "whom if when while because his her its their our your my is are was were be".split())


def fragment_kind(text: str, start: int, end: int) -> str | None:
    """Whether the quote `text[start:end]` is a piece of a sentence: "start" when it begins inside
    one (a lower-case word, after text that ends no sentence), "end" when it stops inside one (no
    full stop, and the text goes on in lower case or its last word cannot end a sentence); None
    for a whole sentence, heading or list item. Judged on the file's text alone, by the eval's own
    rules, whatever splitter the answerer used."""
    quote = text[start:end].strip()
    if not quote:
        return None
    first = next((ch for ch in quote if ch.isalnum()), "")
    before = text[:start].rstrip()
    if first.islower() and before and before.rstrip(_CLOSERS)[-1:] not in _TERMINATOR and before[-1:] not in "•*-–—":
        return "start"
    bare = quote.rstrip(_CLOSERS + " ")
    if bare[-1:] in _TERMINATOR:
        return None
    after = text[end:].lstrip()
    last = re.findall(r"[\w’'-]+", bare)[-1:] or [""]
    if after[:1].islower() or after[:1] in ",;:" or last[0].lower() in _FUNCTION_END:
        return "end"
    return None


def evidence_coverage(texts: Sequence[str], groups: Sequence[Sequence[str]]) -> float:
    """Share of evidence groups (one per source document) of which at least one string occurs in
    `texts` (the answer and its quotes, say). Evidence strings of one document are alternatives:
    the places where it says the same thing; a question that needs two documents needs a string of
    each. No groups gives 0.0."""
    groups = [g for g in groups if g]
    if not groups:
        return 0.0
    return sum(any(contains_evidence(t, e) for t in texts for e in group) for group in groups) / len(groups)
