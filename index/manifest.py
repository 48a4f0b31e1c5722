"""The manifest: which documents are indexed, with which content, as which chunks.

SQLite (stdlib, transactional) so a crash never leaves it half-written. It is the source of
truth for chunk text and spans; the vector store holds vectors for the same chunk ids, and the
lexical index is rebuilt from here. A `state` flag set to "dirty" while writing tells the next
run to reconcile the vector store with this file.
"""

from __future__ import annotations

import functools
import json
import logging
import sqlite3
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from index import datadir, layout
from index.errors import IndexDamagedError, StoreError
from index.readers.base import Page
from index.roles import ROLES, sentence_role
from index.sentences import split_sentences
from index.types import Chunk, Document, SentenceSpan

log = logging.getLogger(__name__)

_WAL_KEPT = 4 * 1024 * 1024  # bytes of write-ahead log kept between runs

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS docs (
    doc_id TEXT PRIMARY KEY, root TEXT NOT NULL, path TEXT NOT NULL, byte_hash TEXT NOT NULL,
    text_hash TEXT NOT NULL, duplicate_of TEXT, encoding TEXT, size INTEGER, mtime REAL,
    n_chunks INTEGER NOT NULL, text TEXT NOT NULL, layout TEXT, title TEXT
);
CREATE TABLE IF NOT EXISTS chunks (
    chunk_id TEXT PRIMARY KEY, doc_id TEXT NOT NULL, ordinal INTEGER NOT NULL,
    start_char INTEGER NOT NULL, end_char INTEGER NOT NULL, section TEXT NOT NULL,
    n_tokens INTEGER NOT NULL, text TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_by_doc ON chunks (doc_id);
CREATE TABLE IF NOT EXISTS sentences (
    chunk_id TEXT PRIMARY KEY, spans TEXT NOT NULL, dimension INTEGER NOT NULL, vectors BLOB NOT NULL
);
"""


@dataclass(frozen=True)
class DocRecord:
    doc_id: str
    root: str
    path: str
    byte_hash: str
    text_hash: str
    duplicate_of: str | None
    n_chunks: int


def _translate_sqlite_errors(cls):
    """Wrap opening and every public method so that SQLite's errors leave as ours.

    A manifest can be overwritten, truncated or replaced by a folder behind our back, and the data
    folder can turn read-only; each edge must then print one line that says which, and how to get
    out, instead of a `sqlite3` traceback from whichever query happened to touch the bad page.
    """
    def wrap(method):
        @functools.wraps(method)
        def translated(self, *args, **kwargs):
            try:
                return method(self, *args, **kwargs)
            except sqlite3.Error as exc:
                raise sqlite_failure(self.path, exc) from None
        return translated

    for name, member in list(vars(cls).items()):
        if callable(member) and (name == "__init__" or not name.startswith("_")):
            setattr(cls, name, wrap(member))
    return cls


def sqlite_failure(path: Path, exc: sqlite3.Error) -> Exception:
    """Our error for a failed manifest operation: a folder we may not write (StoreError) or a file
    that is no longer a usable manifest (IndexDamagedError, repaired by moving it aside)."""
    text = str(exc)
    if path.exists() and not path.is_file():
        return IndexDamagedError(f"the manifest {path} is not a file")
    if isinstance(exc, sqlite3.OperationalError):
        if "locked" in text:
            return StoreError(f"the manifest {path} is locked by another process ({text}); try again")
        if any(word in text for word in ("readonly", "read-only", "unable to open", "permission", "disk I/O")):
            denied = datadir.unwritable(path.parent, [path])  # even a search writes the manifest's WAL index
            return StoreError(f"cannot use the manifest {path} ({text}): " + (
                f"{denied}; searching and indexing need to write there" if denied
                else f"the data folder {path.parent} must be readable and writable"))
    return IndexDamagedError(f"the manifest {path} is damaged ({text})")


def open_verified(path: Path) -> Manifest:
    """The manifest at `path`, opened read-only and proven whole (`Manifest.verify`), so a damaged
    one fails here, in one IndexDamagedError, rather than at whichever later query reads a lost page."""
    manifest = Manifest(path, readonly=True)
    try:
        manifest.verify()
    except BaseException:
        manifest.close()
        raise
    return manifest


@_translate_sqlite_errors
class Manifest:
    def __init__(self, path: Path, readonly: bool = False) -> None:
        self.path = path
        self._texts: dict[str, str] = {}  # documents read to derive an older index's sentences
        if readonly:
            self._db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, check_same_thread=False)
            # A chunk's sentence vectors make a row of about 3 KB: on SQLite's default 4 KB pages each
            # row took a page of its own (a fifth wasted); 16 KB pages hold five. Only a new file
            # takes the setting (an existing one keeps its pages).
            self._db.execute("PRAGMA page_size=65536")
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(f"PRAGMA journal_size_limit={_WAL_KEPT}")
            self._db.executescript(_SCHEMA)
            if not self._has_column("docs", "layout"):  # written before layouts were stored
                self._db.execute("ALTER TABLE docs ADD COLUMN layout TEXT")
            if not self._has_column("docs", "title"):  # written before titles were read
                self._db.execute("ALTER TABLE docs ADD COLUMN title TEXT")

        self.has_layout = self._has_column("docs", "layout")
        self.has_titles = self._has_column("docs", "title")
        # An index written before sentence vectors existed has no `sentences` table; opened read-only
        # it cannot gain one, so it is read without (see `chunks_by_id`) until `rag index` upgrades it.
        self.has_sentences = bool(self._db.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sentences'").fetchone())
        if not self.has_sentences:
            log.warning("%s was written by an older version (no sentence vectors); quotes are chosen by "
                        "their words only until `rag index` upgrades it", path)

    def close(self) -> None:
        self._db.close()

    def hold_snapshot(self) -> dict[str, str]:
        """Keep every later read on what is committed now (readers: rag.retrieval.generation) and
        return the snapshot's `state` and `bm25`. sqlite3 runs each SELECT in its own snapshot
        unless a transaction is begun by hand. The connection closes when this object is dropped:
        sqlite3 connections sit in a reference cycle of their own (their statement cache) and would
        pin the WAL until a full garbage collection."""
        self._db.execute("BEGIN")
        meta = dict(self._db.execute("SELECT key, value FROM meta WHERE key IN ('state', 'bm25')").fetchall())
        weakref.finalize(self, self._db.close)
        return meta

    def checkpoint(self) -> None:
        """Fold the write-ahead log into the file (a run's WAL grows to the size of everything it
        wrote), as far as readers on older snapshots allow, without waiting for them; the WAL file
        is cut back to `_WAL_KEPT` bytes when SQLite next starts it over."""
        self._db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()

    def _has_column(self, table: str, column: str) -> bool:
        return any(row[1] == column for row in self._db.execute(f"PRAGMA table_info({table})"))

    def verify(self) -> None:
        """Cheap proof that the file is whole: SQLite reads pages lazily, so a truncated manifest
        opens fine and fails only at the first query that needs a lost page. The header's page
        count against the file's size finds truncation; reading each table's rows finds a header
        or tree that is garbage. Raises IndexDamagedError (via the wrapper)."""
        wal = self.path.with_name(self.path.name + "-wal")
        if not wal.exists() or wal.stat().st_size == 0:
            pages = self._db.execute("PRAGMA page_count").fetchone()[0]
            page_size = self._db.execute("PRAGMA page_size").fetchone()[0]
            if pages * page_size > self.path.stat().st_size:
                raise IndexDamagedError(
                    f"the manifest {self.path} is truncated ({self.path.stat().st_size:,} of "
                    f"{pages * page_size:,} bytes)")
        for table in ("meta", "docs", "chunks"):
            self._db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()

    # --- metadata -------------------------------------------------------------------------
    def get_meta(self, key: str, default: str | None = None) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else default

    def set_meta(self, **values: str) -> None:
        with self._db:
            self._db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", list(values.items()))

    # --- documents ------------------------------------------------------------------------
    def docs(self) -> dict[str, DocRecord]:
        rows = self._db.execute(
            "SELECT doc_id, root, path, byte_hash, text_hash, duplicate_of, n_chunks FROM docs"
        )
        return {row[0]: DocRecord(*row) for row in rows}

    def doc(self, doc_id: str) -> DocRecord | None:
        row = self._db.execute(
            "SELECT doc_id, root, path, byte_hash, text_hash, duplicate_of, n_chunks FROM docs WHERE doc_id = ?",
            (doc_id,)).fetchone()
        return DocRecord(*row) if row else None

    def doc_text(self, doc_id: str) -> str | None:
        row = self._db.execute("SELECT text FROM docs WHERE doc_id = ?", (doc_id,)).fetchone()
        return row[0] if row else None

    def doc_pages(self, doc_id: str) -> tuple[Page, ...]:
        """The document's pages (index.layout); none for an unpaged document, or one indexed before
        layouts were stored (`rag index` adds them: `without_layout`)."""
        if not self.has_layout:
            return ()
        row = self._db.execute("SELECT layout FROM docs WHERE doc_id = ?", (doc_id,)).fetchone()
        return layout.load(row[0]) if row else ()

    def without_layout(self) -> list[str]:
        """Documents indexed before layouts were stored, in a format that has pages: their pages
        are known only by reading the file again."""
        rows = self._db.execute("SELECT doc_id FROM docs WHERE layout IS NULL").fetchall()
        return [r[0] for r in rows if r[0].lower().endswith(layout.PAGED_SUFFIXES)]

    # A title is stored as "" for a document read that has none, NULL for one indexed before titles
    # were read: only those need reading again (`untitled`).
    def doc_title(self, doc_id: str) -> str | None:
        """The document's title (index.readers.titles); None when it has none, or was indexed
        before titles were read."""
        if not self.has_titles:
            return None
        row = self._db.execute("SELECT title FROM docs WHERE doc_id = ?", (doc_id,)).fetchone()
        return (row[0] or None) if row else None

    def titles(self) -> dict[str, str]:
        """doc id -> title, for the documents that have one."""
        if not self.has_titles:
            return {}
        return dict(self._db.execute("SELECT doc_id, title FROM docs WHERE title IS NOT NULL AND title != ''"))

    def untitled(self) -> list[str]:
        """Documents indexed before titles were read (index.retitle reads theirs), but those about
        to be read whole again (`forget_hash`)."""
        return [r[0] for r in self._db.execute("SELECT doc_id FROM docs WHERE title IS NULL AND byte_hash != ''")]

    def set_titles(self, titles: Mapping[str, str]) -> None:
        with self._db:
            self._db.executemany("UPDATE docs SET title = ? WHERE doc_id = ?", [(t, d) for d, t in titles.items()])

    def chunk_ids(self, doc_ids: list[str] | None = None) -> set[str]:
        if doc_ids is None:
            return {r[0] for r in self._db.execute("SELECT chunk_id FROM chunks")}
        ids: set[str] = set()
        for doc_id in doc_ids:
            ids.update(r[0] for r in self._db.execute("SELECT chunk_id FROM chunks WHERE doc_id = ?", (doc_id,)))
        return ids

    def replace_docs(self, entries: list[tuple[Document, str, str | None, list[Chunk]]],
                     sentence_vectors: Mapping[str, np.ndarray] | None = None) -> None:
        """Atomically record new versions of documents: (doc, text_hash, duplicate_of, chunks).

        `sentence_vectors` maps a chunk id to one row per sentence of that chunk, stored in float16
        (`packed_rows`).
        A chunk without them (a lazy index's) keeps its sentence spans, with dimension 0.
        """
        sentence_vectors = sentence_vectors or {}
        with self._db:
            for doc, text_hash, duplicate_of, chunks in entries:
                self._delete_chunks(doc.doc_id)
                self._db.execute(
                    "INSERT OR REPLACE INTO docs (doc_id, root, path, byte_hash, text_hash, duplicate_of, encoding, "
                    "size, mtime, n_chunks, text, layout, title) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (doc.doc_id, doc.root, doc.path, doc.byte_hash, text_hash, duplicate_of,
                     doc.encoding, doc.size, doc.mtime, len(chunks), doc.text, layout.dump(doc.pages),
                     doc.title or ""),
                )
                self._db.executemany(
                    "INSERT OR REPLACE INTO chunks VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    [(c.chunk_id, c.doc_id, c.ordinal, c.start_char, c.end_char, c.section, c.n_tokens, c.text)
                     for c in chunks],
                )
                self._db.executemany(
                    "INSERT OR REPLACE INTO sentences VALUES (?, ?, ?, ?)",
                    [(c.chunk_id, pack_spans(c.sentences), *packed_rows(sentence_vectors.get(c.chunk_id))) for c in chunks],
                )

    def _delete_chunks(self, doc_id: str) -> None:
        self._db.execute(
            "DELETE FROM sentences WHERE chunk_id IN (SELECT chunk_id FROM chunks WHERE doc_id = ?)", (doc_id,))
        self._db.execute("DELETE FROM chunks WHERE doc_id = ?", (doc_id,))

    def remove_docs(self, doc_ids: list[str]) -> None:
        with self._db:
            for doc_id in doc_ids:
                self._delete_chunks(doc_id)
                self._db.execute("DELETE FROM docs WHERE doc_id = ?", (doc_id,))

    def forget_hash(self, doc_ids: list[str]) -> None:
        """Make documents look changed so the next pass re-indexes them (used by repair)."""
        with self._db:
            self._db.executemany("UPDATE docs SET byte_hash = '' WHERE doc_id = ?", [(d,) for d in doc_ids])

    # --- chunks ---------------------------------------------------------------------------
    def all_chunks(self) -> tuple[list[str], list[str], list[str]]:
        """(ids, texts, document ids) of every chunk, in a stable order, each text as it is matched
        (under its headings: index.types.indexed_text), for the lexical index."""
        from index.types import indexed_text

        rows = self._db.execute("SELECT chunk_id, text, section, doc_id FROM chunks ORDER BY doc_id, ordinal").fetchall()
        return [r[0] for r in rows], [indexed_text(r[1], r[2]) for r in rows], [r[3] for r in rows]

    def chunk_docs(self, chunk_ids: list[str]) -> list[str]:
        """The document of each chunk (an unknown chunk's: "")."""
        found: dict[str, str] = {}
        for start in range(0, len(chunk_ids), 500):
            part = chunk_ids[start:start + 500]
            found.update(self._db.execute(
                f"SELECT chunk_id, doc_id FROM chunks WHERE chunk_id IN ({','.join('?' * len(part))})", part))
        return [found.get(cid, "") for cid in chunk_ids]

    def chunks_by_id(self, chunk_ids: list[str]) -> dict[str, Chunk]:
        if not self.has_sentences:
            return self._chunks_without_sentences(chunk_ids)
        found: dict[str, Chunk] = {}
        for start in range(0, len(chunk_ids), 500):
            part = chunk_ids[start:start + 500]
            marks = ",".join("?" * len(part))
            for row in self._db.execute(
                f"SELECT c.chunk_id, doc_id, ordinal, text, start_char, end_char, section, n_tokens, s.spans "
                f"FROM chunks c LEFT JOIN sentences s ON s.chunk_id = c.chunk_id "
                f"WHERE c.chunk_id IN ({marks})", part,
            ):
                spans = self._spans(row[1], row[6], unpack_spans(row[8])) if row[8] else ()
                found[row[0]] = Chunk(*row[:8], sentences=spans)
        return found

    def _spans(self, doc_id: str, section: str, stored: list[list]) -> tuple[SentenceSpan, ...]:
        """Stored sentence spans; an index written before sentence roles existed gets them now,
        from the original text (the same rules, read off the file's own lines)."""
        if all(len(span) == 5 for span in stored):
            return tuple(SentenceSpan(*span) for span in stored)
        text = self._cached_text(doc_id)
        in_comment = section.startswith("reader comment")
        return tuple(SentenceSpan(*span[:4], role=sentence_role(text, span[2], span[3], in_comment))
                     for span in stored)

    def _cached_text(self, doc_id: str) -> str:
        """A document's original text, kept for the next chunks of the same read (older indexes
        only: roles and sentence spans are derived from it)."""
        if doc_id not in self._texts:
            if len(self._texts) > 64:
                self._texts.clear()
            self._texts[doc_id] = self.doc_text(doc_id) or ""
        return self._texts[doc_id]

    def _chunks_without_sentences(self, chunk_ids: list[str]) -> dict[str, Chunk]:
        """Chunks of an index that never recorded sentences: the sentences are split from the
        original text of each chunk's span, and the chunk's text is that original text, so every
        sentence span points into both and quotes stay exact."""
        found: dict[str, Chunk] = {}
        for start in range(0, len(chunk_ids), 500):
            part = chunk_ids[start:start + 500]
            marks = ",".join("?" * len(part))
            for chunk_id, doc_id, ordinal, _, a, b, section, n_tokens in self._db.execute(
                f"SELECT chunk_id, doc_id, ordinal, text, start_char, end_char, section, n_tokens "
                f"FROM chunks WHERE chunk_id IN ({marks})", part,
            ):
                original = self._cached_text(doc_id)
                in_comment = section.startswith("reader comment")
                spans = tuple(SentenceSpan(x - a, y - a, x, y, sentence_role(original, x, y, in_comment))
                              for x, y in split_sentences(original, a, b))
                found[chunk_id] = Chunk(chunk_id, doc_id, ordinal, original[a:b], a, b, section, n_tokens,
                                        sentences=spans)
        return found

    def sentence_vectors(self, chunk_ids: list[str]) -> dict[str, np.ndarray]:
        """Unit-length float32 sentence vectors per chunk, one row per `Chunk.sentences` entry (none
        for a chunk indexed without them: index.sentence_cache makes those)."""
        found: dict[str, np.ndarray] = {}
        if not self.has_sentences:
            return found
        for start in range(0, len(chunk_ids), 500):
            part = chunk_ids[start:start + 500]
            marks = ",".join("?" * len(part))
            for chunk_id, dimension, blob in self._db.execute(
                f"SELECT chunk_id, dimension, vectors FROM sentences WHERE chunk_id IN ({marks}) AND dimension != 0",
                part,
            ):
                found[chunk_id] = unpack_rows(blob, dimension)
        return found

    def missing_sentences(self) -> list[str]:
        """Documents with chunks that have no sentence vectors (written by an older version)."""
        if not self.has_sentences:
            return [r[0] for r in self._db.execute("SELECT DISTINCT doc_id FROM chunks ORDER BY doc_id")]
        rows = self._db.execute(
            "SELECT DISTINCT c.doc_id FROM chunks c LEFT JOIN sentences s ON s.chunk_id = c.chunk_id "
            "WHERE s.chunk_id IS NULL ORDER BY c.doc_id")
        return [r[0] for r in rows]

    def unembedded_sentences(self) -> list[str]:
        """Documents whose chunks were stored without sentence vectors (by a lazy run)."""
        if not self.has_sentences:
            return []
        rows = self._db.execute("SELECT DISTINCT c.doc_id FROM chunks c JOIN sentences s ON s.chunk_id = c.chunk_id "
                                "WHERE s.dimension = 0 ORDER BY c.doc_id")
        return [r[0] for r in rows]

    def unembedded_after(self, chunk_id: str, count: int) -> list[str]:
        """Up to `count` ids past `chunk_id`, in order, of chunks stored without sentence vectors."""
        if not self.has_sentences:
            return []
        return [r[0] for r in self._db.execute(
            "SELECT chunk_id FROM sentences WHERE dimension = 0 AND chunk_id > ? ORDER BY chunk_id LIMIT ?",
            (chunk_id, count))]

    def counts(self) -> dict[str, int]:
        docs = self._db.execute("SELECT COUNT(*) FROM docs").fetchone()[0]
        chunks = self._db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
        return {"documents": docs, "chunks": chunks}

    def sources(self) -> list[str]:
        return [r[0] for r in self._db.execute("SELECT doc_id FROM docs ORDER BY doc_id")]

    def roots(self) -> list[str]:
        """The folders (or single files' folders) the documents were indexed from: what a repair
        command must name to re-read them."""
        return [r[0] for r in self._db.execute("SELECT DISTINCT root FROM docs ORDER BY root")]



def packed_rows(rows: np.ndarray | None) -> tuple[int, bytes]:
    """(dimension, blob) of sentence vectors as stored, in float16; (0, b"") when there are none.
    Not int8 (`pack_rows`): its rounding, under a thousandth of a cosine, turns near ties between
    a chunk's sentences, and so which one is quoted."""
    return (0, b"") if rows is None else (rows.shape[1], np.asarray(rows, dtype=np.float16).tobytes())


def pack_rows(rows: np.ndarray) -> bytes:
    """Unit vectors as int8 with one float16 scale per row, as a version before stored them (with
    the dimension negated: `unpack_rows` reads both)."""
    rows = np.asarray(rows, dtype=np.float32)
    scale = np.maximum(np.abs(rows).max(axis=1, keepdims=True), 1e-12) / 127.0
    codes = np.clip(np.rint(rows / scale), -127, 127).astype(np.int8)
    return scale.astype(np.float16).tobytes() + codes.tobytes()


def unpack_rows(blob: bytes, dimension: int) -> np.ndarray:
    """Rows stored by `packed_rows` (float16) or `pack_rows` (int8, negative dimension), unit length."""
    if dimension > 0:
        return np.frombuffer(blob, dtype=np.float16).reshape(-1, dimension).astype(np.float32)
    dimension = -dimension
    count = len(blob) // (dimension + 2)
    scale = np.frombuffer(blob[:2 * count], dtype=np.float16).astype(np.float32)[:, None]
    rows = np.frombuffer(blob[2 * count:], dtype=np.int8).reshape(count, dimension).astype(np.float32) * scale
    return rows / np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-12)


def pack_spans(spans) -> bytes:
    """Sentence spans as four int32 offsets each, then one byte each for the role (`ROLES`): a
    seventh of their JSON."""
    offsets = np.asarray([span[:4] for span in spans], dtype=np.int32).reshape(-1, 4)
    roles = np.asarray([ROLES.index(span[4]) for span in spans], dtype=np.uint8)
    return offsets.tobytes() + roles.tobytes()


def unpack_spans(stored: bytes | str) -> list[list]:
    """Spans stored by `pack_spans`, or as JSON by an older version (as lists, maybe without roles)."""
    if isinstance(stored, str):
        return json.loads(stored)
    count = len(stored) // 17
    offsets = np.frombuffer(stored[:16 * count], dtype=np.int32).reshape(count, 4).tolist()
    return [[*o, ROLES[r]] for o, r in zip(offsets, stored[16 * count:])]
