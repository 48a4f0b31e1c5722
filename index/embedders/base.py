"""What an embedder is: the one part that turns text into vectors.

An index is searched with the embedder that built it: its `name` is recorded with the vectors, and
`config()` is what `index.embedders.build` needs to make it again (chroma's `EmbeddingFunction`
carries the same). Chunks are cut in the embedder's own tokens (`tokens`, at most `window`), so a
chunk never runs past what the model reads.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

from index.chunk import TokenCounter


class Embedder(Protocol):
    name: str  # recorded in the index; a different name there is a model mismatch

    @property
    def dimension(self) -> int: ...

    @property
    def window(self) -> int:
        """Tokens of one text the model reads (special tokens apart)."""
        ...

    def tokens(self) -> TokenCounter:
        """Counts and splits text in the model's own tokens, for the chunker."""
        ...

    def embed(self, texts: list[str]) -> np.ndarray:
        """Documents' vectors: one L2-normalised float32 row per text."""
        ...

    def embed_passages(self, texts: list[str], spans: Sequence[Sequence[tuple[int, int]]]
                       ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Documents' vectors (as `embed`) and, for each text, one unit vector per (start, end)
        character span of it, from the same reading of the text (a row of zeros for a span the
        model did not read): a passage's sentences are scored without a second pass."""
        ...

    def embed_query(self, text: str) -> np.ndarray:
        """A question's vector, comparable with the documents' (often a faster path to the same)."""
        ...

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        """Short texts' vectors made at question time (a lazy index's sentences, index.sentence_cache),
        on the query path: comparable with `embed`'s, without loading what only indexing needs."""
        ...

    def ready_for_queries(self) -> None:
        """Called after a run stored vectors: prepare the fast query path (may do nothing)."""
        ...

    def config(self) -> dict[str, Any]:
        """What rebuilds it: `index.embedders.build(config["name"], ...)`."""
        ...
