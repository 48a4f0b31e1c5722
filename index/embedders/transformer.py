"""`SentenceTransformerEmbedder`: a sentence-transformers model, loaded only when needed.

Documents go through torch (the measured fastest on these CPUs). Questions go through an ONNX
export of the same model, made after the first run that stored vectors and checked there to give
the same vectors (cosine >= 0.9999), so a fresh process answers without the 10 s torch import;
until there is one, or with `query_backend="torch"`, questions go through torch too.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import re
import threading
from pathlib import Path
from typing import Any

import numpy as np

from index import datadir
from index.chunk import TokenCounter
from index.embed import ModelRef, Tokens, resolve_model
from index.errors import ConfigError

log = logging.getLogger(__name__)


def onnx_dir(data_dir: Path, model_name: str) -> Path:
    """Where the query export of `model_name` lives in a data folder."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", model_name)[-60:]
    return datadir.onnx(data_dir) / f"{slug}-{hashlib.sha256(model_name.encode()).hexdigest()[:8]}"


class SentenceTransformerEmbedder:
    def __init__(self, model: ModelRef, batch_size: int = 16, export_dir: Path | None = None,
                 query_backend: str = "auto") -> None:
        self.model_ref = model
        self.name = model.name
        self.batch_size = batch_size
        self.export_dir = export_dir
        self.query_backend = query_backend
        self._tokens: Tokens | None = None
        self._session: OnnxSession | None = None
        self._lock = threading.Lock()
        self._warned = False

    @property
    def model(self):
        return _load_sentence_transformer(self.model_ref.load_path, self.model_ref.name)

    @property
    def dimension(self) -> int:
        model = self.model
        return int(model.get_embedding_dimension() if hasattr(model, "get_embedding_dimension")
                   else model.get_sentence_embedding_dimension())

    @property
    def max_seq_length(self) -> int:
        return int(self.model.max_seq_length)

    @property
    def window(self) -> int:
        return max_seq_length_of(self.model_ref) - 2  # [CLS] and [SEP]

    def tokens(self) -> TokenCounter:
        if self._tokens is None:
            self._tokens = Tokens(self.model_ref)
        return self._tokens

    def embed(self, texts: list[str]) -> np.ndarray:
        return self.model.encode(
            texts, batch_size=self.batch_size, normalize_embeddings=True, convert_to_numpy=True,
            show_progress_bar=False,
        )

    def embed_query(self, text: str) -> np.ndarray:
        session = self._query_session()
        return session.embed([text])[0] if session is not None else self.embed([text])[0]

    def _query_session(self) -> OnnxSession | None:
        if self._session is not None or self.query_backend == "torch" or self.export_dir is None:
            return self._session
        if not OnnxSession.available(self.export_dir):  # an index run (here or elsewhere) may export it later
            if self.query_backend == "onnx" and not self._warned:
                self._warned = True
                log.warning("no ONNX export at %s; using torch for queries", self.export_dir)
            return None
        with self._lock:
            if self._session is None:
                self._session = OnnxSession(self.export_dir)
        return self._session

    def ready_for_queries(self) -> None:
        if self.export_dir is not None and not OnnxSession.available(self.export_dir):
            export_onnx(self, self.export_dir)

    def config(self) -> dict[str, Any]:
        return {"name": self.name, "batch_size": self.batch_size, "query_backend": self.query_backend}


def build(name: str, data_dir: Path | None = None, batch_size: int = 16, query_backend: str = "auto",
          models_dir: Path | None = None) -> SentenceTransformerEmbedder:
    model = resolve_model(name, models_dir)
    export = onnx_dir(data_dir, model.name) if data_dir is not None else None
    return SentenceTransformerEmbedder(model, batch_size, export, query_backend)


@functools.lru_cache(maxsize=2)
def _load_sentence_transformer(load_path: str, name: str):
    """Loading takes seconds; one process (a test run, the UI) reuses the loaded model."""
    import os

    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from sentence_transformers import SentenceTransformer

    try:
        return SentenceTransformer(load_path, device="cpu")
    except Exception as exc:
        raise ConfigError(f"cannot load embedding model '{name}': {exc}") from exc


