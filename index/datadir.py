"""Every file and folder a data folder holds, named once.

    manifest.sqlite   documents, chunks, sentence vectors and metadata (index.manifest)
    sentences.sqlite  sentence vectors made at question time for a lazy index (index.sentence_cache)
    chroma/           the embedded vector store (index.vectors; absent with a Chroma server)
    bm25-<hash>/      the lexical index of the manifest's chunks (index.lexical)
    onnx/             query exports of embedding models (index.embedders.transformer)
    index.lock        held by the one process writing the index (index.lock)
    feedback.jsonl    what users said of answers (rag.feedback)
    conversations.sqlite  the chat's conversations, their turns and citations (rag.history)
    tmp-uploads/      the chat's upload cache (ui.launch)
    eval-cache/       corpora the eval harness indexed (eval.harness)
    web/              web pages mirrored for indexing, web/<host>/<path>.html (index.web)
    web.sqlite        each mirrored page's URL, ETag, Last-Modified; robots.txt, sitemaps (index.web)
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

from index.errors import StoreError

BM25_PREFIX = "bm25-"


def _part(name: str) -> Callable[[Path], Path]:
    def where(data_dir: Path) -> Path:
        return data_dir / name

    where.__name__ = where.__qualname__ = name.split(".")[0].replace("-", "_")
    return where


manifest = _part("manifest.sqlite")
sentence_cache = _part("sentences.sqlite")
chroma = _part("chroma")
onnx = _part("onnx")
lock = _part("index.lock")
feedback = _part("feedback.jsonl")
conversations = _part("conversations.sqlite")
upload_cache = _part("tmp-uploads")
eval_cache = _part("eval-cache")
web_mirror = _part("web")
web_records = _part("web.sqlite")


def written(data_dir: Path) -> list[Path]:
    """The files and folders an index run writes (searching writes the manifest's WAL too): what
    the writability probes try."""
    db = manifest(data_dir)
    return [lock(data_dir), chroma(data_dir), chroma(data_dir) / "chroma.sqlite3", db,
            db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")]


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


def require_writable(data_dir: Path) -> None:
    """Refuse up front, in one line, a data folder an index run may not write (read-only mount,
    immutable flag, permissions), instead of failing at whichever file the run touches first."""
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"cannot create the data folder {data_dir} ({exc.strerror or exc})") from None
    denied = unwritable(data_dir, written(data_dir))
    if denied:
        raise StoreError(f"{denied}; indexing needs to write there")
