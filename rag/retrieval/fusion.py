"""Fusing the dense and lexical candidate lists into one ranking.

z-scored score fusion is the default: it beat reciprocal-rank fusion on our dev questions and on
SciFact (docs/retrieval.md has the comparison; `fusion=rrf` reproduces it). A chunk missing from
one list gets that list's floor (0 for BM25, which is its true score there; the lowest seen
cosine for dense).
"""

from __future__ import annotations

import math


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


def ranked(scores: dict[str, float]) -> list[str]:
    """Ids by score, best first; ties by id, so a ranking never depends on dict order."""
    return sorted(scores, key=lambda cid: (-scores[cid], cid))
