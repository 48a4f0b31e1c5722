"""Rerankers: a part that scores (question, passage) pairs together, as a cross-encoder does, to
re-order the top hits (`stages.Rerank`). Off unless `RAG_RERANKER` names one.

`build(name)` looks the name's scheme up in a table fed by `register`, as the embedders do; any
name without a registered scheme is a sentence-transformers `CrossEncoder`: a folder, or a Hub
repository in the models cache (`rag models pull`), loaded offline on first use. None ships with
this project (no cross-encoder's weights come in a package here): on a connected machine,
`rag models pull cross-encoder/ms-marco-MiniLM-L-6-v2`, then `RAG_RERANKER=` that name, and
`rag eval --config rerank:reranker=NAME` compares it side by side with the default.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from index.errors import ConfigError


class Reranker(Protocol):
    name: str

    def score(self, query: str, texts: list[str]) -> list[float]:
        """One score per text, higher is more relevant."""
        ...


class CrossEncoderReranker:
    def __init__(self, folder: Path) -> None:
        self.name = folder.name
        self.folder = folder
        self._model = None
        self._lock = threading.Lock()

    @property
    def model(self):
        if self._model is None:
            with self._lock:
                if self._model is None:
                    from sentence_transformers import CrossEncoder

                    try:
                        self._model = CrossEncoder(str(self.folder), device="cpu")
                    except Exception as exc:  # a folder that is no cross-encoder: one line, at the edge
                        raise ConfigError(f"cannot load the reranker at {self.folder}: {exc}"[:300]) from None
        return self._model

    def score(self, query: str, texts: list[str]) -> list[float]:
        scores = self.model.predict([(query, text) for text in texts], show_progress_bar=False)
        return [float(s) for s in scores]


def cross_encoder(name: str, models_dir: Path | None = None) -> CrossEncoderReranker:
    """A CrossEncoder from the folder `name`, or from the models cache where `rag models pull`
    keeps the Hub repository `name`."""
    folder = Path(name).expanduser()
    if not folder.is_dir() and models_dir is not None:
        folder = models_dir / name.replace("/", "--")
    if not folder.is_dir():
        raise ConfigError(f"no reranker at '{name}': give a folder, or `rag models pull {name}` first (RAG_RERANKER)")
    return CrossEncoderReranker(folder)


_FACTORIES: dict[str, Callable[..., Reranker]] = {}
DEFAULT_SCHEME = "cross-encoder"


def register(scheme: str, factory: Callable[..., Reranker]) -> None:
    """`factory(name, models_dir=)` builds the rerankers whose name is `scheme` or starts with
    `scheme:`."""
    _FACTORIES[scheme] = factory


def build(name: str, models_dir: Path | None = None) -> Reranker:
    factory = _FACTORIES.get(name.partition(":")[0], _FACTORIES[DEFAULT_SCHEME])
    return factory(name, models_dir=models_dir)


register(DEFAULT_SCHEME, cross_encoder)
