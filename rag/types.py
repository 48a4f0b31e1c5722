"""Value types the facade hands out. Names are stable: the UI, eval and users' scripts use them."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class Hit:
    """One retrieved chunk. `start_char`/`end_char` index the original document text."""

    chunk_id: str
    source: str
    text: str
    start_char: int
    end_char: int
    score: float
    section: str = "body"
    rank: int = 0
    dense_score: float | None = None
    lexical_score: float | None = None

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class IndexStatus:
    documents: int
    chunks: int
    model: str
    dimension: int | None
    store: str  # a folder or a server URL
    data_dir: str
    size_bytes: int
    sources: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)
