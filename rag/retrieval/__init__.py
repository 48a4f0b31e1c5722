"""Retrieval: the opened index (`Retriever`), the stages a search runs (`stages`), fusion, and
the optional reranker."""

from rag.retrieval.retriever import Retriever

__all__ = ["Retriever"]
