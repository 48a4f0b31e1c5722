"""Ingestion: load, clean, chunk, embed and store documents.

Knows nothing about answering, screens or measuring. Every heavy dependency (torch,
sentence-transformers, chromadb, bm25s) is imported inside the function that needs it.
"""
