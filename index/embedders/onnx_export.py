"""The model as ONNX, for onnxruntime: an export checked against torch, its int8 quantization, and
the session that runs either without importing torch.

The export holds the whole sentence-transformers pipeline (transformer, pooling, normalisation)
and also returns the token states, so the int8 model can give sentence vectors from one pass as
torch does. Quantization is onnxruntime's own (dynamic, int8 weights per channel, the matrix
multiplications only) made here from the bundled weights; the six feed-forward output projections
stay float32: quantizing them too put the least cosine with float32 at 0.981 on the probe texts,
below the 0.99 a reduced precision must reach (`device.AGREEMENT`).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np

from index.embed import ModelRef, Tokens, padded

log = logging.getLogger(__name__)

MODEL_FILE = "model.onnx"
INT8_FILE = "model-int8.onnx"
_EXPORT_AGREEMENT = 0.9999  # an export is the same computation: it must agree almost exactly


class OnnxSession:
    """An exported model run by onnxruntime with the model's own tokenizer: no torch import."""

    def __init__(self, export_dir: Path, model_file: str = MODEL_FILE) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        meta = json.loads((export_dir / "meta.json").read_text())
        self._inputs = meta["inputs"]
        self.dimension = meta["dimension"]
        self._tok = Tokenizer.from_file(str(export_dir / "tokenizer.json"))
        self._tok.enable_truncation(meta["max_seq_length"])
        self._tok.enable_padding()
        self._max_length = meta["max_seq_length"]
        self._words = Tokens(ModelRef(str(export_dir), export_dir))  # ids word by word (index.embed.Tokens)
        options = ort.SessionOptions()
        options.log_severity_level = 3
        self._session = ort.InferenceSession(str(export_dir / model_file), options,
                                             providers=["CPUExecutionProvider"])
        self._outputs = [o.name for o in self._session.get_outputs()]

    @staticmethod
    def available(export_dir: Path, model_file: str = MODEL_FILE) -> bool:
        return (export_dir / model_file).exists() and (export_dir / "meta.json").exists()

    def embed(self, texts: list[str], batch_size: int = 16) -> np.ndarray:
        """Vectors of `texts`, read in batches of alike lengths (one batch pads every text to the
        longest: 500 sentences at once took four times as long)."""
        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        rows = self._words.model_rows(texts, self._max_length)
        order = sorted(range(len(texts)), key=lambda i: len(rows[i]) if rows is not None else len(texts[i]))
        for start in range(0, len(order), batch_size):
            batch = order[start:start + batch_size]
            if rows is not None:
                arrays = padded([rows[i] for i in batch], 1)
            else:
                encodings = self._tok.encode_batch([texts[i] for i in batch])
                arrays = {
                    "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
                    "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
                    "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
                }
            vectors[batch] = self._session.run(["embedding"], {name: arrays[name] for name in self._inputs})[0]
        return vectors

    def forward(self, encoded) -> tuple[np.ndarray, np.ndarray]:
        """Token states and sentence vectors of texts already tokenized (numpy arrays by name)."""
        if "token_embeddings" not in self._outputs:
            raise RuntimeError("this export has no token states (made by an older version)")
        feed = {name: np.asarray(encoded[name], dtype=np.int64) for name in self._inputs}
        states, vectors = self._session.run(["token_embeddings", "embedding"], feed)
        return states, vectors


def export_onnx(embedder, out_dir: Path) -> bool:
    """Export `embedder`'s model (a SentenceTransformerEmbedder) to `out_dir`/model.onnx.

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
            out = self.st(dict(zip(names, tensors)))
            return out["token_embeddings"], torch.nn.functional.normalize(out["sentence_embedding"], p=2, dim=1)

    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = out_dir / (MODEL_FILE + ".tmp")
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            axes = {n: {0: "batch", 1: "seq"} for n in names} | {
                "token_embeddings": {0: "batch", 1: "seq"}, "embedding": {0: "batch"}}
            torch.onnx.export(
                _Pipeline().eval(), tuple(features[n].cpu() for n in names), str(tmp), input_names=names,
                output_names=["token_embeddings", "embedding"], dynamic_axes=axes, opset_version=17, dynamo=False,
            )
        import onnxruntime as ort

        session = ort.InferenceSession(str(tmp), providers=["CPUExecutionProvider"])
        got = session.run(["embedding"], {n: features[n].cpu().numpy().astype(np.int64) for n in names})[0]
        want = embedder.embed_at(probe, "fp32")
        cosine = float(np.min(np.sum(got * want, axis=1)))
        if cosine < _EXPORT_AGREEMENT:
            log.warning("ONNX export differs from torch (cosine %.5f); queries will use torch", cosine)
            tmp.unlink(missing_ok=True)
            return False
    except Exception as exc:  # export is an optimisation: never fail indexing over it
        log.warning("ONNX export failed (%s); queries will use torch", exc)
        tmp.unlink(missing_ok=True)
        return False
    st.tokenizer.backend_tokenizer.save(str(out_dir / "tokenizer.json"))
    meta = {"inputs": names, "max_seq_length": embedder.max_seq_length, "dimension": embedder.dimension}
    (out_dir / "meta.json").write_text(json.dumps(meta))
    tmp.replace(out_dir / MODEL_FILE)
    return True


def quantize(export_dir: Path) -> bool:
    """Make `export_dir`/model-int8.onnx from the float32 export (False, saying why, on failure)."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    source, tmp = export_dir / MODEL_FILE, export_dir / (INT8_FILE + ".tmp")
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # the quantizer advises "pre-processing" on the root logger at every call
    try:
        graph = onnx.load(str(source), load_external_data=False).graph
        weights = {i.name for i in graph.initializer}
        kept = [n.name for n in graph.node if n.op_type == "MatMul" and _is_ffn_output(n.name)
                and any(x in weights for x in n.input)]
        quantize_dynamic(str(source), str(tmp), per_channel=True, weight_type=QuantType.QInt8,
                         op_types_to_quantize=["MatMul"], nodes_to_exclude=kept,
                         extra_options={"MatMulConstBOnly": True, "DefaultTensorType": onnx.TensorProto.FLOAT})
    except Exception as exc:
        log.warning("int8 quantization failed (%s); embedding at float32", exc)
        tmp.unlink(missing_ok=True)
        return False
    finally:
        root.setLevel(level)
    tmp.replace(export_dir / INT8_FILE)
    return True


def _is_ffn_output(node_name: str) -> bool:
    """A BERT layer's feed-forward output projection (`layer.N/output/dense`, not the attention's)."""
    return "/output/dense" in node_name and "/attention/" not in node_name
