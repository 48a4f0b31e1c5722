"""Every file and folder a data folder holds, named once.

    manifest.sqlite   documents, chunks, sentence vectors and metadata (index.manifest)
    chroma/           the embedded vector store (index.vectors; absent with a Chroma server)
    bm25-<hash>/      the lexical index of the manifest's chunks (index.lexical)
    onnx/             query exports of embedding models (index.embedders.transformer)
    index.lock        held by the one process writing the index (index.lock)
    feedback.jsonl    what users said of answers (rag.feedback)
    tmp-uploads/      the chat's upload cache (ui.launch)
    eval-cache/       corpora the eval harness indexed (eval.harness)
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

BM25_PREFIX = "bm25-"


def manifest(data_dir: Path) -> Path:
    return data_dir / "manifest.sqlite"


def chroma(data_dir: Path) -> Path:
    return data_dir / "chroma"


def onnx(data_dir: Path) -> Path:
    return data_dir / "onnx"


def lock(data_dir: Path) -> Path:
    return data_dir / "index.lock"


def feedback(data_dir: Path) -> Path:
    return data_dir / "feedback.jsonl"


def upload_cache(data_dir: Path) -> Path:
    return data_dir / "tmp-uploads"


def eval_cache(data_dir: Path) -> Path:
    return data_dir / "eval-cache"


def unwritable(folder: Path, files: Iterable[Path] = ()) -> str | None:
    """Why `folder`, or one of `files` that exists, cannot be written; None when all can."""
    refused = refused_write(folder, files)
    if refused is None:
        return None
    where, exc = refused
    return f"{where} is not writable ({exc.strerror or exc})"


def refused_write(folder: Path, files: Iterable[Path]) -> tuple[Path, OSError] | None:
    """The first of `folder` and the existing `files` that refuses a write, with the refusal.

    Probed by trying (a temporary file in each folder, opening each file for writing, nothing
    written), because permission bits do not tell: root ignores them and is still refused by an
    immutable flag (chattr +i) or a read-only mount."""
    for path in (folder, *files):
        try:
            if path.is_dir():
                with tempfile.TemporaryFile(dir=path):
                    pass
            elif path.is_file():
                os.close(os.open(path, os.O_RDWR))
        except OSError as exc:
            return path, exc
    return None
