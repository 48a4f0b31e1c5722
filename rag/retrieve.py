"""Hybrid retrieval: dense (Chroma) and lexical (BM25) candidates, fused, then re-ranked by sentence.

Fusion is z-scored score fusion by default: it beat reciprocal-rank fusion on our dev questions
and on SciFact (docs/retrieval.md has the comparison; `fusion=rrf` reproduces it). A chunk
missing from one list gets that list's floor (0 for BM25, which is its true score there; the
lowest seen cosine for dense). In hybrid mode the dense side is then asked once more with the
question moved towards the mean sentence vector of the top `prf_depth` fused chunks (Rocchio
pseudo-relevance feedback, `prf_weight`; no new embedding, the vectors are stored) and fused
again: it lifts SciFact and the dev set a little, where the same feedback on the BM25 side lost.
The top `rescore_depth` fused chunks are then re-ranked by adding the z-scored score of their
best sentence (see rag.rescore).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from index.embedders import Embedder
from rag import aliases
from rag.cache import LruCache
from rag.config import RagConfig
from rag.query import Query, analyse
from rag.rescore import Scoring, best_sentence_score, query_terms, score_sentences
from rag.types import Hit, PageRef, pages_over


def zscores(scores: dict[str, float]) -> dict[str, float]:
    if not scores:
        return {}
    values = scores.values()
    mean = sum(values) / len(values)
    spread = math.sqrt(sum((v - mean) ** 2 for v in values) / len(values)) or 1.0
    return {k: (v - mean) / spread for k, v in scores.items()}


def fuse(dense: dict[str, float], lexical: dict[str, float], lexical_weight: float) -> dict[str, float]:
    """z-score fusion: dense z + lexical_weight * lexical z."""
    ids = set(dense) | set(lexical)
    dense_floor = min(dense.values(), default=0.0)
    dense_full = {i: dense.get(i, dense_floor) for i in ids}
    lexical_full = {i: lexical.get(i, 0.0) for i in ids}
    zd, zl = zscores(dense_full), zscores(lexical_full)
    if not dense:
        return zl
    if not lexical:
        return zd
    return {i: zd[i] + lexical_weight * zl[i] for i in ids}


def fuse_rrf(dense: dict[str, float], lexical: dict[str, float], lexical_weight: float, k: int = 60) -> dict[str, float]:
    """Reciprocal-rank fusion, kept for comparison: sum of weight / (k + rank)."""
    fused: dict[str, float] = {}
    for scores, weight in ((dense, 1.0), (lexical, lexical_weight)):
        for rank, cid in enumerate(sorted(scores, key=lambda c: (-scores[c], c)), start=1):
            fused[cid] = fused.get(cid, 0.0) + weight / (k + rank)
    return fused


class Retriever:
    """Wires the embedder (for questions), the vector store, the lexical index and the manifest together."""

    def __init__(self, embedder: Embedder, vectors, lexical, manifest, config: RagConfig) -> None:
        self._embed_query = embedder.embed_query
        self._vectors = vectors
        self._lexical = lexical
        self._manifest = manifest
        self.config = config
        self._doc_texts: LruCache[str, str] = LruCache(256)
        self._doc_pages: LruCache[str, tuple[PageRef, ...]] = LruCache(256)
        # Chunk ids hash the chunk's document, span and text, so a cached row never goes stale;
        # reading the same top chunks from SQLite for every question was a tenth of a search.
        self._chunks: LruCache[str, object] = LruCache(8192)
        self._sentence_vectors: LruCache[str, np.ndarray] = LruCache(4096)

    def search(self, query: str, k: int, mode: str = "hybrid", sources: list[str] | None = None) -> list[Hit]:
        cfg = self.config
        depth = max(k, cfg.candidates)
        query_vector = None
        dense: dict[str, float] = {}
        lexical: dict[str, float] = {}
        if mode in ("hybrid", "dense"):
            query_vector = np.asarray(self._embed_query(query), dtype=np.float32)
            dense = dict(self._vectors.query(query_vector.tolist(), depth, sources))
        if mode in ("hybrid", "lexical") and self._lexical is not None:
            lexical = self._lexical_candidates(query, depth, sources)
        if mode == "dense":
            fused = dense
        elif mode == "lexical":
            fused = lexical
        else:
            fused = self._fuse(dense, lexical)
        ranked = sorted(fused, key=lambda cid: (-fused[cid], cid))
        if cfg.prf_weight and mode == "hybrid" and ranked:
            dense, fused, ranked = self._feedback(query_vector, ranked, dense, fused, lexical, depth, sources)
        rescore = cfg.rescore_depth if mode == "hybrid" and query_vector is not None else 0
        chunks = self._chunks_by_id(ranked[:max(k, rescore) * 2])
        hits = [self._hit(chunks[cid], fused[cid], dense.get(cid), lexical.get(cid))
                for cid in ranked[:max(k, rescore) * 2] if cid in chunks]  # no row: an interrupted run
        weighted, question = self._weighted_terms(query), analyse(query)
        if rescore:
            hits = self._rescore(query_vector, hits[:rescore], chunks, weighted, question) + hits[rescore:]
        hits = _dedupe(hits, k)
        unscored = [h for h in hits if not h.sentences]
        if unscored:  # single-retriever modes and hits below the rescored depth: sentences, same order
            if query_vector is None:
                query_vector = np.asarray(self._embed_query(query), dtype=np.float32)
            scored = self._score(query_vector, unscored, chunks, weighted, question)
            hits = [h if h.sentences else dataclasses.replace(h, sentences=scored[h.chunk_id]) for h in hits]
        return hits

    def _feedback(self, query_vector: np.ndarray, ranked: list[str], dense: dict[str, float],
                  fused: dict[str, float], lexical: dict[str, float], depth: int, sources: list[str] | None):
        """Pseudo-relevance feedback: ask the vector store again with the question moved towards the
        mean sentence vector of the top `prf_depth` fused chunks (Rocchio), then fuse again. The
        hits' `dense_score` is then the cosine with that moved query."""
        cfg = self.config
        vectors = self._vectors_by_id(ranked[:cfg.prf_depth])
        if not vectors:
            return dense, fused, ranked
        centroid = np.concatenate(list(vectors.values())).mean(axis=0)
        moved = query_vector + cfg.prf_weight * centroid
        moved /= np.linalg.norm(moved) or 1.0
        dense = dict(self._vectors.query(moved.tolist(), depth, sources))
        fused = self._fuse(dense, lexical)
        return dense, fused, sorted(fused, key=lambda cid: (-fused[cid], cid))

    def _fuse(self, dense: dict[str, float], lexical: dict[str, float]) -> dict[str, float]:
        cfg = self.config
        if cfg.fusion == "rrf":
            return fuse_rrf(dense, lexical, cfg.lexical_weight, cfg.rrf_k)
        return fuse(dense, lexical, cfg.lexical_weight)

    def _lexical_candidates(self, query: str, depth: int, sources: list[str] | None) -> dict[str, float]:
        wanted = set(sources) if sources else None
        found = self._lexical.search(aliases.expand(query), depth * (4 if wanted else 1))
        if wanted:
            chunks = self._chunks_by_id([cid for cid, _ in found])
            found = [(cid, s) for cid, s in found if cid in chunks and chunks[cid].doc_id in wanted]
        return dict(found[:depth])

    def _hit(self, chunk, score: float, dense: float | None, lexical: float | None, sentences=()) -> Hit:
        return Hit(
            chunk_id=chunk.chunk_id, source=chunk.doc_id, text=chunk.text, start_char=chunk.start_char,
            end_char=chunk.end_char, score=round(score, 6), section=chunk.section,
            dense_score=dense, lexical_score=lexical, sentences=sentences,
            pages=pages_over(self._pages(chunk.doc_id), chunk.start_char, chunk.end_char),
        )

    def _weighted_terms(self, query: str) -> dict[str, float]:
        idf = self._lexical.idf if self._lexical is not None else {}
        unseen = self._lexical.unseen_idf if self._lexical is not None else 1.0
        return query_terms(query, idf, unseen)

    def _score(self, query_vector: np.ndarray, hits: list[Hit], chunks, weighted: dict[str, float],
               question: Query) -> dict:
        """The scored sentences of each hit's chunk, by chunk id."""
        vectors = self._vectors_by_id([h.chunk_id for h in hits])
        scoring = Scoring.of(self.config)
        return {
            h.chunk_id: score_sentences(chunks[h.chunk_id], vectors.get(h.chunk_id), query_vector,
                                        self._doc_text(h.source), weighted, question, scoring)
            for h in hits
        }

    def _rescore(self, query_vector: np.ndarray, hits: list[Hit], chunks, weighted: dict[str, float],
                 question: Query) -> list[Hit]:
        """Re-rank by chunk z + sentence_weight * best-sentence z. Only the best sentence's score is
        computed here; the full scored sentences are built later for the hits actually returned.

        Neighbouring chunks overlap, so two of them often owe their rank to the same sentence;
        the lower one adds nothing new for this question and goes below the rest (kept, not
        dropped, so that k hits can still be filled)."""
        cfg = self.config
        vectors = self._vectors_by_id([h.chunk_id for h in hits])
        scoring = Scoring.of(cfg)
        best = {h.chunk_id: best_sentence_score(chunks[h.chunk_id], vectors.get(h.chunk_id), query_vector, weighted,
                                                question, scoring)
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
        return fresh + repeats

    def _chunks_by_id(self, chunk_ids: list[str]) -> dict:
        return self._chunks.get_many(chunk_ids, self._manifest.chunks_by_id)

    def _vectors_by_id(self, chunk_ids: list[str]) -> dict[str, np.ndarray]:
        return self._sentence_vectors.get_many(chunk_ids, self._manifest.sentence_vectors)

    def similarity(self, a: str, b: str) -> float:
        """Cosine similarity of two short texts under the query embedder."""
        va, vb = (np.asarray(self._embed_query(t), dtype=np.float32) for t in (a, b))
        return float(va @ vb)

    @property
    def vocabulary(self) -> dict[str, float]:
        """Every term of the corpus, with its idf (empty without a lexical index)."""
        return self._lexical.idf if self._lexical is not None else {}

    def doc_text(self, source: str) -> str:
        """The original text of a document, which citations quote (cached: it is read per hit)."""
        return self._doc_text(source)

    def _doc_text(self, source: str) -> str:
        return self._doc_texts.get_or_make(source, lambda: self._manifest.doc_text(source) or "")

    def _pages(self, source: str) -> tuple[PageRef, ...]:
        return self._doc_pages.get_or_make(source, lambda: tuple(
            PageRef(p.number, p.label, p.start, p.end, p.ocr) for p in self._manifest.doc_pages(source)))


def _dedupe(hits: list[Hit], k: int) -> list[Hit]:
    """The first `k` hits whose text does not repeat one ranked above (the same boilerplate in
    several files), numbered."""
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
