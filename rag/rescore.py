"""Score the sentences of retrieved chunks against the question.

A chunk is 200 tokens; the fact a user asked about is usually one sentence of it. Scoring each
sentence (cosine with the question, from vectors stored at index time, plus how much of the
question's idf-weighted vocabulary it contains) finds that sentence, re-ranks chunks by their
best one, and is what the extractive answerer quotes and the abstention check reads.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping

import numpy as np

from index.lexical import TOKEN, stemmer_and_stopwords, terms
from index.types import Chunk
from rag.answer_type import AnswerType, candidates
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


_TERMS_CACHE: dict[str, tuple[frozenset[str], ...]] = {}
_TERMS_CACHE_SIZE = 4096  # chunks; ids hash the chunk's text, so an entry never goes stale


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
        for a, b, _, _ in chunk.sentences
    )
    if len(_TERMS_CACHE) >= _TERMS_CACHE_SIZE:
        _TERMS_CACHE.clear()
    _TERMS_CACHE[chunk.chunk_id] = result
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


_PAIRS_CACHE: dict[str, np.ndarray] = {}


def _pair_vectors(chunk_id: str, vectors: np.ndarray) -> np.ndarray:
    """Unit mean vectors of each two neighbouring sentences (cached by chunk id, like the terms)."""
    pairs = _PAIRS_CACHE.get(chunk_id)
    if pairs is None or len(pairs) != len(vectors) - 1:
        pairs = vectors[:-1] + vectors[1:]
        pairs /= np.linalg.norm(pairs, axis=1, keepdims=True) + 1e-9
        if len(_PAIRS_CACHE) >= _TERMS_CACHE_SIZE:
            _PAIRS_CACHE.clear()
        _PAIRS_CACHE[chunk_id] = pairs
    return pairs


def _shares(chunk: Chunk, weighted_terms: Mapping[str, float]) -> list[float]:
    total = sum(weighted_terms.values())
    if total <= 0:
        return [0.0] * len(chunk.sentences)
    return [sum(w for t, w in weighted_terms.items() if t in present) / total for present in sentence_terms(chunk)]


_CANDIDATES_CACHE: dict[tuple[str, str], tuple[frozenset[str], ...]] = {}


def _bonuses(chunk: Chunk, answer: AnswerType | None, weight: float) -> list[float]:
    """`weight` for each sentence that holds the kind of answer the question asks for. A
    sentence's candidate answers do not depend on the question: cached by (chunk id, kind)."""
    if answer is None or not weight:
        return [0.0] * len(chunk.sentences)
    key = (chunk.chunk_id, answer.kind)
    found = _CANDIDATES_CACHE.get(key)
    if found is None:
        found = tuple(candidates(answer.kind, chunk.text[a:b]) for a, b, _, _ in chunk.sentences)
        if len(_CANDIDATES_CACHE) >= _TERMS_CACHE_SIZE:
            _CANDIDATES_CACHE.clear()
        _CANDIDATES_CACHE[key] = found
    return [weight if answer.holds(words) else 0.0 for words in found]


def _scores(
    chunk: Chunk, vectors: np.ndarray | None, query_vector: np.ndarray, weighted_terms: Mapping[str, float],
    coverage_weight: float, window: float, answer: AnswerType | None, answer_weight: float,
) -> list[tuple[float, float, float, float]]:
    """(score, similarity, coverage, bonus) of each sentence of `chunk`, in order."""
    similarities = _similarities(chunk, vectors, query_vector, window)
    return [(round(float(sim) + coverage_weight * share + bonus, 6), float(sim), share, bonus) for sim, share, bonus
            in zip(similarities, _shares(chunk, weighted_terms), _bonuses(chunk, answer, answer_weight))]


def best_sentence_score(
    chunk: Chunk, vectors: np.ndarray | None, query_vector: np.ndarray,
    weighted_terms: Mapping[str, float], coverage_weight: float, window: float = 0.0,
    answer: AnswerType | None = None, answer_weight: float = 0.0,
) -> tuple[float, tuple[int, int]]:
    """The score of the chunk's best sentence and its span in the document, as `score_sentences`
    would give them first, without building every sentence (what re-ranking needs for each of
    `rescore_depth` chunks)."""
    if not chunk.sentences:
        return 0.0, (chunk.start_char, chunk.start_char)
    scores = [score for score, *_ in _scores(chunk, vectors, query_vector, weighted_terms, coverage_weight,
                                               window, answer, answer_weight)]
    best = max(range(len(scores)), key=lambda i: (scores[i], -chunk.sentences[i][2]))
    return scores[best], (chunk.sentences[best][2], chunk.sentences[best][3])


def score_sentences(
    chunk: Chunk, vectors: np.ndarray | None, query_vector: np.ndarray, doc_text: str,
    weighted_terms: Mapping[str, float], coverage_weight: float, window: float = 0.0,
    answer: AnswerType | None = None, answer_weight: float = 0.0,
) -> tuple[ScoredSentence, ...]:
    """Every sentence of `chunk`, best first. Without stored vectors, similarity counts as 0."""
    if not chunk.sentences:
        return ()
    scored = [
        ScoredSentence(quote=doc_text[start:end], start_char=start, end_char=end, score=score,
                       similarity=round(similarity, 6), coverage=round(share, 4), bonus=bonus)
        for (_, _, start, end), (score, similarity, share, bonus) in zip(
            chunk.sentences, _scores(chunk, vectors, query_vector, weighted_terms, coverage_weight, window,
                                     answer, answer_weight))
    ]
    return tuple(sorted(scored, key=lambda s: (-s.score, s.start_char)))
