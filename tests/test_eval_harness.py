"""The eval harness end to end: datasets, `rag eval`, reports, caching and determinism."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from eval.dataset import doc_id_of, load_beir, load_jsonl
from index.errors import InputError
from tests.conftest import ROOT, SEEDS

SHARED_SCIFACT = ROOT.parent / "shared" / "data" / "scifact"  # our copy beside the checkout (CI has it)

# A BEIR-format dataset small enough to write here: four documents, three graded queries.
TINY_CORPUS = [
    {"_id": "d1", "title": "Sourdough", "text": "A sourdough starter is a culture of flour, water and wild yeast."},
    {"_id": "d2", "title": "Baking bread", "text": "Bread is baked at a high heat until the crust is brown."},
    {"_id": "d3", "title": "Glaciers", "text": "Glaciers carve valleys as the ice slowly moves downhill."},
    {"_id": "d4", "title": "Volcanoes", "text": "Lava flows from volcanoes cool into new basalt rock."},
]
TINY_QUERIES = [{"_id": "q1", "text": "what is a sourdough starter made of"},
                {"_id": "q2", "text": "how do glaciers shape valleys"},
                {"_id": "q3", "text": "what rock forms when lava cools"}]
TINY_QRELS = [("q1", "d1", 2), ("q1", "d2", 1), ("q2", "d3", 1), ("q3", "d4", 1)]


def write_beir(folder: Path) -> Path:
    (folder / "qrels").mkdir(parents=True)
    _write(folder / "corpus.jsonl", TINY_CORPUS)
    _write(folder / "queries.jsonl", TINY_QUERIES)
    (folder / "qrels" / "test.tsv").write_text(
        "query-id\tcorpus-id\tscore\n" + "".join(f"{q}\t{d}\t{g}\n" for q, d, g in TINY_QRELS), encoding="utf-8")
    return folder


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
    dataset = load_beir(write_beir(tmp_path / "tiny"), tmp_path / "cache", max_queries=2, max_docs=1)
    assert [c.id for c in dataset.cases] == ["q1", "q2"] and dataset.graded
    assert dataset.cases[0].qrels == {"d1": 2, "d2": 1}
    files = {p.stem: p.read_text(encoding="utf-8") for p in dataset.corpus.glob("*.txt")}
    assert {"d1", "d2", "d3"} <= set(files) and len(files) <= 4  # the relevant ones, plus at most one other
    assert files["d1"] == "Sourdough\n\nA sourdough starter is a culture of flour, water and wild yeast.\n"


def test_a_beir_document_id_is_never_a_path(tmp_path):
    folder = write_beir(tmp_path / "tiny")
    outside = tmp_path / "pwned"
    hostile = [*TINY_CORPUS, {"_id": f"../../../{outside.name}", "title": "x", "text": "escape"},
               {"_id": str(outside), "title": "x", "text": "absolute"}, {"_id": ".hidden", "text": "a dot"}]
    _write(folder / "corpus.jsonl", hostile)
    dataset = load_beir(folder, tmp_path / "cache")
    assert not outside.exists() and not list(tmp_path.glob("pwned*"))
    written = sorted(p.name for p in dataset.corpus.iterdir() if p.name != ".complete")
    assert all("/" not in name and not name.startswith(".") for name in written)
    assert {doc_id_of(name) for name in written} == {d["_id"] for d in hostile}  # read back exactly


def test_an_edited_beir_corpus_is_written_again(tmp_path):
    folder = write_beir(tmp_path / "tiny")
    first = load_beir(folder, tmp_path / "cache").corpus
    _write(folder / "corpus.jsonl", [{**TINY_CORPUS[0], "text": "Rye flour only."}, *TINY_CORPUS[1:]])
    second = load_beir(folder, tmp_path / "cache").corpus
    assert second != first and "Rye flour only." in (second / "d1.txt").read_text(encoding="utf-8")


@pytest.mark.parametrize("damage, message", [
    (lambda f: (f / "queries.jsonl").write_bytes(b'{"_id": "q1", "text": "caf\xe9"}\n'), "queries.jsonl is not UTF-8"),
    (lambda f: (f / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td1\thigh\n"),
     "test.tsv, line 2: expected query-id, corpus-id and a whole-number score"),
    (lambda f: _write(f / "queries.jsonl", [{"_id": "q1"}]), "queries.jsonl, line 1: needs a string '_id' and 'text'"),
    (lambda f: _write(f / "corpus.jsonl", [{"title": "no id"}]), "corpus.jsonl, line 1: '_id' must be a string"),
])
def test_a_damaged_beir_folder_is_one_clear_error(tmp_path, damage, message):
    folder = write_beir(tmp_path / "tiny")
    damage(folder)
    with pytest.raises(InputError, match=re.escape(message)):
        load_beir(folder, tmp_path / "cache")


def test_a_question_set_that_is_not_utf8_is_one_clear_error(tmp_path):
    path = tmp_path / "q.jsonl"
    path.write_bytes(b'{"id": "a", "question": "caf\xe9?", "sources": [], "evidence": []}\n')
    with pytest.raises(InputError, match="is not UTF-8 text"):
        load_jsonl(path)


def test_rag_eval_on_a_beir_folder_scores_graded_ndcg(cli, tmp_path):
    from eval.metrics import ndcg_at_k

    result = cli("eval", write_beir(tmp_path / "tiny"), "--out", tmp_path / "out", "--json",  # the harness, not the model:
                 env={"RAG_DATA_DIR": tmp_path / "data", "RAG_EMBED_MODEL": "fake"})  # the hashing stand-in embeds
    assert result.code == 0, result.err
    scores = result.json()["default"]
    assert scores["cases"] == 3 and scores["recall@100"] == 1.0  # four documents: every one is retrieved
    rows = json.loads((tmp_path / "out" / "results.json").read_text())["configs"][0]["per_case"]
    qrels = {q: {d: g for qq, d, g in TINY_QRELS if qq == q} for q, _, _ in TINY_QRELS}
    assert [r["top_docs"][0] for r in rows] == ["d1", "d3", "d4"]  # each query's best document first
    assert scores["ndcg@10"] == pytest.approx(sum(ndcg_at_k(r["top_docs"], qrels[r["id"]]) for r in rows) / 3, abs=1e-4)


@pytest.mark.slow
def test_rag_eval_writes_table_report_and_charts_and_is_deterministic(cli, tmp_path):
    dev = _write(tmp_path / "mini_dev.jsonl", [
        {"id": "trump", "question": "How did the US role in the talks change under Trump?", "kind": "fact",
         "sources": ["004_f82a6b2ea7b39292.txt"], "evidence": ["transformed into a \"neutral mediator,\""]},
        {"id": "none", "question": "What is the recipe for banana bread?", "sources": [], "evidence": [],
         "kind": "unanswerable"},
    ])
    test = _write(tmp_path / "mini_test.jsonl", [
        {"id": "kt", "question": "What did KT Chong say Russia would have to abandon?", "kind": "comment",
         "sources": ["003_3e3242ad02214520.txt"], "evidence": ["Russia will have to abandon BRICS"]},
    ])
    env = {"RAG_DATA_DIR": tmp_path / "data"}
    args = ["eval", dev, test, "--corpus", SEEDS, "--out", tmp_path / "out",
            "--config", "dense:retrieval_mode=dense", "--config", "lexical:retrieval_mode=lexical",
            "--config", "hybrid"]
    first = cli(*args, env=env)
    assert first.code == 0, first.err
    header = first.out.splitlines()[0]
    assert header.startswith("| metric |") and "hybrid · mini_dev" in header and "hybrid · mini_test" in header
    assert "| answer_evidence |" in first.out and "| first_sentence_evidence |" in first.out
    out = tmp_path / "out"
    for name in ("results.json", "report.md", "quality.png", "latency.png"):
        assert (out / name).stat().st_size > 0, name
    report = (out / "report.md").read_text()
    assert "**" in report and "`retrieval_mode=dense`" in report
    assert "## By kind of question: hybrid (mini_dev / mini_test)" in report and "| comment | 0 / 1 |" in report
    results = json.loads((out / "results.json").read_text())
    hybrid = next(c for c in results["configs"] if c["name"] == "hybrid")
    assert hybrid["metrics"]["cases"] == 2 and hybrid["metrics"]["hit@5"] == 1.0
    assert hybrid["splits"]["mini_dev"]["cases"] == 1 and hybrid["splits"]["mini_test"]["cases"] == 1
    assert hybrid["splits"]["mini_dev"]["unanswerable_abstained"] == 1.0
    assert {r["id"] for r in hybrid["per_case"]} == {"trump", "kt", "none"}
    assert all(r["quotes_exact"] for r in hybrid["per_case"] if r["quotes_exact"] is not None)

    second = cli(*args, "--json", env=env)
    again = second.json()
    quality = lambda m: {k: v for k, v in m.items() if not k.endswith("_ms") and k != "splits"}  # noqa: E731
    assert {n: quality(m) for n, m in again.items()} == {c["name"]: quality(c["metrics"]) for c in results["configs"]}
    assert set(again["hybrid"]["splits"]) == {"mini_dev", "mini_test"}


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


@pytest.mark.skipif(not SHARED_SCIFACT.exists(), reason=f"needs BEIR SciFact at {SHARED_SCIFACT} (present on CI); "
                    "elsewhere `rag eval scifact` downloads it")
@pytest.mark.slow
def test_scifact_slice_runs_and_scores_sensibly(cli, tmp_path):
    result = cli("eval", SHARED_SCIFACT, "--max-queries", "25", "--max-docs", "150", "--out", tmp_path / "out",
                 "--config", "hybrid", "--config", "lexical:retrieval_mode=lexical", "--json",
                 env={"RAG_DATA_DIR": tmp_path / "data"})
    assert result.code == 0, result.err
    scores = result.json()
    for name in ("hybrid", "lexical"):
        assert scores[name]["cases"] == 25
        assert 0.5 < scores[name]["ndcg@10"] <= 1.0 and 0.7 < scores[name]["recall@100"] <= 1.0
    report = (tmp_path / "out" / "report.md").read_text()
    assert "Published nDCG@10" in report and "0.665" in report


@pytest.fixture
def beir_server(tmp_path, monkeypatch):
    """A local HTTP server holding `tiny.zip` (a BEIR zip as the UKP mirror lays it out: one top
    folder), `broken.zip` (its first half, checksum and all: not a zip), `changed.zip` (not what the
    checksum says) and `cut.zip` (a transfer that breaks off), registered as known datasets."""
    import hashlib
    import http.server
    import shutil
    import threading
    import zipfile
    from functools import partial

    from eval import beir

    site = tmp_path / "site"
    site.mkdir()
    source = write_beir(tmp_path / "tiny")
    with zipfile.ZipFile(site / "tiny.zip", "w") as zipped:
        for path in source.rglob("*"):
            zipped.write(path, f"tiny/{path.relative_to(source)}")
        zipped.writestr("../escape.txt", "outside")  # a hostile member: never written
    data = (site / "tiny.zip").read_bytes()
    (site / "broken.zip").write_bytes(data[: len(data) // 2])
    for name in ("tiny", "broken"):
        monkeypatch.setitem(beir.CHECKSUMS, name, hashlib.md5((site / f"{name}.zip").read_bytes()).hexdigest())
    monkeypatch.setitem(beir.CHECKSUMS, "cut", beir.CHECKSUMS["tiny"])
    monkeypatch.setitem(beir.CHECKSUMS, "changed", "0" * 32)
    shutil.copy(site / "tiny.zip", site / "changed.zip")
    class Handler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            if self.path != "/cut.zip":
                return super().do_GET()
            self.send_response(200)  # promises the whole file, sends half, hangs up
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[: len(data) // 2])

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(Handler, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_a_beir_name_is_downloaded_once_verified_and_then_read_offline(cli, tmp_path, beir_server):
    env = {"RAG_DATA_DIR": tmp_path / "data", "RAG_CACHE_DIR": tmp_path / "cache", "RAG_BEIR_URL": beir_server}
    result = cli("eval", "tiny", "--out", tmp_path / "out", "--json", env=env)
    assert result.code == 0, result.err
    assert result.json()["default"]["cases"] == 3
    cached = tmp_path / "cache" / "beir" / "tiny"
    assert sorted(p.relative_to(cached).as_posix() for p in cached.rglob("*") if p.is_file()) == [
        ".complete", "corpus.jsonl", "qrels/test.tsv", "queries.jsonl"]
    assert not list(tmp_path.rglob("escape.txt"))
    offline = {**env, "RAG_BEIR_URL": "http://127.0.0.1:9"}  # nothing listens there
    again = cli("eval", "tiny", "--out", tmp_path / "out2", "--json", env=offline)
    assert again.code == 0, again.err


@pytest.mark.parametrize("name, message", [
    ("broken", "not a zip file"),
    ("cut", "broke off after"),
    ("changed", "corrupt or changed upstream"),  # what arrives is not what BEIR published
    ("nosuch", r"dataset not found: nosuch \(BEIR names: arguana"),
])
def test_a_bad_download_is_one_clear_line_and_leaves_nothing(cli, tmp_path, beir_server, name, message):
    import re

    env = {"RAG_DATA_DIR": tmp_path / "data", "RAG_CACHE_DIR": tmp_path / "cache", "RAG_BEIR_URL": beir_server}
    result = cli("eval", name, "--out", tmp_path / "out", env=env)
    assert result.code == 2 and re.search(message, result.err), result.err
    assert result.err.count("\n") == 1 and "Traceback" not in result.err
    assert not (tmp_path / "cache" / "beir" / name).exists()
    assert not [p for p in (tmp_path / "cache").rglob("*") if p.is_file()]


def test_no_network_is_a_clear_line(cli, tmp_path):
    env = {"RAG_DATA_DIR": tmp_path / "data", "RAG_CACHE_DIR": tmp_path / "cache", "RAG_BEIR_URL": "http://127.0.0.1:9"}
    result = cli("eval", "scifact", env=env)
    assert result.code == 2 and "cannot download" in result.err and "BEIR folder" in result.err
