"""Score the sentences of retrieved chunks against the question.

A chunk is 200 tokens; the fact a user asked about is usually one sentence of it. Scoring each
sentence (cosine with the question, from vectors stored at index time, plus how much of the
question's idf-weighted vocabulary it contains) finds that sentence, re-ranks chunks by their
best one, and is what the extractive answerer quotes and the abstention check reads.
"""

from __future__ import annotations

import bisect
import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from index.lexical import TOKEN, stemmer_and_stopwords, terms
from index.roles import UNRANKED
from index.types import Chunk
from rag import aliases
from rag.cache import LruCache
from rag.query import Query, candidates, counts, new_answers
from rag.types import ScoredSentence


def query_terms(question: str, idf: Mapping[str, float], unseen_idf: float) -> dict[str, float]:
    """The question's distinct BM25 terms with their idf (terms the corpus never uses weigh most)."""
    return {t: idf.get(t, unseen_idf) for t in dict.fromkeys(terms(question))}


def coverage(text: str, weighted_terms: Mapping[str, float]) -> float:
    """Idf-weighted share of the question's terms that occur in `text` (0 when the question has none)."""
    total = sum(weighted_terms.values())
    if total <= 0:
        return 0.0
    present = set(terms(text))
    return sum(w for t, w in weighted_terms.items() if t in present) / total


# By chunk id: ids hash the chunk's text, so an entry never goes stale. Shared by the threads
# that answer at once, hence locked (rag.cache).
_TERMS_CACHE: LruCache[str, tuple[frozenset[str], ...]] = LruCache(4096)
_PAIRS_CACHE: LruCache[str, np.ndarray] = LruCache(4096)
_CANDIDATES_CACHE: LruCache[tuple[str, str], tuple] = LruCache(4096)  # answer candidates, or flags, a sentence


def sentence_terms(chunk: Chunk) -> tuple[frozenset[str], ...]:
    """The BM25 terms of each sentence of `chunk`, as `terms(sentence)` gives them, but with one
    regex pass and one stemmer call per chunk instead of per sentence (and cached by chunk id):
    sentence scoring of 60 chunks was most of a warm search's time."""
    cached = _TERMS_CACHE.get(chunk.chunk_id)
    if cached is not None:
        return cached
    stemmer, stopwords = stemmer_and_stopwords()
    starts, words = [], []
    for match in TOKEN.finditer(chunk.text):
        word = match.group().lower()
        if word not in stopwords:
            starts.append(match.start())
            words.append(word)
    stems = stemmer.stemWords(words)
    result = tuple(
        frozenset(stems[bisect.bisect_left(starts, a):bisect.bisect_left(starts, b)])
        for a, b, *_ in chunk.sentences
    )
    _TERMS_CACHE.put(chunk.chunk_id, result)
    return result


def _similarities(chunk: Chunk, vectors: np.ndarray | None, query_vector: np.ndarray, window: float) -> np.ndarray:
    if vectors is None or len(vectors) != len(chunk.sentences):
        return np.zeros(len(chunk.sentences), dtype=np.float32)
    similarities = vectors @ query_vector
    if window and len(vectors) > 1:
        # A sentence read with its neighbour: "His focus is only on negotiation" needs the
        # sentence before it to be about Putin.
        pair_sims = _pair_vectors(chunk.chunk_id, vectors) @ query_vector
        low = np.full(1, -1.0, dtype=pair_sims.dtype)
        context = np.maximum(np.concatenate([pair_sims, low]), np.concatenate([low, pair_sims]))
        similarities = np.maximum(similarities, window * context + (1 - window) * similarities)
    return similarities


def _pair_vectors(chunk_id: str, vectors: np.ndarray) -> np.ndarray:
    """Unit mean vectors of each two neighbouring sentences (cached by chunk id, like the terms)."""
    pairs = _PAIRS_CACHE.get(chunk_id)
    if pairs is None or len(pairs) != len(vectors) - 1:
        pairs = vectors[:-1] + vectors[1:]
        pairs /= np.linalg.norm(pairs, axis=1, keepdims=True) + 1e-9
        _PAIRS_CACHE.put(chunk_id, pairs)
    return pairs


def _shares(chunk: Chunk, weighted_terms: Mapping[str, float]) -> list[float]:
    total = sum(weighted_terms.values())
    if total <= 0:
        return [0.0] * len(chunk.sentences)
    return [sum(w for t, w in weighted_terms.items() if aliases.present(t, present)) / total
            for present in sentence_terms(chunk)]


