"""The eval harness end to end: datasets, `rag eval`, reports, caching and determinism."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eval.dataset import load_beir, load_jsonl
from index.errors import InputError
from tests.conftest import ROOT, SEEDS

SCIFACT = ROOT / "eval" / "data" / "scifact"


def _write(path: Path, lines: list) -> Path:
    path.write_text("\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("line, message", [
    ("{not json", "line 2: not valid JSON"),
    ({"id": "b", "sources": [], "evidence": []}, "line 2: missing field 'question'"),
    ({"id": "b", "question": "q?", "sources": "x.txt", "evidence": []}, "line 2: field 'sources' must be a list"),
    ({"id": "b", "question": "q?", "sources": [], "evidence": [""]}, "line 2: field 'evidence' must be a list of non-empty"),
    ({"id": "a", "question": "q?", "sources": [], "evidence": []}, "line 2: field 'id' repeats 'a'"),
    ({"id": "b", "question": "  ", "sources": [], "evidence": []}, "line 2: field 'question' is empty"),
])
def test_malformed_lines_name_the_line_and_field(tmp_path, line, message):
    good = {"id": "a", "question": "What?", "sources": ["x.txt"], "evidence": ["x"]}
    with pytest.raises(InputError, match=message):
        load_jsonl(_write(tmp_path / "d.jsonl", [good, line]))


def test_beir_loader_gives_graded_cases_and_a_file_corpus(tmp_path):
    dataset = load_beir(SCIFACT, tmp_path, max_queries=5, max_docs=20)
    assert len(dataset.cases) == 5 and dataset.graded
    assert all(case.qrels and all(g > 0 for g in case.qrels.values()) for case in dataset.cases)
    files = {p.stem for p in dataset.corpus.glob("*.txt")}
    assert {doc for case in dataset.cases for doc in case.qrels} <= files
    assert len(files) <= 20 + sum(len(c.qrels) for c in dataset.cases)


def test_rag_eval_writes_table_report_and_charts_and_is_deterministic(cli, tmp_path):
    dataset = _write(tmp_path / "mini.jsonl", [
        {"id": "trump", "question": "How did the US role in the talks change under Trump?",
         "sources": ["004_f82a6b2ea7b39292.txt"], "evidence": ["transformed into a \"neutral mediator,\""]},
        {"id": "kt", "question": "What did KT Chong say Russia would have to abandon?",
         "sources": ["003_3e3242ad02214520.txt"], "evidence": ["Russia will have to abandon BRICS"]},
        {"id": "none", "question": "What is the recipe for banana bread?", "sources": [], "evidence": []},
    ])
    env = {"RAG_DATA_DIR": tmp_path / "data"}
    args = ["eval", dataset, "--corpus", SEEDS, "--out", tmp_path / "out",
            "--config", "dense:retrieval_mode=dense", "--config", "lexical:retrieval_mode=lexical",
            "--config", "hybrid"]
    first = cli(*args, env=env)
    assert first.code == 0, first.err
    assert "| config | hit@1" in first.out and "| hybrid |" in first.out
    out = tmp_path / "out"
    for name in ("results.json", "report.md", "quality.png", "latency.png"):
        assert (out / name).stat().st_size > 0, name
    report = (out / "report.md").read_text()
    assert "**" in report and "`retrieval_mode=dense`" in report
    results = json.loads((out / "results.json").read_text())
    hybrid = next(c for c in results["configs"] if c["name"] == "hybrid")
    assert hybrid["metrics"]["cases"] == 2 and hybrid["metrics"]["hit@5"] == 1.0
    assert {r["id"] for r in hybrid["per_case"]} == {"trump", "kt", "none"}

    second = cli(*args, "--json", env=env)
    again = second.json()
    quality = lambda m: {k: v for k, v in m.items() if not k.endswith("_ms")}  # noqa: E731
    assert {n: quality(m) for n, m in again.items()} == {c["name"]: quality(c["metrics"]) for c in results["configs"]}


def test_embedding_cache_makes_a_new_index_embed_nothing_new(tmp_path):
    from index.embed_cache import EmbeddingCache

    calls = []

    def compute(texts):
        import numpy as np

        calls.append(list(texts))
        return np.ones((len(texts), 3), dtype="float32") * len(calls)

    cache = EmbeddingCache(tmp_path / "cache.sqlite")
    first = cache.embed("m", ["a", "b"], compute)
    second = cache.embed("m", ["b", "a", "c"], compute)
    assert calls == [["a", "b"], ["c"]]
    assert (second[0] == first[1]).all() and (second[2] == 2).all()
    assert len(cache.embed("other-model", ["a"], compute)) == 1 and calls[-1] == ["a"]


def test_unknown_setting_in_config_is_a_clear_error(cli, tmp_path):
    dataset = _write(tmp_path / "d.jsonl", [{"id": "a", "question": "q?", "sources": [], "evidence": []}])
    result = cli("eval", dataset, "--config", "x:retrival_mode=dense", env={"RAG_DATA_DIR": tmp_path / "d"})
    assert result.code == 2 and "retrival_mode" in result.err


def test_scifact_slice_runs_and_scores_sensibly(cli, tmp_path):
    result = cli("eval", SCIFACT, "--max-queries", "25", "--max-docs", "150", "--out", tmp_path / "out",
                 "--config", "hybrid", "--config", "lexical:retrieval_mode=lexical", "--json",
                 env={"RAG_DATA_DIR": tmp_path / "data"})
    assert result.code == 0, result.err
    scores = result.json()
    for name in ("hybrid", "lexical"):
        assert scores[name]["cases"] == 25
        assert 0.5 < scores[name]["ndcg@10"] <= 1.0 and 0.7 < scores[name]["recall@100"] <= 1.0
    report = (tmp_path / "out" / "report.md").read_text()
    assert "Published nDCG@10" in report and "0.665" in report
