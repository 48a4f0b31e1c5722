"""One writer at a time per index.

Chroma's embedded store is thread-safe but not process-safe, and a second writer can hang for
minutes on SQLite's lock; our own file lock makes the second `rag index` wait briefly and then
refuse with a message that says who holds the lock.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path

from index import datadir
from index.errors import IndexBusyError


@contextmanager
def write_lock(data_dir: Path, timeout: float):
    from filelock import FileLock, Timeout

    data_dir.mkdir(parents=True, exist_ok=True)
    owner = data_dir / "index.lock.owner"
    lock = FileLock(str(datadir.lock(data_dir)))
    try:
        lock.acquire(timeout=timeout)
    except Timeout:
        holder = owner.read_text().strip() if owner.exists() else "another process"
        raise IndexBusyError(
            f"the index in {data_dir} is being written by {holder}; waited {timeout:g} s "
            f"(RAG_LOCK_TIMEOUT). Try again when that run has finished."
        ) from None
    try:
        owner.write_text(f"pid {os.getpid()}")
        yield
    finally:
        owner.unlink(missing_ok=True)
        lock.release()
