"""`Components`: the one place where the parts are built from a configuration, each once, under
one lock (first uses arrive together: an MCP client's two first searches, the chat's first
answers; one thread builds, the others wait).

    embedder    index.embedders (RAG_EMBED_MODEL)           documents and questions into vectors
    store       index.vectors.VectorStore (RAG_CHROMA_URL)  the vectors, embedded or on a server
    manifest    index.manifest                              documents, chunks, sentence vectors
    lexical     index.lexical.LexicalIndex                  BM25 over the manifest's chunks
    reranker    rag.retrieval.rerank (RAG_RERANKER)         optional
    retriever   rag.retrieval.Retriever                     the stages over the parts above
    answerers   rag.answer, by backend (rag.backends)       built on first use, then kept
    indexer     index.pipeline.Indexer                      a new one per run, with the embedder above

The readers (manifest, lexical index, retriever) are opened on first use and dropped by
`reset()` when an index run changes what they read; the embedder and the answerers stay.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping

from index import datadir
from index.errors import REPAIR, IndexDamagedError, IndexMissingError, model_mismatch
from index.readers.base import Reading
from rag.config import RagConfig

log = logging.getLogger(__name__)


class Components:
    def __init__(self, config: RagConfig) -> None:
        self.config = config
        self._embedder = None
        self._reranker = None
        self._client = None
        self._retriever = None
        self._manifest = None
        self._answerers: dict[str, object] = {}
        self._lock = threading.RLock()

    @classmethod
    def from_config(cls, config: RagConfig) -> Components:
        return cls(config)

    # --- parts that stay ------------------------------------------------------------------
    @property
    def embedder(self):
        """The configured embedder, built once: it embeds documents when indexing and questions
        when searching."""
        if self._embedder is None:
            with self._lock:
                if self._embedder is None:
                    from index import embedders
                    from rag.models import models_folder

                    cfg = self.config
                    self._embedder = embedders.build(cfg.embed_model, data_dir=cfg.data_dir,
                                                     batch_size=cfg.embed_batch_size, query_backend=cfg.query_backend,
                                                     models_dir=models_folder(cfg))
        return self._embedder

    @property
    def reranker(self):
        """The configured reranker, built once; None when off."""
        if self._reranker is None and self.config.reranker:
            with self._lock:
                if self._reranker is None:
                    from rag.models import models_folder
                    from rag.retrieval import rerank

                    self._reranker = rerank.build(self.config.reranker, models_folder(self.config))
        return self._reranker

    def answerer(self, name: str, corpus):
        """The answerer of backend `name` (rag.answer), built once: an LLM's model stays loaded."""
        answerer = self._answerers.get(name)
        if answerer is None:
            with self._lock:
                if name not in self._answerers:
                    from rag.answer import build

                    self._answerers[name] = build(name, self.config, corpus)
                answerer = self._answerers[name]
        return answerer

    def store(self):
        """The vector store: a new handle over the one client (Chroma shares one per folder)."""
        from index.vectors import VectorStore, connect

        with self._lock:
            if self._client is None:
                self._client = connect(self.config.data_dir, self.config.chroma_url)
            return VectorStore(self._client, self.config.collection)

    def indexer(self, progress: bool = False, cancelled: Callable[[], bool] | None = None,
                readings: Mapping[str, Reading] | None = None):
        """An `Indexer` for one run, chunking in the embedder's tokens within its window."""
        from index.chunk import ChunkPlan
        from index.pipeline import Indexer

        cfg = self.config
        window = self.embedder.window
        plan = ChunkPlan(min(cfg.chunk_tokens, window), min(cfg.chunk_overlap, window // 2), window)
        if cfg.chunk_tokens > window:
            log.warning("chunk_tokens %d exceeds the model window; using %d", cfg.chunk_tokens, window)
        return Indexer(
            data_dir=cfg.data_dir, embedder=self.embedder, store=self.store, plan=plan,
            max_bytes=int(cfg.max_file_mb * 1_000_000), extensions=cfg.extensions,
            write_batch=cfg.write_batch, lock_timeout=cfg.lock_timeout, progress=progress,
            embed_cache=cfg.embed_cache, read_options=cfg.read_options(progress=progress, cancelled=cancelled),
            readings=readings,
        )

    # --- readers, reopened after an index run ---------------------------------------------
    def manifest(self, required: bool):
        """The manifest, open; None when nothing is indexed yet (IndexMissingError if `required`)."""
        from index.manifest import open_verified

        with self._lock:
            if self._manifest is None:
                path = datadir.manifest(self.config.data_dir)
                if not path.exists():
                    if required:
                        raise IndexMissingError(
                            f"nothing is indexed in {self.config.data_dir} yet; run `rag index PATH` first")
                    return None
                self._manifest = open_verified(path)
            return self._manifest

    @property
    def retriever(self):
        retriever = self._retriever
        if retriever is None:
            with self._lock:
                if self._retriever is None:
                    self._retriever = self._open_retriever()
                retriever = self._retriever
        return retriever

    def _open_retriever(self):
        """Open the manifest, the BM25 index and the vector store for searching. A part that is
        missing or damaged is an IndexDamagedError naming it and its repair (never a search that
        silently finds nothing, never a traceback from SQLite, bm25s or Chroma)."""
        from index.health import fix_command
        from rag.retrieval import Retriever

        cfg = self.config
        manifest = self.manifest(required=True)
        built_with = manifest.get_meta("embed_model")
        if built_with and built_with != self.embedder.name:
            raise model_mismatch(built_with, self.embedder.name)
        try:
            lexical = self._lexical_index(manifest)
            # A new client each time the readers are reopened (cheap: Chroma shares one instance per
            # folder): after `rag index --rebuild` moved a damaged store aside, the old one is stale.
            self._client = None
            vectors = self.store()
            if vectors.open(self.embedder.name, None, create=False) is None:
                if manifest.counts()["chunks"]:
                    raise IndexDamagedError(f"the vector collection '{cfg.collection}' at "
                                            f"{cfg.chroma_url or cfg.data_dir} is missing", REPAIR)
                raise IndexMissingError(
                    f"no vectors in collection '{cfg.collection}' at {cfg.chroma_url or cfg.data_dir}; "
                    "run `rag index PATH` first"
                )
        except IndexDamagedError as exc:
            if not exc.fix.endswith(" PATH") or not manifest.roots():
                raise
            # name the folders that were indexed, as `rag status` does
            raise IndexDamagedError(exc.what, fix_command("rag", exc.fix[len("rag "):-len(" PATH")],
                                                          manifest.roots())) from None
        return Retriever(self.embedder, vectors, lexical, manifest, cfg, self.reranker)

    def _lexical_index(self, manifest):
        """The BM25 index the manifest names (None for an index without one)."""
        from index import lexical

        name = manifest.get_meta("bm25")
        try:
            return lexical.load(self.config.data_dir / name, manifest.chunk_docs) if name else None
        except IndexDamagedError:
            newer = manifest.get_meta("bm25")  # a `rag index` running now may have just replaced it
            if newer == name:
                raise
            return lexical.load(self.config.data_dir / newer, manifest.chunk_docs) if newer else None

    def reset(self) -> None:
        """Drop the readers: the next use opens what an index run left."""
        with self._lock:
            if self._manifest is not None:
                self._manifest.close()
            self._manifest = None
            self._retriever = None

    def close(self) -> None:
        self.reset()