# A reason or a purpose ("because", "so that", "in order to", "this is why"), for why-questions; a
# sentence that opens by drawing a conclusion ("So again, everything turns on ...", "Therefore ...")
# gets half: the reason is usually the sentence it concludes from.
_REASON = re.compile(r"\b(because|since|due to|owing to|as a result|so that|in order to|the reason|that is why|this is "
                     r"why|which is why|therefore|thus|hence|led to|leads to|lead to|caused|causes|given that|means that|"
                     r"meaning that|so as to|aimed? (at|to)|intended to|to ensure|for fear)\b|\bso\b(?! far| much| many)",
                     re.I)
_CONCLUSION = re.compile(r"^\W*(so|thus|therefore|hence|accordingly|consequently|as a result)\b", re.I)
# A step of a procedure, for "how do I ...": an imperative, a command or setting named in the text
# ("CREATE INDEX CONCURRENTLY", "checkpoint_timeout", "--jobs"), or a sentence that says how it is done.
_PROCEDURE = re.compile(
    r"^\W*(use|run|set|specify|add|call|create|issue|execute|enable|disable|configure|invoke|type|enter|select|click|"
    r"install|write|put|pass|give|choose|open|start|stop|remove|drop|delete|edit|change|check|make|mark|attach|file|"
    r"submit|send|list|see|consult|contact|apply|fill|include|omit|avoid|try)\b"
    r"|\b[A-Z]{2,}(?:\s+[A-Z]{2,})+\b|\b[a-z]+_[a-z_]+\b|(?<!\w)--?[a-z][\w-]+|\b\w+\(\)"
    r"|\b(by|through) (using|running|setting|issuing|adding|calling|specifying|executing|filing|submitting|checking)\b"
    r"|\b(can|may|must|should) be (done|used|achieved|obtained|set|changed|created|specified|forced|disabled|enabled|"
    r"requested|filed|made|avoided)\b|\bit is (also )?possible to\b|\b(allows|lets|enables) (you|users|one)\b"
    r"|\byou (can|may|must|should|need)\b|\bin order to\b|\bneed only\b|\bmust (first )?\w+\b")
# X characterised: "X, the former minister", "X is a ...", "X (the ...)", "Minister X", "X means".
_COPULA = r"(,|\s+\(|\s+(is|are|was|were|means|meant|refers|stands|would mean|has been|had been|became|remains)\b)"


@functools.lru_cache(maxsize=256)
def _opens_with(word: str) -> re.Pattern:
    """A sentence that starts with the term and says what it does ("WITH provides a way to ...",
    "Partitioning refers to ...", "A partial index is ..."): how a manual defines a term."""
    return re.compile(rf"^\W*(?:the\s+|an?\s+)?(?:\w+\s+)?{re.escape(word)}\w*\W{{0,2}}(?:\s+\S+)?\s+(?:is|are|was|were|means|"
                      rf"refers|provides|stores|contains|consists|allows|lets|represents|defines|describes|denotes|"
                      rf"specifies|returns|creates|removes|reclaims|computes|controls|determines|causes|makes)\b", re.I)


@functools.lru_cache(maxsize=256)
def _says_what(word: str) -> re.Pattern:
    """A sentence that characterises `word` (compiled once per focus, not once per chunk)."""
    last = re.escape(word)
    return re.compile(rf"{last}[’']?s?\W{{0,3}}({_COPULA}|[—–:]\s*(an?|the)\b)|\b[A-Z]\w+\s+{last}\b|\(\W?{last}\W?\)", re.I)


@dataclass(frozen=True)
class Scoring:
    """How a sentence's score is put together (`RagConfig` fields of the same names)."""

    coverage_weight: float = 0.5
    window: float = 0.0
    answer_weight: float = 0.0

    @classmethod
    def of(cls, config) -> Scoring:
        return cls(config.coverage_weight, config.sentence_window, config.answer_type_weight)


