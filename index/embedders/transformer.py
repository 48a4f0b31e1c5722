"""`SentenceTransformerEmbedder`: a sentence-transformers model, loaded only when needed.

A passage is read by the model once: its vector and the vectors of its sentences both come from
that one forward pass (`embed_passages`: a sentence's vector is the mean of its own tokens' states,
read in the context of the whole passage), so quote selection costs no second pass over every
sentence. The model runs where `RAG_DEVICE` says and at the precision `RAG_EMBED_PRECISION` says
(`index.embedders.device`; bfloat16 on a CPU that has it natively, int8 through an ONNX export
quantized here), each reduced precision checked against float32 before use.

Questions go through an ONNX export of the same model (the int8 one when documents use it), made
after the first run that stored vectors and checked there to give the same vectors, so a fresh
process answers without the 10 s torch import; until there is one, or with
`query_backend="torch"`, questions go through torch too.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import logging
import re
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from index import datadir
from index.chunk import TokenCounter
from index.embed import ModelRef, Tokens, padded, resolve_model
from index.embedders import device as devices
from index.embedders.onnx_export import INT8_FILE, MODEL_FILE, OnnxSession, export_onnx, quantize
from index.errors import ConfigError

log = logging.getLogger(__name__)

Spans = Sequence[tuple[int, int]]
# Batches padded to a multiple of this many tokens: oneDNN keeps kernels and buffers for every input
# shape it meets, and bfloat16 ones are large. Measured on 292 PostgreSQL pages: peak memory 1,353 MB
# unpadded, 957 MB at 8, 869 MB at 32, in the same time (119, 115, 119 s).
_PAD = 32


def onnx_dir(data_dir: Path, model_name: str) -> Path:
    """Where the query export of `model_name` lives in a data folder."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", model_name)[-60:]
    return datadir.onnx(data_dir) / f"{slug}-{hashlib.sha256(model_name.encode()).hexdigest()[:8]}"


