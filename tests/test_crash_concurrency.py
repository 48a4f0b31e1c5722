"""`kill -9` mid-index and two writers at once leave an index identical to a clean build.

What is checked is the bookkeeping (manifest, vectors, BM25 agree and match a clean build), which
does not depend on what the vectors mean: the runs use the hashing `fake` embedder (no model to
load in each process). The real model's vectors are checked end to end elsewhere
(`tests/test_index_incremental.py`)."""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from index.lock import write_lock
from tests.conftest import SEEDS, run_subprocess

N_FILES = 300
FAKE = {"RAG_EMBED_MODEL": "fake"}


def _state(data_dir: Path) -> dict:
    """Everything that defines an index: manifest chunk ids, vector ids, lexical ids, doc hashes."""
    from index.vectors import VectorStore, connect

    db = sqlite3.connect(data_dir / "manifest.sqlite")
    chunks = sorted(db.execute("SELECT chunk_id, doc_id, start_char, end_char, text FROM chunks"))
    docs = sorted(db.execute("SELECT doc_id, byte_hash, n_chunks FROM docs"))
    bm25 = db.execute("SELECT value FROM meta WHERE key = 'bm25'").fetchone()[0]
    state = db.execute("SELECT value FROM meta WHERE key = 'state'").fetchone()[0]
    db.close()
    store = VectorStore(connect(data_dir, None), "rag-chunks")
    store.open(None, None, create=False)
    lexical_ids = sorted(json.loads((data_dir / bm25 / "ids.json").read_text()))
    return {"chunks": chunks, "docs": docs, "vectors": sorted(store.ids()), "lexical": lexical_ids,
            "state": state}


@pytest.fixture(scope="module")
def many_files(tmp_path_factory) -> Path:
    """Hundreds of distinct small documents cut from the seeds."""
    folder = tmp_path_factory.mktemp("many")
    sentences = []
    for path in sorted(SEEDS.iterdir()):
        sentences += [s for s in re.split(r"(?<=[.!?])\s+", path.read_text(encoding="utf-8")) if len(s) > 40]
    for i in range(N_FILES):
        picked = [sentences[(i * 7 + j * 13) % len(sentences)] for j in range(8)]
        (folder / f"doc-{i:03d}.txt").write_text(f"Document {i}.\n\n" + " ".join(picked), encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def clean_build(many_files, tmp_path_factory) -> dict:
    data_dir = tmp_path_factory.mktemp("clean")
    result = run_subprocess("index", many_files, env={"RAG_DATA_DIR": data_dir, **FAKE})
    assert result.returncode == 0, result.stderr
    return _state(data_dir)


def _committed_docs(data_dir: Path) -> int:
    try:
        db = sqlite3.connect(data_dir / "manifest.sqlite", timeout=0.1)
        try:
            return db.execute("SELECT COUNT(*) FROM docs").fetchone()[0]
        finally:
            db.close()
    except sqlite3.Error:
        return 0


def _rag_process(folder: Path, data_dir: Path, **env: str) -> subprocess.Popen:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    full_env.update({"RAG_DATA_DIR": str(data_dir), **FAKE, **env})
    return subprocess.Popen([sys.executable, "-m", "rag", "index", str(folder)], env=full_env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.slow
def test_kill_9_mid_index_then_rerun_equals_clean_build(many_files, clean_build, tmp_path):
    data_dir = tmp_path / "data"
    proc = _rag_process(many_files, data_dir, RAG_WRITE_BATCH="4")
    deadline = time.monotonic() + 300
    while _committed_docs(data_dir) < 20:
        assert proc.poll() is None, f"finished before it could be killed: {proc.communicate()}"
        assert time.monotonic() < deadline
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    committed = _committed_docs(data_dir)
    assert 20 <= committed < N_FILES, "the kill must land in the middle of the run"

    result = run_subprocess("index", many_files, "--json", env={"RAG_DATA_DIR": data_dir, **FAKE})
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert len(summary["added"]) + summary["unchanged"] == N_FILES
    assert _state(data_dir) == clean_build
    assert clean_build["state"] == "clean" and len(clean_build["docs"]) == N_FILES


def test_second_writer_refuses_with_a_clear_message(many_files, tmp_path):
    data_dir = tmp_path / "data"
    with write_lock(data_dir, timeout=1):
        started = time.monotonic()
        result = run_subprocess("index", many_files, env={"RAG_DATA_DIR": data_dir, "RAG_LOCK_TIMEOUT": "1", **FAKE})
        waited = time.monotonic() - started
    assert result.returncode == 2
    assert f"being written by pid {os.getpid()}" in result.stderr and "Try again" in result.stderr
    assert "Traceback" not in result.stderr
    assert waited < 30


@pytest.mark.slow
def test_two_index_runs_at_once_do_not_corrupt(many_files, clean_build, tmp_path):
    data_dir = tmp_path / "data"
    first = _rag_process(many_files, data_dir)
    time.sleep(0.5)
    second = _rag_process(many_files, data_dir, RAG_LOCK_TIMEOUT="2")
    outcomes = []
    for proc in (first, second):
        out, err = proc.communicate(timeout=600)
        outcomes.append((proc.returncode, err))
    codes = sorted(code for code, _ in outcomes)
    assert codes in ([0, 0], [0, 2]), outcomes
    for code, err in outcomes:
        if code == 2:
            assert "being written by" in err
    assert _state(data_dir) == clean_build


def test_first_searches_arriving_together_open_the_index_once(seeds_index):
    """An MCP client's first two searches, or the chat's first answers, arrive together on an
    assistant that has opened nothing yet: none of them may see a half-opened index as damaged."""
    from concurrent.futures import ThreadPoolExecutor

    from rag.assistant import Assistant
    from rag.config import RagConfig

    for _ in range(3):
        assistant = Assistant(RagConfig.from_env({}, data_dir=seeds_index))
        with ThreadPoolExecutor(8) as pool:
            found = list(pool.map(lambda _: assistant.search("Who heads the Russian delegation?", k=3), range(8)))
        assert all(hits and hits[0].source == found[0][0].source for hits in found)
        assistant.close()
