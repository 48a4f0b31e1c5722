"""Index generations: which one a process reads, and whether a newer one is complete.

Several processes may read one index while another writes it (docs/scale.md). An index run
commits the manifest batch by batch with its meta `state` "dirty", and ends with one transaction
that names the new BM25 folder (`bm25`) and sets `state` "clean": each such end is a generation.
A reader holds its manifest on one SQLite read snapshot (WAL keeps the old pages for it), so it
sees one generation's rows, never a run's half, and switches to the next generation at its next
question.

The check before each question must cost next to nothing: `PRAGMA data_version` on a connection of
its own (it changes when any other connection, in any process, commits) and a stat of the
manifest (a `--rebuild` makes a new file). Only when something was committed is the meta read.

A snapshot held for good would keep the WAL from ever starting over: SQLite reuses the WAL file
from its start only once no reader's snapshot needs a frame of it, so with readers always
attached it would grow by every page every run writes (measured: 20 one-file runs, 16 MB and
growing). So a reader takes its snapshot again now and then (`RENEW_AFTER_S`) when nothing was
committed since, right after copying the WAL into the manifest as far as other readers allow:
the same rows, on a snapshot that pins no frame; the WAL then stays at one run's size (0.85 MB).
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path

from index.errors import RagError

log = logging.getLogger(__name__)

_META = "SELECT key, value FROM meta WHERE key IN ('state', 'bm25')"
RENEW_AFTER_S = 10.0  # a snapshot older than this is taken again at the next question, if nothing changed


@dataclass(frozen=True)
class Stamp:
    """Where the manifest was when a snapshot was taken: its file, and its commit counter as one
    connection sees it (comparable only with later stamps of the same `Generations`)."""

    inode: int
    version: int


def complete(meta: dict[str, str]) -> bool:
    """Whether these meta values are a finished generation: the run that wrote them ended (clean)
    and named its BM25 index (a repair blanks the name until the run rebuilds it)."""
    return meta.get("state") == "clean" and bool(meta.get("bm25"))


def open_snapshot(path: Path, verified: bool = True):
    """The manifest at `path` (index.manifest), read-only, held on a snapshot of what is committed
    now. `verified`: proven whole first (`open_verified`); a renewal of a snapshot of the same
    commit need not be."""
    from index.manifest import Manifest, open_verified

    manifest = open_verified(path) if verified else Manifest(path, readonly=True)
    try:
        manifest.hold_snapshot()
    except BaseException:
        manifest.close()
        raise
    return manifest


def renewed(path: Path, watch: Generations, stamp: Stamp | None):
    """A new snapshot of the commit `stamp` names, taken after copying the WAL into the manifest
    as far as every reader allows; None when something was committed since (the next question
    decides what to read) or it cannot be opened (the snapshot held goes on serving)."""
    if stamp is None or watch.stamp() != stamp:
        return None
    watch.checkpoint()
    try:
        manifest = open_snapshot(path, verified=False)
    except RagError as exc:
        log.info("kept the index snapshot: %s", exc)
        return None
    if watch.stamp() != stamp:  # committed while the snapshot was being taken: it may be half a run
        manifest.close()
        return None
    return manifest


class Generations:
    """Watches the manifest at `path` for generations committed by any process."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db: sqlite3.Connection | None = None
        self._inode: int | None = None
        self._lock = threading.Lock()  # one connection, asked by every answering thread

    def stamp(self) -> Stamp | None:
        """The manifest now; None while there is no manifest file."""
        with self._lock:
            return self._stamp()

    def newer_than(self, stamp: Stamp | None) -> bool:
        """Whether something was committed since `stamp` and the manifest now holds a complete
        generation. While a run is writing this is false, and asked again at the next question."""
        with self._lock:
            now = self._stamp()
            if now is None or now == stamp:
                return False
            try:
                return complete(dict(self._db.execute(_META).fetchall()))
            except sqlite3.Error:
                return False  # being replaced or damaged: the readers opened now say what is wrong

    def checkpoint(self) -> None:
        """Copy the WAL into the manifest as far as every reader's snapshot allows (PASSIVE: it
        neither waits nor holds up a writer). On a connection of its own, read-write and closed at
        once (the watching one stays read-only, so closing it never removes the WAL); skipped where
        the data folder is read-only."""
        try:
            db = sqlite3.connect(f"file:{self.path}?mode=rw", uri=True, isolation_level=None)
        except sqlite3.Error:
            return
        try:
            db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        except sqlite3.Error:
            pass
        finally:
            db.close()

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
            self._db = self._inode = None

    def _stamp(self) -> Stamp | None:
        try:
            inode = os.stat(self.path).st_ino
            if inode != self._inode:  # first use, or `rag index --rebuild` made a new file
                if self._db is not None:
                    self._db.close()
                self._db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, isolation_level=None,
                                           check_same_thread=False)  # autocommit: each read sees the latest commit
                self._inode = inode
            return Stamp(inode, self._db.execute("PRAGMA data_version").fetchone()[0])
        except (OSError, sqlite3.Error):
            return None
