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

The readers (manifest, lexical index, retriever) are opened on first use, on one snapshot of the
manifest; `refresh()`, asked before each question, moves them to a newer generation of the index
that any process committed (rag.retrieval.generation), and `reset()` drops them before this
process writes the index. The embedder and the answerers stay.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping

from index import datadir
from index.errors import REPAIR, IndexDamagedError, IndexMissingError, RagError, model_mismatch
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
        self._watch = None  # rag.retrieval.generation.Generations, made on first use
        self._stamp = None  # the manifest's commit when the readers' snapshot was taken
        self._snapshot_at = 0.0  # when it was taken (time.monotonic)
        self._warmer = None  # rag.retrieval.warmup.SentenceWarmer, in serving processes
        self._activity = None  # rag.retrieval.warmup.Activity: questions in flight, which the warm-up waits for

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
                                                     models_dir=models_folder(cfg), device=cfg.device,
                                                     precision=cfg.embed_precision)
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
            sentence_vectors=cfg.sentence_vectors,
            embed_cache=cfg.embed_cache, read_options=cfg.read_options(progress=progress, cancelled=cancelled),
            readings=readings,
        )

    # --- readers, moved to each new generation of the index -------------------------------
    @property
    def _generations(self):
        if self._watch is None:
            from rag.retrieval.generation import Generations

            self._watch = Generations(datadir.manifest(self.config.data_dir))
        return self._watch

    def manifest(self, required: bool):
        """The manifest, open on one read snapshot; None when nothing is indexed yet
        (IndexMissingError if `required`)."""
        from rag.retrieval.generation import open_snapshot

        with self._lock:
            if self._manifest is None:
                path = datadir.manifest(self.config.data_dir)
                if not path.exists():
                    if required:
                        raise IndexMissingError(
                            f"nothing is indexed in {self.config.data_dir} yet; run `rag index PATH` first")
                    return None
                # stamped before the snapshot: a commit in between is taken for a newer generation
                self._stamp = self._generations.stamp()
                self._manifest, self._snapshot_at = open_snapshot(path), time.monotonic()
            return self._manifest

    def refresh(self) -> None:
        """Move the readers to the newest complete generation of the index when one was committed
        since they were opened, by this process or another (rag.retrieval.generation). A few
        microseconds when none was, so it is asked before every question. Answers in flight keep
        the readers they started with; a generation that cannot be opened leaves this one serving."""
        from rag.retrieval import generation

        stamp = self._stamp
        if self._manifest is None:
            return
        if self._generations.newer_than(stamp):
            with self._lock:
                if self._stamp is stamp and self._manifest is not None:  # not switched by another thread meanwhile
                    self._switch()
        elif time.monotonic() - self._snapshot_at > generation.RENEW_AFTER_S:
            self._renew()

    def _switch(self) -> None:
        from rag.retrieval.generation import complete

        kept = self._manifest, self._retriever, self._stamp
        # dropped, not closed: answers in flight still read them (closed when the last lets go)
        self._manifest = self._retriever = None
        try:
            self.manifest(required=True)
            if kept[1] is not None:
                self._retriever = self._open_retriever()
            if complete({key: self._manifest.get_meta(key) or "" for key in ("state", "bm25")}):
                log.info("switched to the index generation with BM25 %s", self._manifest.get_meta("bm25"))
                return
            stamp = kept[2]  # another run began meanwhile: its end is the generation to switch to
        except RagError as exc:
            log.warning("the index changed, but its new generation cannot be opened (%s); answering from the "
                        "one before", exc)
            stamp = self._stamp  # tried again at the next commit, not at every question
        if self._manifest is not None and self._manifest is not kept[0]:
            self._manifest.close()
        self._manifest, self._retriever = kept[0], kept[1]
        self._stamp = stamp

    def _renew(self) -> None:
        """The readers' snapshot taken again when nothing was committed since (the same rows), so
        that it pins no WAL frame and the next index run can start the WAL over."""
        from rag.retrieval.generation import renewed

        with self._lock:
            self._snapshot_at = time.monotonic()
            manifest = renewed(datadir.manifest(self.config.data_dir), self._generations, self._stamp)
            if manifest is None:
                return
            self._manifest = manifest  # the one before is closed when the last read in flight lets go of it
            if self._retriever is not None:
                self._retriever.use_manifest(manifest)

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
        from index.sentence_cache import SentenceCache
        from rag.retrieval import Retriever

        cfg = self.config
        manifest = self.manifest(required=True)
        built_with = manifest.get_meta("embed_model")
        if built_with and built_with != self.embedder.name:
            raise model_mismatch(built_with, self.embedder.name)
        try:
            manifest, lexical = self._lexical_index()
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
            roots = self._manifest.roots() if self._manifest is not None else []
            if not exc.fix.endswith(" PATH") or not roots:
                raise
            # name the folders that were indexed, as `rag status` does
            raise IndexDamagedError(exc.what, fix_command("rag", exc.fix[len("rag "):-len(" PATH")],
                                                          roots)) from None
        sentences = SentenceCache(datadir.sentence_cache(cfg.data_dir), self.embedder.name, self.embedder.embed_queries)
        return Retriever(self.embedder, vectors, lexical, manifest, cfg, self.reranker, sentences)

    def _lexical_index(self):
        """The manifest and the BM25 index its snapshot names (None for an index without one). A
        run that ends between taking the snapshot and reading that folder drops the folder: the
        snapshot is then taken again, once."""
        manifest = self.manifest(required=True)
        try:
            return manifest, self._load_lexical(manifest)
        except IndexDamagedError:
            if not self._generations.newer_than(self._stamp):
                raise
        manifest.close()
        self._manifest = None
        manifest = self.manifest(required=True)
        return manifest, self._load_lexical(manifest)

    def _load_lexical(self, manifest):
        from index import lexical

        name = manifest.get_meta("bm25")
        return lexical.load(self.config.data_dir / name, manifest.chunk_docs) if name else None

    def reset(self) -> None:
        """Drop the readers: the next use opens what an index run left."""
        with self._lock:
            if self._manifest is not None:
                self._manifest.close()
            self._manifest = None
            if self._retriever is not None:
                self._retriever.close()
            self._retriever = None
            self._stamp = None

    # --- idle time: a lazy index's sentence vectors made ahead (rag.retrieval.warmup) ---------
    def warm_sentences(self) -> None:
        """Start embedding, while no question is in flight, the sentences a lazy index left for
        question time (long-running processes: the chat, the MCP server)."""
        from rag.retrieval.warmup import SentenceWarmer

        with self._lock:
            if self._warmer is None:
                self._warmer = SentenceWarmer(self._newest_retriever, self.activity)
        self._warmer.start()

    def _newest_retriever(self):
        self.refresh()
        return self.retriever

    @property
    def activity(self):
        if self._activity is None:
            from rag.retrieval.warmup import Activity

            with self._lock:
                if self._activity is None:
                    self._activity = Activity()
        return self._activity

    def busy(self):
        """Held while a question is searched or answered, or an index run writes: the warm-up waits."""
        return self.activity.busy()

    def close(self) -> None:
        if self._warmer is not None:
            self._warmer.stop()
        self.reset()
        if self._watch is not None:
            self._watch.close()
