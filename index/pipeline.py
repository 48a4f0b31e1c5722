"""`Indexer.run(paths)`: bring the index in line with the files, incrementally and crash-safely.

Order of writes for each batch of documents: vectors are upserted under deterministic chunk
ids, then the manifest records the documents in one transaction, then stale vectors are deleted.
A kill at any point leaves vectors the manifest does not know (deleted by the next run's
reconcile) or documents whose hash is not yet recorded (re-embedded by the next run under the
same ids), so a re-run converges to exactly what a clean build gives.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from index import datadir, lexical, repair, sentence_cache
from index.chunk import ChunkPlan, TokenCounter, chunk_document
from index.clean import clean
from index.embedders import Embedder
from index.errors import InputError, model_mismatch
from index.load import Candidate, discover, read_document
from index.lock import write_lock
from index.manifest import Manifest
from index.passages import PassageEmbedder
from index.progress import Progress
from index.retitle import read_missing_titles
from index.readers.base import (DEFAULT_OPTIONS, READING_VERSION, Reading, ReadOptions, parts_of,
                                stop_if_cancelled)
from index.types import Chunk, Document, FileIssue, IndexReport
from index.vectors import VectorStore

log = logging.getLogger(__name__)

@dataclass
class _Work:
    doc: Document
    text_hash: str
    duplicate_of: str | None
    chunks: list[Chunk]
    is_new: bool


class Indexer:
    def __init__(
        self,
        data_dir: Path,
        embedder: Embedder,
        store: Callable[[], VectorStore],
        plan: ChunkPlan,
        max_bytes: int,
        extensions: tuple[str, ...],
        write_batch: int = 1024,
        lock_timeout: float = 10.0,
        progress: bool = False,
        embed_cache: Path | None = None,
        read_options: ReadOptions = DEFAULT_OPTIONS,
        readings: Mapping[str, Reading] | None = None,
        sentence_vectors: str = "lazy",
    ) -> None:
        self.data_dir = data_dir
        self.embedder = embedder
        self._store_factory = store
        self._store: VectorStore | None = None
        self.plan = plan
        self.max_bytes = max_bytes
        self.extensions = extensions
        self.write_batch = write_batch  # chunks committed together: the unit of crash recovery
        self.lock_timeout = lock_timeout
        self.progress = progress
        self.embed_cache = embed_cache
        self.read_options = read_options  # its `cancelled` is asked between files and embedding steps
        self.readings = readings or {}  # files read before (an upload's check), by bytes hash
        # What `prepare` did ahead of `run`: the documents it read or could not read (by path), each
        # document's cleaned text hash and chunks (by doc id and bytes hash), the vectors of their texts.
        self._read_ahead: dict[Path, Document | _Unreadable] = {}
        self._planned: dict[tuple[str, str], tuple[str, list[Chunk]]] = {}
        self.passages = PassageEmbedder(embedder, embed_cache, sentence_vectors)

    @property
    def opened_store(self) -> VectorStore | None:
        """The store, if this run opened it (a repair reconnects it after moving files aside)."""
        return self._store

    @property
    def store(self) -> VectorStore:
        if self._store is None:
            self._store = self._store_factory()
        return self._store

    def prepare(self, paths: list[str | Path]) -> int:
        """Read, chunk and embed the new and changed files under `paths` without taking any lock
        or writing anything, so that a following `run(paths)` only has to store them. Embedding is
        the slow part of indexing (minutes for a large upload on two cores); done here, the chat's
        answers need not wait for it. Files that fail are skipped: `run` reports them. Returns the
        number of texts embedded."""
        candidates, _, _ = discover(paths, self.extensions, ignore=(self.data_dir,))
        known = self._known_hashes()
        chunks: list[Chunk] = []
        for candidate in candidates:
            stop_if_cancelled(self.read_options)
            try:
                stat = candidate.path.stat()
                doc = read_document(candidate, self.max_bytes, self.read_options, self.readings)
            except OSError:
                continue  # `run` reports it
            except InputError as exc:  # remembered: a file that took minutes to fail is not read twice
                self._read_ahead[candidate.path] = _Unreadable(str(exc), stat.st_size, stat.st_mtime)
                continue
            self._read_ahead[candidate.path] = doc
            if known.get(doc.doc_id) != doc.byte_hash:
                chunks.extend(self._plan(doc)[1])
        step = max(min(self.write_batch, 256), 1)  # a cancel is heard within one step
        with self.bar(len(chunks), "chunk", "embedding") as bar:
            def between(done: int) -> None:
                bar.update(done)
                stop_if_cancelled(self.read_options)

            stop_if_cancelled(self.read_options)
            return self.passages.prepare(chunks, step, between)

    def _known_hashes(self) -> dict[str, str]:
        path = datadir.manifest(self.data_dir)
        if not path.exists():
            return {}
        manifest = Manifest(path, readonly=True)
        try:
            return {doc_id: record.byte_hash for doc_id, record in manifest.docs().items()}
        finally:
            manifest.close()

    def bar(self, total: int, unit: str, desc: str):
        """A progress bar when one was asked for and there is work to show; else one that shows
        nothing (same `update`, same `with`)."""
        from tqdm import tqdm

        return tqdm(total=total, unit=unit, desc=desc, leave=False, disable=not (self.progress and total))

    def run(self, paths: list[str | Path], rebuild: bool = False) -> IndexReport:
        started = time.perf_counter()
        report = IndexReport()
        datadir.require_writable(self.data_dir)
        stop_if_cancelled(self.read_options)  # the last moment to stop: from here on the run writes, and ends
        self.read_options = replace(self.read_options, cancelled=None)
        with write_lock(self.data_dir, self.lock_timeout):
            report.repairs = repair.wipe(self) if rebuild else []
            manifest = Manifest(datadir.manifest(self.data_dir))
            try:
                self._check_model(manifest)
                report.repairs += repair.repair(self, manifest)
                self._upgrade(manifest)
                self._sync(manifest, paths, report)
                report.chunks_total = manifest.counts()["chunks"]
            finally:
                manifest.close()
        report.seconds = time.perf_counter() - started
        return report

    # --- steps ----------------------------------------------------------------------------
    def _check_model(self, manifest: Manifest) -> None:
        built_with = manifest.get_meta("embed_model")
        if built_with and built_with != self.embedder.name:
            raise model_mismatch(built_with, self.embedder.name)

    def _upgrade(self, manifest: Manifest) -> None:
        """Documents indexed before sentence vectors existed are re-embedded under the same ids;
        those indexed before titles were read get theirs (index.retitle)."""
        outdated = manifest.missing_sentences()
        if outdated:
            log.info("%d documents lack sentence vectors (an older index format); re-embedding them", len(outdated))
            manifest.forget_hash(outdated)
        unpaged = manifest.without_layout()
        if unpaged:
            log.info("%d documents were indexed before page layouts were stored; reading them again", len(unpaged))
            manifest.forget_hash(unpaged)
        if manifest.get_meta("reading") != READING_VERSION:
            self._redo_all(manifest, "the readers changed since this index was made; reading")
            manifest.set_meta(reading=READING_VERSION)  # what is written from now on is read the new way
        made, mode = manifest.get_meta("sentence_vectors", "exact"), self.passages.mode
        if made != mode and "pooled" in (made, mode):  # scores of one index must be comparable
            self._redo_all(manifest, f"sentence vectors are now {mode}; embedding")
        elif made == "lazy" and mode == "exact":  # an exact index stores every chunk's
            unembedded = manifest.unembedded_sentences()
            if unembedded:
                log.info("embedding the sentences of %d documents indexed without them", len(unembedded))
                manifest.forget_hash(unembedded)
        manifest.set_meta(sentence_vectors=mode)
        read_missing_titles(manifest, self.read_options)

    @staticmethod
    def _redo_all(manifest: Manifest, why: str) -> None:
        known = manifest.docs()
        if known:
            log.info("%s its %d documents again", why, len(known))
            manifest.forget_hash(list(known))

    def _sync(self, manifest: Manifest, paths: list[str | Path], report: IndexReport) -> None:
        """Find what changed by the files' bytes (hashed, not parsed: a no-op run reads no document),
        then read, embed and commit the changed files batch by batch (`_stream`)."""
        candidates, report.skipped, report.failed = discover(paths, self.extensions, ignore=(self.data_dir,))
        known = manifest.docs()
        roots = {Path(p).expanduser().resolve() for p in paths if Path(p).is_dir()}
        seen: set[str] = set()
        changed: list[Candidate] = []
        for candidate in candidates:
            previous = known.get(candidate.doc_id)
            if previous and previous.root != str(candidate.root):
                report.failed.append(FileIssue(
                    str(candidate.path),
                    f"a document named '{candidate.doc_id}' is already indexed from {previous.root}; "
                    "index the common parent folder instead",
                ))
                continue
            seen.add(candidate.doc_id)
            digest = self._byte_hash(candidate, report, indexed=previous is not None)
            if digest is None:
                continue
            if previous and previous.byte_hash == digest:
                report.unchanged.append(candidate.doc_id)
                self._read_ahead.pop(candidate.path, None)
            else:
                changed.append(candidate)
        removed = _removed(known, roots, seen, report)
        changed += self._orphaned_duplicates(changed, known, removed, candidates, report)
        if not changed and not removed and manifest.get_meta("bm25"):
            return
        self._apply(manifest, sorted(changed, key=lambda c: c.doc_id), known, removed, report)

    def _byte_hash(self, candidate: Candidate, report: IndexReport, indexed: bool) -> str | None:
        ahead = self._read_ahead.get(candidate.path)
        if isinstance(ahead, Document) and _unchanged_since(candidate.path, ahead):
            return ahead.byte_hash
        try:
            with candidate.path.open("rb") as f:
                return hashlib.file_digest(f, "sha256").hexdigest()
        except OSError as exc:
            reason = "cannot read: permission denied" if isinstance(exc, PermissionError) else \
                f"cannot read: {exc.strerror or exc}"
            report.failed.append(FileIssue(str(candidate.path), reason + (KEPT if indexed else "")))
            return None

    def _read(self, candidate: Candidate, report: IndexReport, indexed: bool = False) -> Document | None:
        ahead = self._read_ahead.pop(candidate.path, None)
        if ahead is not None and _unchanged_since(candidate.path, ahead):
            if isinstance(ahead, _Unreadable):
                report.failed.append(FileIssue(str(candidate.path), ahead.reason + (KEPT if indexed else "")))
                return None
            if ahead.doc_id == candidate.doc_id:
                return ahead  # read by `prepare`, outside the lock: a PDF is not parsed twice
        try:
            return read_document(candidate, self.max_bytes, self.read_options, self.readings)
        except InputError as exc:
            report.failed.append(FileIssue(str(candidate.path), str(exc) + (KEPT if indexed else "")))
            return None

    @staticmethod
    def _orphaned_duplicates(changed, known, removed, candidates, report) -> list[Candidate]:
        """A duplicate whose original is removed or changed must be indexed in its own right."""
        gone = set(removed) | {c.doc_id for c in changed}
        orphans = {d for d, rec in known.items() if rec.duplicate_of in gone and d not in gone}
        unchanged = set(report.unchanged)  # an orphan that could not even be hashed stays as it was
        found = [c for c in candidates if c.doc_id in orphans and c.doc_id in unchanged]
        for candidate in found:
            report.unchanged.remove(candidate.doc_id)
        return found

    def _plan(self, doc: Document) -> tuple[str, list[Chunk]]:
        """The hash of the document's cleaned text and its chunks (depend only on its bytes)."""
        key = (doc.doc_id, doc.byte_hash)
        if key not in self._planned:
            cleaned = clean(doc.text, parts_of(doc.pages, doc.headings), doc.blocks)
            text_hash = hashlib.sha256(cleaned.text.encode()).hexdigest()
            self._planned[key] = text_hash, chunk_document(doc.doc_id, cleaned, self.plan, self.tokens)
        return self._planned[key]

    @property
    def tokens(self) -> TokenCounter:
        return self.embedder.tokens()

    def _apply(self, manifest: Manifest, changed: list[Candidate], known, removed: list[str],
               report: IndexReport) -> None:
        dimension = self.embedder.dimension if changed else None
        collection = self.store.open(self.embedder.name, dimension, create=bool(changed))
        if collection is not None:
            built_with = self.store.metadata.get("embed_model")
            manifest.set_meta(state="dirty", embed_model=built_with or self.embedder.name,
                              dimension=str(self.store.metadata.get("dimension") or dimension or ""))
        if removed:
            stale = sorted(manifest.chunk_ids(removed))
            if stale and collection is not None:
                self.store.delete(stale)
            manifest.remove_docs(removed)
            report.removed.extend(removed)
            report.chunks_deleted += len(stale)
        self._stream(manifest, changed, known, removed, report)
        ids, texts, docs = manifest.all_chunks()
        name = lexical.build(self.data_dir, ids, texts, docs)
        manifest.set_meta(bm25=name, state="clean")
        manifest.checkpoint()
        lexical.drop_others(self.data_dir, name)
        if removed or report.changed:
            self._forget_sentences()
        if report.chunks_written:
            self.embedder.ready_for_queries()

    def _forget_sentences(self) -> None:
        """Drop the question-time sentence vectors of chunks this run removed (index.sentence_cache)."""
        try:
            gone = sentence_cache.prune(datadir.sentence_cache(self.data_dir), datadir.manifest(self.data_dir))
        except sqlite3.Error as exc:  # a cache: what it keeps of removed chunks is never read
            log.warning("could not tidy %s: %s", datadir.sentence_cache(self.data_dir), exc)
            return
        if gone:
            log.info("forgot the sentence vectors of %d removed chunks", gone)

    def _stream(self, manifest: Manifest, changed: list[Candidate], known, removed: list[str],
                report: IndexReport) -> None:
        """Read, chunk, embed and commit the changed files in order, a batch of about `write_batch`
        chunks at a time: memory holds one batch, and a kill keeps every batch committed (the next
        run finds those files unchanged and goes on from there)."""
        changing = {c.doc_id for c in changed} | set(removed)
        primaries = {rec.text_hash: d for d, rec in known.items() if rec.duplicate_of is None and d not in changing}
        batch: list[_Work] = []
        pending = 0
        with Progress(self.progress, changed) as progress:
            for candidate in changed:
                doc = self._read(candidate, report, indexed=candidate.doc_id in known)
                progress.read(candidate)
                if doc is None:
                    continue
                report.notes.extend(FileIssue(str(candidate.path), note, failed=False) for note in doc.notes)
                text_hash, chunks = self._plan(doc)
                original = primaries.setdefault(text_hash, doc.doc_id)
                duplicate_of = original if original != doc.doc_id else None
                batch.append(_Work(doc, text_hash, duplicate_of, [] if duplicate_of else chunks, doc.doc_id not in known))
                pending += len(batch[-1].chunks)
                if pending >= self.write_batch:
                    progress.wrote(self._write(manifest, batch, report))
                    batch, pending = [], 0
            if batch:
                progress.wrote(self._write(manifest, batch, report))

    def embed(self, texts: list[str]) -> np.ndarray:
        return self.passages.embed(texts)

    def _write(self, manifest: Manifest, batch: list[_Work], report: IndexReport) -> int:
        chunks = [c for w in batch for c in w.chunks]
        old = manifest.chunk_ids([w.doc.doc_id for w in batch])
        sentence_vectors = {}
        if chunks:
            vectors, sentence_vectors = self.passages.vectors(chunks)
            self.store.upsert(chunks, vectors)
        manifest.replace_docs([(w.doc, w.text_hash, w.duplicate_of, w.chunks) for w in batch], sentence_vectors)
        stale = sorted(old - {c.chunk_id for c in chunks})
        if stale:
            self.store.delete(stale)
        report.chunks_written += len(chunks)
        report.chunks_deleted += len(stale)
        for w in batch:
            (report.added if w.is_new else report.changed).append(w.doc.doc_id)
            if w.duplicate_of:
                report.duplicates[w.doc.doc_id] = w.duplicate_of
            self._planned.pop((w.doc.doc_id, w.doc.byte_hash), None)  # done with: memory holds one batch
        return len(chunks)


