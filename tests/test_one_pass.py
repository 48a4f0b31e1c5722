"""Indexing reads each chunk through the model once: the chunk's vector and its sentences' vectors
come from one forward pass; where the model runs and at what precision is chosen from the machine;
a run streams files into committed batches, and a no-op run parses nothing."""

from __future__ import annotations

import numpy as np
import pytest

from index import embedders
from index.embedders import device
from index.embedders.device import Machine
from index.errors import ConfigError
from index.manifest import pack_rows, unpack_rows
from index.passages import PassageEmbedder, key_of, sentence_inputs
from index.types import Chunk, SentenceSpan
from rag.config import RagConfig

CPU, CPU_BF16, GPU = Machine(cuda=False, native_bf16=False), Machine(cuda=False, native_bf16=True), \
    Machine(cuda=True, native_bf16=True)


@pytest.mark.parametrize(("setting", "machine", "want"), [
    ("auto", CPU, "cpu"), ("auto", GPU, "cuda"), ("cpu", GPU, "cpu"), ("cuda", GPU, "cuda")])
def test_auto_picks_cuda_only_when_torch_sees_it(setting, machine, want):
    assert device.choose_device(setting, machine) == want


def test_cuda_without_a_gpu_says_so_in_one_line():
    with pytest.raises(ConfigError, match="RAG_DEVICE=cuda.*no CUDA device"):
        device.choose_device("cuda", CPU)


@pytest.mark.parametrize(("setting", "dev", "machine", "want"), [
    ("auto", "cpu", CPU, "fp32"), ("auto", "cpu", CPU_BF16, "bf16"), ("auto", "cuda", GPU, "fp16"),
    ("int8", "cpu", CPU, "int8"), ("fp32", "cuda", GPU, "fp32")])
def test_precision_follows_the_hardware(setting, dev, machine, want):
    assert device.choose_precision(setting, dev, machine) == want


def test_impossible_precisions_and_unknown_names_are_config_errors():
    with pytest.raises(ConfigError, match="int8 runs on the CPU"):
        device.choose_precision("int8", "cuda", GPU)
    with pytest.raises(ConfigError, match="fp16 needs a GPU"):
        device.choose_precision("fp16", "cpu", CPU_BF16)
    with pytest.raises(ConfigError, match="RAG_DEVICE"):
        RagConfig.from_env({"RAG_DEVICE": "tpu"})
    with pytest.raises(ConfigError, match="RAG_EMBED_PRECISION"):
        RagConfig.from_env({"RAG_EMBED_PRECISION": "int4"})
    assert RagConfig.from_env({"RAG_DEVICE": "cpu", "RAG_EMBED_PRECISION": "int8"}).embed_precision == "int8"


def test_sentence_vectors_pack_to_a_quarter_and_score_alike():
    rng = np.random.default_rng(0)
    rows = rng.normal(size=(40, 384)).astype(np.float32)
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    packed = pack_rows(rows)
    assert len(packed) == 40 * (384 + 2)
    unpacked = unpack_rows(packed, -384)
    question = rng.normal(size=384).astype(np.float32)
    question /= np.linalg.norm(question)
    assert np.abs(unpacked @ question - rows @ question).max() < 0.005
    older = rows.astype(np.float16).tobytes()  # how an index written before stored them
    assert np.allclose(unpack_rows(older, 384), rows, atol=1e-3)


class _CountingFake:
    """The hashing embedder, counting what the model is asked to read (the model does not matter)."""

    def __init__(self) -> None:
        self.inner = embedders.build("fake")
        self.name, self.dimension, self.window = self.inner.name, self.inner.dimension, self.inner.window
        self.passages: list[str] = []
        self.alone: list[str] = []

    def tokens(self):
        return self.inner.tokens()

    def embed(self, texts):
        self.alone += texts
        return self.inner.embed(texts)

    def embed_passages(self, texts, spans):
        self.passages += texts
        vectors, pooled = self.inner.embed_passages(texts, spans)
        for rows, text_spans in zip(pooled, spans):  # a span starting past 300 characters: "not read"
            rows[[a > 300 for a, _ in text_spans]] = 0
        return vectors, pooled

    def embed_query(self, text):
        return self.inner.embed_query(text)

    def ready_for_queries(self):
        pass

    def config(self):
        return {"name": self.name}


def _chunk(chunk_id: str, text: str, section: str = "") -> Chunk:
    spans, start = [], 0
    for sentence in text.split(". "):
        end = start + len(sentence) + (1 if not sentence.endswith(".") else 0)
        spans.append(SentenceSpan(start, min(end, len(text)), start, min(end, len(text)), "body"))
        start = end + 1
    return Chunk(chunk_id, "doc.txt", 0, text, 0, len(text), section, 10, sentences=tuple(spans))


