"""Indexing benchmark: prints the figures issue #3 asks for, for seeds/ and BEIR SciFact.

    .venv/bin/pip install -e '.[bench]'
    .venv/bin/python bench/index_bench.py [--scifact PATH/corpus.jsonl] [--llama-sample N]

Each `rag` step runs in a fresh process, as a user would run it; wall times include imports.
Speeds on these shared machines are noisy: compare the ratios, which are measured in one run.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
QUERY = "How did the US role in the talks change under Trump?"


_CHILD = (
    "import resource, sys; from rag.cli import main; code = main(sys.argv[1:]); "
    "sys.stderr.write('PEAK_KB=%d\\n' % resource.getrusage(resource.RUSAGE_SELF).ru_maxrss); sys.exit(code)"
)


def run_rag(*args: str, data_dir: Path) -> tuple[float, float, subprocess.CompletedProcess]:
    """(wall seconds, peak RSS in MB, result) of one `rag` command in a fresh process."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")} | {"RAG_DATA_DIR": str(data_dir)}
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-c", _CHILD, *args], env=env, capture_output=True, text=True,
                            cwd=ROOT)
    wall = time.perf_counter() - started
    if result.returncode not in (0, 1):
        raise SystemExit(f"rag {' '.join(args)} failed: {result.stderr}")
    peak_kb = [int(line[8:]) for line in result.stderr.splitlines() if line.startswith("PEAK_KB=")]
    return wall, (peak_kb[-1] / 1024 if peak_kb else float("nan")), result


def chunk_texts(data_dir: Path) -> list[str]:
    db = sqlite3.connect(data_dir / "manifest.sqlite")
    texts = [r[0] for r in db.execute("SELECT text FROM chunks")]
    db.close()
    return texts


def chunks_of(data_dir: Path, doc_id: str) -> int:
    db = sqlite3.connect(data_dir / "manifest.sqlite")
    n = db.execute("SELECT COUNT(*) FROM chunks WHERE doc_id = ?", (doc_id,)).fetchone()[0]
    db.close()
    return n


def bare_forward_seconds(texts: list[str], batch_size: int) -> float:
    """The model's forward pass alone on the same chunks: the floor indexing cannot beat."""
    from index import embedders

    embedder = embedders.build("sentence-transformers/all-MiniLM-L6-v2", batch_size=batch_size)
    embedder.embed(texts[:8])  # load and warm up outside the timing
    started = time.perf_counter()
    embedder.embed(texts)
    return time.perf_counter() - started


def llama_index_ratio(texts: list[str], batch_size: int) -> tuple[float, float]:
    """(our chunks/s, llama-index HuggingFaceEmbedding chunks/s) on the same texts, same model."""
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding

    from index import embedders

    ours = embedders.build("sentence-transformers/all-MiniLM-L6-v2", batch_size=batch_size)
    model = ours.model_ref
    theirs = HuggingFaceEmbedding(model_name=str(model.local_dir), device="cpu")
    ours_s, theirs_s = float("inf"), float("inf")
    for _ in range(2):  # alternate and keep each one's best: whoever runs second is warmer
        started = time.perf_counter()
        ours.embed(texts)
        ours_s = min(ours_s, time.perf_counter() - started)
        started = time.perf_counter()
        theirs.get_text_embedding_batch(texts)
        theirs_s = min(theirs_s, time.perf_counter() - started)
    ours_rate, theirs_rate = len(texts) / ours_s, len(texts) / theirs_s
    return ours_rate, theirs_rate


