"""The dev set is honest: every evidence string occurs verbatim in the file it names."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from eval.dataset import load_jsonl
from tests.conftest import ROOT, SEEDS

DEV = ROOT / "eval" / "data" / "seeds_dev.jsonl"
CASES = load_jsonl(DEV)
KINDS = {"fact", "paraphrase", "paraphrased_article", "comments", "multi_doc", "unanswerable"}


@pytest.mark.parametrize("case", [c for c in CASES if c.evidence], ids=lambda c: c.id)
def test_evidence_is_verbatim_in_its_sources(case):
    texts = {s: (SEEDS / s).read_text(encoding="utf-8") for s in case.sources}
    for evidence in case.evidence:
        assert any(evidence in t for t in texts.values()), f"{case.id}: {evidence!r} not in {case.sources}"
    if case.kind == "multi_doc":
        assert len(case.sources) >= 2
        for source, text in texts.items():
            assert any(e in text for e in case.evidence), f"{case.id}: no evidence from {source}"


def test_shape_of_the_dev_set():
    assert len(CASES) >= 60
    kinds = Counter(c.kind for c in CASES)
    assert set(kinds) == KINDS, kinds
    unanswerable = [c for c in CASES if c.kind == "unanswerable"]
    assert len(unanswerable) >= 8 and all(not c.evidence and not c.sources for c in unanswerable)
    assert all(c.evidence and c.sources for c in CASES if c.kind != "unanswerable")
    used = {s for c in CASES for s in c.sources}
    assert used == {p.name for p in SEEDS.iterdir()}
    raw = [json.loads(line) for line in DEV.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert all("reference_answer" in r for r in raw)
