"""Bringing a data folder back to a working index, for `Indexer.run`: a rebuild's wipe (what cannot
be opened is moved aside, not opened), and the repairs a plain run makes from what survives
(stray or missing vectors, a lost HNSW segment, a damaged lexical index), each ending where a
clean build ends."""

from __future__ import annotations

import logging
import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING

from index import datadir
from index.errors import REBUILD, IndexDamagedError, StoreError
from index.manifest import Manifest, open_verified
from index.vectors import forget

if TYPE_CHECKING:
    from index.pipeline import Indexer

log = logging.getLogger(__name__)


def wipe(ix: Indexer) -> list[str]:
    """Drop everything for a rebuild. A store that cannot even be opened is moved aside whole
    (kept, in case something in it matters to someone) rather than opened: the rebuild must end
    with a working index whatever state the old one was in. Returns what was moved, as lines."""
    moved = []
    try:
        ix.store.drop()
    except IndexDamagedError as exc:
        # only an embedded store is reported damaged (a server's failures are StoreError)
        folder = ix.opened_store.folder if ix.opened_store is not None else datadir.chroma(ix.data_dir)
        if folder is None:
            raise
        forget(folder)
        log.info("%s", exc.what)
        moved.append(f"moved the damaged vector store aside to {_move_aside(folder)}")
        if ix.opened_store is not None:
            ix.opened_store.reconnect()  # the factory's client still points at the old files
    manifest = datadir.manifest(ix.data_dir)
    damage = _manifest_damage(manifest)
    if damage:
        log.info("%s", damage)
        moved.append(f"moved the damaged manifest aside to {_move_aside(manifest)}")
    cache = datadir.sentence_cache(ix.data_dir)
    for path in [manifest, *ix.data_dir.glob("manifest.sqlite-*"), cache, *ix.data_dir.glob(cache.name + "-*")]:
        path.unlink(missing_ok=True)
    for folder in ix.data_dir.glob(f"{datadir.BM25_PREFIX}*"):
        shutil.rmtree(folder, ignore_errors=True)
    return moved


def repair(ix: Indexer, manifest: Manifest) -> list[str]:
    """Bring the stores back in step with the manifest before syncing, from what survives:
    what `rag status` calls damaged (index/health.py) a plain run repairs, except a store that
    cannot be opened at all, which needs `--rebuild`. Returns what was repaired, as lines."""
    from index import health

    problems = health.check_index(ix.data_dir, manifest, lambda: ix.store)
    for problem in problems:
        if problem.kind in health.NEEDS_REBUILD:
            raise IndexDamagedError(problem.message, REBUILD)
        if problem.kind == health.STORE_UNUSABLE:
            raise StoreError(problem.message)
    for problem in problems:
        log.info("repairing: %s", problem.message)
    kinds = {p.kind for p in problems}
    done = []
    if kinds & {health.VECTOR_INDEX_DAMAGED, health.INTERRUPTED, health.VECTORS_MISMATCH}:
        manifest.set_meta(state="dirty")  # a kill during the repair is repaired by the next run
        if health.VECTOR_INDEX_DAMAGED in kinds:
            # The HNSW files lost vectors that Chroma's records still list; which ones cannot
            # be asked cheaply, so the collection is dropped and every chunk embedded again.
            ix.store.drop()
            done.append(_reembed(ix, manifest, sorted(manifest.chunk_ids())))
        else:
            done.append(_reconcile(ix, manifest))
        manifest.set_meta(state="clean")
    if health.LEXICAL_DAMAGED in kinds:
        name = manifest.get_meta("bm25")
        if name:
            shutil.rmtree(ix.data_dir / name, ignore_errors=True)
        manifest.set_meta(bm25="")  # the sync rebuilds it from the manifest
        done.append("rebuilt the lexical (BM25) index from the manifest")
    return [line for line in done if line]


def _reconcile(ix: Indexer, manifest: Manifest) -> str:
    """After an interrupted run, or vectors lost or left over: drop vectors the manifest does
    not know, embed again the chunks whose vector is missing (from the manifest's own chunk
    text, so no file needs to be read again), and have the lexical index rebuilt."""
    collection = ix.store.open(ix.embedder.name, None, create=False)
    known = manifest.chunk_ids()
    stored = ix.store.ids() if collection is not None else set()
    extra = sorted(stored - known)
    if extra:
        ix.store.delete(extra)
    missing = sorted(known - stored)
    embedded = _reembed(ix, manifest, missing) if missing else ""
    log.info("reconciled: %d stray vectors removed, %d chunks re-embedded", len(extra), len(missing))
    manifest.set_meta(bm25="")
    return "; ".join(part for part in (f"removed {len(extra)} stray vectors" if extra else "", embedded) if part)


def _reembed(ix: Indexer, manifest: Manifest, chunk_ids: list[str]) -> str:
    """Embed these chunks again from the manifest's text and store them under their own ids:
    the same text through the same model gives the vectors a clean build gives."""
    dimension = int(manifest.get_meta("dimension") or 0) or ix.embedder.dimension
    ix.store.open(ix.embedder.name, dimension, create=bool(chunk_ids))
    step = max(ix.write_batch, 1)  # stored batch by batch: a kill keeps what was done
    with ix.bar(len(chunk_ids), "chunk", "re-embedding") as bar:
        for start in range(0, len(chunk_ids), step):
            found = manifest.chunks_by_id(chunk_ids[start:start + step])
            chunks = [found[cid] for cid in chunk_ids[start:start + step] if cid in found]
            if chunks:
                ix.store.upsert(chunks, ix.embed([c.indexed_text for c in chunks]))
            bar.update(len(chunk_ids[start:start + step]))
    return f"re-embedded {len(chunk_ids)} chunks whose vectors were missing" if chunk_ids else ""


def _manifest_damage(path: Path) -> str | None:
    """What makes the manifest at `path` unusable, or None when it opens (or is not there)."""
    if not path.exists():
        return None
    try:
        open_verified(path).close()
    except IndexDamagedError as exc:
        return exc.what
    return None


def _move_aside(path: Path) -> Path:
    """Rename `path` to NAME.damaged-TIMESTAMP[.SUFFIX] beside it, and return the new path."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for n in range(100):
        target = path.with_name(f"{path.stem}.damaged-{stamp}{f'-{n}' if n else ''}{path.suffix}")
        if not target.exists():
            path.rename(target)
            return target
    raise StoreError(f"cannot move {path} aside: too many damaged copies beside it; delete some")
