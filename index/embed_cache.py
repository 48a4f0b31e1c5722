"""A persistent cache of embeddings keyed by (model, text hash).

Vectors depend only on the model and the text, so re-indexing the same corpus with another
chunk setting, or into another data dir (the eval harness compares several), re-embeds only
texts it has never seen.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable
from pathlib import Path


class EmbeddingCache:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS vectors (model TEXT, text_hash TEXT, vector BLOB, PRIMARY KEY (model, text_hash))"
        )

    def embed(self, model: str, texts: list[str], compute: Callable[[list[str]], "object"]):
        """Vectors for `texts`, computing (and storing) only the ones not cached."""
        import numpy as np

        hashes = [hashlib.sha256(t.encode()).hexdigest() for t in texts]
        found = self._found(model, hashes)
        missing = [i for i, h in enumerate(hashes) if h not in found]
        if missing:
            computed = np.asarray(compute([texts[i] for i in missing]), dtype=np.float32)
            with self._db:
                self._db.executemany(
                    "INSERT OR REPLACE INTO vectors VALUES (?, ?, ?)",
                    [(model, hashes[i], computed[j].tobytes()) for j, i in enumerate(missing)],
                )
            for j, i in enumerate(missing):
                found[hashes[i]] = computed[j].tobytes()
        return np.stack([np.frombuffer(found[h], dtype=np.float32) for h in hashes])

    def embed_rows(self, model: str, texts: list[str], compute: Callable[[list[str]], list]) -> list:
        """As `embed`, for a computation that gives each text a matrix (rows of the same width)."""
        import numpy as np

        hashes = [hashlib.sha256(t.encode()).hexdigest() for t in texts]
        found = self._found(model, hashes)
        missing = [i for i, h in enumerate(hashes) if h not in found]
        if missing:
            computed = [np.asarray(m, dtype=np.float32) for m in compute([texts[i] for i in missing])]
            with self._db:
                self._db.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?, ?)", [
                    (model, hashes[i], np.int32(m.shape[1]).tobytes() + m.tobytes())
                    for m, i in zip(computed, missing, strict=True)])
            found.update((hashes[i], np.int32(m.shape[1]).tobytes() + m.tobytes()) for m, i in zip(computed, missing))
        width = lambda blob: int(np.frombuffer(blob[:4], dtype=np.int32)[0])  # noqa: E731
        return [np.frombuffer(found[h][4:], dtype=np.float32).reshape(-1, width(found[h])) for h in hashes]

    def _found(self, model: str, hashes: list[str]) -> dict[str, bytes]:
        found: dict[str, bytes] = {}
        for start in range(0, len(hashes), 500):
            part = hashes[start:start + 500]
            found.update(self._db.execute(
                f"SELECT text_hash, vector FROM vectors WHERE model = ? AND text_hash IN ({','.join('?' * len(part))})",
                [model, *part]))
        return found

    def close(self) -> None:
        self._db.close()
