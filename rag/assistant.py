"""`Assistant`: the one facade over indexing and search that the CLI, the UI and eval use."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from pathlib import Path

from index import datadir
from index.errors import InputError
from index.readers.base import Reading
from index.types import IndexReport
from rag.config import RETRIEVAL_MODES, RagConfig
from rag.types import Answer, Hit, IndexStatus
from rag.wiring import Components

log = logging.getLogger(__name__)

MAX_QUERY_CHARS = 20_000
MAX_K = 1000  # passages one search or answer may ask for, at every edge: more is a typo, and slow


class Assistant:
    """The verbs: index, search, ask (streamed or whole), status, health, and a document's text,
    pages, page pictures and folders. The parts come from `Components` (rag.wiring), built from
    the configuration in one place; options are keyword-only, in one order everywhere
    (k, mode, sources, then history and generator for answers)."""

    def __init__(self, config: RagConfig | None = None, progress: bool = False,
                 components: Components | None = None) -> None:
        self.config = config or (components.config if components else RagConfig.from_env())
        self.parts = components or Components.from_config(self.config)
        self.progress = progress
        self._corpus = _Corpus(self)  # what answerers read, through this facade

    # --- indexing -------------------------------------------------------------------------
    def index(self, paths: list[str | Path], *, rebuild: bool = False,
              exclusive: Callable[[], AbstractContextManager] | None = None,
              cancelled: Callable[[], bool] | None = None,
              readings: Mapping[str, Reading] | None = None,
              crawl: int = 0, max_pages: int | None = None) -> IndexReport:
        """Bring the index in line with `paths`: new and changed files embedded, removed ones dropped.

        `exclusive`: what to hold while the index is written and the readers switch over (the
        chat's write lock). Given, the files are first read, chunked and embedded without it,
        so answers go on meanwhile and wait only for the store to take the prepared vectors.
        `cancelled`: asked while reading and embedding; true, the run stops with `Cancelled`
        before it writes anything. `readings`: files read already (an upload's check), by the
        SHA-256 of their bytes.

        Web addresses among `paths` (http://, https://) are mirrored first (index.web: a sitemap's
        pages, or same-site links `crawl` deep, at most `max_pages`), then the mirror is indexed
        with the files; each page refused is a failure in the report, by URL."""
        from index import web

        urls = [p for p in paths if web.is_url(p)]
        if urls:
            return self._index_web(urls, [p for p in paths if not web.is_url(p)], rebuild=rebuild,
                                   crawl=crawl, max_pages=max_pages)
        indexer = self.parts.indexer(self.progress, cancelled, readings)
        with self.parts.busy():  # no warm-up beside an index run (rag.retrieval.warmup)
            if exclusive is None:
                self.parts.reset()
                return indexer.run(paths, rebuild=rebuild)
            if not rebuild:
                indexer.prepare(paths)
            with exclusive():
                self.parts.reset()
                return indexer.run(paths, rebuild=rebuild)

    def _index_web(self, urls: list[str], paths: list, *, rebuild: bool, crawl: int,
                   max_pages: int | None) -> IndexReport:
        from index import web

        if crawl < 0 or (max_pages is not None and max_pages < 1):
            raise InputError("--crawl must be 0 or more and --max-pages 1 or more")
        limits = web.Limits(crawl=crawl, max_pages=max_pages or web.Limits.max_pages,
                            max_bytes=int(self.config.max_file_mb * 1_000_000))
        mirrored = web.mirror(urls, self.config.data_dir, limits)
        report = self.index([*paths, datadir.web_mirror(self.config.data_dir)], rebuild=rebuild)
        report.failed[:0] = mirrored.failed
        report.skipped[:0] = mirrored.skipped
        report.notes[:0] = mirrored.notes
        return report

    def _url_of(self) -> Callable[[str], str | None]:
        """Indexed source → its web page's URL, for the documents mirrored from the web (index.web)."""
        from index import web

        urls = web.page_urls(self.config.data_dir)
        if not urls:
            return lambda source: None
        mirror = str(datadir.web_mirror(self.config.data_dir).resolve())
        manifest = self.parts.manifest(required=False)
        checked: dict[str, str | None] = {}

        def url_of(source: str) -> str | None:
            if source not in checked:  # the same name indexed from another folder is not the page
                record = manifest.doc(source) if manifest and source in urls else None
                checked[source] = urls[source] if record and record.root == mirror else None
            return checked[source]

        return url_of

    # --- search ---------------------------------------------------------------------------
    def search(self, query: str, *, k: int | None = None, mode: str | None = None,
               sources: Sequence[str] | None = None) -> list[Hit]:
        from rag.links import hit_with_url

        hits = self._search(self._newest_retriever, query, k=k, mode=mode, sources=sources)
        url_of = self._url_of() if hits else None
        return [hit_with_url(h, url_of) for h in hits] if url_of else hits

    def _newest_retriever(self):
        self.parts.refresh()
        return self.parts.retriever

    def _search(self, retriever_of: Callable, query: str, *, k: int | None, mode: str | None,
                sources: Sequence[str] | None) -> list[Hit]:
        """`search`, on the retriever `retriever_of()` gives once the arguments are checked."""
        query = check_query(query)
        k = self.config.top_k if k is None else k
        if not 1 <= k <= MAX_K:
            raise InputError(f"k must be between 1 and {MAX_K:,}, not {k:,}")
        mode = mode or self.config.retrieval_mode
        if mode not in RETRIEVAL_MODES:
            raise InputError(f"retrieval mode must be one of {', '.join(RETRIEVAL_MODES)}, not '{mode}'")
        retriever = retriever_of()
        with self.parts.busy():
            return retriever.search(query, k, mode, self._check_sources(retriever, sources))

    def _check_sources(self, retriever, sources: Sequence[str] | None) -> list[str] | None:
        """The chosen files, each one the index holds: a misspelt name would otherwise filter
        everything out and look like "the documents don't say"."""
        if sources is None:
            return None
        if isinstance(sources, str):
            sources = [sources]
        known = set(retriever.sources())
        unknown = [s for s in sources if s not in known]
        if unknown:
            raise InputError(unknown_sources(unknown, sorted(known)))
        return list(sources) or None

    # --- answers --------------------------------------------------------------------------
    def ask(self, question: str, *, k: int | None = None, mode: str | None = None,
            sources: Sequence[str] | None = None, history: Sequence | None = None,
            generator: str | None = None) -> Answer:
        """Answer `question` with cited quotes, or abstain. `history`: earlier turns, oldest first,
        as ("user"|"assistant", text) pairs or {"role": ..., "content": ...} dicts. `generator`:
        the answer backend (rag.backends), the configured one by default."""
        answer = None
        for item in self.ask_stream(question, k=k, mode=mode, sources=sources, history=history, generator=generator):
            if isinstance(item, Answer):
                answer = item
        assert answer is not None
        return answer

    def ask_stream(self, question: str, *, k: int | None = None, mode: str | None = None,
                   sources: Sequence[str] | None = None, history: Sequence | None = None,
                   generator: str | None = None) -> Iterator[str | Answer]:
        """Yield the answer's text as it is produced (str deltas), then the finished `Answer`, always last."""
        from rag.answer import Request
        from rag.followup import turns

        request = Request(check_query(question), turns(history), k, list(sources) if sources else None, mode)
        answerer = self.answerer(generator)
        self.parts.refresh()
        with self.parts.busy():
            for item in self._corpus.pinned(answerer.stream(request)):
                yield self._linked(item) if isinstance(item, Answer) else item

    def _linked(self, answer: Answer) -> Answer:
        from rag.links import answer_with_urls

        return answer_with_urls(answer, self._url_of()) if answer.citations or answer.passages else answer

    def answerer(self, generator: str | None = None):
        """The answerer a question goes to (rag.answer): the configured backend's, or `generator`'s;
        built on first use and kept (an LLM's model stays loaded)."""
        return self.parts.answerer(generator or self.config.generator, self._corpus)

    def status(self) -> IndexStatus:
        """What the manifest says is indexed. Never fails on a damaged index: a manifest that cannot
        be read counts as empty here, and `health()` says what is wrong and how to repair it (the
        chat page must still load to show that)."""
        from index.errors import IndexDamagedError, StoreError

        counts, meta, sources, titles = {"documents": 0, "chunks": 0}, {}, [], {}
        try:
            self.parts.refresh()
            manifest = self.parts.manifest(required=False)
            if manifest:
                counts, sources, titles = manifest.counts(), manifest.sources(), manifest.titles()
                meta = {key: manifest.get_meta(key) for key in ("dimension", "embed_model")}
        except (IndexDamagedError, StoreError) as exc:
            log.info("status: %s", exc)
            self.parts.reset()
        dimension = meta.get("dimension")
        store = self.config.chroma_url or str(datadir.chroma(self.config.data_dir))
        return IndexStatus(
            documents=counts["documents"], chunks=counts["chunks"],
            model=meta.get("embed_model") or self.config.embed_model,
            dimension=int(dimension) if dimension else None, store=store, data_dir=str(self.config.data_dir.resolve()),
            size_bytes=_folder_size(self.config.data_dir),
            sources=sources, titles=titles,
        )

    def health(self, command: str = "rag") -> list:
        """Every problem of the index (`index.health.Problem`: kind, message, fix); [] when it is
        healthy or nothing is indexed yet; IndexBusyError while a `rag index` is writing it.
        `command` starts each fix, e.g. "rag --data-dir X"."""
        from index import health

        return health.check(self.config.data_dir, self.parts.store, command)

    def document_text(self, source: str) -> str | None:
        manifest = self.parts.manifest(required=False)
        return manifest.doc_text(source) if manifest else None

    def document_pages(self, source: str) -> tuple:
        """The document's own pages (`index.readers.base.Page`), which `page_image` draws, for a
        paged format; () otherwise. The pages of a PDF attached to a mail (`Page.within`) are not
        the mail's to draw: citations name them, the page view leaves them out."""
        manifest = self.parts.manifest(required=False)
        return tuple(p for p in manifest.doc_pages(source) if not p.within) if manifest else ()

    def roots(self, sources: Sequence[str]) -> list[str]:
        """The folders these indexed documents were indexed from (for `rag eval --corpus`)."""
        manifest = self.parts.manifest(required=False)
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

        manifest = self.parts.manifest(required=False)
        record = manifest.doc(source) if manifest else None
        page = next((p for p in self.document_pages(source) if p.number == number), None)
        if record is None or page is None or Path(record.path).suffix.lower() != ".pdf":
            return None  # a slide's or a block of rows' page has no picture
        try:
            data = Path(record.path).read_bytes()
        except OSError:
            return None
        if hashlib.sha256(data).hexdigest() != record.byte_hash:
            return None
        return render_page(data, page, start, end, manifest.doc_text(source) or "", around)

    def warm_sentences(self) -> None:
        """Spend this process's idle time embedding the sentences a lazy index left for question
        time (rag.retrieval.warmup): for processes that serve many questions."""
        self.parts.warm_sentences()

    def close(self) -> None:
        self.parts.close()


class _Corpus:
    """What answerers read, through the facade: search with its checks, and the retriever's
    document texts, similarity and vocabulary (built on first use). Within `pinned`, all of it
    comes from the one retriever an answer started with."""

    def __init__(self, assistant: Assistant) -> None:
        self._assistant = assistant
        self._pins = threading.local()

    def pinned(self, stream: Iterator) -> Iterator:
        """`stream` (an answer), reading one generation of the index throughout: the retriever it
        first reads, whatever another thread switches to meanwhile. Pinned per step, not per
        stream: a web server may run the steps of one answer on different threads."""
        held: list = []
        try:
            while True:
                before = getattr(self._pins, "held", None)
                self._pins.held = held
                try:
                    item = next(stream)
                except StopIteration:
                    return
                finally:
                    self._pins.held = before
                yield item
        finally:
            stream.close()

    def _retriever(self):
        held = getattr(self._pins, "held", None)
        if held is None:
            return self._assistant.parts.retriever
        if not held:
            held.append(self._assistant.parts.retriever)
        return held[0]

    def search(self, query, *, k=None, mode=None, sources=None):
        return self._assistant._search(self._retriever, query, k=k, mode=mode, sources=sources)

    def doc_text(self, source: str) -> str:
        return self._retriever().doc_text(source)

    def similarity(self, a: str, b: str) -> float:
        return self._retriever().similarity(a, b)

    def vocabulary(self):
        return self._retriever().vocabulary


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
