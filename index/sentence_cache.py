"""Sentence vectors made when a chunk is first retrieved, for an index that did not store them
(`RAG_SENTENCE_VECTORS=lazy`: one forward pass per chunk at index time).

The vectors are those `exact` indexing would have stored (each sentence under its headings,
`index.passages.sentence_inputs`, kept as `pack_rows` keeps them), made on the model's query path
(`Embedder.embed_queries`: its ONNX export where there is one, so a one-question process need not
load torch; cosine 0.9999 with the documents' bfloat16), so answers do not depend on when they
were made. They are kept in `sentences.sqlite` beside the
manifest, keyed by a digest of the model and what was embedded, so any process reading the index
may add to it without becoming the index's writer; a data folder that cannot be written keeps
them in memory only (the retriever's cache).
"""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
import threading
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np

from index.manifest import packed_rows, unpack_rows
from index.passages import key_of, sentence_inputs
from index.types import Chunk

log = logging.getLogger(__name__)

_SCHEMA = ("CREATE TABLE IF NOT EXISTS vectors (digest TEXT PRIMARY KEY, chunk_id TEXT NOT NULL, "
           "dimension INTEGER NOT NULL, rows BLOB NOT NULL)")


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
        keys = {c.chunk_id: key_of(c) for c in chunks}
        digests = {cid: _digest(self.model, key) for cid, key in keys.items()}
        found = {cid: unpack_rows(blob, dimension) for cid, (dimension, blob) in self._read(digests).items()}
        missing = [cid for cid in keys if cid not in found]
        if not missing:
            return found
        inputs = {cid: sentence_inputs(keys[cid]) for cid in missing}
        texts = list(dict.fromkeys(t for each in inputs.values() for t in each))
        embedded = np.asarray(self.embed(texts), dtype=np.float32) if texts else np.zeros((0, 0), np.float32)
        row = {text: n for n, text in enumerate(texts)}
        made: dict[str, tuple[int, bytes]] = {}
        for cid in missing:
            picked = [row[t] for t in inputs[cid]]
            if not picked:  # a chunk without sentences
                made[cid], found[cid] = (0, b""), np.zeros((0, embedded.shape[1]), np.float32)
                continue
            made[cid] = packed_rows(embedded[picked])
            found[cid] = unpack_rows(made[cid][1], made[cid][0])  # as stored, so a later read scores the same
        self._write({digests[cid]: (cid, *made[cid]) for cid in missing})
        return found

    def _read(self, digests: Mapping[str, str]) -> dict[str, tuple[int, bytes]]:
        by_digest = {d: cid for cid, d in digests.items()}
        found: dict[str, tuple[int, bytes]] = {}
        with self._lock:
            db = self._connect(create=False)
            if db is None:
                return found
            wanted = list(by_digest)
            try:
                for start in range(0, len(wanted), 500):
                    part = wanted[start:start + 500]
                    for digest, dimension, blob in db.execute(
                            f"SELECT digest, dimension, rows FROM vectors WHERE digest IN ({','.join('?' * len(part))})",
                            part):
                        found[by_digest[digest]] = (dimension, blob)
            except sqlite3.Error as exc:  # a damaged cache is made again, never an error for a question
                log.warning("sentence cache %s unreadable (%s); making vectors again", self.path, exc)
        return found

    def _write(self, rows: Mapping[str, tuple[str, int, bytes]]) -> None:
        with self._lock:
            db = self._connect(create=True)
            if db is None:
                return
            try:
                with db:
                    db.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?, ?, ?)",
                                   [(digest, *row) for digest, row in rows.items()])
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
            db.execute(_SCHEMA)
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
    """Forget the vectors of chunks the manifest no longer has (after an index run removed or
    changed documents). Returns how many were forgotten."""
    if not path.exists():
        return 0
    db = sqlite3.connect(path, timeout=30)
    try:
        db.execute(_SCHEMA)
        db.execute("ATTACH DATABASE ? AS manifest", (str(manifest_path),))
        with db:
            gone = db.execute("DELETE FROM vectors WHERE chunk_id NOT IN (SELECT chunk_id FROM manifest.chunks)").rowcount
        db.execute("DETACH DATABASE manifest")
        return gone
    finally:
        db.close()


def _digest(model: str, key) -> str:
    return hashlib.sha256(json.dumps([model, key]).encode()).hexdigest()
