"""`RagConfig`: every setting in one frozen object, built at the edge and passed down.

Precedence: explicit overrides (CLI flags) over `RAG_*` environment variables over defaults.
Each field `name` is read from `RAG_NAME`; the README lists them all.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from index.embed import DEFAULT_MODEL
from index.errors import ConfigError
from index.readers import SUFFIXES
from rag import backends

RETRIEVAL_MODES = ("hybrid", "dense", "lexical")
FUSIONS = ("zscore", "rrf")
QUERY_BACKENDS = ("auto", "onnx", "torch")


@dataclass(frozen=True)
class RagConfig:
    data_dir: Path = Path(".rag")  # index data: Chroma store, manifest, BM25, ONNX export
    embed_model: str = DEFAULT_MODEL  # sentence-transformers name or folder (bundled default); `fake`: tests only
    chroma_url: str | None = None  # use a Chroma server (e.g. http://localhost:8000) for vectors
    collection: str = "rag-chunks"
    chunk_tokens: int = 200  # target chunk size in the model's tokens
    chunk_overlap: int = 40  # tokens of trailing sentences repeated in the next chunk
    max_file_mb: float = 20.0
    extensions: tuple[str, ...] = SUFFIXES  # every suffix a reader takes (index.readers.registry)
    ocr: bool = True  # read scanned PDF pages by OCR (index.ocr); off: they are reported, not read
    # Reading budgets (index.readers.ReadOptions): a file over one is refused with one line
    max_pages: int = 2000  # pages of a PDF
    max_ocr_pages: int = 100  # scanned pages recognised per document; the rest are reported, not read
    max_expansion: int = 100  # times its size on disk a file may unpack to or read as (beyond 10 MB)
    max_read_seconds: float = 600.0  # reading one file (its OCR included), checked between pages
    max_ocr_seconds: float = 60.0  # recognising one scanned page; past it the later scans are reported, not read
    embed_batch_size: int = 16  # measured fastest on 2-core CPUs (less padding than 64)
    device: str = "auto"  # where the embedding model runs: auto (CUDA when torch sees it) | cpu | cuda
    sentence_vectors: str = "lazy"  # lazy (made at first retrieval) | exact (embedded while indexing) | pooled (index.passages)
    embed_precision: str = "auto"  # auto (bf16 where the CPU has it, fp16 on a GPU, else fp32) | fp32 | bf16 | fp16 | int8
    embed_cache: Path | None = None  # SQLite file caching vectors by (model, text); off when unset
    write_batch: int = 1024  # chunks embedded and committed together: the unit of crash recovery
    lock_timeout: float = 10.0  # seconds a second `rag index` waits for the first
    retrieval_mode: str = "hybrid"  # hybrid | dense | lexical
    top_k: int = 5
    candidates: int = 50  # per retriever, before fusion
    # Retrieval defaults below were chosen on the dev set and SciFact together (docs/retrieval.md):
    # BM25 at 0.65 of dense, pseudo-relevance feedback on the dense side, 60 fused chunks re-ranked
    # by their best sentence, a sentence read partly with its neighbour.
    lexical_weight: float = 0.65  # weight of BM25 against dense in hybrid fusion (0.8 is best on SciFact, costs dev hit@5)
    fusion: str = "zscore"  # zscore (score fusion) | rrf (reciprocal-rank fusion); z-score measured better
    rrf_k: int = 60
    rescore_depth: int = 60  # fused chunks re-ranked by their best sentence; 0 turns it off
    sentence_weight: float = 1.0  # weight of the best sentence's z-score against the chunk's
    coverage_weight: float = 0.5  # weight of question-term coverage in a sentence's score
    sentence_window: float = 0.3  # weight of a sentence read with its neighbour (0 = alone): pronoun sentences
    answer_type_weight: float = 0.3  # bonus for a sentence holding the kind of answer asked for (who: a name, ...)
    prf_weight: float = 1.0  # dense pseudo-relevance feedback: weight of the top chunks' mean sentence vector (0 = off)
    prf_depth: int = 3  # fused chunks whose sentence vectors make the feedback vector
    query_backend: str = "auto"  # auto (ONNX when exported) | onnx | torch
    reranker: str = ""  # a cross-encoder (folder, or a Hub name pulled by `rag models pull`) re-ordering the top hits; off when empty
    rerank_depth: int = 20  # hits the reranker re-orders
    # --- answers ---
    generator: str = "extractive"  # a name in rag.backends: extractive | openai (any OpenAI-compatible server) | ollama | llamacpp | transformers
    answer_sentences: int = 3  # most sentences an extractive answer quotes
    answer_margin: float = 0.3  # a sentence joins the answer if it scores within this of the best (and adds evidence)
    answer_rank_penalty: float = 0.05  # a sentence of a lower-ranked passage starts this much behind, per place
    abstain_min_score: float = 0.45  # below this best-sentence score the documents "don't answer"
    abstain_missing_name_score: float = 0.75  # a name absent from the passages is forgiven above this score
    # --- LLM backends (opt-in) ---
    llm_model: str = ""  # model name on the server, or the .gguf path (llamacpp, transformers) or model folder (transformers)
    llm_base_url: str | None = None  # e.g. http://localhost:8080/v1 (openai) or http://localhost:11434 (ollama)
    llm_api_key: str | None = None
    llm_timeout: float = 60.0
    llm_context_window: int = 8192
    llm_max_tokens: int = 512
    llm_temperature: float = 0.0
    llm_fallback: bool = True  # when the LLM cannot be reached, answer extractively (and say so)
    llm_threads: int = 0  # CPU threads for an in-process model (transformers); 0: the cores, at most 4
    llm_dtype: str = "auto"  # in-process model weights: auto (bfloat16 where the CPU computes it natively) | float32 | bfloat16
    # --- chat window (rag chat) ---
    ui_host: str = "127.0.0.1"  # a non-loopback address requires ui_auth
    ui_port: int = 7860
    ui_auth: str | None = None  # "user:password" (several separated by commas): a login page
    ui_users: Path | None = None  # users file of `name:scrypt-hash` lines (`rag users add NAME`): a login page
    upload_dir: Path = Path("uploads")  # where files added from the browser are kept and indexed from
    upload_max_mb: float = 10.0
    # --- eval downloads (rag eval scifact) ---
    cache_dir: Path | None = None  # downloaded datasets; default: the user's cache folder (XDG_CACHE_HOME)/rag-cited
    beir_url: str = "https://public.ukp.informatik.tu-darmstadt.de/thakur/BEIR/datasets"  # where BEIR zips live

    def __post_init__(self) -> None:
        object.__setattr__(self, "data_dir", Path(self.data_dir).expanduser())
        object.__setattr__(self, "upload_dir", Path(self.upload_dir).expanduser())
        cache_dir = self.cache_dir or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "rag-cited"
        object.__setattr__(self, "cache_dir", Path(cache_dir).expanduser())
        for name in ("embed_cache", "ui_users"):
            if getattr(self, name) is not None:
                object.__setattr__(self, name, Path(getattr(self, name)).expanduser())
        if self.ui_users is not None and self.ui_users.is_dir():
            raise ConfigError(f"RAG_UI_USERS must name a file, not the folder {self.ui_users}")
        object.__setattr__(self, "extensions", tuple(
            e.lower() if e.startswith(".") else f".{e.lower()}" for e in self.extensions
        ))
        if self.retrieval_mode not in RETRIEVAL_MODES:
            raise ConfigError(f"retrieval mode must be one of {', '.join(RETRIEVAL_MODES)}, not '{self.retrieval_mode}'")
        if self.fusion not in FUSIONS:
            raise ConfigError(f"fusion must be one of {', '.join(FUSIONS)}, not '{self.fusion}'")
        if self.llm_dtype not in ("auto", "float32", "bfloat16"):
            raise ConfigError(f"llm_dtype must be auto, float32 or bfloat16, not '{self.llm_dtype}' (RAG_LLM_DTYPE)")
        from index.embedders.device import check as check_device

        check_device(self.device, self.embed_precision)
        if self.sentence_vectors not in ("exact", "lazy", "pooled"):
            raise ConfigError(f"sentence vectors must be exact, lazy or pooled, not '{self.sentence_vectors}' "
                              "(RAG_SENTENCE_VECTORS)")
        backends.get(self.generator)  # a name the backend table does not hold is one line here
        if self.query_backend not in QUERY_BACKENDS:
            raise ConfigError(f"query backend must be one of {', '.join(QUERY_BACKENDS)}, not '{self.query_backend}'")
        for name in ("chunk_tokens", "top_k", "candidates", "embed_batch_size", "write_batch", "rrf_k",
                     "answer_sentences", "prf_depth", "llm_context_window", "llm_max_tokens", "max_pages",
                     "max_expansion", "rerank_depth"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be at least 1 (RAG_{name.upper()})")
        if self.max_ocr_pages < 0:
            raise ConfigError("max_ocr_pages must not be negative (RAG_MAX_OCR_PAGES)")
        if not 0 <= self.chunk_overlap < self.chunk_tokens:
            raise ConfigError("chunk_overlap must be at least 0 and less than chunk_tokens (RAG_CHUNK_OVERLAP)")
        for field in fields(self):
            value = getattr(self, field.name)
            if isinstance(value, float) and not math.isfinite(value):
                raise ConfigError(f"{field.name} must be a finite number, not {value} (RAG_{field.name.upper()})")
        if self.max_file_mb <= 0:
            raise ConfigError("max_file_mb must be positive (RAG_MAX_FILE_MB)")
        if self.max_read_seconds <= 0 or self.max_ocr_seconds <= 0:
            raise ConfigError("max_read_seconds and max_ocr_seconds must be positive (RAG_MAX_READ_SECONDS, "
                              "RAG_MAX_OCR_SECONDS)")
        if self.upload_max_mb <= 0:
            raise ConfigError("upload_max_mb must be positive (RAG_UPLOAD_MAX_MB)")
        if not 0 < self.ui_port < 65536:
            raise ConfigError(f"ui_port must be between 1 and 65535, not {self.ui_port} (RAG_UI_PORT)")
        for name in ("lock_timeout", "lexical_weight", "rescore_depth", "sentence_weight", "coverage_weight",
                     "sentence_window", "answer_type_weight", "prf_weight", "answer_margin",
                     "answer_rank_penalty", "llm_timeout"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} must not be negative (RAG_{name.upper()})")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> RagConfig:
        """Defaults, then RAG_* variables from `env` (os.environ by default), then non-None overrides."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for field in fields(cls):
            raw = env.get(f"RAG_{field.name.upper()}")
            if raw is not None and raw.strip() != "":
                values[field.name] = _parse(field, raw.strip())
        values.update({k: v for k, v in overrides.items() if v is not None})
        unknown = set(values) - {f.name for f in fields(cls)}
        if unknown:
            raise ConfigError(f"unknown setting(s): {', '.join(sorted(unknown))}")
        return cls(**values)

    def replace(self, **changes: Any) -> RagConfig:
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})

    def read_options(self, ocr: bool | None = None, **run: Any):
        """How files are read under this configuration (`ocr` overrides the setting; `run`: what
        belongs to one run, not to the configuration: `progress`, `cancelled`)."""
        from index.readers.base import ReadOptions

        return ReadOptions(ocr=self.ocr if ocr is None else ocr, max_pages=self.max_pages,
                           max_ocr_pages=self.max_ocr_pages, max_expansion=self.max_expansion,
                           max_read_seconds=self.max_read_seconds, max_ocr_seconds=self.max_ocr_seconds, **run)

    def env_names(self) -> dict[str, Any]:
        return {f"RAG_{f.name.upper()}": getattr(self, f.name) for f in fields(self)}


def _parse(field: dataclasses.Field, raw: str) -> Any:
    kind = str(field.type)
    try:
        if kind == "bool":
            if raw.lower() in ("1", "true", "yes", "on"):
                return True
            if raw.lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError(raw)
        if kind.startswith("int"):
            return int(raw)
        if kind.startswith("float"):
            value = float(raw)
            if not math.isfinite(value):  # nan compares false with every bound, and turns scores into nan
                raise ConfigError(f"RAG_{field.name.upper()}={raw!r} is not a finite number")
            return value
        if kind.startswith("tuple"):
            return tuple(part.strip() for part in raw.split(",") if part.strip())
        if kind.startswith("Path"):  # also "Path | None"
            return Path(raw)
    except ValueError:
        raise ConfigError(f"RAG_{field.name.upper()}={raw!r} is not a valid {kind}") from None
    return raw
