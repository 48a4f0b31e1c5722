"""`HashingEmbedder`: a deterministic stand-in for a model, for tests and benchmarks where the
model does not matter (crash safety, damage repair, the store at a million chunks). It is named
`fake` wherever it shows, and is never used where retrieval or answer quality is claimed.

A text's vector is its words hashed into `dimension` buckets (signed, so unrelated words cancel
rather than pile up), L2-normalised: texts sharing words are near, so searches still find the
planted passage, at a few microseconds a text and no model to load. Chunks are cut in the
default model's tokens, so they are the chunks the real model would get.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

import numpy as np

from index.chunk import TokenCounter

NAME = "fake"
_WORD = re.compile(r"\w+", re.UNICODE)


class HashingEmbedder:
    def __init__(self, dimension: int = 384) -> None:
        self.name = NAME if dimension == 384 else f"{NAME}:{dimension}"
        self._dimension = dimension
        self._tokens: TokenCounter | None = None

    @property
    def dimension(self) -> int:
        return self._dimension

    @property
    def window(self) -> int:
        return 254

    def tokens(self) -> TokenCounter:
        if self._tokens is None:
            from index.embed import DEFAULT_MODEL, Tokens, resolve_model

            self._tokens = Tokens(resolve_model(DEFAULT_MODEL))
        return self._tokens

    def embed(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self._dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in _WORD.findall(text.casefold()):
                digest = hashlib.blake2b(word.encode(), digest_size=8).digest()
                bucket = int.from_bytes(digest[:4], "little") % self._dimension
                out[row, bucket] += 1.0 if digest[4] & 1 else -1.0
            norm = np.linalg.norm(out[row])
            if norm:
                out[row] /= norm
            else:
                out[row, 0] = 1.0  # no words: still a unit vector
        return out

    def embed_passages(self, texts: list[str], spans) -> tuple[np.ndarray, list[np.ndarray]]:
        """As a model's: each span's vector is made from the span's own words."""
        pooled = [self.embed([text[a:b] for a, b in text_spans]) if len(text_spans) else
                  np.zeros((0, self._dimension), np.float32) for text, text_spans in zip(texts, spans, strict=True)]
        return self.embed(texts), pooled

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed([text])[0]

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self.embed(texts)

    def ready_for_queries(self) -> None:
        pass

    def config(self) -> dict[str, Any]:
        return {"name": self.name}


def build(name: str, **_: Any) -> HashingEmbedder:
    """`fake` (384 dimensions, as MiniLM) or `fake:DIM`."""
    from index.errors import ConfigError

    _, _, size = name.partition(":")
    if size and not (size.isdigit() and 1 <= int(size) <= 4096):
        raise ConfigError(f"'{name}': the fake embedder's dimension must be 1-4096 (fake:DIM)")
    return HashingEmbedder(int(size) if size else 384)
