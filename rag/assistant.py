"""`Assistant`: the one facade over indexing and search that the CLI, the UI and eval use."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

from index.chunk import ChunkPlan
from index.embed import max_seq_length_of, resolve_model
from index.errors import IndexMissingError, InputError, model_mismatch
from index.types import IndexReport
from rag.config import RETRIEVAL_MODES, RagConfig
from rag.types import Answer, Hit, IndexStatus

log = logging.getLogger(__name__)

MAX_QUERY_CHARS = 20_000


class Assistant:
    def __init__(self, config: RagConfig | None = None, progress: bool = False) -> None:
        self.config = config or RagConfig.from_env()
        self.progress = progress
        self._model = None
        self._client = None
        self._retriever = None
        self._manifest = None
        self._answerers: dict[str, object] = {}

    # --- indexing -------------------------------------------------------------------------
    def index(self, paths: list[str | Path], rebuild: bool = False) -> IndexReport:
        """Bring the index in line with `paths`: new and changed files embedded, removed ones dropped."""
        from index.pipeline import Indexer

        cfg = self.config
        model = self.model
        window = max_seq_length_of(model) - 2  # [CLS] and [SEP]
        plan = ChunkPlan(min(cfg.chunk_tokens, window), min(cfg.chunk_overlap, window // 2), window)
        if cfg.chunk_tokens > window:
            log.warning("chunk_tokens %d exceeds the model window; using %d", cfg.chunk_tokens, window)
        self._reset_readers()
        indexer = Indexer(
            data_dir=cfg.data_dir, model=model, store=self._vector_store, plan=plan,
            max_bytes=int(cfg.max_file_mb * 1_000_000), extensions=cfg.extensions,
            batch_size=cfg.embed_batch_size, write_batch=cfg.write_batch, lock_timeout=cfg.lock_timeout, progress=self.progress,
            embed_cache=cfg.embed_cache,
        )
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
        manifest = self._open_manifest(required=False)
        counts = manifest.counts() if manifest else {"documents": 0, "chunks": 0}
        dimension = manifest.get_meta("dimension") if manifest else None
        store = self.config.chroma_url or str(self.config.data_dir / "chroma")
        return IndexStatus(
            documents=counts["documents"], chunks=counts["chunks"],
            model=(manifest.get_meta("embed_model") if manifest else None) or self.config.embed_model,
            dimension=int(dimension) if dimension else None, store=store, data_dir=str(self.config.data_dir.resolve()),
            size_bytes=_folder_size(self.config.data_dir),
            sources=manifest.sources() if manifest else [],
        )

    def document_text(self, source: str) -> str | None:
        manifest = self._open_manifest(required=False)
        return manifest.doc_text(source) if manifest else None

    # --- wiring ---------------------------------------------------------------------------
    @property
    def model(self):
        if self._model is None:
            self._model = resolve_model(self.config.embed_model)
        return self._model

    def _client_once(self):
        if self._client is None:
            from index.vectors import connect

            self._client = connect(self.config.data_dir, self.config.chroma_url)
        return self._client

    def _vector_store(self):
        from index.vectors import VectorStore

        return VectorStore(self._client_once(), self.config.collection)

    def _open_manifest(self, required: bool):
        from index.manifest import Manifest

        if self._manifest is None:
            path = self.config.data_dir / "manifest.sqlite"
            if not path.exists():
                if required:
                    raise IndexMissingError(
                        f"nothing is indexed in {self.config.data_dir} yet; run `rag index PATH` first"
                    )
                return None
            self._manifest = Manifest(path, readonly=True)
        return self._manifest

    @property
    def retriever(self):
        if self._retriever is None:
            self._retriever = self._build_retriever()
        return self._retriever

    def _build_retriever(self):
        from index.lexical import LexicalIndex
        from rag.retrieve import Retriever

        cfg = self.config
        manifest = self._open_manifest(required=True)
        built_with = manifest.get_meta("embed_model")
        if built_with and built_with != self.model.name:
            raise model_mismatch(built_with, self.model.name)
        lexical = None
        bm25 = manifest.get_meta("bm25")
        if bm25 and (cfg.data_dir / bm25 / "ids.json").exists():
            lexical = LexicalIndex(cfg.data_dir / bm25)
        vectors = self._vector_store()
        if vectors.open(self.model.name, None, create=False) is None:
            raise IndexMissingError(
                f"no vectors in collection '{cfg.collection}' at {cfg.chroma_url or cfg.data_dir}; "
                "run `rag index PATH` first"
            )
        return Retriever(self._query_embedder(), vectors, lexical, manifest, cfg)

    def _query_embedder(self):
        from index.pipeline import onnx_dir
        from index.query_embed import OnnxQueryEmbedder

        export = onnx_dir(self.config.data_dir, self.model.name)
        backend = self.config.query_backend
        if backend in ("auto", "onnx") and OnnxQueryEmbedder.available(export):
            onnx = OnnxQueryEmbedder(export)
            return lambda q: onnx.embed([q])[0]
        if backend == "onnx":
            log.warning("no ONNX export at %s; using torch for queries", export)
        from index.embed import TorchEmbedder

        torch_embedder = TorchEmbedder(self.model)
        return lambda q: torch_embedder.embed([q])[0]

    def _reset_readers(self) -> None:
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

    close = [c for u in unknown for c in difflib.get_close_matches(u, known, n=3, cutoff=0.6)]
    listed = list(dict.fromkeys(close + known))
    more = f" and {len(listed) - shown} more" if len(listed) > shown else ""
    names = ", ".join(f"'{n}'" for n in unknown)
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
