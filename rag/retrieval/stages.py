"""Retrieval as a list of stages, each doing one thing to a `Search` (as llama-index runs its node
postprocessors), chosen by mode from one table (`stages_for`).

Hybrid, the default: dense and lexical (BM25) candidates, fused; the dense side asked once more
with the question moved towards the mean sentence vector of the top `prf_depth` fused chunks
(Rocchio pseudo-relevance feedback, `prf_weight`: no new embedding, the vectors are stored) and
fused again; the top `rescore_depth` chunks re-ranked by their best sentence (rag.rescore); an
optional reranker (`RAG_RERANKER`, a cross-encoder) over the top `rerank_depth`; passages whose
text repeats one ranked above dropped; each passage's sentences scored for the answerers. The
single-retriever modes skip fusion, feedback and rescoring.

A stage is an object with `run(search)`; another (a filter, a second reranker) is one class and
one entry in `stages_for`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from rag.config import RagConfig
from rag.query import Query, analyse
from rag.rescore import Scoring, best_sentence_score, score_sentences
from rag.retrieval.fusion import fuse, fuse_rrf, ranked, zscores
from rag.retrieval.rerank import Reranker
from rag.types import Hit


class SearchIndex(Protocol):
    """What the stages read of the opened index (rag.retrieval.Retriever)."""

    vectors: object  # index.vectors.VectorStore: search(query_vector, k, sources)

    def embed_query(self, text: str) -> np.ndarray: ...
    def lexical_candidates(self, query: str, depth: int, sources: list[str] | None) -> dict[str, float]: ...
    def hit(self, chunk, score: float, dense: float | None, lexical: float | None) -> Hit: ...
    def weighted_terms(self, query: str) -> dict[str, float]: ...
    def chunks_by_id(self, chunk_ids: list[str]) -> dict: ...
    def sentence_vectors(self, chunk_ids: list[str]) -> dict[str, np.ndarray]: ...
    def doc_text(self, source: str) -> str: ...


@dataclass
class Search:
    """One search on its way through the stages: the question, and what each stage left for the
    next (candidate scores by chunk id, the ranking, the chunks read, the hits)."""

    query: str
    k: int
    sources: list[str] | None
    index: SearchIndex  # the opened index: vectors, BM25, the manifest's chunks and sentence vectors
    depth: int  # candidates asked of each retriever
    vector: np.ndarray | None = None
    dense: dict[str, float] = field(default_factory=dict)
    lexical: dict[str, float] = field(default_factory=dict)
    fused: dict[str, float] = field(default_factory=dict)
    ranking: list[str] = field(default_factory=list)
    chunks: dict = field(default_factory=dict)
    hits: list[Hit] = field(default_factory=list)
    _terms: dict[str, float] | None = None
    _question: Query | None = None

    def query_vector(self) -> np.ndarray:
        if self.vector is None:
            self.vector = np.asarray(self.index.embed_query(self.query), dtype=np.float32)
        return self.vector

    @property
    def terms(self) -> dict[str, float]:
        """The question's BM25 terms with their idf."""
        if self._terms is None:
            self._terms = self.index.weighted_terms(self.query)
        return self._terms

    @property
    def question(self) -> Query:
        if self._question is None:
            self._question = analyse(self.query)
        return self._question


class Stage(Protocol):
    def run(self, search: Search) -> None: ...


class DenseCandidates:
    def run(self, search: Search) -> None:
        search.dense = dict(search.index.vectors.search(search.query_vector().tolist(), search.depth, search.sources))


class LexicalCandidates:
    def run(self, search: Search) -> None:
        search.lexical = search.index.lexical_candidates(search.query, search.depth, search.sources)


class Fusion:
    def __init__(self, config: RagConfig) -> None:
        self.config = config

    def run(self, search: Search) -> None:
        search.fused = fused(self.config, search.dense, search.lexical)
        search.ranking = ranked(search.fused)


class OneSide:
    """A single retriever's scores are the ranking (the dense-only and lexical-only modes)."""

    def __init__(self, side: str) -> None:
        self.side = side

    def run(self, search: Search) -> None:
        search.fused = getattr(search, self.side)
        search.ranking = ranked(search.fused)


class Feedback:
    """Pseudo-relevance feedback: the dense side asked again with the question moved towards the
    mean sentence vector of the top `prf_depth` fused chunks (Rocchio), then fused again. The
    hits' `dense_score` is then the cosine with that moved query."""

    def __init__(self, config: RagConfig) -> None:
        self.config = config

    def run(self, search: Search) -> None:
        cfg = self.config
        if not cfg.prf_weight or not search.ranking:
            return
        vectors = search.index.sentence_vectors(search.ranking[:cfg.prf_depth])
        if not vectors:
            return
        centroid = np.concatenate(list(vectors.values())).mean(axis=0)
        moved = search.query_vector() + cfg.prf_weight * centroid
        moved /= np.linalg.norm(moved) or 1.0
        search.dense = dict(search.index.vectors.search(moved.tolist(), search.depth, search.sources))
        search.fused = fused(cfg, search.dense, search.lexical)
        search.ranking = ranked(search.fused)