def test_each_chunk_is_read_once_and_only_unread_sentences_again():
    model = _CountingFake()
    long_text = "The keeper lit the lamp. " * 20 + "The Quillmere tariff rose."
    chunks = [_chunk("a", "The keeper lit the lamp. It burned all night."), _chunk("b", long_text, "Harbour"),
              _chunk("a2", "The keeper lit the lamp. It burned all night.")]  # a repeated text: read once
    vectors, sentences = PassageEmbedder(model, mode="pooled").vectors(chunks)
    assert len(model.passages) == 2 and vectors.shape == (3, 384)
    assert len(sentences["b"]) == len(chunks[1].sentences)
    unread = model.alone
    assert unread and all(t.startswith("Harbour\n") and t[len("Harbour\n"):] in long_text for t in unread), \
        "sentences past the window are read on their own, under their headings"
    assert np.allclose(np.linalg.norm(sentences["b"], axis=1), 1.0)
    text, offset, spans = key_of(chunks[1])
    assert text == "Harbour\n" + long_text and text[slice(*spans[0])] == "The keeper lit the lamp."
    assert sentence_inputs(key_of(chunks[1]))[0] == chunks[1].sentence_inputs()[0] == "Harbour\nThe keeper lit the lamp."


def test_exact_sentence_vectors_embed_chunks_and_sentences_in_one_call():
    model = _CountingFake()
    chunks = [_chunk("a", "The keeper lit the lamp. It burned all night.", "Harbour")]
    vectors, sentences = PassageEmbedder(model, mode="exact").vectors(chunks)
    assert model.passages == [] and model.alone == [chunks[0].indexed_text, *chunks[0].sentence_inputs()]
    assert np.allclose(sentences["a"], model.inner.embed(chunks[0].sentence_inputs()))


@pytest.mark.real_model
def test_one_pass_gives_the_model_s_own_vectors_and_in_context_sentence_vectors():
    model = embedders.build("all-MiniLM-L6-v2", precision="fp32")
    texts = ["CREATE INDEX › Parameters\nCONCURRENTLY builds the index without locking out writes. "
             "It takes longer.", "A short one."]
    spans = [[(27, 85), (86, 101)], []]
    vectors, pooled = model.embed_passages(texts, spans)
    reference = model.model.encode(texts, normalize_embeddings=True)
    assert np.min(np.sum(vectors * reference, axis=1)) > 0.9999
    assert pooled[0].shape == (2, 384) and pooled[1].shape == (0, 384)
    assert np.allclose(np.linalg.norm(pooled[0], axis=1), 1.0)
    question = model.embed(["How do I build an index without blocking writes?"])[0]
    assert pooled[0][0] @ question > pooled[0][1] @ question, "the sentence that answers scores higher"


@pytest.mark.real_model
def test_a_reduced_precision_is_used_only_when_it_agrees_with_float32():
    model = embedders.build("all-MiniLM-L6-v2", precision="auto")
    dev, precision = model.runtime
    assert dev == "cpu" and precision in ("fp32", "bf16")
    probes = list(device.PROBES)
    agreement = np.min(np.sum(model.embed_at(probes, precision) * model.embed_at(probes, "fp32"), axis=1))
    assert agreement >= device.AGREEMENT


def test_a_no_op_run_parses_no_document_and_a_run_commits_as_it_reads(tmp_path, monkeypatch):
    from index import readers
    from rag import Assistant

    docs = tmp_path / "docs"
    docs.mkdir()
    for i in range(12):
        (docs / f"note-{i:02d}.txt").write_text(f"Note {i}. The keeper number {i} lit lamp {i}.\n" * 30)
    config = RagConfig.from_env({}, data_dir=tmp_path / "data", embed_model="fake", write_batch=4)
    assistant = Assistant(config)
    parsed, committed = [], []
    real_read = readers.read
    monkeypatch.setattr(readers, "read", lambda *a, **k: parsed.append(a[0]) or real_read(*a, **k))
    from index import manifest as manifests
    real_replace = manifests.Manifest.replace_docs

    def replace_docs(self, entries, *args, **kwargs):
        committed.append((len(parsed), len(entries)))
        return real_replace(self, entries, *args, **kwargs)

    monkeypatch.setattr(manifests.Manifest, "replace_docs", replace_docs)
    report = assistant.index([docs])
    assert len(report.added) == 12 and len(committed) > 1
    assert committed[0][0] < 12, "the first batch is committed before every file is read"
    parsed.clear()
    again = assistant.index([docs])
    assert len(again.unchanged) == 12 and parsed == [], "an unchanged file is hashed, not parsed"
    assistant.close()


@pytest.mark.real_model
def test_the_int8_model_is_quantized_here_and_checked_before_use(tmp_path):
    model = embedders.build("all-MiniLM-L6-v2", data_dir=tmp_path, precision="int8")
    assert model.runtime == ("cpu", "int8"), "the quantized model agrees with float32 on the probes"
    export = next((tmp_path / "onnx").iterdir())
    assert (export / "model-int8.onnx").stat().st_size < 0.8 * (export / "model.onnx").stat().st_size
    probes = list(device.PROBES)
    assert np.min(np.sum(model.embed(probes) * model.embed_at(probes, "fp32"), axis=1)) >= device.AGREEMENT
    vectors, pooled = model.embed_passages(["The keeper lit the lamp. It burned all night."], [[(0, 24), (25, 45)]])
    assert vectors.shape == (1, 384) and pooled[0].shape == (2, 384)
    query = model.embed_query("Who lit the lamp?")
    assert float(query @ vectors[0]) > 0.3, "questions go through the same int8 model"
