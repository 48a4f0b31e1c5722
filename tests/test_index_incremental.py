"""Re-indexing embeds only what changed, removes what was deleted, and never duplicates."""

from __future__ import annotations

import shutil

import pytest

from index.manifest import Manifest
from tests.conftest import TRUMP_QUESTION


def _chroma_ids(data_dir):
    from index.vectors import VectorStore, connect

    store = VectorStore(connect(data_dir, None), "rag-chunks")
    store.open(None, None, create=False)
    return store.ids()


def _manifest_ids(data_dir):
    manifest = Manifest(data_dir / "manifest.sqlite", readonly=True)
    try:
        return manifest.chunk_ids()
    finally:
        manifest.close()


def test_incremental_reindex(cli, corpus, tmp_path):
    env = {"RAG_DATA_DIR": tmp_path / "data", "RAG_EMBED_MODEL": "fake"}  # bookkeeping: any vectors do
    first = cli("index", corpus, "--json", env=env)
    assert first.code == 0, first.err
    summary = first.json()
    assert len(summary["added"]) == 5 and summary["chunks_written"] == summary["chunks_total"] > 50
    total = summary["chunks_total"]

    again = cli("index", corpus, "--json", env=env).json()
    assert again["chunks_written"] == 0 and again["unchanged"] == 5 and not again["added"]

    target = corpus / "002_52652048721d3da2.txt"
    before = {c for c in _manifest_ids(tmp_path / "data")}
    target.write_text(target.read_text(encoding="utf-8") + "\n\nA new closing paragraph about Geneva.\n",
                      encoding="utf-8")
    changed = cli("index", corpus, "--json", env=env).json()
    assert changed["changed"] == ["002_52652048721d3da2.txt"] and changed["unchanged"] == 4
    manifest = Manifest(tmp_path / "data" / "manifest.sqlite", readonly=True)
    own = manifest.chunk_ids(["002_52652048721d3da2.txt"])
    manifest.close()
    assert changed["chunks_written"] == len(own), "only the changed file's chunks are re-embedded"
    after = _manifest_ids(tmp_path / "data")
    assert after - before <= own
    assert _chroma_ids(tmp_path / "data") == after

    (corpus / "001_6930dc61861687c8.txt").unlink()
    removed = cli("index", corpus, "--json", env=env).json()
    assert removed["removed"] == ["001_6930dc61861687c8.txt"] and removed["chunks_deleted"] > 0
    assert _chroma_ids(tmp_path / "data") == _manifest_ids(tmp_path / "data")
    hits = cli("search", "Putin’s reward is to be told by Trump to stop fighting", "--json", "-k", "10", env=env).json()
    assert all(h["source"] != "001_6930dc61861687c8.txt" for h in hits)

    shutil.copy(corpus / "000_51828c4c6a9453e8.txt", corpus / "copy-of-000.txt")
    dup = cli("index", corpus, "--json", env=env).json()
    assert dup["duplicates"] == {"copy-of-000.txt": "000_51828c4c6a9453e8.txt"} and dup["chunks_written"] == 0
    assert cli("index", corpus, "--json", env=env).json()["chunks_written"] == 0

    (corpus / "000_51828c4c6a9453e8.txt").unlink()
    promoted = cli("index", corpus, "--json", env=env).json()
    assert promoted["removed"] == ["000_51828c4c6a9453e8.txt"]
    assert "copy-of-000.txt" in promoted["changed"], "the duplicate takes over when its original goes"
    hits = cli("search", "Who heads the Russian delegation?", "--json", env=env).json()
    assert any(h["source"] == "copy-of-000.txt" for h in hits)
    assert total > 0


@pytest.mark.slow
def test_rebuild_gives_the_same_ids_as_incremental(cli, corpus, tmp_path):
    env = {"RAG_DATA_DIR": tmp_path / "data"}
    assert cli("index", corpus, env=env).code == 0
    ids = _manifest_ids(tmp_path / "data")
    rebuilt = cli("index", corpus, "--rebuild", "--json", env=env).json()
    assert rebuilt["chunks_written"] == len(ids)
    assert _manifest_ids(tmp_path / "data") == ids == _chroma_ids(tmp_path / "data")


def test_search_finds_the_trump_passage_with_all_hit_fields(cli, seeds_index):
    result = cli("search", TRUMP_QUESTION, "--json", "-k", "3", env={"RAG_DATA_DIR": seeds_index})
    assert result.code == 0, result.err
    hits = result.json()
    assert hits[0]["source"] == "004_f82a6b2ea7b39292.txt"
    for key in ("source", "text", "start_char", "end_char", "score", "chunk_id", "section"):
        assert key in hits[0]
    plain = cli("search", TRUMP_QUESTION, "-k", "2", env={"RAG_DATA_DIR": seeds_index})
    assert "004_f82a6b2ea7b39292.txt  chars" in plain.out


def test_hits_point_at_the_original_text(seeds_index):
    from rag import Assistant, RagConfig

    assistant = Assistant(RagConfig(data_dir=seeds_index))
    for mode in ("hybrid", "dense", "lexical"):
        hits = assistant.search("What did KT Chong say about BRICS?", k=5, mode=mode)
        assert hits, mode
        for hit in hits:
            original = assistant.document_text(hit.source)
            assert " ".join(original[hit.start_char:hit.end_char].split()) == " ".join(hit.text.split())
    top = assistant.search("What did KT Chong say about BRICS?", k=1)[0]
    assert top.section.startswith("reader comment") and "KT Chong" in top.section
    only = assistant.search("negotiations", k=5, sources=["002_52652048721d3da2.txt"])
    assert only and {h.source for h in only} == {"002_52652048721d3da2.txt"}
    assistant.close()


def test_status_reports_documents_chunks_model_and_store(cli, seeds_index):
    result = cli("status", "--json", env={"RAG_DATA_DIR": seeds_index})
    status = result.json()
    assert status["documents"] == 5 and status["chunks"] > 50
    assert status["model"] == "sentence-transformers/all-MiniLM-L6-v2" and status["dimension"] == 384
    assert status["size_bytes"] > 0 and status["store"].endswith("chroma")
    text = cli("status", env={"RAG_DATA_DIR": seeds_index}).out
    assert "documents: 5" in text and "MiniLM" in text


def test_onnx_query_vectors_match_torch(seeds_index):
    import numpy as np

    from index import embedders

    embedder = embedders.build("sentence-transformers/all-MiniLM-L6-v2", data_dir=seeds_index)
    queries = ["How did the US role change?", "What did KT Chong say?", "Zelensky flew to Albania " * 60]
    onnx = np.stack([embedder.embed_query(q) for q in queries])  # through the export made at index time
    assert embedder._session is not None
    torch_vectors = embedder.embed(queries)
    assert np.min(np.sum(onnx * torch_vectors, axis=1)) > 0.9999


def test_onnx_vectors_from_ids_made_word_by_word_match_its_tokenizer_s(seeds_index):
    import numpy as np

    from index import embedders
    from index.embedders.onnx_export import OnnxSession

    embedder = embedders.build("sentence-transformers/all-MiniLM-L6-v2", data_dir=seeds_index)
    texts = ["How did the US role change?", "naïve café\u00a0crème", "x", "Zelensky flew to Albania " * 60]
    session = OnnxSession(embedder.export_dir)
    ours = session.embed(texts)
    session._words._words = None  # the tokenizer's own pass, as for a tokenizer that is not BERT's
    assert np.abs(ours - session.embed(texts)).max() < 1e-5