def bench(name: str, corpus: Path, changed_file: str, llama_sample: int, batch_size: int) -> dict:
    work = Path(tempfile.mkdtemp(prefix=f"bench-{name}-"))
    data_dir = work / "data"
    print(f"[{name}] cold index of {corpus} ...", flush=True)
    cold, peak, result = run_rag("index", str(corpus), "--json", data_dir=data_dir)
    summary = json.loads(result.stdout)
    chunks = summary["chunks_total"]
    noop, _, result = run_rag("index", str(corpus), "--json", data_dir=data_dir)
    assert json.loads(result.stdout)["chunks_written"] == 0
    target = corpus / changed_file
    original = target.read_bytes()
    target.write_text(target.read_text(encoding="utf-8") + "\n\nOne more sentence for the benchmark.\n",
                      encoding="utf-8")
    try:
        one, _, result = run_rag("index", str(corpus), "--json", data_dir=data_dir)
    finally:
        target.write_bytes(original)
    one_summary = json.loads(result.stdout)
    own_chunks = chunks_of(data_dir, changed_file)
    search, _, _ = run_rag("search", QUERY, data_dir=data_dir)
    texts = chunk_texts(data_dir)
    forward = bare_forward_seconds(texts, batch_size)
    sample = texts[:llama_sample] if llama_sample else texts
    ours_rate, llama_rate = llama_index_ratio(sample, batch_size)
    figures = {
        "corpus": name, "files": len(summary["added"]), "chunks": chunks,
        "chunks_per_s": round(chunks / cold, 1), "peak_rss_mb": round(peak),
        "cold_index_s": round(cold, 1), "noop_reindex_s": round(noop, 2),
        "one_changed_reindex_s": round(one, 1),
        "one_changed_chunks_written": one_summary["chunks_written"], "changed_file_chunks": own_chunks,
        "cold_search_s": round(search, 2), "bare_forward_s": round(forward, 1),
        "overhead_ratio": round(cold / forward, 3),
        "llama_index_sample": len(sample), "ours_chunks_per_s": round(ours_rate, 1),
        "llama_index_chunks_per_s": round(llama_rate, 1), "throughput_ratio": round(ours_rate / llama_rate, 3),
    }
    print(json.dumps(figures), flush=True)
    return figures


def scifact_folder(corpus_jsonl: Path) -> Path:
    """BEIR corpus.jsonl to one .txt file per abstract (title, blank line, text)."""
    folder = Path(tempfile.mkdtemp(prefix="scifact-files-"))
    with corpus_jsonl.open(encoding="utf-8") as lines:
        for line in lines:
            doc = json.loads(line)
            (folder / f"{doc['_id']}.txt").write_text(f"{doc.get('title', '')}\n\n{doc['text']}\n", encoding="utf-8")
    return folder


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scifact", type=Path, help="SciFact corpus.jsonl(.gz); default: the cached download "
                        "(`rag eval scifact` fetches it) or ../shared/data/scifact beside the checkout")
    parser.add_argument("--skip-scifact", action="store_true")
    parser.add_argument("--llama-sample", type=int, default=600, help="chunks for the llama-index comparison")
    parser.add_argument("--batch-size", type=int, default=16)
    args = parser.parse_args(argv)
    rows = [bench("seeds", ROOT / "seeds", "002_52652048721d3da2.txt", 0, args.batch_size)]
    if not args.skip_scifact:
        corpus = args.scifact or _find_scifact()
        if corpus.suffix == ".gz" or not corpus.exists():
            corpus = _unpack(corpus)
        folder = scifact_folder(corpus)
        first = sorted(folder.iterdir())[0].name
        rows.append(bench("scifact", folder, first, args.llama_sample, args.batch_size))
    keys = list(rows[0])
    print("\n| " + " | ".join(keys) + " |\n|" + "---|" * len(keys))
    for row in rows:
        print("| " + " | ".join(str(row[k]) for k in keys) + " |")
    return 0


def _find_scifact() -> Path:
    """SciFact's corpus: where `rag eval scifact` caches it, else beside the checkout; downloaded
    (checksum-verified) into the cache when neither has it."""
    from eval.beir import dataset_folder
    from rag.config import RagConfig

    config = RagConfig.from_env()
    shared = ROOT.parent / "shared" / "data" / "scifact" / "corpus.jsonl"
    cached = config.cache_dir / "beir" / "scifact" / "corpus.jsonl"
    if cached.exists() or not shared.exists():
        return dataset_folder("scifact", config.cache_dir, config.beir_url, progress=True) / "corpus.jsonl"
    return shared


def _unpack(corpus: Path) -> Path:
    import gzip

    packed = corpus if corpus.suffix == ".gz" else corpus.with_name(corpus.name + ".gz")
    if not packed.exists():
        raise SystemExit(f"no SciFact corpus at {corpus} or {packed}")
    target = Path(tempfile.mkdtemp(prefix="scifact-")) / "corpus.jsonl"
    target.write_bytes(gzip.decompress(packed.read_bytes()))
    return target


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