class Hits:
    """The ranked chunks read from the manifest as hits: twice as many as will be kept (or as the
    rescoring reads), so that dropping repeats can still fill k. A chunk with no row (an
    interrupted run's) is left out."""

    def __init__(self, rescored: int = 0) -> None:
        self.rescored = rescored

    def run(self, search: Search) -> None:
        wanted = search.ranking[:max(search.k, self.rescored) * 2]
        search.chunks = search.index.chunks_by_id(wanted)
        search.hits = [search.index.hit(search.chunks[cid], search.fused[cid], search.dense.get(cid),
                                        search.lexical.get(cid)) for cid in wanted if cid in search.chunks]


class Rescore:
    """The top `rescore_depth` hits re-ranked by chunk z + sentence_weight * best-sentence z. Only
    the best sentence's score is computed here; `Sentences` scores them all for the hits kept.

    Neighbouring chunks overlap, so two of them often owe their rank to the same sentence; the
    lower one adds nothing new for this question and goes below the rest (kept, not dropped, so
    that k hits can still be filled)."""

    def __init__(self, config: RagConfig) -> None:
        self.config = config

    def run(self, search: Search) -> None:
        cfg = self.config
        if not cfg.rescore_depth:
            return
        hits, rest = search.hits[:cfg.rescore_depth], search.hits[cfg.rescore_depth:]
        vectors = search.index.sentence_vectors([h.chunk_id for h in hits])
        scoring = Scoring.of(cfg)
        best = {h.chunk_id: best_sentence_score(search.chunks[h.chunk_id], vectors.get(h.chunk_id), search.query_vector(),
                                                search.terms, search.question, scoring)
                for h in hits}
        z_chunk = zscores({h.chunk_id: h.score for h in hits})
        z_best = zscores({cid: score for cid, (score, _) in best.items()})
        final = {cid: z_chunk[cid] + cfg.sentence_weight * z_best[cid] for cid in z_chunk}
        rescored = sorted((dataclasses.replace(h, score=round(final[h.chunk_id], 6)) for h in hits),
                          key=lambda h: (-h.score, h.chunk_id))
        seen: set[tuple[str, tuple[int, int]]] = set()
        fresh, repeats = [], []
        for hit in rescored:
            key = (hit.source, best[hit.chunk_id][1])
            (repeats if key in seen else fresh).append(hit)
            seen.add(key)
        search.hits = fresh + repeats + rest


class Rerank:
    """The top `depth` hits re-ordered by a reranker's score of (question, passage); the score it
    gives is the hit's score from here on."""

    def __init__(self, reranker: Reranker, depth: int) -> None:
        self.reranker = reranker
        self.depth = depth

    def run(self, search: Search) -> None:
        top, rest = search.hits[:self.depth], search.hits[self.depth:]
        if not top:
            return
        scores = self.reranker.score(search.query, [h.text for h in top])
        order = sorted(range(len(top)), key=lambda i: (-scores[i], top[i].chunk_id))
        search.hits = [dataclasses.replace(top[i], score=round(float(scores[i]), 6)) for i in order] + rest


class Dedupe:
    """The first k hits whose text does not repeat one ranked above (the same boilerplate in
    several files), numbered."""

    def run(self, search: Search) -> None:
        search.hits = dedupe(search.hits, search.k)


class Sentences:
    """Each hit's sentences scored against the question (what the answerers quote), for the hits
    the rescoring did not score: all of them in the single-retriever modes."""

    def __init__(self, config: RagConfig) -> None:
        self.config = config

    def run(self, search: Search) -> None:
        unscored = [h for h in search.hits if not h.sentences]
        if not unscored:
            return
        vectors = search.index.sentence_vectors([h.chunk_id for h in unscored])
        scoring = Scoring.of(self.config)
        scored = {h.chunk_id: score_sentences(search.chunks[h.chunk_id], vectors.get(h.chunk_id), search.query_vector(),
                                              search.index.doc_text(h.source), search.terms, search.question, scoring)
                  for h in unscored}
        search.hits = [h if h.sentences else dataclasses.replace(h, sentences=scored[h.chunk_id]) for h in search.hits]


def stages_for(mode: str, config: RagConfig, reranker: Reranker | None = None) -> Sequence[Stage]:
    """The stages a search in `mode` runs, in order."""
    reranking = [Rerank(reranker, config.rerank_depth)] if reranker is not None else []
    finish = [*reranking, Dedupe(), Sentences(config)]
    if mode == "dense":
        return [DenseCandidates(), OneSide("dense"), Hits(), *finish]
    if mode == "lexical":
        return [LexicalCandidates(), OneSide("lexical"), Hits(), *finish]
    return [DenseCandidates(), LexicalCandidates(), Fusion(config), Feedback(config), Hits(config.rescore_depth),
            Rescore(config), *finish]


def fused(config: RagConfig, dense: dict[str, float], lexical: dict[str, float]) -> dict[str, float]:
    if config.fusion == "rrf":
        return fuse_rrf(dense, lexical, config.lexical_weight, config.rrf_k)
    return fuse(dense, lexical, config.lexical_weight)


def dedupe(hits: list[Hit], k: int) -> list[Hit]:
    seen: set[str] = set()
    unique: list[Hit] = []
    for hit in hits:
        if len(unique) == k:
            break
        key = " ".join(hit.text.split()).casefold()
        if key in seen:
            continue
        seen.add(key)
        unique.append(Hit(**{**hit.__dict__, "rank": len(unique) + 1}))
    return unique