KEPT = "; its indexed version is kept"


@dataclass(frozen=True)
class _Unreadable:
    """A file `prepare` could not read: why, and its size and modification time then."""

    reason: str
    size: int
    mtime: float


def _unchanged_since(path: Path, doc: Document | _Unreadable) -> bool:
    """Whether the file still has the size and modification time it had when `doc` was read."""
    try:
        stat = path.stat()
    except OSError:
        return False
    return stat.st_size == doc.size and stat.st_mtime == doc.mtime


def _removed(known: dict, roots: set[Path], seen: set[str], report: IndexReport) -> list[str]:
    """The indexed documents gone from the folders being synced. A path that failed (a file turned
    into a FIFO or a broken link, a link that now leads out of the folder, a folder that can no
    longer be listed) is not gone: a user who breaks a permission by mistake must not lose the
    documents under it. Their indexed version stays, and the failure, reported once, says so."""
    failures = [(Path(issue.path), n) for n, issue in enumerate(report.failed)]
    removed, kept = [], set()
    for doc_id, record in sorted(known.items()):
        root = Path(record.root)
        if root not in roots or doc_id in seen:
            continue
        path = root / doc_id
        culprit = next((n for failed, n in failures if path == failed or path.is_relative_to(failed)), None)
        if culprit is None:
            removed.append(doc_id)
        elif culprit not in kept:
            kept.add(culprit)
            issue = report.failed[culprit]
            report.failed[culprit] = replace(issue, reason=issue.reason + (
                KEPT if path == Path(issue.path) else "; the documents indexed under it are kept"))
    return removed
