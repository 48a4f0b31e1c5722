"""Embed a query in a fresh process quickly: onnxruntime + tokenizers, no torch import.

Uses the ONNX export made at index time (`index.embed.export_onnx`), checked there to give the
same vectors as torch; falls back to torch when no export exists.
"""

from __future__ import annotations

import json
from pathlib import Path


class OnnxQueryEmbedder:
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
        self._session = ort.InferenceSession(
            str(export_dir / "model.onnx"), options, providers=["CPUExecutionProvider"]
        )

    @staticmethod
    def available(export_dir: Path) -> bool:
        return (export_dir / "model.onnx").exists() and (export_dir / "meta.json").exists()

    def embed(self, texts: list[str]):
        import numpy as np

        encodings = self._tok.encode_batch(texts)
        arrays = {
            "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
            "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
        }
        return self._session.run(None, {name: arrays[name] for name in self._inputs})[0]
