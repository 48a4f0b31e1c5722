"""The vector store: one Chroma collection, embedded on disk or on a Chroma server.

The collection's metadata names the embedding model and its dimension; opening it with another
model is refused, because mixed vectors give silently wrong search results.

Chroma raises its own exceptions (and, embedded, keeps one process-wide instance per folder, even
one whose start failed); everything that leaves this module is a `StoreError` (cannot reach, may
not write) or an `IndexDamagedError` (the files are damaged: repaired by `rag index --rebuild`).
"""

from __future__ import annotations

import sqlite3
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse

from index import datadir
from index.errors import (
    REBUILD,
    IndexDamagedError,
    RagError,
    StoreError,
    model_mismatch,
)

# The most results one query asks Chroma for. Its bindings overflow on a huge `n_results` (and
# would size buffers by it); no search needs more candidates than this.
MAX_RESULTS = 10_000


def connect(data_dir: Path, chroma_url: str | None):
    """A Chroma client: HttpClient when a server URL is given, else PersistentClient in data_dir."""
    try:
        import chromadb
        from chromadb.config import Settings
    except ImportError as exc:  # pragma: no cover - a broken install
        raise StoreError(f"chromadb is not installed: {exc}") from exc
    settings = Settings(anonymized_telemetry=False)
    if chroma_url:
        url = urlparse(chroma_url if "://" in chroma_url else f"http://{chroma_url}")
        try:
            client = chromadb.HttpClient(
                host=url.hostname or "localhost", port=url.port or (443 if url.scheme == "https" else 8000),
                ssl=url.scheme == "https", settings=settings,
            )
            client.heartbeat()
        except Exception as exc:
            raise StoreError(f"cannot reach the Chroma server at {chroma_url} (RAG_CHROMA_URL): {exc}") from None
        return client
    folder = datadir.chroma(data_dir)
    try:
        return chromadb.PersistentClient(path=str(folder), settings=settings)
    except Exception as exc:
        forget(folder)  # Chroma caches the instance that failed to start; the next try must not get it
        raise local_failure(folder, "opening it", exc) from None


def forget(folder: Path) -> None:
    """Stop and drop Chroma's cached instance for `folder`, so the folder can be moved aside and a
    new store opened at the same path in this process (Chroma otherwise hands back the old one)."""
    try:
        from chromadb.api.shared_system_client import SharedSystemClient
    except ImportError:  # pragma: no cover
        return
    key = str(folder)
    system = SharedSystemClient._identifier_to_system.pop(key, None)
    SharedSystemClient._identifier_to_refcount.pop(key, None)
    if system is not None:
        try:
            system.stop()
        except Exception:
            pass  # a system that never started has nothing to stop


def local_failure(folder: Path, doing: str, exc: BaseException) -> RagError:
    """Our error for an embedded store that failed: a folder we may not write, or damaged files."""
    denied = datadir.unwritable(folder.parent, [folder, folder / "chroma.sqlite3"])
    if denied:
        return StoreError(f"the vector store {folder} failed while {doing}: {denied}")
    if "locked" in str(exc):  # another process writing the embedded store: busy, not damaged
        return StoreError(f"the vector store {folder} is locked by another process ({_short(exc)}); try again")
    return IndexDamagedError(f"the vector store {folder} is damaged: {doing} failed ({_short(exc)})", REBUILD)


def lost_segment(data_dir: Path, collection: str) -> Path | None:
    """The embedded collection's HNSW folder when Chroma's own records name one that is gone.

    Read from chroma.sqlite3 directly, before a client opens the store: Chroma silently recreates
    the folder from whatever its write-ahead log still holds, which after a flush is only the last
    writes. None when the folder is there, or the store cannot tell (no store, another layout)."""
    database = datadir.chroma(data_dir) / "chroma.sqlite3"
    if not database.is_file():
        return None
    try:
        db = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
        try:
            rows = db.execute(
                "SELECT s.id FROM segments s JOIN collections c ON s.collection = c.id "
                "WHERE c.name = ? AND s.scope = 'VECTOR'", (collection,)).fetchall()
            has_vectors = bool(db.execute(
                "SELECT 1 FROM embeddings e JOIN segments s ON e.segment_id = s.id "
                "JOIN collections c ON s.collection = c.id WHERE c.name = ? LIMIT 1", (collection,)).fetchone())
        finally:
            db.close()
    except sqlite3.Error:
        return None  # unreadable: opening the store will say so
    for (segment,) in rows:
        folder = datadir.chroma(data_dir) / segment
        if has_vectors and not folder.is_dir():
            return folder
    return None


