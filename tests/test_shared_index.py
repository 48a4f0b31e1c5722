"""Several processes, one index: readers move to each new generation of the index without a
restart, and never see a run's half-written one (docs/scale.md, "Several processes, one index").

These tests index with the hashing embedder (`RAG_EMBED_MODEL=fake`): they claim no retrieval or
answer quality, only that no question fails and when new files become answerable. The made-up
facts (bench/shared_index.py) share no words with anything else, so any embedder finds them.
`bench/shared_index.py` runs the same scenario with the real model and 1,000 questions.
"""

from __future__ import annotations

import statistics
import sys
import time

import pytest

from tests.conftest import ROOT, SEEDS, run_subprocess

sys.path.insert(0, str(ROOT))
from bench.shared_index import FLOOR_DELAY_S, fact_file, fact_question, run, write_facts  # noqa: E402


def _assistant(data_dir, **overrides):
    from rag.assistant import Assistant
    from rag.config import RagConfig

    return Assistant(RagConfig.from_env({"RAG_EMBED_MODEL": "fake"}, data_dir=data_dir, **overrides))


def _found(assistant, fact: int) -> list[str]:
    return [hit.source for hit in assistant.search(fact_question(fact), k=5)]


def test_a_reader_keeps_its_generation_while_a_run_writes_and_takes_the_next_when_it_ends(tmp_path, monkeypatch):
    """A run commits batch after batch (documents in the manifest, their vectors in the store
    already) while the reader keeps answering from the generation before; the reader finds the
    new files at its first question after the run, with no restart. Dense hits on vectors the
    reader's manifest does not know are dropped without a word."""
    from index.manifest import Manifest

    data_dir = tmp_path / "data"
    write_facts(tmp_path / "base", 2)
    new = set(write_facts(tmp_path / "new", 10, start=2))
    reader, writer = _assistant(data_dir), _assistant(data_dir, write_batch=3)
    writer.index([tmp_path / "base"])
    assert _found(reader, 0)[0] == fact_file(0)

    mid_write: list[list[str]] = []
    replace_docs = Manifest.replace_docs

    def replace_then_ask(self, *args, **kwargs):
        replace_docs(self, *args, **kwargs)
        mid_write.append(_found(reader, 5) + [c.source for c in reader.ask(fact_question(7)).citations])

    monkeypatch.setattr(Manifest, "replace_docs", replace_then_ask)
    writer.index([tmp_path / "new"])
    monkeypatch.undo()

    assert len(mid_write) >= 3, "the run committed its documents in several batches"
    assert not [seen for seen in mid_write if new & set(seen)], "a reader saw a half-written index"
    assert _found(reader, 5)[0] == fact_file(5)
    assert fact_file(7) in {c.source for c in reader.ask(fact_question(7)).citations}
    assert reader.status().documents == 12


def test_an_answer_reads_one_generation_though_the_readers_switch_midway(tmp_path):
    """Another thread's question may switch the readers while an answer streams: the answer
    goes on with the retriever it started with (its passages and the texts it quotes agree)."""
    data_dir = tmp_path / "data"
    write_facts(tmp_path / "base", 2)
    write_facts(tmp_path / "new", 1, start=2)
    reader, writer = _assistant(data_dir), _assistant(data_dir)
    writer.index([tmp_path / "base"])
    reader.search(fact_question(0))
    read = []

    def answer():  # what an answerer does between its steps: read the corpus
        for _ in range(2):
            read.append(reader._corpus._retriever())
            yield "..."

    steps = reader._corpus.pinned(answer())
    next(steps)
    writer.index([tmp_path / "new"])
    assert _found(reader, 2)[0] == fact_file(2)  # the next question switched the readers
    next(steps)
    assert read[0] is read[1] and reader.parts.retriever is not read[0]


def test_a_run_that_ends_between_the_snapshot_and_its_bm25_folder_is_no_error(tmp_path):
    """A snapshot names a BM25 folder that the next run's end deletes: opening the retriever then
    takes the snapshot again instead of reporting a damaged index."""
    data_dir = tmp_path / "data"
    write_facts(tmp_path / "base", 2)
    write_facts(tmp_path / "new", 1, start=2)
    reader, writer = _assistant(data_dir), _assistant(data_dir)
    writer.index([tmp_path / "base"])
    named = reader.parts.manifest(required=True).get_meta("bm25")
    writer.index([tmp_path / "new"])
    assert not (data_dir / named).exists()
    assert reader.parts.retriever.search(fact_question(2), 5)[0].source == fact_file(2)


def test_readers_let_the_wal_start_over_between_runs(tmp_path, monkeypatch):
    """A snapshot held for good would make the manifest's WAL grow by every run; readers take
    theirs again when nothing changed, so it stays the size of about one run."""
    from rag.retrieval import generation

    monkeypatch.setattr(generation, "RENEW_AFTER_S", 0.0)
    data_dir = tmp_path / "data"
    reader, writer = _assistant(data_dir), _assistant(data_dir)
    sizes = []
    for run in range(8):
        write_facts(tmp_path / "new", 1, start=run)
        writer.index([tmp_path / "new"])
        _found(reader, run)  # switches to the new generation
        _found(reader, run)  # nothing changed since: renews the snapshot
        sizes.append((data_dir / "manifest.sqlite-wal").stat().st_size)
    assert sizes[-1] <= 1.5 * sizes[2], sizes  # held for good: a run's pages more every run


def test_the_generation_check_costs_microseconds(tmp_path):
    data_dir = tmp_path / "data"
    write_facts(tmp_path / "base", 2)
    assistant = _assistant(data_dir)
    assistant.index([tmp_path / "base"])
    assistant.search(fact_question(0))
    spans = []
    for _ in range(1000):
        started = time.perf_counter()
        assistant.parts.refresh()
        spans.append(time.perf_counter() - started)
    assert statistics.median(spans) < 0.0005  # measured ~10 µs on a busy 2-core machine


@pytest.mark.slow
def test_two_app_processes_answer_throughout_another_processes_index_run(chroma_server, tmp_path):
    """A `rag mcp` process (asked over stdio) and an `Assistant` in a process of its own answer on
    one data folder, vectors on a `chroma run` server, while `rag index` adds 100 files in batches
    from a third process: no question fails, no reader sees a new file before the run's commit,
    and both answer from the new files within 5 s of it."""
    env = {"RAG_CHROMA_URL": chroma_server, "RAG_EMBED_MODEL": "fake"}
    data_dir = tmp_path / "data"
    indexed = run_subprocess("index", SEEDS, env={**env, "RAG_DATA_DIR": data_dir})
    assert indexed.returncode == 0, indexed.stderr

    figures = run(data_dir, tmp_path, env, new=100, questions=300, after=4, timeout_s=240)

    assert figures["errors"] == 0, figures["first_errors"]
    assert figures["docs_listed_mid_write"] > 5, "the manifest listed new documents before the run ended"
    for via, reader in figures["readers"].items():
        assert reader["new_seen_before_commit"] == 0, f"the {via} reader saw a half-written index"
        assert reader["delay_s"] is not None and reader["delay_s"] <= FLOOR_DELAY_S, (via, reader)
    assert figures["questions"] >= 300
