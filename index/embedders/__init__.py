"""Embedders: the part that turns text into vectors (`base.Embedder`), chosen by name.

`build(name, ...)` looks the name's scheme up in a table fed by `register`: `fake` or `fake:DIM`
is the hashing stand-in for tests and benchmarks (`fake.py`); any other name is a
sentence-transformers model, bundled, in a folder or in the Hugging Face cache (`transformer.py`).
Another kind of embedder is one module and one `register` line here.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from index.embedders import fake, transformer
from index.embedders.base import Embedder

_FACTORIES: dict[str, Callable[..., Embedder]] = {}
DEFAULT_SCHEME = "sentence-transformers"


def register(scheme: str, factory: Callable[..., Embedder]) -> None:
    """`factory(name, data_dir=, batch_size=, query_backend=, models_dir=, device=, precision=)` builds the embedders
    whose name is `scheme` or starts with `scheme:`."""
    _FACTORIES[scheme] = factory


def build(name: str, data_dir: Path | None = None, batch_size: int = 16, query_backend: str = "auto",
          models_dir: Path | None = None, device: str = "auto", precision: str = "auto") -> Embedder:
    """`models_dir`: where `rag models pull OWNER/REPO` keeps the models it fetched; `device` and
    `precision`: index.embedders.device."""
    factory = _FACTORIES.get(name.partition(":")[0], _FACTORIES[DEFAULT_SCHEME])
    return factory(name, data_dir=data_dir, batch_size=batch_size, query_backend=query_backend, models_dir=models_dir,
                   device=device, precision=precision)


register(DEFAULT_SCHEME, transformer.build)
register(fake.NAME, fake.build)

__all__ = ["Embedder", "build", "register"]