class VectorStore:
    def __init__(self, client, name: str) -> None:
        self._client = client
        self.name = name
        self._collection = None
        settings = client.get_settings() if hasattr(client, "get_settings") else None
        # the folder of an embedded store; None for a server (its failures are not ours to repair)
        self.folder = Path(settings.persist_directory) if settings is not None and settings.is_persistent else None

    def reconnect(self) -> None:
        """A new client for the same folder: after the damaged store there was moved aside (and
        `forget` stopped Chroma's instance of it), the old client still reads the old files."""
        if self.folder is not None:
            self._client = connect(self.folder.parent, None)
            self._collection = None

    @contextmanager
    def _translated(self, doing: str):
        try:
            yield
        except RagError:
            raise
        except Exception as exc:
            if self.folder is None:
                raise StoreError(f"the Chroma server failed while {doing}: {_short(exc)}") from None
            raise local_failure(self.folder, doing, exc) from None

    def open(self, model: str | None, dimension: int | None, create: bool):
        """Open the collection, checking (or, when creating, recording) the embedding model; also
        when it is already open (a health check opens it without naming a model)."""
        if self._collection is not None:
            built_with = self.metadata.get("embed_model")
            if model and built_with and built_with != model:
                raise model_mismatch(built_with, model)
            return self._collection
        try:
            existing = {c.name if hasattr(c, "name") else c for c in self._client.list_collections()}
        except Exception as exc:
            if self.folder is not None:
                raise local_failure(self.folder, "listing its collections", exc) from None
            raise StoreError(f"cannot list Chroma collections: {exc}") from None
        with self._translated("opening its collection"):
            if self.name in existing:
                collection = self._client.get_collection(self.name, embedding_function=None)
                built_with = (collection.metadata or {}).get("embed_model")
                if model and built_with and built_with != model:
                    raise model_mismatch(built_with, model)
            elif create:
                collection = self._client.create_collection(
                    self.name, metadata={"embed_model": model, "dimension": dimension},
                    configuration={"hnsw": {"space": "cosine"}}, embedding_function=None,
                )
            else:
                return None
        self._collection = collection
        return collection

    @property
    def metadata(self) -> dict:
        return dict(self._collection.metadata or {}) if self._collection is not None else {}

    def drop(self) -> None:
        """Delete the collection if there is one. A store that cannot list its collections raises
        (the caller moves it aside); it is not taken for an empty one."""
        self._collection = None
        if self.open(None, None, create=False) is None:
            return
        self._collection = None
        with self._translated("deleting its collection"):
            self._client.delete_collection(self.name)

    def upsert(self, chunks, vectors) -> None:
        step = 1000
        with self._translated("writing vectors"):
            for i in range(0, len(chunks), step):
                part = chunks[i:i + step]
                # Only what a search filters on: the texts live in the manifest (a copy here cost
                # 2 KB a chunk in Chroma's full-text index, which nothing searched).
                self._collection.upsert(
                    ids=[c.chunk_id for c in part],
                    embeddings=vectors[i:i + step],
                    metadatas=[{"source": c.doc_id} for c in part],
                )

    def delete(self, ids: list[str]) -> None:
        with self._translated("deleting vectors"):
            for i in range(0, len(ids), 1000):
                self._collection.delete(ids=ids[i:i + 1000])

    def ids(self) -> set[str]:
        with self._translated("listing its vectors"):
            return set(self._collection.get(include=[])["ids"])

    def count(self) -> int:
        with self._translated("counting its vectors"):
            return self._collection.count()

    def present(self, ids: list[str]) -> set[str]:
        """Which of `ids` the collection lists (its records, not necessarily its search index)."""
        with self._translated("looking up vectors"):
            return set(self._collection.get(ids=list(ids), include=[])["ids"])

    def searchable(self, ids: list[str]) -> bool:
        """Whether the search index (HNSW) holds a vector for each of `ids`. Chroma lists ids from
        its records, so a lost or stale HNSW folder shows only here: reading the vectors fails."""
        try:
            found = self._collection.get(ids=list(ids), include=["embeddings"])
        except Exception:
            return False
        return len(found["ids"]) == len(set(ids)) and found["embeddings"] is not None

    def search(self, query, k: int, sources: list[str] | None = None) -> list[tuple[str, float]]:
        """The `k` chunks nearest the query vector, of the documents `sources` only when given:
        (chunk_id, cosine similarity) best first. Chroma returns fewer than `k` when it holds
        fewer, so no count() first: that was a second round trip per question."""
        if k <= 0:
            return []
        where = {"source": {"$in": list(sources)}} if sources else None
        with self._translated("searching"):
            result = self._collection.query(
                query_embeddings=[query], n_results=min(k, MAX_RESULTS), where=where, include=["distances"]
            )
        return [(cid, 1.0 - float(d)) for cid, d in zip(result["ids"][0], result["distances"][0])]


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 200 else text[:200] + "…"
