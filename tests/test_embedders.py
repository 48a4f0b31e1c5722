"""Embedders are parts: chosen by name from a table, passed in to the indexer and the retriever.
The hashing `fake` stands in where the model does not matter, and loads no model."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from index import embedders
from index.embedders.fake import HashingEmbedder
from index.errors import ConfigError


def test_the_fake_is_deterministic_unit_length_and_near_for_shared_words():
    fake = embedders.build("fake")
    texts = ["The keeper lit the Quillmere lamp.", "The Quillmere lamp was lit by the keeper.", "Tariffs on steel rose."]
    vectors = fake.embed(texts)
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0)
    assert np.array_equal(vectors, embedders.build("fake").embed(texts))
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.3
    assert np.array_equal(fake.embed_query(texts[0]), vectors[0])
    assert (fake.name, embedders.build("fake:64").dimension, embedders.build("fake:64").name) == ("fake", 64, "fake:64")
    with pytest.raises(ConfigError, match="fake:DIM"):
        embedders.build("fake:lots")


def test_another_embedder_is_one_module_and_one_register_line(monkeypatch):
    monkeypatch.setattr(embedders, "_FACTORIES", dict(embedders._FACTORIES))
    embedders.register("tiny", lambda name, **_: HashingEmbedder(8))
    assert embedders.build("tiny").dimension == 8
    assert embedders.build("sentence-transformers/all-MiniLM-L6-v2").name == "sentence-transformers/all-MiniLM-L6-v2"


def test_an_index_built_by_the_fake_loads_no_model_and_finds_by_words(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "lamp.txt").write_text("The Quillmere lamp was lit at dusk by Ada Fenwick.\n", encoding="utf-8")
    (docs / "steel.txt").write_text("Tariffs on imported steel rose by a tenth in March.\n", encoding="utf-8")
    script = (
        "import sys\n"
        "from rag import Assistant, RagConfig\n"
        f"a = Assistant(RagConfig.from_env({{}}, data_dir={str(tmp_path / 'data')!r}, embed_model='fake'))\n"
        f"report = a.index([{str(docs)!r}])\n"
        "hits = a.search('who lit the lamp at dusk', k=1, mode='dense')\n"
        "print(report.added, hits[0].source, a.status().model, 'torch' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300,
                            env={k: v for k, v in os.environ.items() if not k.startswith("RAG_")})
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["['lamp.txt',", "'steel.txt']", "lamp.txt", "fake", "False"]


def test_a_pulled_embedder_is_found_in_the_models_folder(tmp_path):
    from index.embed import resolve_model

    pulled = tmp_path / "models" / "someone--embedder"
    pulled.mkdir(parents=True)
    (pulled / "config.json").write_text("{}")
    assert resolve_model("someone/embedder", tmp_path / "models").local_dir == pulled.resolve()
    assert resolve_model("someone/other", tmp_path / "models").local_dir is None  # not pulled, not cached
