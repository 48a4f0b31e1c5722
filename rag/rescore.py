"""Score the sentences of retrieved chunks against the question.

A chunk is 200 tokens; the fact a user asked about is usually one sentence of it. Scoring each
sentence (cosine with the question, from vectors stored at index time, plus how much of the
question's idf-weighted vocabulary it contains) finds that sentence, re-ranks chunks by their
best one, and is what the extractive answerer quotes and the abstention check reads.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from index.lexical import terms
from index.types import Chunk
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


def score_sentences(
    chunk: Chunk, vectors: np.ndarray | None, query_vector: np.ndarray, doc_text: str,
    weighted_terms: Mapping[str, float], coverage_weight: float, window: float = 0.0,
) -> tuple[ScoredSentence, ...]:
    """Every sentence of `chunk`, best first. Without stored vectors, similarity counts as 0."""
    if not chunk.sentences:
        return ()
    if vectors is not None and len(vectors) == len(chunk.sentences):
        similarities = vectors @ query_vector
        if window and len(vectors) > 1:
            # A sentence read with its neighbour: "His focus is only on negotiation" needs the
            # sentence before it to be about Putin.
            pairs = vectors[:-1] + vectors[1:]
            pairs /= np.linalg.norm(pairs, axis=1, keepdims=True) + 1e-9
            pair_sims = pairs @ query_vector
            context = np.maximum(np.append(pair_sims, -1.0), np.insert(pair_sims, 0, -1.0))
            similarities = np.maximum(similarities, window * context + (1 - window) * similarities)
    else:
        similarities = np.zeros(len(chunk.sentences), dtype=np.float32)
    scored = []
    for (a, b, start, end), similarity in zip(chunk.sentences, similarities):
        share = coverage(chunk.text[a:b], weighted_terms)
        scored.append(ScoredSentence(
            quote=doc_text[start:end], start_char=start, end_char=end,
            score=round(float(similarity) + coverage_weight * share, 6),
            similarity=round(float(similarity), 6), coverage=round(share, 4),
        ))
    return tuple(sorted(scored, key=lambda s: (-s.score, s.start_char)))
