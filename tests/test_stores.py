"""The vector store and the lexical index answer one call, `search(query, k, sources)`, each doing
the source filter itself: a filtered search finds a chosen document's best chunks however many
chunks of other documents outrank them."""

from __future__ import annotations

import numpy as np

from index import lexical
from index.vectors import VectorStore, connect


def test_the_lexical_source_filter_is_exact_not_an_over_fetch(tmp_path):
    ids = [f"a-{n}" for n in range(300)] + ["b-0"]
    texts = ["lighthouse lighthouse lighthouse keeper"] * 300 + ["a lighthouse on the far shore"]
    docs = ["a.txt"] * 300 + ["b.txt"]
    index = lexical.load(tmp_path / lexical.build(tmp_path, ids, texts, docs))
    assert all(cid.startswith("a-") for cid, _ in index.search("lighthouse", 20))  # b's chunk ranks last
    assert [cid for cid, _ in index.search("lighthouse", 5, ["b.txt"])] == ["b-0"]
    assert index.search("lighthouse", 5, ["nowhere.txt"]) == []


def test_an_older_lexical_index_learns_its_chunks_documents_from_the_manifest(tmp_path):
    folder = tmp_path / lexical.build(tmp_path, ["a-0", "b-0"], ["red kite", "red fox"], ["a.txt", "b.txt"])
    (folder / "docs.json").unlink()  # as an index made before it kept them
    index = lexical.load(folder, lambda chunk_ids: [cid.split("-")[0] + ".txt" for cid in chunk_ids])
    assert [cid for cid, _ in index.search("red", 5, ["b.txt"])] == ["b-0"]


def test_the_vector_store_filters_by_source_in_the_same_call(tmp_path):
    from index.types import Chunk

    store = VectorStore(connect(tmp_path, None), "rag-chunks")
    store.open("test-model", 4, create=True)
    chunks = [Chunk(chunk_id=f"{d}-{n}", doc_id=f"{d}.txt", text="x", start_char=0, end_char=1, ordinal=n)
              for d in "ab" for n in range(3)]
    vectors = np.eye(4, dtype=np.float32)[[0, 0, 0, 1, 1, 1]]
    store.upsert(chunks, vectors)
    query = [1.0, 0.0, 0.0, 0.0]
    assert {cid for cid, _ in store.search(query, 3)} == {"a-0", "a-1", "a-2"}
    assert {cid for cid, _ in store.search(query, 3, ["b.txt"])} == {"b-0", "b-1", "b-2"}
