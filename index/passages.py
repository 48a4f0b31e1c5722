"""Chunks into vectors: each chunk's own vector and its sentences' vectors (quote selection scores
sentences against the question), in one of three ways (`RAG_SENTENCE_VECTORS`):

- `exact` (the default): each sentence is also embedded on its own, under the chunk's headings
  (`Chunk.sentence_inputs`: "The default is 100." under "CREATE TABLE › fillfactor" is about
  fillfactor), in the same call as the chunks. It costs about twice the chunks' own pass.
- `pooled`: one forward pass per chunk; a sentence's vector is the mean of its tokens' states read
  in the chunk (`Embedder.embed_passages`). Indexing runs at the speed of the chunks' pass, but
  the model was trained on whole texts, not on spans of one: measured on the seeds' dev questions,
  answer evidence fell from 0.696 to 0.611 (docs/scale.md), so it is not the default. A sentence
  the model did not read (headings pushed it past the window) is embedded on its own.
- `lazy`: one forward pass per chunk, and no sentence vectors stored; they are made as `exact`
  makes them when a chunk is first retrieved (`index.sentence_cache`), so the answers are those of
  `exact` and the cost moves to the first questions that reach each chunk.

Vectors are kept by what determines them (the texts and sentence spans), so overlapping or
repeated chunks are embedded once, and `EmbeddingCache` can keep them across data folders.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np

from index.embedders import Embedder
from index.types import Chunk

Key = tuple[str, int, tuple[tuple[int, int], ...]]  # text embedded, length of its headings, sentences' spans
Vectors = tuple[np.ndarray, np.ndarray | None]  # a chunk's vector, its sentences' (one row each; None: lazy)
MODES = ("exact", "lazy", "pooled")


def key_of(chunk: Chunk) -> Key:
    text = chunk.indexed_text
    offset = len(text) - len(chunk.text)  # the headings before the chunk's own text
    return text, offset, tuple((offset + s.start, offset + s.end) for s in chunk.sentences)


def sentence_inputs(key: Key) -> list[str]:
    """Each sentence under the chunk's headings, as `Chunk.sentence_inputs` gives them."""
    text, offset, spans = key
    return [text[:offset] + text[a:b] for a, b in spans]


class PassageEmbedder:
    def __init__(self, embedder: Embedder, cache: Path | None = None, mode: str = "exact") -> None:
        self.embedder = embedder
        self.cache = cache  # an EmbeddingCache file, or None
        self.mode = mode
        self._ready: dict[Key, Vectors] = {}  # computed ahead (`prepare`), taken by `vectors`

    def prepare(self, chunks: list[Chunk], step: int, between: Callable[[int], None]) -> int:
        """Embed ahead of time, `step` chunks at a time, calling `between(done)` after each step
        (a progress bar's update; a cancel check that raises). Returns the number embedded."""
        keys = [k for k in dict.fromkeys(map(key_of, chunks)) if k not in self._ready]
        for start in range(0, len(keys), step):
            part = keys[start:start + step]
            self._ready.update(zip(part, self._compute(part), strict=True))
            between(len(part))
        return len(keys)

    def vectors(self, chunks: list[Chunk]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """(one vector per chunk, in order; each chunk's sentence vectors by chunk id, none when lazy)."""
        keys = [key_of(c) for c in chunks]
        found = {k: self._ready.pop(k) for k in set(keys) if k in self._ready}
        wanted = [k for k in dict.fromkeys(keys) if k not in found]
        found.update(zip(wanted, self._compute(wanted), strict=True))
        rows = [found[k] for k in keys]
        return np.stack([r[0] for r in rows]), {c.chunk_id: r[1] for c, r in zip(chunks, rows, strict=True)
                                                if r[1] is not None}

    def embed(self, texts: list[str]) -> np.ndarray:
        """Chunk vectors alone (a repair re-embedding chunks whose vectors were lost)."""
        return self._embed_texts(texts)

    def _compute(self, keys: list[Key]) -> list[Vectors]:
        if self.mode == "exact":
            return self._exact(keys)
        if self.mode == "lazy":
            return [(vector, None) for vector in self._embed_texts([k[0] for k in keys])]
        if self.cache is None:
            return self._pooled(keys)
        from index.embed_cache import EmbeddingCache

        cache = EmbeddingCache(self.cache)
        try:
            stacked = cache.embed_rows(f"{self.embedder.name}#pooled", [_cache_text(k) for k in keys],
                                       lambda texts: [np.vstack(v) for v in self._pooled(list(map(_cache_key, texts)))])
        finally:
            cache.close()
        return [(rows[0], rows[1:]) for rows in stacked]

    def _exact(self, keys: list[Key]) -> list[Vectors]:
        texts = list(dict.fromkeys([k[0] for k in keys] + [t for k in keys for t in sentence_inputs(k)]))
        row = {text: n for n, text in enumerate(texts)}
        vectors = self._embed_texts(texts)
        return [(vectors[row[k[0]]], vectors[[row[t] for t in sentence_inputs(k)]].reshape(-1, vectors.shape[1]))
                for k in keys]

    def _embed_texts(self, texts: list[str]) -> np.ndarray:
        if self.cache is None:
            return self.embedder.embed(texts)
        from index.embed_cache import EmbeddingCache

        cache = EmbeddingCache(self.cache)
        try:
            return cache.embed(self.embedder.name, texts, self.embedder.embed)
        finally:
            cache.close()

    def _pooled(self, keys: list[Key]) -> list[Vectors]:
        vectors, pooled = self.embedder.embed_passages([k[0] for k in keys], [k[2] for k in keys])
        unread = [(n, row) for n, rows in enumerate(pooled) for row in np.flatnonzero(~rows.any(axis=1))]
        if unread:  # past the model's window: those sentences are read on their own
            texts = [sentence_inputs(keys[n])[row] for n, row in unread]
            for (n, row), vector in zip(unread, self.embedder.embed(texts), strict=True):
                pooled[n][row] = vector
        return list(zip(vectors, pooled, strict=True))


def _cache_text(key: Key) -> str:
    return json.dumps(key)


def _cache_key(text: str) -> Key:
    embedded, offset, spans = json.loads(text)
    return embedded, offset, tuple(map(tuple, spans))
