"""Find files under the paths a user gives and read each into a `Document`.

Every file we do not index is accounted for: unsupported types are *skipped*, unusable files
*fail* with a reason; nothing disappears silently.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from index import readers
from index.errors import InputError
from index.readers.base import DEFAULT_OPTIONS, ReadOptions
from index.types import Document, FileIssue


@dataclass(frozen=True)
class Candidate:
    """A file that looks indexable: where it is and the id it will have."""

    root: Path
    path: Path
    doc_id: str


def discover(
    paths: list[str | Path], extensions: tuple[str, ...], ignore: tuple[Path, ...] = ()
) -> tuple[list[Candidate], list[FileIssue], list[FileIssue]]:
    """Walk `paths`; return (candidates, skipped, failed), candidates sorted by doc id."""
    candidates: list[Candidate] = []
    skipped: list[FileIssue] = []
    failed: list[FileIssue] = []
    ignored = {p.resolve() for p in ignore}
    for given in paths:
        path = Path(given).expanduser()
        if not path.exists() and not path.is_symlink():
            failed.append(FileIssue(str(given), "path does not exist"))
            continue
        if path.is_dir():
            root = path.resolve()
            found = _walk(root, extensions, ignored, skipped, failed)
        else:
            root = path.absolute().parent.resolve()
            found = [path.absolute().parent.resolve() / path.name]
        for file in found:
            problem = _check_file(root, file, extensions)
            if problem is None:
                candidates.append(Candidate(root, file, file.relative_to(root).as_posix()))
            elif problem.failed:
                failed.append(problem)
            else:
                skipped.append(problem)
    return sorted(candidates, key=lambda c: c.doc_id), skipped, failed


def _walk(root: Path, extensions, ignored, skipped, failed) -> list[Path]:
    files: list[Path] = []

    def on_error(exc: OSError) -> None:
        failed.append(FileIssue(str(exc.filename), f"cannot list folder: {exc.strerror}"))

    for dirpath, dirnames, filenames in os.walk(root, onerror=on_error):
        here = Path(dirpath)
        for name in sorted(dirnames):
            sub = here / name
            if name.startswith(".") or sub.resolve() in ignored:
                dirnames.remove(name)
                skipped.append(FileIssue(str(sub), "hidden or data folder", failed=False))
            elif sub.is_symlink():
                skipped.append(FileIssue(str(sub), "symlinked folder not followed", failed=False))
        files.extend(here / name for name in sorted(filenames))
    return files


def _check_file(root: Path, file: Path, extensions: tuple[str, ...]) -> FileIssue | None:
    if file.name.startswith("."):
        return FileIssue(str(file), "hidden file", failed=False)
    if file.suffix.lower() not in extensions:
        return FileIssue(str(file), f"unsupported type '{file.suffix or 'no extension'}'", failed=False)
    if file.is_symlink():
        target = file.resolve()
        if not target.exists():
            return FileIssue(str(file), "broken symlink")
        if not target.is_relative_to(root):
            return FileIssue(str(file), f"symlink points outside the indexed folder (to {target})")
    if not file.is_file():
        return FileIssue(str(file), "not a regular file")
    return None


def read_document(candidate: Candidate, max_bytes: int, options: ReadOptions = DEFAULT_OPTIONS,
                  readings: Mapping[str, readers.Reading] | None = None) -> Document:
    """Read and decode one file. Raises InputError with a reason a user can act on. `readings`:
    files already read under the same options (an upload, by its check), by the SHA-256 of their
    bytes: such a file is not read again."""
    path = candidate.path
    try:
        stat = path.stat()
        if stat.st_size > max_bytes:
            raise InputError(
                f"file is {stat.st_size / 1e6:.1f} MB, over the {max_bytes / 1e6:.1f} MB limit (RAG_MAX_FILE_MB)"
            )
        data = path.read_bytes()
    except PermissionError:
        raise InputError("cannot read: permission denied") from None
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}") from None
    byte_hash = hashlib.sha256(data).hexdigest()
    reading = (readings or {}).get(byte_hash) or readers.read(path.name, data, options)
    return Document(
        doc_id=candidate.doc_id,
        path=str(path),
        root=str(candidate.root),
        text=reading.text,
        byte_hash=byte_hash,
        encoding=reading.encoding,
        pages=reading.pages,
        headings=reading.headings,
        notes=reading.notes,
        blocks=reading.blocks,
        title=reading.title,
        size=stat.st_size,
        mtime=stat.st_mtime,
    )
