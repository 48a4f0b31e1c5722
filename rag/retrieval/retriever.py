"""`Retriever`: the opened index (vectors, BM25, the manifest) that the stages search, and the
search itself: the stages its mode lists (rag.retrieval.stages), run in order."""

from __future__ import annotations

import numpy as np

from index.embedders import Embedder
from index.sentence_cache import SentenceCache
from rag import aliases
from rag.cache import LruCache
from rag.config import RagConfig
from rag.rescore import query_terms
from rag.retrieval.rerank import Reranker
from rag.retrieval.stages import Search, stages_for
from rag.types import Hit, PageRef, pages_over


class Retriever:
    def __init__(self, embedder: Embedder, vectors, lexical, manifest, config: RagConfig,
                 reranker: Reranker | None = None, sentences: SentenceCache | None = None) -> None:
        self.embed_query = embedder.embed_query
        self.vectors = vectors
        self._lexical = lexical
        self._manifest = manifest
        self.config = config
        self._stages = {mode: stages_for(mode, config, reranker) for mode in ("hybrid", "dense", "lexical")}
        self._doc_texts: LruCache[str, str] = LruCache(256)
        self._doc_pages: LruCache[str, tuple[PageRef, ...]] = LruCache(256)
        self._doc_titles: LruCache[str, str | None] = LruCache(1024)
        # Chunk ids hash the chunk's document, span and text, so a cached row never goes stale;
        # reading the same top chunks from SQLite for every question was a tenth of a search.
        self._chunks: LruCache[str, object] = LruCache(8192)
        self._sentence_vectors: LruCache[str, np.ndarray] = LruCache(4096)
        self._sentences = sentences  # makes the sentence vectors the manifest does not hold (a lazy index)

    def close(self) -> None:
        if self._sentences is not None:
            self._sentences.close()

    def use_manifest(self, manifest) -> None:
        """Read `manifest` from now on: a new snapshot of the same generation (so the caches stay
        true), rag.wiring's renewal."""
        self._manifest = manifest

    def search(self, query: str, k: int, mode: str = "hybrid", sources: list[str] | None = None) -> list[Hit]:
        search = Search(query, k, sources, self, depth=max(k, self.config.candidates))
        for stage in self._stages[mode]:
            stage.run(search)
        return search.hits

    # --- what the stages read -------------------------------------------------------------
    def lexical_candidates(self, query: str, depth: int, sources: list[str] | None) -> dict[str, float]:
        if self._lexical is None:
            return {}
        return dict(self._lexical.search(aliases.expand(query), depth, sources))

    def hit(self, chunk, score: float, dense: float | None, lexical: float | None) -> Hit:
        return Hit(
            chunk_id=chunk.chunk_id, source=chunk.doc_id, text=chunk.text, start_char=chunk.start_char,
            end_char=chunk.end_char, score=round(score, 6), section=chunk.section,
            dense_score=dense, lexical_score=lexical,
            pages=pages_over(self._pages(chunk.doc_id), chunk.start_char, chunk.end_char),
            title=self.doc_title(chunk.doc_id),
        )

    def weighted_terms(self, query: str) -> dict[str, float]:
        idf = self._lexical.idf if self._lexical is not None else {}
        unseen = self._lexical.unseen_idf if self._lexical is not None else 1.0
        return query_terms(query, idf, unseen)

    def chunks_by_id(self, chunk_ids: list[str]) -> dict:
        return self._chunks.get_many(chunk_ids, self._manifest.chunks_by_id)

    def sentence_vectors(self, chunk_ids: list[str]) -> dict[str, np.ndarray]:
        return self._sentence_vectors.get_many(chunk_ids, self._stored_or_made)

    def unembedded_after(self, chunk_id: str, count: int) -> list[str]:
        """Up to `count` chunks past `chunk_id` (in id order) that the manifest holds no sentence
        vectors for (a lazy index's): what rag.retrieval.warmup embeds ahead."""
        return self._manifest.unembedded_after(chunk_id, count) if self._sentences is not None else []

    def warm_sentences(self, chunk_ids: list[str]) -> int:
        """Make (or find made) the sentence vectors of these chunks; returns how many chunks."""
        chunks = self._manifest.chunks_by_id(chunk_ids)  # not the LRU: a warm-up would push out the hot rows
        return len(self._sentences.vectors(list(chunks.values()))) if self._sentences is not None else 0

    def _stored_or_made(self, chunk_ids: list[str]) -> dict[str, np.ndarray]:
        found = self._manifest.sentence_vectors(chunk_ids)
        missing = [cid for cid in chunk_ids if cid not in found]
        if missing and self._sentences is not None:
            chunks = self.chunks_by_id(missing)
            found.update(self._sentences.vectors([chunks[cid] for cid in missing if cid in chunks]))
        return found

    # --- what the answerers read ----------------------------------------------------------
    def similarity(self, a: str, b: str) -> float:
        """Cosine similarity of two short texts under the query embedder."""
        va, vb = (np.asarray(self.embed_query(t), dtype=np.float32) for t in (a, b))
        return float(va @ vb)

    @property
    def vocabulary(self) -> dict[str, float]:
        """Every term of the corpus, with its idf (empty without a lexical index)."""
        return self._lexical.idf if self._lexical is not None else {}

    def sources(self) -> list[str]:
        """The indexed documents, as this retriever's snapshot of the manifest lists them."""
        return self._manifest.sources()

    def doc_text(self, source: str) -> str:
        """The original text of a document, which citations quote (cached: it is read per hit)."""
        return self._doc_texts.get_or_make(source, lambda: self._manifest.doc_text(source) or "")

    def doc_title(self, source: str) -> str | None:
        return self._doc_titles.get_or_make(source, lambda: self._manifest.doc_title(source))

    def _pages(self, source: str) -> tuple[PageRef, ...]:
        return self._doc_pages.get_or_make(source, lambda: tuple(
            PageRef(p.number, p.label, p.start, p.end, p.ocr) for p in self._manifest.doc_pages(source)))
