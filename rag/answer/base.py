"""What every answerer gets and gives: a `Request` in, text deltas and then one `Answer` out.

An answerer reads the corpus through `Corpus` (search, the original text of a document, a
similarity and the vocabulary), never through the facade's internals, so a new one (another
LLM backend, a reranking answerer) is a class with one method and an entry in `rag.answer`.
"""

from __future__ import annotations

import time
from collections.abc import Container, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from rag.types import Answer, Hit


@dataclass(frozen=True)
class Request:
    """One question to answer. `conversation`: earlier (role, text) turns, oldest first."""

    question: str
    conversation: Sequence[tuple[str, str]] = ()
    k: int | None = None
    sources: Sequence[str] | None = None
    mode: str | None = None
    started: float = field(default_factory=time.perf_counter)
    warnings: tuple[str, ...] = ()


class Corpus(Protocol):
    def search(self, query: str, *, k: int | None = None, mode: str | None = None,
               sources: Sequence[str] | None = None) -> list[Hit]: ...

    def doc_text(self, source: str) -> str: ...

    def similarity(self, a: str, b: str) -> float: ...

    def vocabulary(self) -> Container[str]: ...


class Answerer(Protocol):
    def stream(self, request: Request) -> Iterator[str | Answer]:
        """Yield the answer's text as it is produced (str deltas), then the finished `Answer`, always last."""
        ...


def timings(started: float, split: float) -> dict[str, float]:
    """Milliseconds: `retrieve` (or time to first token for an LLM), `answer` after it, and `total`."""
    now = time.perf_counter()
    return {"retrieve": round((split - started) * 1000, 2), "answer": round((now - split) * 1000, 2),
            "total": round((now - started) * 1000, 2)}