class SentenceTransformerEmbedder:
    def __init__(self, model: ModelRef, batch_size: int = 16, export_dir: Path | None = None,
                 query_backend: str = "auto", device: str = "auto", precision: str = "auto") -> None:
        devices.check(device, precision)
        self.model_ref = model
        self.name = model.name
        self.batch_size = batch_size
        self.export_dir = export_dir
        self.query_backend = query_backend
        self.device_setting = device
        self.precision_setting = precision
        self._tokens: Tokens | None = None
        self._session: OnnxSession | None = None
        self._runtime: tuple[str, str] | None = None
        self._int8: OnnxSession | None = None
        self._lock = threading.Lock()
        self._warned = False

    @property
    def model(self):
        return _load_sentence_transformer(self.model_ref.load_path, self.model_ref.name, self.runtime[0])

    @property
    def runtime(self) -> tuple[str, str]:
        """(device, precision) in use: the settings resolved on this machine, a reduced precision
        only once it agrees with float32 (`device.AGREEMENT`)."""
        if self._runtime is None:
            with self._lock:
                if self._runtime is None:
                    machine = devices.probe()
                    device = devices.choose_device(self.device_setting, machine)
                    precision = devices.choose_precision(self.precision_setting, device, machine)
                    self._runtime = (device, "fp32")
                    if precision != "fp32" and self._agrees(precision):
                        self._runtime = (device, precision)
        return self._runtime

    def _agrees(self, precision: str) -> bool:
        probes = list(devices.PROBES)
        reference = self.embed_at(probes, "fp32")
        if precision == "int8":
            self._int8 = _int8_session(self)
            if self._int8 is None:
                return False
        agreement = float(np.min(np.sum(self.embed_at(probes, precision) * reference, axis=1)))
        if precision == "int8":  # queries, in processes without torch, use it only if documents do
            (self.export_dir / INT8_CHECK).write_text(json.dumps(
                {"agreement": agreement, "used": agreement >= devices.AGREEMENT}))
        if agreement < devices.AGREEMENT:
            log.warning("%s at %s differs from float32 (least cosine %.4f < %.2f on probe texts); using float32",
                        self.name, precision, agreement, devices.AGREEMENT)
            return False
        log.info("%s embeds at %s (least cosine with float32 %.5f)", self.name, precision, agreement)
        return True

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
        return self._forward_all(texts, self.runtime[1])[0]

    def embed_at(self, texts: list[str], precision: str) -> np.ndarray:
        """Vectors at a given precision (float32 is the reference the others are checked against)."""
        return self._forward_all(texts, precision)[0]

    def embed_passages(self, texts: list[str], spans: Sequence[Spans]) -> tuple[np.ndarray, list[np.ndarray]]:
        """Each text's vector and, from the same forward pass, one vector per (start, end) character
        span of it: the mean of the states of the tokens in the span, unit length. A span the model
        did not read (past its window) gets a row of zeros."""
        return self._forward_all(texts, self.runtime[1], spans)

    def _forward_all(self, texts: list[str], precision: str, spans: Sequence[Spans] | None = None):
        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        pooled: list[np.ndarray] = [np.zeros((0, self.dimension), np.float32)] * len(texts)
        rows = self.tokens().model_rows(texts, self.max_seq_length) if spans is None and precision != "int8" else None
        if rows is not None:  # vectors only, from ids made here: batches of alike token counts pad least
            order = sorted(range(len(texts)), key=lambda i: -len(rows[i]))
            for start in range(0, len(order), self.batch_size):
                batch = order[start:start + self.batch_size]
                sentence = self._run(padded([rows[i] for i in batch], _PAD), precision, token_states=False)[1]
                vectors[batch] = sentence / np.maximum(np.linalg.norm(sentence, axis=1, keepdims=True), 1e-12)
            return vectors, pooled
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))  # alike lengths pad least
        for start in range(0, len(order), self.batch_size):
            batch = order[start:start + self.batch_size]
            states, sentence, offsets, mask = self._forward([texts[i] for i in batch], precision)
            for row, i in enumerate(batch):
                vectors[i] = sentence[row] / max(float(np.linalg.norm(sentence[row])), 1e-12)
                if spans is not None and len(spans[i]):
                    pooled[i] = _pool(states[row], offsets[row], mask[row], spans[i])
        return vectors, pooled

    def _forward(self, texts: list[str], precision: str):
        """Token states, the model's own pooled vectors, token character offsets and the mask."""
        tokenizer = self.model.tokenizer
        if precision == "int8":
            encoded = tokenizer(texts, padding=True, truncation="longest_first", max_length=self.max_seq_length,
                                return_offsets_mapping=True, return_tensors="np")
            offsets = encoded.pop("offset_mapping")
            states, sentence = self._int8.forward(encoded)
            return states, sentence, offsets, encoded["attention_mask"].astype(bool)
        encoded = tokenizer(texts, padding=True, truncation="longest_first", max_length=self.max_seq_length,
                            return_offsets_mapping=True, return_tensors="np", pad_to_multiple_of=_PAD)
        offsets = encoded.pop("offset_mapping")
        states, sentence = self._run(dict(encoded), precision)
        return states, sentence, offsets, encoded["attention_mask"].astype(bool)

    def _run(self, encoded: dict[str, np.ndarray], precision: str, token_states: bool = True):
        """The model on tokenized inputs: token states (None without `token_states`) and pooled
        vectors, as float32 numpy."""
        import torch

        device = self.runtime[0]
        features = {name: torch.from_numpy(array).to(device) for name, array in encoded.items()}
        with torch.inference_mode(), _autocast(device, precision):
            out = self.model.forward(features)
        states = out["token_embeddings"].float().cpu().numpy() if token_states else None
        return states, out["sentence_embedding"].float().cpu().numpy()

    def embed_query(self, text: str) -> np.ndarray:
        session = self._query_session()
        return session.embed([text])[0] if session is not None else self.embed([text])[0]

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        session = self._query_session()
        return session.embed(texts) if session is not None else self.embed(texts)

    def _query_session(self) -> OnnxSession | None:
        if self._session is not None or self.query_backend == "torch" or self.export_dir is None:
            return self._session
        model_file = INT8_FILE if self.precision_setting == "int8" and _int8_used(self.export_dir) else MODEL_FILE
        if not OnnxSession.available(self.export_dir, model_file):  # an index run may export it later
            if self.query_backend == "onnx" and not self._warned:
                self._warned = True
                log.warning("no ONNX export at %s; using torch for queries", self.export_dir)
            return None
        with self._lock:
            if self._session is None:
                self._session = OnnxSession(self.export_dir, model_file)
        return self._session

    def ready_for_queries(self) -> None:
        if self.export_dir is not None and not OnnxSession.available(self.export_dir):
            export_onnx(self, self.export_dir)

    def config(self) -> dict[str, Any]:
        return {"name": self.name, "batch_size": self.batch_size, "query_backend": self.query_backend,
                "device": self.device_setting, "precision": self.precision_setting}