def max_seq_length_of(model: ModelRef) -> int:
    """Read the model's window from its config files, without loading the model."""
    if model.local_dir:
        cfg = model.local_dir / "sentence_bert_config.json"
        if cfg.exists():
            return int(json.loads(cfg.read_text())["max_seq_length"])
    return SentenceTransformerEmbedder(model).max_seq_length


class OnnxSession:
    """The exported model run by onnxruntime with the model's own tokenizer: no torch import."""

    def __init__(self, export_dir: Path) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        meta = json.loads((export_dir / "meta.json").read_text())
        self._inputs = meta["inputs"]
        self.dimension = meta["dimension"]
        self._tok = Tokenizer.from_file(str(export_dir / "tokenizer.json"))
        self._tok.enable_truncation(meta["max_seq_length"])
        self._tok.enable_padding()
        options = ort.SessionOptions()
        options.log_severity_level = 3
        self._session = ort.InferenceSession(str(export_dir / "model.onnx"), options,
                                             providers=["CPUExecutionProvider"])

    @staticmethod
    def available(export_dir: Path) -> bool:
        return (export_dir / "model.onnx").exists() and (export_dir / "meta.json").exists()

    def embed(self, texts: list[str]) -> np.ndarray:
        encodings = self._tok.encode_batch(texts)
        arrays = {
            "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
            "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
        }
        return self._session.run(None, {name: arrays[name] for name in self._inputs})[0]


def export_onnx(embedder: SentenceTransformerEmbedder, out_dir: Path) -> bool:
    """Export the whole sentence-transformers pipeline (transformer, pooling, normalise) to ONNX.

    Returns False (and logs why) when export fails or its vectors differ from torch's; queries
    then stay on torch, slower but correct.
    """
    import warnings

    import torch

    st = embedder.model
    probe = ["How did the talks change?", "A longer probe sentence about negotiations in Istanbul, 2022."]
    features = (st.preprocess if hasattr(st, "preprocess") else st.tokenize)(probe)
    names = [n for n in ("input_ids", "attention_mask", "token_type_ids") if n in features]

    class _Pipeline(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.st = st

        def forward(self, *tensors):
            out = self.st(dict(zip(names, tensors)))["sentence_embedding"]
            return torch.nn.functional.normalize(out, p=2, dim=1)

    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = out_dir / "model.onnx.tmp"
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            axes = {n: {0: "batch", 1: "seq"} for n in names} | {"embedding": {0: "batch"}}
            torch.onnx.export(
                _Pipeline().eval(), tuple(features[n] for n in names), str(tmp), input_names=names,
                output_names=["embedding"], dynamic_axes=axes, opset_version=17, dynamo=False,
            )
        import onnxruntime as ort

        session = ort.InferenceSession(str(tmp), providers=["CPUExecutionProvider"])
        got = session.run(None, {n: features[n].numpy().astype(np.int64) for n in names})[0]
        want = embedder.embed(probe)
        cosine = float(np.min(np.sum(got * want, axis=1)))
        if cosine < 0.9999:
            log.warning("ONNX export differs from torch (cosine %.5f); queries will use torch", cosine)
            tmp.unlink(missing_ok=True)
            return False
    except Exception as exc:  # export is an optimisation: never fail indexing over it
        log.warning("ONNX export failed (%s); queries will use torch", exc)
        tmp.unlink(missing_ok=True)
        return False
    tokenizer = st.tokenizer.backend_tokenizer
    tokenizer.save(str(out_dir / "tokenizer.json"))
    meta = {"inputs": names, "max_seq_length": embedder.max_seq_length, "dimension": embedder.dimension}
    (out_dir / "meta.json").write_text(json.dumps(meta))
    tmp.replace(out_dir / "model.onnx")
    return True
