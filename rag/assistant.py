"""`Assistant`: the one facade over indexing and search that the CLI, the UI and eval use."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from pathlib import Path

from index import datadir
from index.chunk import ChunkPlan
from index.errors import IndexMissingError, InputError, model_mismatch
from index.readers.base import Reading
from index.types import IndexReport
from rag.config import RETRIEVAL_MODES, RagConfig
from rag.types import Answer, Hit, IndexStatus

log = logging.getLogger(__name__)

MAX_QUERY_CHARS = 20_000


class Assistant:
    def __init__(self, config: RagConfig | None = None, progress: bool = False) -> None:
        self.config = config or RagConfig.from_env()
        self.progress = progress
        self._embedder = None
        self._reranker = None
        self._client = None
        self._retriever = None
        self._manifest = None
        self._answerers: dict[str, object] = {}
        # The readers are opened on first use, and first uses arrive together (an MCP client's two
        # first searches, the chat's first answers): one thread opens them, the others wait.
        self._opening = threading.RLock()

    # --- indexing -------------------------------------------------------------------------
    def index(self, paths: list[str | Path], rebuild: bool = False,
              exclusive: Callable[[], AbstractContextManager] | None = None,
              cancelled: Callable[[], bool] | None = None,
              readings: Mapping[str, Reading] | None = None) -> IndexReport:
        """Bring the index in line with `paths`: new and changed files embedded, removed ones dropped.

        `exclusive`: what to hold while the index is written and the readers switch over (the
        chat's write lock). Given, the files are first read, chunked and embedded without it,
        so answers go on meanwhile and wait only for the store to take the prepared vectors.
        `cancelled`: asked while reading and embedding; true, the run stops with `Cancelled`
        before it writes anything. `readings`: files read already (an upload's check), by the
        SHA-256 of their bytes."""
        from index.pipeline import Indexer

        cfg = self.config
        embedder = self.embedder
        window = embedder.window
        plan = ChunkPlan(min(cfg.chunk_tokens, window), min(cfg.chunk_overlap, window // 2), window)
        if cfg.chunk_tokens > window:
            log.warning("chunk_tokens %d exceeds the model window; using %d", cfg.chunk_tokens, window)
        indexer = Indexer(
            data_dir=cfg.data_dir, embedder=embedder, store=self._vector_store, plan=plan,
            max_bytes=int(cfg.max_file_mb * 1_000_000), extensions=cfg.extensions,
            write_batch=cfg.write_batch, lock_timeout=cfg.lock_timeout, progress=self.progress,
            embed_cache=cfg.embed_cache, read_options=cfg.read_options(progress=self.progress, cancelled=cancelled),
            readings=readings,
        )
        if exclusive is None:
            self._reset_readers()
            return indexer.run(paths, rebuild=rebuild)
        if not rebuild:
            indexer.prepare(paths)
        with exclusive():
            self._reset_readers()
            return indexer.run(paths, rebuild=rebuild)

    # --- search ---------------------------------------------------------------------------
    def search(self, query: str, k: int | None = None, mode: str | None = None,
               sources: list[str] | None = None) -> list[Hit]:
        query = check_query(query)
        k = self.config.top_k if k is None else k
        if k < 1:
            raise InputError("k must be at least 1")
        mode = mode or self.config.retrieval_mode
        if mode not in RETRIEVAL_MODES:
            raise InputError(f"retrieval mode must be one of {', '.join(RETRIEVAL_MODES)}, not '{mode}'")
        retriever = self.retriever
        return retriever.search(query, k, mode, self._check_sources(sources))

    def _check_sources(self, sources: list[str] | None) -> list[str] | None:
        """The chosen files, each one the index holds: a misspelt name would otherwise filter
        everything out and look like "the documents don't say"."""
        if sources is None:
            return None
        if isinstance(sources, str):
            sources = [sources]
        known = set(self._open_manifest(required=True).sources())
        unknown = [s for s in sources if s not in known]
        if unknown:
            raise InputError(unknown_sources(unknown, sorted(known)))
        return list(sources) or None

    # --- answers --------------------------------------------------------------------------
    def ask(self, question: str, history: Sequence | None = None, k: int | None = None,
            sources: list[str] | None = None, generator: str | None = None, mode: str | None = None) -> Answer:
        """Answer `question` with cited quotes, or abstain. `history`: earlier turns, oldest first,
        as ("user"|"assistant", text) pairs or {"role": ..., "content": ...} dicts."""
        answer = None
        for item in self.ask_stream(question, history, k, sources, generator, mode):
            if isinstance(item, Answer):
                answer = item
        assert answer is not None
        return answer

    def ask_stream(self, question: str, history: Sequence | None = None, k: int | None = None,
                   sources: list[str] | None = None, generator: str | None = None,
                   mode: str | None = None) -> Iterator[str | Answer]:
        """Yield the answer's text as it is produced (str deltas), then the finished `Answer`, always last."""
        from rag.answer import Request
        from rag.followup import turns

        request = Request(check_query(question), turns(history), k, sources, mode)
        yield from self._answerer(generator or self.config.generator).stream(request)

    def _answerer(self, name: str):
        """The answerer called `name` (rag.answer), built once: an LLM's model stays loaded."""
        if name not in self._answerers:
            from rag.answer import build

            self._answerers[name] = build(name, self.config, _Corpus(self))
        return self._answerers[name]

    def status(self) -> IndexStatus:
        """What the manifest says is indexed. Never fails on a damaged index: a manifest that cannot
        be read counts as empty here, and `health()` says what is wrong and how to repair it (the
        chat page must still load to show that)."""
        from index.errors import IndexDamagedError, StoreError

        counts, meta, sources = {"documents": 0, "chunks": 0}, {}, []
        try:
            manifest = self._open_manifest(required=False)
            if manifest:
                counts, sources = manifest.counts(), manifest.sources()
                meta = {key: manifest.get_meta(key) for key in ("dimension", "embed_model")}
        except (IndexDamagedError, StoreError) as exc:
            log.info("status: %s", exc)
            self._reset_readers()
        dimension = meta.get("dimension")
        store = self.config.chroma_url or str(datadir.chroma(self.config.data_dir))
        return IndexStatus(
            documents=counts["documents"], chunks=counts["chunks"],
            model=meta.get("embed_model") or self.config.embed_model,
            dimension=int(dimension) if dimension else None, store=store, data_dir=str(self.config.data_dir.resolve()),
            size_bytes=_folder_size(self.config.data_dir),
            sources=sources,
        )

    def health(self, command: str = "rag") -> list:
        """Every problem of the index (`index.health.Problem`: kind, message, fix); [] when it is
        healthy or nothing is indexed yet; IndexBusyError while a `rag index` is writing it.
        `command` starts each fix, e.g. "rag --data-dir X"."""
        from index import health

        return health.check(self.config.data_dir, self._vector_store, command)

    def document_text(self, source: str) -> str | None:
        manifest = self._open_manifest(required=False)
        return manifest.doc_text(source) if manifest else None

    def document_pages(self, source: str) -> tuple:
        """The document's pages (`index.readers.base.Page`), for a paged format; () otherwise."""
        manifest = self._open_manifest(required=False)
        return manifest.doc_pages(source) if manifest else ()

    def roots(self, sources: Sequence[str]) -> list[str]:
        """The folders these indexed documents were indexed from (for `rag eval --corpus`)."""
        manifest = self._open_manifest(required=False)
        if manifest is None or not sources:
            return []
        return sorted({record.root for record in map(manifest.doc, set(sources)) if record})

    def page_image(self, source: str, number: int, start: int = 0, end: int = 0, around: bool = False) -> bytes | None:
        """Page `number` of an indexed PDF as a picture (rag.page_view.MEDIA_TYPE), characters
        `start`–`end` of its text highlighted (`around`: only the part of the page around them);
        None when the document has no such page, its file is gone or changed since indexing (its
        pages would no longer be the ones the index describes), or the page is too large to show."""
        import hashlib

        from rag.page_view import render_page

        manifest = self._open_manifest(required=False)
        record = manifest.doc(source) if manifest else None
        page = next((p for p in self.document_pages(source) if p.number == number), None)
        if record is None or page is None:
            return None
        try:
            data = Path(record.path).read_bytes()
        except OSError:
            return None
        if hashlib.sha256(data).hexdigest() != record.byte_hash:
            return None
        return render_page(data, page, start, end, manifest.doc_text(source) or "", around)

    # --- wiring ---------------------------------------------------------------------------
    @property
    def embedder(self):
        """The configured embedder (`index.embedders`), built once: it embeds documents when
        indexing and questions when searching."""
        if self._embedder is None:
            with self._opening:
                if self._embedder is None:
                    from index import embedders

                    cfg = self.config
                    self._embedder = embedders.build(cfg.embed_model, data_dir=cfg.data_dir,
                                                     batch_size=cfg.embed_batch_size, query_backend=cfg.query_backend)
        return self._embedder

    @property
    def reranker(self):
        """The configured reranker (`RAG_RERANKER`), built once; None when off."""
        if self._reranker is None and self.config.reranker:
            with self._opening:
                if self._reranker is None:
                    from rag.models import models_folder
                    from rag.retrieval import rerank

                    self._reranker = rerank.build(self.config.reranker, models_folder(self.config))
        return self._reranker

    def _client_once(self):
        if self._client is None:
            from index.vectors import connect

            self._client = connect(self.config.data_dir, self.config.chroma_url)
        return self._client

    def _vector_store(self):
        from index.vectors import VectorStore

        return VectorStore(self._client_once(), self.config.collection)

    def _open_manifest(self, required: bool):
        with self._opening:
            return self._manifest_once(required)

    def _manifest_once(self, required: bool):
        from index.manifest import open_verified

        if self._manifest is None:
            path = datadir.manifest(self.config.data_dir)
            if not path.exists():
                if required:
                    raise IndexMissingError(
                        f"nothing is indexed in {self.config.data_dir} yet; run `rag index PATH` first"
                    )
                return None
            self._manifest = open_verified(path)
        return self._manifest

    @property
    def retriever(self):
        retriever = self._retriever
        if retriever is None:
            with self._opening:
                if self._retriever is None:
                    self._retriever = self._build_retriever()
                retriever = self._retriever
        return retriever

    def _build_retriever(self):
        """Open the manifest, the BM25 index and the vector store for searching. A part that is
        missing or damaged is an IndexDamagedError naming it and its repair (never a search that
        silently finds nothing, never a traceback from SQLite, bm25s or Chroma)."""
        from index.errors import REPAIR, IndexDamagedError
        from index.health import fix_command
        from rag.retrieval import Retriever

        cfg = self.config
        manifest = self._open_manifest(required=True)
        built_with = manifest.get_meta("embed_model")
        if built_with and built_with != self.embedder.name:
            raise model_mismatch(built_with, self.embedder.name)
        try:
            lexical = self._lexical_index(manifest)
            # A new client each time the readers are rebuilt (cheap: Chroma shares one instance per
            # folder): after `rag index --rebuild` moved a damaged store aside, the old one is stale.
            self._client = None
            vectors = self._vector_store()
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
        from index.errors import IndexDamagedError

        name = manifest.get_meta("bm25")
        try:
            return lexical.load(self.config.data_dir / name, manifest.chunk_docs) if name else None
        except IndexDamagedError:
            newer = manifest.get_meta("bm25")  # a `rag index` running now may have just replaced it
            if newer == name:
                raise
            return lexical.load(self.config.data_dir / newer, manifest.chunk_docs) if newer else None

    def _reset_readers(self) -> None:
        with self._opening:
            if self._manifest is not None:
                self._manifest.close()
            self._manifest = None
            self._retriever = None

    def close(self) -> None:
        self._reset_readers()


class _Corpus:
    """What answerers read, through the facade: search with its checks, and the retriever's
    document texts, similarity and vocabulary (built on first use)."""

    def __init__(self, assistant: Assistant) -> None:
        self._assistant = assistant

    def search(self, query, k=None, mode=None, sources=None):
        return self._assistant.search(query, k, mode, list(sources) if sources else None)

    def doc_text(self, source: str) -> str:
        return self._assistant.retriever.doc_text(source)

    def similarity(self, a: str, b: str) -> float:
        return self._assistant.retriever.similarity(a, b)

    def vocabulary(self):
        return self._assistant.retriever.vocabulary


def check_query(query: str) -> str:
    """Reject what cannot be a question: empty, control characters only, or absurdly long."""
    cleaned = "".join(ch if ch.isprintable() or ch in "\n\t" else " " for ch in query or "")
    cleaned = " ".join(cleaned.split())
    if not cleaned:
        raise InputError("the query is empty")
    if len(cleaned) > MAX_QUERY_CHARS:
        raise InputError(f"the query is {len(cleaned):,} characters long; the limit is {MAX_QUERY_CHARS:,}")
    return cleaned


def unknown_sources(unknown: list[str], known: list[str], shown: int = 20) -> str:
    """One line naming the files the index does not hold and the ones it does (the closest first)."""
    import difflib

    named = [u[:100] for u in unknown[:5]]  # a client may send thousands, or one of megabytes
    close = [c for u in named for c in difflib.get_close_matches(u, known, n=3, cutoff=0.6)]
    listed = list(dict.fromkeys(close + known))
    more = f" and {len(listed) - shown} more" if len(listed) > shown else ""
    names = ", ".join(f"'{n}'" for n in named) + (f" and {len(unknown) - 5} more" if len(unknown) > 5 else "")
    return (f"not in the index: {names}; " + (f"did you mean '{close[0]}'? " if close else "")
            + (f"indexed sources: {', '.join(listed[:shown])}{more}" if known else "nothing is indexed"))


def _folder_size(folder: Path) -> int:
    total = 0
    for dirpath, _dirs, files in os.walk(folder):
        for name in files:
            try:
                total += (Path(dirpath) / name).stat().st_size
            except OSError:
                pass
    return total
