"""Hybrid retrieval: dense (Chroma) and lexical (BM25) candidates, fused by z-scored scores.

Score fusion rather than reciprocal-rank fusion because it measured better on both our dev
questions and SciFact (see docs/); a chunk missing from one list gets that list's floor (0 for
BM25, which is its true score there; the lowest seen cosine for dense).
"""

from __future__ import annotations

import statistics
from collections.abc import Callable

from rag.types import Hit


def zscores(scores: dict[str, float]) -> dict[str, float]:
    if not scores:
        return {}
    values = list(scores.values())
    mean = statistics.fmean(values)
    spread = statistics.pstdev(values) or 1.0
    return {k: (v - mean) / spread for k, v in scores.items()}


def fuse(dense: dict[str, float], lexical: dict[str, float], lexical_weight: float) -> dict[str, float]:
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


class Retriever:
    """Wires a query embedder, the vector store, the lexical index and the manifest together."""

    def __init__(self, embed_query: Callable[[str], list[float]], vectors, lexical, manifest,
                 candidates: int, lexical_weight: float) -> None:
        self._embed_query = embed_query
        self._vectors = vectors
        self._lexical = lexical
        self._manifest = manifest
        self.candidates = candidates
        self.lexical_weight = lexical_weight

    def search(self, query: str, k: int, mode: str = "hybrid", sources: list[str] | None = None) -> list[Hit]:
        depth = max(k, self.candidates)
        dense: dict[str, float] = {}
        lexical: dict[str, float] = {}
        if mode in ("hybrid", "dense"):
            dense = dict(self._vectors.query(self._embed_query(query), depth, sources))
        if mode in ("hybrid", "lexical") and self._lexical is not None:
            wanted = set(sources) if sources else None
            found = self._lexical.search(query, depth * (4 if wanted else 1))
            if wanted:
                chunks = self._manifest.chunks_by_id([cid for cid, _ in found])
                found = [(cid, s) for cid, s in found if cid in chunks and chunks[cid].doc_id in wanted]
            lexical = dict(found[:depth])
        if mode == "dense":
            fused = dense
        elif mode == "lexical":
            fused = lexical
        else:
            fused = fuse(dense, lexical, self.lexical_weight)
        ranked = sorted(fused, key=lambda cid: (-fused[cid], cid))[:k]
        chunks = self._manifest.chunks_by_id(ranked)
        hits = []
        for cid in ranked:
            chunk = chunks.get(cid)
            if chunk is None:  # vector without a manifest row: a run was interrupted; skip it
                continue
            hits.append(Hit(
                chunk_id=cid, source=chunk.doc_id, text=chunk.text, start_char=chunk.start_char,
                end_char=chunk.end_char, score=round(fused[cid], 6), section=chunk.section,
                rank=len(hits) + 1, dense_score=dense.get(cid), lexical_score=lexical.get(cid),
            ))
        return hits