def _form_bonuses(chunk: Chunk, query: Query | None, weight: float) -> list[float]:
    """`weight` for each sentence that holds the kind of answer the question asks for: a name,
    place, number or date the question does not already contain; a reason for "why"; for
    "who/what is X", a sentence that says what X is. A sentence's candidate answers do not depend
    on the question: cached by (chunk id, kind)."""
    if query is None or not weight:
        return [0.0] * len(chunk.sentences)
    texts = chunk.sentence_texts()
    if query.expects:
        key = (chunk.chunk_id, query.expects)
        found = _CANDIDATES_CACHE.get_or_make(key, lambda: tuple(candidates(query.expects, text) for text in texts))
        bonuses = [weight if new_answers(query.expects, words, query.words) else 0.0 for words in found]
        if query.expects == "number" and query.focus_terms:
            # "How many accounts ...", "How large is each WAL segment file?": full weight for a number
            # beside what is counted ("272 accounts", "segment files, normally each 16 MB"), half for
            # a number about something else ("pages, normally 8 kB each").
            focus = query.focus_terms
            beside = _CANDIDATES_CACHE.get_or_make(  # by chunk and focus, like the candidates
                (chunk.chunk_id, "beside " + " ".join(focus)),
                lambda: tuple(bool(b) and counts(text, focus) for b, text in zip(bonuses, texts)))
            bonuses = [b if not b or near else b / 2 for b, near in zip(bonuses, beside)]
        return bonuses
    if query.form == "why":
        return [(weight / 2 if _CONCLUSION.match(text) else weight) if _REASON.search(text) else 0.0 for text in texts]
    if query.form == "howto":
        return [weight if _PROCEDURE.search(text) else 0.0 for text in texts]
    if query.form == "definition" and query.focus_terms:
        # The sentence that says what X is ("X, the former minister", "X is ..."); half for one that
        # only names X. (Crediting the sentence next to a mere mention was tried: it lost on dev.)
        focus = set(query.focus_terms)
        says_what, opens = _says_what(query.focus.split()[-1]), _opens_with(query.focus.split()[0])
        return [(weight if says_what.search(text) or opens.match(text) else weight / 2) if focus <= present else 0.0
                for text, present in zip(texts, sentence_terms(chunk))]
    return [0.0] * len(chunk.sentences)


def _scores(chunk: Chunk, vectors: np.ndarray | None, query_vector: np.ndarray, weighted_terms: Mapping[str, float],
            query: Query | None, scoring: Scoring) -> list[tuple[float, float, float, float]]:
    """(score, similarity, coverage, bonus) of each sentence of `chunk`, in order. `bonus` is the
    part that ranks without being evidence (holding the kind of answer asked for)."""
    similarities = _similarities(chunk, vectors, query_vector, scoring.window)
    bonuses = _form_bonuses(chunk, query, scoring.answer_weight)
    return [(round(float(sim) + scoring.coverage_weight * share + bonus, 6), float(sim), share, bonus)
            for sim, share, bonus in zip(similarities, _shares(chunk, weighted_terms), bonuses)]


def best_sentence_score(chunk: Chunk, vectors: np.ndarray | None, query_vector: np.ndarray,
                        weighted_terms: Mapping[str, float], query: Query | None = None,
                        scoring: Scoring = Scoring()) -> tuple[float, tuple[int, int]]:
    """The score of the chunk's best sentence and its span in the document, as `score_sentences`
    would give them first, without building every sentence (what re-ranking needs for each of
    `rescore_depth` chunks)."""
    if not chunk.sentences:
        return 0.0, (chunk.start_char, chunk.start_char)
    scores = [score for score, *_ in _scores(chunk, vectors, query_vector, weighted_terms, query, scoring)]
    # The text's own question that repeats the user's only counts through its neighbours (the
    # sentence window); a title or heading does rank its passage (SciFact: 0.734 without them).
    ranked = [i for i, span in enumerate(chunk.sentences) if span.role not in UNRANKED] or list(range(len(scores)))
    best = max(ranked, key=lambda i: (scores[i], -chunk.sentences[i].doc_start))
    return scores[best], (chunk.sentences[best].doc_start, chunk.sentences[best].doc_end)


def score_sentences(chunk: Chunk, vectors: np.ndarray | None, query_vector: np.ndarray, doc_text: str,
                    weighted_terms: Mapping[str, float], query: Query | None = None,
                    scoring: Scoring = Scoring()) -> tuple[ScoredSentence, ...]:
    """Every sentence of `chunk`, best first. Without stored vectors, similarity counts as 0."""
    if not chunk.sentences:
        return ()
    scored = [
        ScoredSentence(quote=doc_text[span.doc_start:span.doc_end], start_char=span.doc_start, end_char=span.doc_end,
                       score=score, similarity=round(similarity, 6), coverage=round(share, 4), bonus=bonus,
                       role=span.role)
        for span, (score, similarity, share, bonus) in zip(
            chunk.sentences, _scores(chunk, vectors, query_vector, weighted_terms, query, scoring))
    ]
    return tuple(sorted(scored, key=lambda s: (-s.score, s.start_char)))
