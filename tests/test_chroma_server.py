"""The scale-out path: index and search over HTTP against a real `chroma run` server."""

from __future__ import annotations

import json

import pytest

from tests.conftest import SEEDS, TRUMP_QUESTION, free_port, run_subprocess

pytestmark = pytest.mark.slow  # starts a Chroma server (the `chroma_server` fixture, in conftest)

QUERIES = [TRUMP_QUESTION, "What did KT Chong say about BRICS?", "Where did the trilateral talks take place?",
           "Who heads the Russian delegation?"]


def test_server_gives_the_same_results_as_the_embedded_store(chroma_server, seeds_index, tmp_path):
    env = {"RAG_DATA_DIR": tmp_path / "data", "RAG_CHROMA_URL": chroma_server}
    result = run_subprocess("index", SEEDS, "--json", env=env)
    assert result.returncode == 0, result.stderr
    assert not (tmp_path / "data" / "chroma").exists(), "vectors live on the server"
    status = json.loads(run_subprocess("status", "--json", env=env).stdout)
    assert status["store"] == chroma_server and status["documents"] == 5
    for query in QUERIES:
        remote = json.loads(run_subprocess("search", query, "--json", "-k", "5", env=env).stdout)
        local = json.loads(run_subprocess("search", query, "--json", "-k", "5",
                                          env={"RAG_DATA_DIR": seeds_index}).stdout)
        assert [h["chunk_id"] for h in remote] == [h["chunk_id"] for h in local], query
        assert [h["score"] for h in remote] == pytest.approx([h["score"] for h in local], abs=1e-4)
    again = json.loads(run_subprocess("index", SEEDS, "--json", env=env).stdout)
    assert again["chunks_written"] == 0 and again["unchanged"] == 5


def test_unreachable_server_is_one_clear_line(tmp_path):
    env = {"RAG_DATA_DIR": tmp_path / "data", "RAG_CHROMA_URL": f"http://127.0.0.1:{free_port()}"}
    result = run_subprocess("index", SEEDS, env=env, timeout=120)
    assert result.returncode == 2
    assert "cannot reach the Chroma server" in result.stderr and "RAG_CHROMA_URL" in result.stderr
    assert "Traceback" not in result.stderr
