"""Sentence vectors made when a chunk is first retrieved, for an index that did not store them
(`RAG_SENTENCE_VECTORS=lazy`: one forward pass per chunk at index time).

The vectors are those `exact` indexing would have stored (each sentence under its headings,
`index.passages.sentence_inputs`, kept as `packed_rows` keeps them), made on the model's query path
(`Embedder.embed_queries`: its ONNX export where there is one, so a one-question process need not
load torch; cosine 0.9999 with the documents' bfloat16), so answers do not depend on when they
were made. They are kept in `sentences.sqlite` beside the manifest, one row per distinct sentence
input, keyed by a digest of the model and the input: the sentences two neighbouring chunks overlap
on (a fifth of them) are embedded and kept once. Any process reading the index may add to it
without becoming the index's writer; a data folder that cannot be written keeps them in memory only
(the retriever's cache).
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
import threading
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from index.manifest import packed_rows, unpack_rows
from index.passages import key_of, sentence_inputs
from index.types import Chunk

log = logging.getLogger(__name__)

TABLE = "sentence_vectors"
# `owner`: the first 8 characters of the chunk that first needed the sentence (a shared sentence
# whose owner is removed is forgotten with it, and made again if another chunk needs it).
_SCHEMA = (f"CREATE TABLE IF NOT EXISTS {TABLE} (digest BLOB PRIMARY KEY, owner TEXT NOT NULL, "
           "dimension INTEGER NOT NULL, vector BLOB NOT NULL) WITHOUT ROWID")
_OWNER = 8


class SentenceCache:
    def __init__(self, path: Path, model: str, embed: Callable[[list[str]], np.ndarray]) -> None:
        self.path = path
        self.model = model
        self.embed = embed  # Embedder.embed_queries
        self._db: sqlite3.Connection | None = None
        self._writable = True
        self._lock = threading.Lock()

    def vectors(self, chunks: list[Chunk]) -> dict[str, np.ndarray]:
        """Each chunk's sentence vectors (one unit row per `Chunk.sentences` entry), by chunk id."""
        inputs = {c.chunk_id: sentence_inputs(key_of(c)) for c in chunks}
        owners = {}
        for cid, texts in inputs.items():
            for text in texts:
                owners.setdefault(text, cid)
        digests = {text: _digest(self.model, text) for text in owners}
        found = self._read(digests)
        missing = [text for text in owners if text not in found]
        if missing:
            embedded = np.asarray(self.embed(missing), dtype=np.float32)
            made = {text: packed_rows(embedded[n:n + 1]) for n, text in enumerate(missing)}
            self._write((digests[text], owners[text][:_OWNER], *made[text]) for text in missing)
            found.update({text: unpack_rows(blob, dimension) for text, (dimension, blob) in made.items()})  # as stored
        width = next((rows.shape[1] for rows in found.values()), 0)
        return {cid: np.concatenate([found[t] for t in texts]) if texts else np.zeros((0, width), np.float32)
                for cid, texts in inputs.items()}

    def _read(self, digests: dict[str, bytes]) -> dict[str, np.ndarray]:
        by_digest = {d: text for text, d in digests.items()}
        found: dict[str, np.ndarray] = {}
        with self._lock:
            db = self._connect(create=False)
            if db is None:
                return found
            wanted = list(by_digest)
            try:
                for start in range(0, len(wanted), 500):
                    part = wanted[start:start + 500]
                    for digest, dimension, blob in db.execute(
                            f"SELECT digest, dimension, vector FROM {TABLE} WHERE digest IN ({','.join('?' * len(part))})",
                            part):
                        found[by_digest[digest]] = unpack_rows(blob, dimension)
            except sqlite3.Error as exc:  # a damaged cache is made again, never an error for a question
                log.warning("sentence cache %s unreadable (%s); making vectors again", self.path, exc)
        return found

    def _write(self, rows: Iterable[tuple[bytes, str, int, bytes]]) -> None:
        with self._lock:
            db = self._connect(create=True)
            if db is None:
                return
            try:
                with db:
                    db.executemany(f"INSERT OR REPLACE INTO {TABLE} VALUES (?, ?, ?, ?)", list(rows))
            except sqlite3.Error as exc:
                self._refused(exc)

    def _connect(self, create: bool) -> sqlite3.Connection | None:
        if self._db is not None:
            return self._db
        if not self._writable or (not create and not self.path.exists()):
            return None
        try:
            db = sqlite3.connect(self.path, timeout=30, check_same_thread=False)
            db.execute("PRAGMA journal_mode=WAL")
            _create(db)
        except sqlite3.Error as exc:
            self._refused(exc)
            return None
        self._db = db
        return db

    def _refused(self, exc: sqlite3.Error) -> None:
        """A folder that cannot be written keeps the vectors in memory from now on; a passing
        failure (another process holding a lock past the timeout) is tried again next time."""
        if self._db is not None:
            self._db.close()
            self._db = None
        lasting = any(word in str(exc).lower() for word in ("readonly", "read-only", "unable to open", "not a database"))
        self._writable = not lasting
        log.info("sentence vectors not kept in %s%s: %s", self.path, " (memory only from now on)" if lasting else "", exc)

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None


def prune(path: Path, manifest_path: Path) -> int:
    """Forget the vectors of sentences whose chunk the manifest no longer has (after an index run
    removed or changed documents). Returns how many were forgotten."""
    if not path.exists():
        return 0
    db = sqlite3.connect(path, timeout=30)
    try:
        _create(db)
        db.execute("ATTACH DATABASE ? AS manifest", (str(manifest_path),))
        with db:
            gone = db.execute(f"DELETE FROM {TABLE} WHERE owner NOT IN "
                              f"(SELECT substr(chunk_id, 1, {_OWNER}) FROM manifest.chunks)").rowcount
        db.execute("DETACH DATABASE manifest")
        return gone
    finally:
        db.close()


def _create(db: sqlite3.Connection) -> None:
    db.execute(_SCHEMA)
    db.execute("DROP TABLE IF EXISTS vectors")  # an older version's rows, one per chunk in int8


def _digest(model: str, text: str) -> bytes:
    return hashlib.sha256(f"{model}\x00{text}".encode()).digest()[:16]
