"""Does the index hold together? `check` names every part that is damaged and the command that repairs it.

An index is three stores written in step: the manifest (the truth), the Chroma collection (one
vector per chunk) and the BM25 folder (one entry per chunk). Any of them can be truncated,
overwritten or deleted behind our back, and each fails differently: Chroma refuses to start, or
starts and searches a partial HNSW index; BM25 just finds nothing. So the checks are explicit and
shared: `rag status` prints them, `rag index` repairs what they find (index/pipeline.py), and the
repair is the same whatever the cause.

Cheap enough for every `rag status`: each store is opened, the counts compared, and a sample of
chunk ids looked up in each (the full id sets only when the counts differ).
"""

from __future__ import annotations

import errno
import shlex
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

from index import datadir
from index.errors import IndexBusyError, IndexDamagedError, StoreError

SAMPLE = 64  # chunk ids looked up in each store when the counts agree

# Kinds of problem. The first two need `rag index --rebuild` (the store cannot be opened, so
# nothing in it can be trusted or kept); the plain run repairs the others from what survives.
MANIFEST_DAMAGED = "manifest-damaged"
STORE_DAMAGED = "vector-store-damaged"
STORE_UNUSABLE = "vector-store-unusable"  # unreachable server, or files we may not write
NOT_WRITABLE = "data-dir-not-writable"
INTERRUPTED = "interrupted-run"
VECTORS_MISMATCH = "vectors-mismatch"
VECTOR_INDEX_DAMAGED = "vector-index-damaged"
LEXICAL_DAMAGED = "lexical-index-damaged"
NEEDS_REBUILD = frozenset({MANIFEST_DAMAGED, STORE_DAMAGED})


@dataclass(frozen=True)
class Problem:
    kind: str
    message: str  # what is wrong, naming the file or folder
    fix: str  # the command (or action) that repairs it

    def to_dict(self) -> dict[str, str]:
        return asdict(self)

    def __str__(self) -> str:
        return f"{self.message}; repair it with `{self.fix}`"


def check(data_dir: Path, open_store: Callable, command: str = "rag") -> list[Problem]:
    """Every problem of the index in `data_dir`; [] when it is healthy or nothing is indexed yet.
    IndexBusyError while a `rag index` holds the write lock (the stores are then out of step).

    `open_store()` gives the VectorStore (it may raise our store errors); `command` starts each fix
    (e.g. "rag --data-dir X"), so that what is printed can be pasted as it is."""
    from index.manifest import open_verified

    path = datadir.manifest(data_dir)
    if not path.exists():
        if datadir.chroma(data_dir).is_dir() and any(datadir.chroma(data_dir).iterdir()):
            return [Problem(MANIFEST_DAMAGED, f"the manifest {path} is missing but the vector store is not",
                            fix_command(command, "index --rebuild", []))]
        return []
    refused = datadir.refused_write(data_dir, datadir.written(data_dir))
    if refused:
        where, exc = refused
        undo = {errno.EPERM: "chattr -R -i", errno.EROFS: "mount -o remount,rw"}.get(exc.errno, "chmod -R u+w")
        return [Problem(NOT_WRITABLE, f"{where} is not writable ({exc.strerror or exc}); searching and indexing "
                                      "need to write there", f"{undo} {shlex.quote(str(data_dir))}")]
    holder = _busy(data_dir)
    if holder:  # mid-run the stores disagree on purpose; that is not damage
        raise IndexBusyError(f"{holder} is writing the index now; check again when it has finished")
    try:
        manifest = open_verified(path)
    except IndexDamagedError as exc:
        return [Problem(MANIFEST_DAMAGED, exc.what, fix_command(command, "index --rebuild", [])),
                *_store_opens(data_dir, open_store, command)]
    except StoreError as exc:
        return [Problem(STORE_UNUSABLE, str(exc), f"make {data_dir} readable and writable")]
    try:
        return check_index(data_dir, manifest, open_store, command)
    except IndexDamagedError as exc:  # a page of the manifest that only a later query touched
        return [Problem(MANIFEST_DAMAGED, exc.what, fix_command(command, "index --rebuild", []))]
    finally:
        manifest.close()


def check_index(data_dir: Path, manifest, open_store: Callable, command: str = "rag") -> list[Problem]:
    """The problems of an index whose manifest opens: an interrupted run, vectors and the BM25
    index out of step with the manifest. Used by `check` and, with its own manifest, by `rag index`."""
    roots = manifest.roots()
    repair = fix_command(command, "index", roots)
    rebuild = fix_command(command, "index --rebuild", roots)
    known = manifest.chunk_ids()
    problems = []
    dirty = manifest.get_meta("state") == "dirty"
    if dirty:
        problems.append(Problem(INTERRUPTED, "the last `rag index` run was interrupted before it finished", repair))
    problems += _vectors(data_dir, manifest, known, open_store, repair, rebuild)
    problems += _lexical(data_dir, manifest, known, dirty, repair)
    return problems


