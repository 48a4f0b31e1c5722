"""A large corpus indexed in one run that is killed with SIGKILL half way and run again: it must
resume (keep what was committed) and end identical to a clean build of the same files.

    nice -n 19 .venv/bin/python bench/kill_resume.py --corpus linux            # linux-doc-6.1
    nice -n 19 .venv/bin/python bench/kill_resume.py --corpus postgres --at 0.3

The corpus is prepared as bench/scale.py prepares it (a hard-link tree under the cache folder,
installed with apt-get when absent). Three fresh `rag index` processes with the defaults: a clean
build, a run killed once `--at` of the files are committed, and the resumed run. Compared: the
documents and their hashes, every chunk (id, span, text), the vector store's ids, the lexical
index's ids, the manifest's state, and the vectors themselves (least cosine between the two
builds: batches are cut at other places after a resume, and a reduced precision pads them
differently). Prints a table and records it in docs/results/scale/kill_resume.json.
"""

from __future__ import annotations

import argparse
import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.scale import (INDEX_CHILD, RESULTS, ROOT, TreePeak, child_env, corpus_files,  # noqa: E402
                         machine, subset_tree)


def state(data_dir: Path) -> dict:
    """What defines an index, in a form two builds can be compared by."""
    db = sqlite3.connect(data_dir / "manifest.sqlite")
    try:
        docs = sorted(db.execute("SELECT doc_id, byte_hash, text_hash, n_chunks FROM docs"))
        chunks = sorted(db.execute("SELECT chunk_id, doc_id, start_char, end_char, section, text FROM chunks"))
        meta = dict(db.execute("SELECT key, value FROM meta"))
    finally:
        db.close()
    lexical = sorted(json.loads((data_dir / meta["bm25"] / "ids.json").read_text()))
    return {"docs": docs, "chunks": chunks, "lexical": lexical, "state": meta.get("state"),
            "vectors": sorted(vectors(data_dir))}


def vectors(data_dir: Path) -> dict:
    import numpy as np

    from index.vectors import VectorStore, connect

    store = VectorStore(connect(data_dir, None), "rag-chunks")
    collection = store.open(None, None, create=False)
    found = {}
    ids = sorted(store.ids())
    for start in range(0, len(ids), 5000):
        got = collection.get(ids=ids[start:start + 5000], include=["embeddings"])
        found.update(zip(got["ids"], np.asarray(got["embeddings"], dtype=np.float32), strict=True))
    return found


def least_cosine(a: Path, b: Path) -> float:
    import numpy as np

    va, vb = vectors(a), vectors(b)
    shared = sorted(set(va) & set(vb))
    return float(min(np.dot(va[i], vb[i]) for i in shared)) if shared else float("nan")


def committed_docs(data_dir: Path) -> int:
    try:
        db = sqlite3.connect(f"file:{data_dir / 'manifest.sqlite'}?mode=ro", uri=True, timeout=0.2)
        try:
            return db.execute("SELECT COUNT(*) FROM docs").fetchone()[0]
        finally:
            db.close()
    except sqlite3.Error:
        return 0


def index_process(folder: Path, data_dir: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", INDEX_CHILD, "--data-dir", str(data_dir), "index", str(folder),
                             "--json"], env=child_env(), cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def timed(folder: Path, data_dir: Path) -> dict:
    started = time.perf_counter()
    process = index_process(folder, data_dir)
    peak = TreePeak(process.pid)
    out, err = process.communicate()
    if process.returncode not in (0, 1):
        raise SystemExit(f"rag index failed ({process.returncode}): {err[-2000:]}")
    summary = json.loads(out)
    return {"seconds": round(time.perf_counter() - started, 1), "peak_rss_mb": round(peak.stop() / 2**20),
            "added": len(summary["added"]), "unchanged": summary["unchanged"],
            "chunks_written": summary["chunks_written"], "chunks_total": summary["chunks_total"],
            "failed": len(summary["failed"])}


def killed(folder: Path, data_dir: Path, files: int, at: float) -> dict:
    started = time.perf_counter()
    process = index_process(folder, data_dir)
    while committed_docs(data_dir) < at * files:
        if process.poll() is not None:
            raise SystemExit("the run finished before it could be killed: lower --at")
        time.sleep(0.2)
    process.send_signal(signal.SIGKILL)
    process.wait()
    return {"killed_after_s": round(time.perf_counter() - started, 1), "committed_docs": committed_docs(data_dir)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", default="linux", help="postgres or linux")
    parser.add_argument("--at", type=float, default=0.5, help="share of files committed when the kill lands")
    parser.add_argument("--max-files", type=int, default=0, help="only this many files (0: all)")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/rag-scale"))
    parser.add_argument("--no-save", action="store_true")
    args = parser.parse_args()

    root, files = corpus_files(args.corpus)
    files = files[:args.max_files] if args.max_files else files
    label = f"{args.corpus}-{len(files)}files"
    folder = subset_tree(root, files, args.cache / "corpora" / label)
    clean_dir, resumed_dir = args.cache / "data" / f"{label}-clean", args.cache / "data" / f"{label}-resumed"
    for path in (clean_dir, resumed_dir):
        subprocess.run(["rm", "-rf", str(path)], check=True)

    print(f"[{label}] clean build ...", flush=True)
    clean = timed(folder, clean_dir)
    print(f"[{label}] {clean}", flush=True)
    print(f"[{label}] build killed at {args.at:.0%} of the files ...", flush=True)
    kill = killed(folder, resumed_dir, len(files), args.at)
    print(f"[{label}] {kill}", flush=True)
    resumed = timed(folder, resumed_dir)
    print(f"[{label}] resumed: {resumed}", flush=True)

    a, b = state(clean_dir), state(resumed_dir)
    same = {part: a[part] == b[part] for part in ("docs", "chunks", "lexical", "vectors", "state")}
    row = {"corpus": label, "files": len(files), "clean": clean, "killed": kill, "resumed": resumed,
           "identical": same, "least_vector_cosine": round(least_cosine(clean_dir, resumed_dir), 6),
           "kept_by_resume": resumed["unchanged"], "machine": machine()}
    print(json.dumps(row, indent=2))
    if not all(same.values()):
        print("NOT identical: " + ", ".join(p for p, ok in same.items() if not ok))
    if not args.no_save:
        RESULTS.mkdir(parents=True, exist_ok=True)
        path = RESULTS / "kill_resume.json"
        rows = json.loads(path.read_text()) if path.exists() else {}
        rows[label] = row
        path.write_text(json.dumps(rows, indent=2) + "\n")
        print(f"recorded in {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
