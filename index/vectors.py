"""The vector store: one Chroma collection, embedded on disk or on a Chroma server.

The collection's metadata names the embedding model and its dimension; opening it with another
model is refused, because mixed vectors give silently wrong search results.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

from index.errors import StoreError, model_mismatch


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
    return chromadb.PersistentClient(path=str(data_dir / "chroma"), settings=settings)


class VectorStore:
    def __init__(self, client, name: str) -> None:
        self._client = client
        self.name = name
        self._collection = None

    def open(self, model: str | None, dimension: int | None, create: bool):
        """Open the collection, checking (or, when creating, recording) the embedding model."""
        if self._collection is not None:
            return self._collection
        try:
            existing = {c.name if hasattr(c, "name") else c for c in self._client.list_collections()}
        except Exception as exc:
            raise StoreError(f"cannot list Chroma collections: {exc}") from None
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
        try:
            self._client.delete_collection(self.name)
        except Exception:
            pass  # nothing to drop
        self._collection = None

    def upsert(self, chunks, vectors) -> None:
        step = 1000
        for i in range(0, len(chunks), step):
            part = chunks[i:i + step]
            self._collection.upsert(
                ids=[c.chunk_id for c in part],
                embeddings=vectors[i:i + step],
                documents=[c.text for c in part],
                metadatas=[{"source": c.doc_id, "start_char": c.start_char, "end_char": c.end_char,
                            "section": c.section} for c in part],
            )

    def delete(self, ids: list[str]) -> None:
        for i in range(0, len(ids), 1000):
            self._collection.delete(ids=ids[i:i + 1000])

    def ids(self) -> set[str]:
        return set(self._collection.get(include=[])["ids"])

    def count(self) -> int:
        return self._collection.count()

    def query(self, vector, k: int, sources: list[str] | None = None) -> list[tuple[str, float]]:
        """(chunk_id, cosine similarity) best first. Chroma returns fewer than `k` when it holds
        fewer, so no count() first: that was a second round trip per question."""
        if k <= 0:
            return []
        where = {"source": {"$in": list(sources)}} if sources else None
        result = self._collection.query(
            query_embeddings=[vector], n_results=k, where=where, include=["distances"]
        )
        return [(cid, 1.0 - float(d)) for cid, d in zip(result["ids"][0], result["distances"][0])]
