"""Fusion and de-duplication on hand-computed cases (the dev-set tests measure them end to end)."""

from __future__ import annotations

import pytest

from rag.retrieval.fusion import fuse, fuse_rrf, zscores
from rag.retrieval.stages import dedupe as _dedupe
from rag.types import Hit


def test_zscores_centre_and_scale():
    z = zscores({"a": 1.0, "b": 2.0, "c": 3.0})
    assert z["b"] == pytest.approx(0.0)
    assert z["a"] == pytest.approx(-z["c"]) and z["c"] == pytest.approx(1.2247, abs=1e-4)
    assert zscores({"a": 5.0, "b": 5.0}) == {"a": 0.0, "b": 0.0}  # no spread: no division by zero


def test_score_fusion_gives_a_missing_chunk_each_lists_floor():
    dense = {"a": 0.9, "b": 0.5}
    lexical = {"b": 12.0, "c": 6.0}
    fused = fuse(dense, lexical, lexical_weight=0.5)
    zd = zscores({"a": 0.9, "b": 0.5, "c": 0.5})  # c takes dense's lowest cosine
    zl = zscores({"a": 0.0, "b": 12.0, "c": 6.0})  # a takes BM25's true score there, 0
    assert fused == pytest.approx({k: zd[k] + 0.5 * zl[k] for k in "abc"})
    assert fuse(dense, {}, 0.5) == pytest.approx(zscores(dense))


def test_rrf_sums_weighted_reciprocal_ranks():
    fused = fuse_rrf({"a": 0.9, "b": 0.5}, {"b": 12.0, "c": 6.0}, lexical_weight=1.0, k=60)
    assert fused["b"] == pytest.approx(1 / 62 + 1 / 61)
    assert fused["a"] == pytest.approx(1 / 61) and fused["c"] == pytest.approx(1 / 62)


def _hit(cid: str, text: str) -> Hit:
    return Hit(chunk_id=cid, source=f"{cid}.txt", text=text, start_char=0, end_char=len(text), score=1.0)


def test_dedupe_drops_repeated_text_and_numbers_what_is_left():
    hits = [_hit("a", "Powered by  WordPress"), _hit("b", "powered by wordpress"), _hit("c", "Real text."),
            _hit("d", "More text.")]
    kept = _dedupe(hits, k=2)
    assert [(h.chunk_id, h.rank) for h in kept] == [("a", 1), ("c", 2)]