def _pool(states: np.ndarray, offsets: np.ndarray, mask: np.ndarray, spans: Spans) -> np.ndarray:
    """Unit mean token state of each character span (zeros where no token of it was read)."""
    starts, ends = offsets[:, 0], offsets[:, 1]
    real = mask & (ends > starts)  # special and padding tokens have empty offsets
    bounds = np.asarray(spans, dtype=np.int64).reshape(-1, 2)
    member = real[None, :] & (ends[None, :] > bounds[:, :1]) & (starts[None, :] < bounds[:, 1:])
    sums = member.astype(np.float32) @ states
    norms = np.linalg.norm(sums, axis=1, keepdims=True)
    return np.where(norms > 0, sums / np.maximum(norms, 1e-12), 0.0).astype(np.float32)


def _autocast(device: str, precision: str):
    import torch

    if precision == "bf16":
        return torch.autocast(device, dtype=torch.bfloat16)
    if precision == "fp16":
        return torch.autocast(device, dtype=torch.float16)
    return contextlib.nullcontext()


def build(name: str, data_dir: Path | None = None, batch_size: int = 16, query_backend: str = "auto",
          models_dir: Path | None = None, device: str = "auto", precision: str = "auto") -> SentenceTransformerEmbedder:
    model = resolve_model(name, models_dir)
    export = onnx_dir(data_dir, model.name) if data_dir is not None else None
    return SentenceTransformerEmbedder(model, batch_size, export, query_backend, device, precision)


@functools.lru_cache(maxsize=2)
def _load_sentence_transformer(load_path: str, name: str, device: str = "cpu"):
    """Loading takes seconds; one process (a test run, the UI) reuses the loaded model."""
    import os

    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from sentence_transformers import SentenceTransformer

    try:
        return SentenceTransformer(load_path, device=device)
    except Exception as exc:
        raise ConfigError(f"cannot load embedding model '{name}': {exc}") from exc


def max_seq_length_of(model: ModelRef) -> int:
    """Read the model's window from its config files, without loading the model."""
    if model.local_dir:
        cfg = model.local_dir / "sentence_bert_config.json"
        if cfg.exists():
            return int(json.loads(cfg.read_text())["max_seq_length"])
    return SentenceTransformerEmbedder(model).max_seq_length


INT8_CHECK = "int8-check.json"  # the quantized model's agreement with float32, and whether it is used


def _int8_used(export_dir: Path) -> bool:
    try:
        return bool(json.loads((export_dir / INT8_CHECK).read_text())["used"])
    except (OSError, ValueError, KeyError):
        return False


def _int8_session(embedder: SentenceTransformerEmbedder) -> OnnxSession | None:
    """The int8 model for this embedder's data folder, quantized there on first use (None, saying
    why, where it cannot be made)."""
    if embedder.export_dir is None:
        log.warning("RAG_EMBED_PRECISION=int8 needs a data folder to keep its export in; using float32")
        return None
    if not OnnxSession.available(embedder.export_dir, INT8_FILE):
        if not OnnxSession.available(embedder.export_dir) and not export_onnx(embedder, embedder.export_dir):
            return None
        if not quantize(embedder.export_dir):
            return None
    return OnnxSession(embedder.export_dir, INT8_FILE)