def _vectors(data_dir, manifest, known: set[str], open_store, repair, rebuild) -> list[Problem]:
    from index.vectors import lost_segment

    try:
        store = open_store()
        if store.open(None, None, create=False) is None:
            if not known:
                return []
            return [Problem(VECTORS_MISMATCH, f"the vector collection '{store.name}' is missing: none of the "
                                              f"{len(known)} indexed chunks has a vector", repair)]
        # before anything reads the collection: Chroma then recreates a lost HNSW folder from its log
        lost = lost_segment(store.folder.parent, store.name) if store.folder is not None and known else None
        if lost is not None:
            return [Problem(VECTOR_INDEX_DAMAGED, f"the vector index folder {lost} is missing", repair)]
        count = store.count()
        if count != len(known):
            stored = store.ids()
            return [Problem(VECTORS_MISMATCH, _mismatch(len(known - stored), len(stored - known), len(known)), repair)]
        sample = _sample(known)
        if not sample:
            return []
        absent = set(sample) - store.present(sample)
        if absent:
            return [Problem(VECTORS_MISMATCH, f"indexed chunks have no vector (e.g. {min(absent)})", repair)]
        if not store.searchable(sample):
            return [Problem(VECTOR_INDEX_DAMAGED, f"the vector index (HNSW files under {store.folder or 'the server'}) "
                                                  "has lost vectors its collection still lists", repair)]
    except IndexDamagedError as exc:
        return [Problem(STORE_DAMAGED, exc.what, rebuild)]
    except StoreError as exc:
        return [Problem(STORE_UNUSABLE, str(exc), "start the Chroma server or correct RAG_CHROMA_URL"
                        if "server" in str(exc) else f"make {data_dir} readable and writable")]
    return []


def _store_opens(data_dir: Path, open_store: Callable, command: str) -> list[Problem]:
    """When the manifest is gone there is nothing to compare with; still say whether Chroma opens."""
    try:
        open_store().open(None, None, create=False)
    except IndexDamagedError as exc:
        return [Problem(STORE_DAMAGED, exc.what, fix_command(command, "index --rebuild", []))]
    except StoreError as exc:
        return [Problem(STORE_UNUSABLE, str(exc), f"make {data_dir} readable and writable")]
    return []


def _lexical(data_dir: Path, manifest, known: set[str], dirty: bool, repair: str) -> list[Problem]:
    from index import lexical

    name = manifest.get_meta("bm25") or ""
    if not name:
        if known and not dirty:  # a dirty run clears it on purpose; INTERRUPTED covers that
            return [Problem(LEXICAL_DAMAGED, "no lexical (BM25) index is recorded in the manifest", repair)]
        return []
    what = lexical.check(data_dir / name, known)
    return [Problem(LEXICAL_DAMAGED, what, repair)] if what else []


def _mismatch(missing: int, extra: int, total: int) -> str:
    parts = []
    if missing:
        parts.append(f"{missing} of the {total} indexed chunks have no vector")
    if extra:
        parts.append(f"the vector store holds {extra} vectors of chunks that are not indexed")
    return "; ".join(parts) or "the vector store and the manifest disagree"


def _sample(ids: set[str], n: int = SAMPLE) -> list[str]:
    """Up to `n` ids spread evenly over the sorted set (ids are hashes, so this is a fair sample,
    and the same one every time)."""
    ordered = sorted(ids)
    if len(ordered) <= n:
        return ordered
    step = len(ordered) / n
    return [ordered[int(i * step)] for i in range(n)]


def fix_command(command: str, sub: str, roots: Iterable[str]) -> str:
    """`command sub ROOTS...`, each root quoted for a shell; PATH when no root is known."""
    paths = " ".join(shlex.quote(r) for r in roots) or ("PATH" if sub.startswith("index") else "")
    return " ".join(part for part in (command, sub, paths) if part)


def _busy(data_dir: Path) -> str | None:
    """Who holds the write lock, when someone does: a run in progress is not damage."""
    from filelock import FileLock, Timeout

    lock = FileLock(str(datadir.lock(data_dir)))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        owner = data_dir / "index.lock.owner"
        try:
            return f"another `rag index` ({owner.read_text().strip()})"
        except OSError:
            return "another `rag index`"
    except OSError:
        return None  # cannot even open the lock file: the writability probe reports that
    lock.release()
    return None
