"""How indexing and serving scale: real documentation sets, generated text up to a million chunks,
and a plain llama-index ingestion of the same documents.

    nice -n 19 .venv/bin/python bench/scale.py --part synthetic --sizes 10k,100k,1M
    nice -n 19 .venv/bin/python bench/scale.py --part real --corpora postgres,linux --fractions 0.1,0.3,1 \
        [--baseline REV] [--bare-forward [--bare-forward-sentences]] [--sentence-warmup]
    nice -n 19 .venv/bin/python bench/scale.py --part llamaindex --corpora postgres
    nice -n 19 .venv/bin/python bench/scale.py --part all --max-files 50 --sizes 10k   # a quick try

Parts (`--part real|synthetic|llamaindex|all`):

- real: Debian's PostgreSQL 15 manual (postgresql-doc-15) and Linux 6.1 documentation (linux-doc-6.1,
  installed with apt-get when absent; its rendered HTML pages, without the duplicate reST sources
  and the translations), optionally at growing fractions of their files (a fixed hash order, so each
  fraction holds the smaller ones). Never copied into the repository: a subset is a tree of hard
  links under the cache folder.
- synthetic: seeded generated Markdown (Zipf-distributed pseudo-words, headings, paragraphs) under
  the cache folder, indexed with the hashing embedder (`RAG_EMBED_MODEL=fake`: a stand-in for
  speed and size, never for quality), sized in chunks (`--sizes`).
- llamaindex: the real corpora through SimpleDirectoryReader, SentenceSplitter (our chunk size, in
  our model's tokens), HuggingFaceEmbedding (the bundled model) and a Chroma PersistentClient
  collection, end to end in a fresh process: the index-time ratio against `rag index`.

For each corpus and size it prints, and records: `rag index` wall time in a fresh process, chunks,
chunks/s, peak RSS of the process tree (polled every 0.2 s), bytes per chunk on disk by part
(manifest, Chroma's SQLite and its HNSW segment, BM25, the one-time ONNX export) and per table of
each SQLite file (dbstat), the no-op re-index time, the re-index after one small file is added to
the corpus folder (a real corpus's is the hard-link tree, never the system folder), `rag status`
time, then in one fresh process: the time from process start (and from Python start) to the first
search result, warm search and ask p50/p95 (different questions for each), and that process's RSS. `--baseline REV` also indexes each corpus with the code at git
revision REV (a worktree under /tmp) and prints the speed ratio; `--bare-forward` times one forward
pass of the model over the index's chunk texts, through our embedder and through
sentence-transformers' own `encode` (same model, precision and batch); `--sentence-warmup` then
embeds every chunk's sentences as a serving process's idle warm-up does, and reports that time,
the bytes per chunk after it and new questions' times. `--profile DIR` runs each cold index, and
a second opening with the same queries, under cProfile.

Results go to docs/results/scale/{real,synthetic,llamaindex}.json (merged by corpus and size, so
parts and sizes can be run separately) and curves to docs/img/scale-{real,synthetic}.png.
Every figure comes from fresh processes on a shared machine: compare ratios measured in one run.
The script lowers its own priority to `--nice` (19 by default; its children inherit it).
"""

from __future__ import annotations

import time

_STARTED = time.time()  # the child modes report time from Python start; imports below are stdlib only

import argparse  # noqa: E402
import hashlib  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import os  # noqa: E402
import random  # noqa: E402
import re  # noqa: E402
import shutil  # noqa: E402
import sqlite3  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "docs" / "results" / "scale"
IMAGES = ROOT / "docs" / "img"
POSTGRES = Path("/usr/share/doc/postgresql-doc-15/html")
LINUX_PACKAGE = "linux-doc-6.1"
LINUX = Path(f"/usr/share/doc/{LINUX_PACKAGE}/html")
LINUX_SKIPPED = ("_sources", "_static", "_images", "translations")  # duplicates, assets, other languages
CORPUS_EXTENSIONS = (".html", ".htm", ".txt", ".md", ".markdown")
SYNTHETIC_CHUNKS_PER_FILE = 100
GENERATOR_VERSION = 1  # bump when the generated text changes, so cached corpora are rebuilt

INDEX_CHILD = "import sys; from rag.cli import main; sys.exit(main(sys.argv[1:]))"
PROFILED_INDEX_CHILD = (
    "import cProfile, os, sys; from rag.cli import main; profile = cProfile.Profile(); "
    "code = profile.runcall(main, sys.argv[1:]); profile.dump_stats(os.environ['SCALE_PROFILE']); sys.exit(code)"
)


# --- processes ------------------------------------------------------------------------------

@dataclass
class Run:
    wall_s: float
    peak_rss_mb: float
    returncode: int
    stdout: str
    stderr: str


class TreePeak:
    """Peak of the summed RSS of a process and all its descendants, polled on a thread."""

    def __init__(self, pid: int, every: float = 0.2) -> None:
        import psutil

        self._root = psutil.Process(pid)
        self._psutil = psutil
        self._every = every
        self._stop = threading.Event()
        self.peak = 0
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()

    def _poll(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._sample())
            self._stop.wait(self._every)

    def _sample(self) -> int:
        try:
            processes = [self._root, *self._root.children(recursive=True)]
        except self._psutil.Error:
            return 0
        total = 0
        for process in processes:
            try:
                total += process.memory_info().rss
            except self._psutil.Error:
                pass  # exited between listing and reading
        return total

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak


def run_measured(command: list[str], env: dict[str, str], cwd: Path) -> Run:
    """Wall time and peak tree RSS of one command, its output captured."""
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    peak = TreePeak(process.pid)
    stdout, stderr = process.communicate()
    wall = time.perf_counter() - started
    return Run(wall, peak.stop() / 2**20, process.returncode, stdout, stderr)


def child_env(**rag: str) -> dict[str, str]:
    """The caller's environment without its RAG_* settings (defaults unless given here), running
    this checkout's packages (`rag_run` points a baseline's run at its worktree)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    env["PYTHONPATH"] = str(ROOT)
    env.update({f"RAG_{k.upper()}": v for k, v in rag.items()})
    return env


def rag_run(code_root: Path, data_dir: Path, args: list[str], env: dict[str, str],
            profile: Path | None = None) -> Run:
    """One `rag --data-dir DATA ARGS...` in a fresh process, with `code_root`'s code."""
    code, env = INDEX_CHILD, env | {"PYTHONPATH": str(code_root)}
    if profile is not None:
        code, env = PROFILED_INDEX_CHILD, env | {"SCALE_PROFILE": str(profile)}
    run = run_measured([sys.executable, "-c", code, "--data-dir", str(data_dir), *args], env, code_root)
    if run.returncode not in (0, 1):  # 1: some files failed, reported in the JSON
        raise SystemExit(f"rag {' '.join(args[:2])} failed ({run.returncode}): {run.stderr[-2000:]}")
    return run


def self_child(mode: str, spec: dict, env: dict[str, str]) -> tuple[Run, dict]:
    """This script in a child mode (`--child MODE SPEC`), its last stdout line read as JSON."""
    spec = spec | {"spawned_at": time.time()}
    run = run_measured([sys.executable, str(Path(__file__).resolve()), "--child", mode, json.dumps(spec)],
                       env, ROOT)
    if run.returncode != 0:
        raise SystemExit(f"child {mode} failed ({run.returncode}): {run.stderr[-3000:]}")
    return run, json.loads(run.stdout.strip().splitlines()[-1])


# --- disk -----------------------------------------------------------------------------------

def size_of(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.is_dir() else 0


def disk_parts(data_dir: Path) -> dict[str, int]:
    """Bytes of each part of a data folder; `onnx` is the one-time query export of the model."""
    manifest = data_dir / "manifest.sqlite"
    chroma = data_dir / "chroma"
    parts = {
        "manifest": sum(size_of(manifest.with_name(manifest.name + tail)) for tail in ("", "-wal", "-shm")),
        "chroma_sqlite": sum(size_of(chroma / f"chroma.sqlite3{tail}") for tail in ("", "-wal", "-shm")),
        "chroma_segments": sum(size_of(p) for p in chroma.iterdir() if p.is_dir()) if chroma.is_dir() else 0,
        "bm25": sum(size_of(p) for p in data_dir.glob("bm25*")),
        "sentences": sum(size_of(data_dir / f"sentences.sqlite{tail}") for tail in ("", "-wal", "-shm")),
        "onnx": size_of(data_dir / "onnx"),
    }
    parts["other"] = size_of(data_dir) - sum(parts.values())
    parts["total_without_onnx"] = size_of(data_dir) - parts["onnx"]
    return parts


def sqlite_tables(path: Path) -> dict[str, int]:
    """Bytes per table and index of a SQLite file: dbstat's page sizes, or (without dbstat) the
    summed length of each table's columns."""
    if not path.is_file():
        return {}
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        try:
            rows = db.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC").fetchall()
            return {name: int(size) for name, size in rows}
        except sqlite3.OperationalError:
            return _column_lengths(db)
    finally:
        db.close()


def _column_lengths(db: sqlite3.Connection) -> dict[str, int]:
    sizes = {}
    for (table,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall():
        columns = [row[1] for row in db.execute(f'PRAGMA table_info("{table}")')]
        if columns:
            total = " + ".join(f'COALESCE(SUM(LENGTH("{c}")), 0)' for c in columns)
            sizes[table] = int(db.execute(f'SELECT {total} FROM "{table}"').fetchone()[0])
    return dict(sorted(sizes.items(), key=lambda item: -item[1]))


def per_chunk(parts: dict[str, int], chunks: int) -> dict[str, float]:
    return {name: round(size / chunks, 1) for name, size in parts.items()} if chunks else {}


# --- questions ------------------------------------------------------------------------------

def sampled_chunks(data_dir: Path, count: int, seed: int) -> list[tuple[str, str]]:
    """`count` (text, section) pairs of the manifest's chunks, chosen by a seeded draw of rowids."""
    db = sqlite3.connect(f"file:{data_dir / 'manifest.sqlite'}?mode=ro", uri=True)
    try:
        low, high = db.execute("SELECT MIN(rowid), MAX(rowid) FROM chunks").fetchone()
        if low is None:
            return []
        draw = random.Random(seed)
        rowids = sorted({draw.randint(low, high) for _ in range(count * 3)})
        marks = ",".join("?" * len(rowids))
        rows = db.execute(f"SELECT text, section FROM chunks WHERE rowid IN ({marks})", rowids).fetchall()
    finally:
        db.close()
    draw.shuffle(rows)
    return rows[:count]


def questions_from_chunks(chunks: list[tuple[str, str]], words: int = 12) -> list[str]:
    """A question per chunk: the first words of its first sentence (so each has an answer)."""
    questions = []
    for text, _section in chunks:
        sentence = text.strip().split(". ")[0].split("\n")[0]
        picked = sentence.split()[:words]
        if len(picked) >= 3:
            questions.append(" ".join(picked).rstrip(".,;:") + "?")
    return questions


def postgres_questions() -> list[str]:
    rows = []
    for split in ("dev", "test"):
        path = ROOT / "eval" / "data" / f"postgres_{split}.jsonl"
        if path.is_file():
            rows += [json.loads(line)["question"] for line in path.read_text().splitlines() if line.strip()]
    return rows


def corpus_questions(corpus: str, data_dir: Path, count: int, seed: int) -> list[str]:
    fixed = postgres_questions() if corpus == "postgres" else []
    generated = questions_from_chunks(sampled_chunks(data_dir, count, seed)) if len(fixed) < count else []
    return (fixed + generated)[:count]


# --- serving (child) ------------------------------------------------------------------------

def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def serve_child(spec: dict) -> dict:
    """Open the index, time the first search from process and Python start, then warm search and
    ask latencies over the questions, and this process's RSS."""
    sys.path.insert(0, str(ROOT))
    from rag import Assistant, RagConfig

    imported = time.time()
    assistant = Assistant(RagConfig.from_env(data_dir=Path(spec["data_dir"])))
    warmup, count = spec["warmup"], spec["count"]
    questions = spec["questions"]
    assistant.search(questions[0])
    first = time.time()
    for question in questions[:warmup]:  # models, the answerer
        assistant.ask(question)
    # Searches and asks get different questions: the retriever's caches would otherwise serve an
    # ask the rows its search of the same question just read.
    searched, asked = questions[warmup:warmup + count], questions[warmup + count:]
    search_ms, ask_ms = [], []
    for question in searched:
        began = time.perf_counter()
        assistant.search(question)
        search_ms.append((time.perf_counter() - began) * 1000)
    for question in asked:
        began = time.perf_counter()
        assistant.ask(question)
        ask_ms.append((time.perf_counter() - began) * 1000)
    import resource

    import psutil

    rss = psutil.Process().memory_info().rss / 2**20
    assistant.close()
    if spec.get("profile"):
        profile_serving(Path(spec["profile"]), Path(spec["data_dir"]), searched, asked)
    return {
        "process_start_to_first_result_s": round(first - spec["spawned_at"], 3),
        "python_start_to_first_result_s": round(first - _STARTED, 3),
        "imports_s": round(imported - _STARTED, 3),
        "open_and_first_search_s": round(first - imported, 3),
        "searches": len(searched), "asks": len(asked),
        "search_p50_ms": round(percentile(search_ms, 50), 2), "search_p95_ms": round(percentile(search_ms, 95), 2),
        "ask_p50_ms": round(percentile(ask_ms, 50), 2), "ask_p95_ms": round(percentile(ask_ms, 95), 2),
        "serving_rss_mb": round(rss),
        "serving_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def profile_serving(path: Path, data_dir: Path, searched: list[str], asked: list[str]) -> None:
    """After the timings: a fresh Assistant opened, then the same searches and asks, under cProfile."""
    import cProfile

    from rag import Assistant, RagConfig

    profile = cProfile.Profile()
    profile.enable()
    assistant = Assistant(RagConfig.from_env(data_dir=data_dir))
    for question in searched:
        assistant.search(question)
    for question in asked:
        assistant.ask(question)
    profile.disable()
    assistant.close()
    profile.dump_stats(str(path))


def serve(data_dir: Path, questions: list[str], warmup: int, count: int, env: dict[str, str],
          profile: Path | None = None) -> dict:
    spec = {"data_dir": str(data_dir), "questions": questions, "warmup": warmup, "count": count,
            "profile": str(profile) if profile else None}
    _, figures = self_child("serve", spec, env)
    return figures


# --- one index ------------------------------------------------------------------------------

def index_once(label: str, corpus: Path, data_dir: Path, code_root: Path, env: dict[str, str],
               profile_dir: Path | None = None) -> dict:
    """Cold `rag index` into an empty data folder: time, RSS, chunks, disk by part and table."""
    shutil.rmtree(data_dir, ignore_errors=True)
    profile = profile_dir / f"{label}.prof" if profile_dir else None
    print(f"[{label}] rag index {corpus} ({code_root.name}) ...", flush=True)
    run = rag_run(code_root, data_dir, ["index", str(corpus), "--json", "--no-progress"], env, profile)
    summary = json.loads(run.stdout)
    chunks = summary["chunks_total"]
    parts = disk_parts(data_dir)
    row = {
        "files": len(summary["added"]) + len(summary["changed"]), "failed": len(summary["failed"]),
        "duplicates": len(summary.get("duplicates") or {}), "chunks": chunks,
        "index_s": round(run.wall_s, 2), "index_reported_s": summary.get("seconds"),
        "chunks_per_s": round(chunks / run.wall_s, 1), "index_peak_rss_mb": round(run.peak_rss_mb),
        "disk_bytes": parts, "disk_bytes_per_chunk": per_chunk(parts, chunks),
        "manifest_tables": sqlite_tables(data_dir / "manifest.sqlite"),
        "chroma_tables": sqlite_tables(data_dir / "chroma" / "chroma.sqlite3"),
    }
    if profile:
        row["profile"] = str(profile)
        print(top_of_profile(profile), flush=True)
    return row


PROBE_FILE = "zz-scale-probe.md"
PROBE_TEXT = "# A file added to the corpus\n\n" + " ".join(
    f"Sentence {n} of the file added after the first index, to time a one-file update." for n in range(60))


def after_index(label: str, corpus: Path, data_dir: Path, env: dict[str, str], cache: Path) -> dict:
    """`rag status`, the no-op re-index of the unchanged corpus, then the re-index after one small
    file is added (to the corpus folder under the cache, never to a system folder; removed after)."""
    status = rag_run(ROOT, data_dir, ["status", "--json"], env)
    counted = json.loads(status.stdout)
    noop = rag_run(ROOT, data_dir, ["index", str(corpus), "--json", "--no-progress"], env)
    written = json.loads(noop.stdout)["chunks_written"]
    if written:
        print(f"[{label}] warning: the no-op re-index wrote {written} chunks", flush=True)
    row = {"status_s": round(status.wall_s, 2), "status_chunks": counted.get("chunks"),
           "noop_reindex_s": round(noop.wall_s, 2), "noop_chunks_written": written,
           "noop_peak_rss_mb": round(noop.peak_rss_mb)}
    if not corpus.resolve().is_relative_to(cache.resolve()):
        return row  # a folder of someone else's: nothing is written there
    probe = corpus / PROBE_FILE
    probe.write_text(PROBE_TEXT)
    try:
        added = rag_run(ROOT, data_dir, ["index", str(corpus), "--json", "--no-progress"], env)
    finally:
        probe.unlink()
    return row | {"one_file_added_reindex_s": round(added.wall_s, 2),
                  "one_file_added_chunks_written": json.loads(added.stdout)["chunks_written"],
                  "one_file_added_peak_rss_mb": round(added.peak_rss_mb)}


def top_of_profile(path: Path, lines: int = 25) -> str:
    import io
    import pstats

    out = io.StringIO()
    stats = pstats.Stats(str(path), stream=out)
    stats.sort_stats("cumulative").print_stats(lines)
    stats.sort_stats("tottime").print_stats(lines)
    return out.getvalue()


def measure_corpus(label: str, corpus_name: str, corpus: Path, args, env: dict[str, str],
                   baseline: Path | None) -> dict:
    data_dir = args.cache / "data" / label
    row = {"corpus": corpus_name, "label": label, "path": str(corpus)}
    row |= index_once(label, corpus, data_dir, ROOT, env, args.profile)
    row |= after_index(label, corpus, data_dir, env, args.cache)
    questions = corpus_questions(corpus_name, data_dir, args.warmup + 2 * args.query_count, args.seed)
    serve_profile = args.profile / f"{label}-serve.prof" if args.profile else None
    row |= serve(data_dir, questions, args.warmup, args.query_count, env, serve_profile)
    if serve_profile:
        print(top_of_profile(serve_profile), flush=True)
    if args.bare_forward and env.get("RAG_EMBED_MODEL") != "fake":
        row |= bare_forward(data_dir, env, args.bare_forward_sentences)
    if args.sentence_warmup:
        row |= warmed_up(label, corpus_name, data_dir, args, env)
    if baseline is not None:
        base_dir = args.cache / "data" / f"{label}-baseline"
        base = index_once(f"{label}-baseline", corpus, base_dir, baseline, env)
        row["baseline"] = {"rev": args.baseline, **{k: base[k] for k in (
            "files", "chunks", "index_s", "chunks_per_s", "index_peak_rss_mb", "disk_bytes_per_chunk")}}
        row["speed_ratio_new_over_baseline"] = round(base["index_s"] / row["index_s"], 3)
        if not args.keep_data:
            shutil.rmtree(base_dir, ignore_errors=True)
    if not args.keep_data:
        shutil.rmtree(data_dir, ignore_errors=True)
    print(json.dumps(row), flush=True)
    return row


# --- bare forward pass (child) --------------------------------------------------------------

def forward_child(spec: dict) -> dict:
    """One forward pass over the index's chunk texts (as embedded: under their headings), with the
    embedder indexing builds; optionally over every text indexing embeds (chunks and sentences)."""
    sys.path.insert(0, str(ROOT))
    from index import embedders
    from index.types import indexed_text
    from rag.config import RagConfig

    data_dir = Path(spec["data_dir"])
    config = RagConfig.from_env(data_dir=data_dir)
    db = sqlite3.connect(f"file:{data_dir / 'manifest.sqlite'}?mode=ro", uri=True)
    texts = [indexed_text(text, section) for text, section in db.execute("SELECT text, section FROM chunks")]
    model = (db.execute("SELECT value FROM meta WHERE key = 'embed_model'").fetchone() or [config.embed_model])[0]
    db.close()
    embedder = embedders.build(model, data_dir=data_dir, batch_size=config.embed_batch_size)
    embedder.embed(texts[:8])  # load and warm up outside the timing
    began = time.perf_counter()
    embedder.embed(texts)
    figures = {"bare_forward_texts": len(texts), "bare_forward_s": round(time.perf_counter() - began, 2)}
    figures |= library_forward(embedder, texts)
    every = _every_embedded_text(data_dir) if spec["sentences"] else None
    if every:
        began = time.perf_counter()
        embedder.embed(every)
        figures |= {"bare_forward_all_texts": len(every), "bare_forward_all_s": round(time.perf_counter() - began, 2)}
    return figures


def library_forward(embedder, texts: list[str]) -> dict:
    """The same texts through sentence-transformers' own `encode` (same model, device, precision
    and batch size): the forward pass as a user of the library would run it."""
    runtime = getattr(embedder, "runtime", None)
    if runtime is None or runtime[1] == "int8":  # int8 runs through our ONNX export only
        return {}
    import torch

    from index.embedders.transformer import _autocast

    device, precision = runtime
    with torch.inference_mode(), _autocast(device, precision):
        embedder.model.encode(texts[:8], batch_size=embedder.batch_size)
        began = time.perf_counter()
        embedder.model.encode(texts, batch_size=embedder.batch_size)
    return {"library_forward_s": round(time.perf_counter() - began, 2)}


def _every_embedded_text(data_dir: Path) -> list[str] | None:
    """Chunks and their sentences (each under the chunk's headings), once each: what indexing
    embeds with exact sentence vectors (RAG's default); None where the project reads them otherwise."""
    from index.manifest import Manifest

    manifest = Manifest(data_dir / "manifest.sqlite", readonly=True)
    try:
        ids, _, _ = manifest.all_chunks()
        chunks = list(manifest.chunks_by_id(ids).values())
        texts = [c.indexed_text for c in chunks] + [t for c in chunks for t in c.sentence_inputs()]
    except (AttributeError, TypeError, ValueError) as exc:
        print(f"cannot list the sentences indexing embeds ({exc}): skipped", file=sys.stderr)
        return None
    finally:
        manifest.close()
    return list(dict.fromkeys(texts))


def warm_child(spec: dict) -> dict:
    """Every chunk's sentence vectors made, as a serving process's warm-up makes them."""
    sys.path.insert(0, str(ROOT))
    from rag import Assistant
    from rag.config import RagConfig

    bot = Assistant(RagConfig.from_env(data_dir=Path(spec["data_dir"])))
    retriever = bot.parts._newest_retriever()
    began, after, chunks = time.perf_counter(), "", 0
    while batch := retriever.unembedded_after(after, 64):
        chunks += retriever.warm_sentences(batch)
        after = batch[-1]
    seconds = time.perf_counter() - began
    bot.close()
    return {"sentence_warmup_s": round(seconds, 1), "sentence_warmup_chunks": chunks}


def warmed_up(label: str, corpus_name: str, data_dir: Path, args, env: dict[str, str]) -> dict:
    """The index after every chunk's sentences are embedded (what a long-running chat ends with):
    the time that took, the bytes per chunk then, and new questions' search and ask times."""
    print(f"[{label}] embedding every chunk's sentences ...", flush=True)
    _, row = self_child("warm", {"data_dir": str(data_dir)}, env)
    chunks = row["sentence_warmup_chunks"] or 1
    parts = disk_parts(data_dir)
    row |= {"warm_disk_bytes_per_chunk": per_chunk(parts, chunks),
            "warm_sentences_tables": sqlite_tables(data_dir / "sentences.sqlite")}
    questions = corpus_questions(corpus_name, data_dir, args.warmup + 2 * args.query_count, args.seed + 1)
    served = serve(data_dir, questions, args.warmup, args.query_count, env, None)
    return row | {f"warm_{key}": value for key, value in served.items()}


def bare_forward(data_dir: Path, env: dict[str, str], sentences: bool) -> dict:
    try:
        _, figures = self_child("forward", {"data_dir": str(data_dir), "sentences": sentences}, env)
    except SystemExit as exc:
        print(f"bare forward pass failed: {exc}", flush=True)
        return {}
    return figures


def add_forward_ratios(row: dict) -> None:
    if row.get("bare_forward_s"):
        row["index_over_bare_forward"] = round(row["index_s"] / row["bare_forward_s"], 3)
    if row.get("library_forward_s"):
        row["index_over_library_forward"] = round(row["index_s"] / row["library_forward_s"], 3)
    if row.get("bare_forward_all_s"):
        row["index_over_bare_forward_all"] = round(row["index_s"] / row["bare_forward_all_s"], 3)


# --- baseline -------------------------------------------------------------------------------

def baseline_worktree(rev: str) -> Path:
    """A detached worktree of `rev` under /tmp (made once; reused while it holds the same commit)."""
    commit = subprocess.run(["git", "rev-parse", "--verify", f"{rev}^{{commit}}"], cwd=ROOT, capture_output=True,
                            text=True, check=True).stdout.strip()
    folder = Path(f"/tmp/scale-baseline-{rev.replace('/', '_')}")
    if folder.is_dir():
        held = subprocess.run(["git", "rev-parse", "HEAD"], cwd=folder, capture_output=True, text=True).stdout.strip()
        if held == commit:
            return folder
        raise SystemExit(f"{folder} holds {held[:12]}, not {rev} ({commit[:12]}): remove it with "
                         f"`git worktree remove {folder}`")
    subprocess.run(["git", "worktree", "add", "--detach", str(folder), commit], cwd=ROOT, check=True,
                   capture_output=True)
    return folder


# --- real corpora ---------------------------------------------------------------------------

def ensure_linux_docs() -> Path:
    if not LINUX.is_dir():
        print(f"installing {LINUX_PACKAGE} (apt-get) ...", flush=True)
        env = os.environ | {"DEBIAN_FRONTEND": "noninteractive"}
        install = ["apt-get", "install", "-y", LINUX_PACKAGE]
        if subprocess.run(install, env=env, capture_output=True).returncode != 0:  # a stale package list
            subprocess.run(["apt-get", "update"], env=env, check=True, capture_output=True)
            subprocess.run(install, env=env, check=True, capture_output=True)
    return LINUX


def corpus_files(name: str) -> tuple[Path, list[str]]:
    """The corpus's folder and its readable files (relative paths) in a fixed hash order."""
    if name == "postgres":
        root = POSTGRES
        if not root.is_dir():
            raise SystemExit(f"the PostgreSQL manual is not installed ({root}): apt-get install postgresql-doc-15")
    elif name == "linux":
        root = ensure_linux_docs()
    else:
        raise SystemExit(f"unknown corpus '{name}' (postgres, linux)")
    files = []
    for path in root.rglob("*"):
        relative = path.relative_to(root)
        if path.is_file() and path.suffix.lower() in CORPUS_EXTENSIONS and relative.parts[0] not in LINUX_SKIPPED:
            files.append(relative.as_posix())
    return root, sorted(files, key=lambda f: hashlib.sha1(f.encode()).hexdigest())


def subset_tree(root: Path, files: list[str], target: Path) -> Path:
    """`files` of `root` as hard links under `target` (copies where links cannot be made), so the
    indexer sees the same relative paths without a copy in the repository."""
    marker = target / ".complete"  # hidden: the indexer skips it
    if marker.is_file() and marker.read_text() == "\n".join(files):
        return target
    shutil.rmtree(target, ignore_errors=True)
    for relative in files:
        destination = target / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(root / relative, destination)
        except OSError:
            shutil.copy2(root / relative, destination)
    marker.write_text("\n".join(files))
    return target


def real_corpora(args) -> list[tuple[str, str, Path]]:
    """(label, corpus name, folder) for each corpus and fraction asked for."""
    chosen = []
    for name in args.corpora:
        root, files = corpus_files(name)
        if args.max_files:
            files = files[:args.max_files]
        for fraction in args.fractions:
            count = max(1, round(len(files) * fraction))
            label = f"{name}-{count}files"
            chosen.append((label, name, subset_tree(root, files[:count], args.cache / "corpora" / label)))
    return chosen


def run_real(args) -> list[dict]:
    baseline = baseline_worktree(args.baseline) if args.baseline else None
    env = child_env()
    rows = []
    for label, name, folder in real_corpora(args):
        row = measure_corpus(label, name, folder, args, env, baseline)
        add_forward_ratios(row)
        args.record(row)
        rows.append(row)
    return rows


# --- synthetic corpora ----------------------------------------------------------------------

def vocabulary(seed: int, size: int = 30_000) -> list[str]:
    """Pronounceable pseudo-words, most frequent first."""
    draw = random.Random(seed)
    syllables = [c + v for c in "bcdfghjklmnprstvwz" for v in ("a", "e", "i", "o", "u", "ai", "ou")]
    words: dict[str, None] = {}
    while len(words) < size:
        words["".join(draw.choice(syllables) for _ in range(draw.choice((1, 2, 2, 3, 3, 4))))] = None
    return list(words)


def synthetic_text(index: int, words: int, vocab: list[str], seed: int) -> str:
    """A Markdown document of about `words` words: Zipf-distributed vocabulary, sentences of 6-24
    words, paragraphs of 3-7 sentences, a heading every few paragraphs. Deterministic in `index`."""
    import numpy as np

    rng = np.random.default_rng([seed, index])
    ranks = np.arange(1, len(vocab) + 1)
    weights = 1.0 / ranks**1.07
    drawn = rng.choice(len(vocab), size=words, p=weights / weights.sum())
    lines = [f"# Document {index} {vocab[drawn[0]]}", ""]
    at = 0
    paragraph_no = 0
    while at < words:
        if paragraph_no % 6 == 0:
            lines += [f"## {' '.join(vocab[w] for w in rng.choice(len(vocab), size=3)).title()}", ""]
        sentences = []
        for _ in range(int(rng.integers(3, 8))):
            length = int(rng.integers(6, 25))
            sentence = " ".join(vocab[w] for w in drawn[at:at + length])
            at += length
            if sentence:
                sentences.append(sentence[0].upper() + sentence[1:] + ".")
        lines += [" ".join(sentences), ""]
        paragraph_no += 1
    return "\n".join(lines)


def words_per_file(args, vocab: list[str]) -> int:
    """Words that make about SYNTHETIC_CHUNKS_PER_FILE chunks, measured once by indexing a sample."""
    marker = args.cache / f"synthetic-calibration-v{GENERATOR_VERSION}-{args.seed}.json"
    if marker.is_file():
        return json.loads(marker.read_text())["words_per_file"]
    sample_words = 8000
    folder = args.cache / "calibration"
    shutil.rmtree(folder, ignore_errors=True)
    (folder / "docs").mkdir(parents=True)
    (folder / "docs" / "sample.md").write_text(synthetic_text(0, sample_words, vocab, args.seed))
    run = rag_run(ROOT, folder / "data", ["index", str(folder / "docs"), "--json", "--no-progress"],
                  child_env(embed_model="fake"))
    chunks = json.loads(run.stdout)["chunks_total"]
    words = round(sample_words * SYNTHETIC_CHUNKS_PER_FILE / chunks)
    marker.write_text(json.dumps({"sample_words": sample_words, "sample_chunks": chunks, "words_per_file": words}))
    shutil.rmtree(folder, ignore_errors=True)
    return words


def synthetic_corpus(chunks: int, args) -> Path:
    """Files of ~100 chunks each adding up to about `chunks`, cached under the cache folder."""
    vocab = vocabulary(args.seed)
    words = words_per_file(args, vocab)
    files = max(1, math.ceil(chunks / SYNTHETIC_CHUNKS_PER_FILE))
    folder = args.cache / f"synthetic-{chunks}"
    marker = folder / ".complete"
    wanted = json.dumps({"version": GENERATOR_VERSION, "seed": args.seed, "files": files, "words": words})
    if marker.is_file() and marker.read_text() == wanted:
        return folder
    print(f"generating {files} files of {words} words in {folder} ...", flush=True)
    shutil.rmtree(folder, ignore_errors=True)
    for index in range(files):
        shard = folder / f"{index // 1000:03d}"  # folders of at most 1,000 files
        shard.mkdir(parents=True, exist_ok=True)
        (shard / f"doc-{index:06d}.md").write_text(synthetic_text(index, words, vocab, args.seed))
    marker.write_text(wanted)
    return folder


def run_synthetic(args) -> list[dict]:
    env = child_env(embed_model="fake")
    baseline = baseline_worktree(args.baseline) if args.baseline else None
    rows = []
    for size in args.sizes:
        folder = synthetic_corpus(size, args)
        row = measure_corpus(f"synthetic-{size_label(size)}", "synthetic", folder, args, env, baseline)
        row["target_chunks"] = size
        args.record(row)
        rows.append(row)
    return rows


# --- llama-index ----------------------------------------------------------------------------

def llama_child(spec: dict) -> dict:
    """A plain llama-index ingestion: read, split, embed, store in a Chroma collection; timed."""
    sys.path.insert(0, str(ROOT))
    import chromadb
    from llama_index.core import Settings, SimpleDirectoryReader
    from llama_index.core.ingestion import IngestionPipeline
    from llama_index.core.node_parser import SentenceSplitter
    from llama_index.core.schema import Document
    from tokenizers import Tokenizer

    from index.embed import resolve_model

    model_dir = resolve_model("all-MiniLM-L6-v2").local_dir
    embed_model = _llama_embedding(str(model_dir), spec["batch"])
    Settings.embed_model = embed_model
    imported = time.time()
    tokenizer = Tokenizer.from_file(str(Path(model_dir) / "tokenizer.json"))
    tokenizer.no_truncation()  # the file truncates at the model's 128 tokens: every text would fit
    tokenizer.no_padding()

    def tokens(text: str) -> list[int]:
        return tokenizer.encode(text, add_special_tokens=False).ids

    class HtmlAsText:
        def load_data(self, file, extra_info=None, **_):
            return [Document(text=html_to_text(Path(file).read_text(errors="replace")), metadata=extra_info or {})]

    extractor = {ext: HtmlAsText() for ext in (".html", ".htm")}
    documents = SimpleDirectoryReader(input_dir=spec["corpus"], recursive=True, required_exts=list(CORPUS_EXTENSIONS),
                                      file_extractor=extractor).load_data()
    for document in documents:  # the file's metadata would count against the chunk size; ours embeds none
        document.excluded_embed_metadata_keys = document.excluded_llm_metadata_keys = list(document.metadata)
    read = time.time()
    client = chromadb.PersistentClient(path=spec["persist_dir"])
    collection = client.get_or_create_collection("llama", configuration={"hnsw": {"space": "cosine"}})
    splitter = SentenceSplitter(chunk_size=spec["chunk_tokens"], chunk_overlap=spec["chunk_overlap"], tokenizer=tokens)
    pipeline = IngestionPipeline(transformations=[splitter, embed_model], vector_store=_chroma_store(collection))
    nodes = pipeline.run(documents=documents)
    done = time.time()
    return {"llama_embedding": type(embed_model).__name__, "documents": len(documents), "nodes": len(nodes),
            "imports_s": round(imported - _STARTED, 2), "read_s": round(read - imported, 2),
            "split_embed_store_s": round(done - read, 2), "python_total_s": round(done - _STARTED, 2),
            "collection_count": collection.count()}


def _llama_embedding(model_dir: str, batch: int):
    """llama-index's HuggingFaceEmbedding on the bundled model; without that package, a minimal
    BaseEmbedding over sentence-transformers (same model, same batch)."""
    try:
        from llama_index.embeddings.huggingface import HuggingFaceEmbedding

        return HuggingFaceEmbedding(model_name=model_dir, device="cpu", embed_batch_size=batch)
    except ImportError:
        from llama_index.core.embeddings import BaseEmbedding
        from sentence_transformers import SentenceTransformer

        model = SentenceTransformer(model_dir, device="cpu")

        class SentenceTransformerEmbedding(BaseEmbedding):
            def _get_text_embeddings(self, texts):
                return model.encode(texts, batch_size=batch, normalize_embeddings=True).tolist()

            def _get_text_embedding(self, text):
                return self._get_text_embeddings([text])[0]

            def _get_query_embedding(self, query):
                return self._get_text_embedding(query)

            async def _aget_query_embedding(self, query):
                return self._get_query_embedding(query)

        return SentenceTransformerEmbedding(model_name=model_dir, embed_batch_size=batch)


def _chroma_store(collection):
    """llama-index's ChromaVectorStore; without that package, a minimal BasePydanticVectorStore
    that adds the nodes to the collection."""
    try:
        from llama_index.vector_stores.chroma import ChromaVectorStore

        return ChromaVectorStore(chroma_collection=collection)
    except ImportError:
        from llama_index.core.vector_stores.types import BasePydanticVectorStore

        class PlainChroma(BasePydanticVectorStore):
            stores_text: bool = True

            @property
            def client(self):
                return collection

            def add(self, nodes, **_):
                for start in range(0, len(nodes), 5000):
                    part = nodes[start:start + 5000]
                    collection.add(ids=[n.node_id for n in part], embeddings=[n.get_embedding() for n in part],
                                   documents=[n.get_content() for n in part])
                return [n.node_id for n in nodes]

            def delete(self, ref_doc_id, **_):
                collection.delete(where={"ref_doc_id": ref_doc_id})

            def query(self, query, **_):
                raise NotImplementedError

        return PlainChroma()


def html_to_text(html: str) -> str:
    """Visible text of an HTML page (scripts and styles dropped), block elements on their own lines."""
    from html.parser import HTMLParser

    class Text(HTMLParser):
        def __init__(self):
            super().__init__()
            self.parts, self.hidden = [], 0

        def handle_starttag(self, tag, attrs):
            self.hidden += tag in ("script", "style")
            if tag in ("p", "div", "br", "li", "h1", "h2", "h3", "h4", "tr", "pre", "dt", "dd", "td", "th"):
                self.parts.append("\n\n")

        def handle_endtag(self, tag):
            self.hidden -= tag in ("script", "style") and self.hidden > 0

        def handle_data(self, data):
            if not self.hidden:
                self.parts.append(data)

    parser = Text()
    parser.feed(html)
    text = re.sub(r"\s*\n\s*\n\s*", "\n\n", "".join(parser.parts))
    # A lone newline becomes a space: SentenceSplitter's last resort splits on spaces only, and a
    # column of words joined by newlines would be one "token" longer than a chunk.
    return re.sub(r"(?<!\n)\n(?!\n)", " ", text).strip()


def run_llamaindex(args) -> list[dict]:
    from rag.config import RagConfig

    config = RagConfig.from_env({})
    env = child_env()
    rows = []
    for label, name, folder in real_corpora(args):
        persist = args.cache / "data" / f"{label}-llamaindex"
        shutil.rmtree(persist, ignore_errors=True)
        print(f"[{label}] llama-index ingestion of {folder} ...", flush=True)
        spec = {"corpus": str(folder), "persist_dir": str(persist), "chunk_tokens": config.chunk_tokens,
                "chunk_overlap": config.chunk_overlap, "batch": args.llama_batch}
        run, figures = self_child("llama", spec, env)
        row = {"corpus": name, "label": label, "path": str(folder), "llama_index_s": round(run.wall_s, 2),
               "llama_peak_rss_mb": round(run.peak_rss_mb), "llama_batch": args.llama_batch,
               "llama_disk_bytes": size_of(persist), **figures,
               "llama_chunks_per_s": round(figures["nodes"] / run.wall_s, 1)}
        if not args.llama_only:
            ours = measure_corpus(label, name, folder, args, env, None)
            row |= {"ours_index_s": ours["index_s"], "ours_chunks": ours["chunks"],
                    "ours_chunks_per_s": ours["chunks_per_s"], "ours_peak_rss_mb": ours["index_peak_rss_mb"],
                    "time_ratio_ours_over_llama": round(ours["index_s"] / row["llama_index_s"], 3),
                    "chunks_per_s_ratio_ours_over_llama": round(ours["chunks_per_s"] / row["llama_chunks_per_s"], 3)}
        if not args.keep_data:
            shutil.rmtree(persist, ignore_errors=True)
        print(json.dumps(row), flush=True)
        args.record(row)
        rows.append(row)
    return rows


# --- results --------------------------------------------------------------------------------

def machine() -> dict:
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, capture_output=True,
                           text=True)
    return {"date": time.strftime("%Y-%m-%d %H:%M"), "commit": commit.stdout.strip(),
            "uncommitted_changes": bool(dirty.stdout.strip()), "cpus": os.cpu_count(),
            "load_average_at_start": [round(x, 2) for x in os.getloadavg()], "nice": os.nice(0)}


def save(part: str, rows: list[dict], meta: dict) -> Path:
    """Merge `rows` into docs/results/scale/PART.json by label (a rerun replaces its own rows)."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{part}.json"
    stored = json.loads(path.read_text()) if path.is_file() else {"runs": {}}
    for row in rows:
        stored["runs"][row["label"]] = {"measured": meta} | row
    order = sorted(stored["runs"].items(), key=lambda item: (item[1]["corpus"], item[1].get("chunks") or 0))
    stored["runs"] = dict(order)
    path.write_text(json.dumps(stored, indent=1) + "\n")
    return path


TABLE = [("label", "corpus"), ("files", "files"), ("chunks", "chunks"), ("index_s", "index s"),
         ("chunks_per_s", "chunks/s"), ("index_peak_rss_mb", "peak RSS MB"), ("bytes_per_chunk", "B/chunk"),
         ("manifest_per_chunk", "manifest B/ch"), ("chroma_per_chunk", "chroma B/ch"), ("bm25_per_chunk", "bm25 B/ch"),
         ("onnx_mb", "onnx MB"), ("noop_reindex_s", "no-op s"), ("one_file_added_reindex_s", "+1 file s"),
         ("status_s", "status s"),
         ("python_start_to_first_result_s", "open s"), ("process_start_to_first_result_s", "spawn→1st s"),
         ("search_p50_ms", "search p50"), ("search_p95_ms", "search p95"), ("ask_p50_ms", "ask p50"),
         ("ask_p95_ms", "ask p95"), ("serving_rss_mb", "serve RSS MB"), ("index_over_bare_forward", "÷ forward"),
         ("speed_ratio_new_over_baseline", "new/base speed")]
LLAMA_TABLE = [("label", "corpus"), ("documents", "docs"), ("nodes", "llama chunks"), ("llama_index_s", "llama s"),
               ("llama_chunks_per_s", "llama chunks/s"), ("llama_peak_rss_mb", "llama RSS MB"),
               ("ours_chunks", "our chunks"), ("ours_index_s", "our s"), ("ours_chunks_per_s", "our chunks/s"),
               ("time_ratio_ours_over_llama", "time ours/llama"),
               ("chunks_per_s_ratio_ours_over_llama", "chunks/s ours/llama")]


def flat(row: dict) -> dict:
    """The row with the per-part bytes per chunk lifted to columns of the table."""
    per = row.get("disk_bytes_per_chunk") or {}
    chroma = (per.get("chroma_sqlite") or 0) + (per.get("chroma_segments") or 0)
    return row | {"bytes_per_chunk": per.get("total_without_onnx"), "manifest_per_chunk": per.get("manifest"),
                  "chroma_per_chunk": round(chroma, 1) if per else None, "bm25_per_chunk": per.get("bm25"),
                  "onnx_mb": round((row.get("disk_bytes") or {}).get("onnx", 0) / 1e6, 1) if per else None}


def print_table(rows: list[dict], columns: list[tuple[str, str]]) -> None:
    shown = [(key, title) for key, title in columns if any(flat(r).get(key) is not None for r in rows)]
    print("\n| " + " | ".join(title for _, title in shown) + " |\n|" + "---|" * len(shown))
    for row in map(flat, rows):
        print("| " + " | ".join(_cell(row.get(key)) for key, _ in shown) + " |")
    for row in rows:
        for part in ("manifest", "chroma"):
            tables = row.get(f"{part}_tables")
            if tables and row.get("chunks"):
                print(f"{row['label']}: {part} bytes/chunk by table: " + ", ".join(
                    f"{name} {size / row['chunks']:.0f}" for name, size in tables.items() if size >= row["chunks"]))


def _cell(value) -> str:
    if value is None:
        return "–"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def plot(part: str) -> Path | None:
    """Curves of every recorded run of the part against its chunk count, one line per corpus."""
    path = RESULTS / f"{part}.json"
    if not path.is_file():
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = [flat(r) for r in json.loads(path.read_text())["runs"].values() if r.get("chunks")]
    panels = [("index time (s)", ["index_s", "noop_reindex_s", "one_file_added_reindex_s"]),
              ("peak RSS (MB)", ["index_peak_rss_mb", "serving_rss_mb"]),
              ("bytes per chunk", ["bytes_per_chunk", "manifest_per_chunk", "chroma_per_chunk", "bm25_per_chunk"]),
              ("latency (ms)", ["search_p50_ms", "search_p95_ms", "ask_p50_ms", "ask_p95_ms"]),
              ("open: Python start to first result (s)", ["python_start_to_first_result_s"]),
              ("indexing speed (chunks/s)", ["chunks_per_s"])]
    figure, axes = plt.subplots(2, 3, figsize=(15, 8.5))
    for axis, (title, keys) in zip(axes.flat, panels):
        for corpus in sorted({r["corpus"] for r in runs}):
            points = sorted((r for r in runs if r["corpus"] == corpus), key=lambda r: r["chunks"])
            for key in keys:
                xs = [r["chunks"] for r in points if r.get(key) is not None]
                ys = [r[key] for r in points if r.get(key) is not None]
                if xs:
                    label = f"{corpus}: {key}" if len(keys) > 1 or part == "real" else corpus
                    axis.plot(xs, ys, marker="o", label=label)
        axis.set_xscale("log")
        if title.startswith("index time"):
            axis.set_yscale("log")
        axis.set_title(title)
        axis.set_xlabel("chunks")
        axis.grid(True, alpha=0.3)
        if axis.lines:
            axis.legend(fontsize=7)
    figure.suptitle(f"rag-cited at scale: {part} corpora (bench/scale.py)")
    figure.tight_layout()
    IMAGES.mkdir(parents=True, exist_ok=True)
    out = IMAGES / f"scale-{part}.png"
    figure.savefig(out, dpi=90)
    plt.close(figure)
    return out


# --- command line ---------------------------------------------------------------------------

def size_label(size: int) -> str:
    for unit, scale in (("M", 1_000_000), ("k", 1000)):
        if size >= scale and size % scale == 0:
            return f"{size // scale}{unit}"
    return str(size)


def parse_size(text: str) -> int:
    text = text.strip().lower().replace("_", "").replace(",", "")
    scale = {"k": 1000, "m": 1_000_000}.get(text[-1:], 1)
    return int(float(text.rstrip("km")) * scale)


def parse_args(argv: list[str] | None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--part", choices=("real", "synthetic", "llamaindex", "all"), default="synthetic")
    parser.add_argument("--corpora", default="postgres,linux", help="real corpora: postgres, linux (comma-separated)")
    parser.add_argument("--fractions", default="1", help="fractions of each real corpus's files, e.g. 0.1,0.3,1")
    parser.add_argument("--max-files", type=int, default=0, help="cap each real corpus at this many files (0: all)")
    parser.add_argument("--sizes", default="10k,100k", help="synthetic sizes in chunks, e.g. 10k,100k,1M")
    parser.add_argument("--questions", type=int, default=0,
                        help="searches, and as many asks of other questions (default: 50 real, 100 synthetic)")
    parser.add_argument("--warmup", type=int, default=5, help="questions asked before the timing (not timed)")
    parser.add_argument("--baseline", metavar="REV", help="also index with the code at this git revision")
    parser.add_argument("--bare-forward", action="store_true", help="time a bare forward pass over the chunk texts")
    parser.add_argument("--sentence-warmup", action="store_true",
                        help="then embed every chunk's sentences (a long-running chat's warm-up): time, size, searches")
    parser.add_argument("--bare-forward-sentences", action="store_true",
                        help="with --bare-forward: also over every text indexing embeds (chunks and sentences)")
    parser.add_argument("--llama-batch", type=int, default=10, help="HuggingFaceEmbedding batch (its default: 10)")
    parser.add_argument("--llama-only", action="store_true", help="llamaindex part: skip our own index of the corpus")
    parser.add_argument("--profile", type=Path, metavar="DIR",
                        help="cProfile each cold index (DIR/LABEL.prof) and, after the timings, a second opening "
                        "and the same queries (DIR/LABEL-serve.prof); prints the top of each")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/rag-scale"), help="corpora and data folders")
    parser.add_argument("--keep-data", action="store_true", help="keep the data folders after measuring")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--nice", type=int, default=19, help="run at this niceness (the machine is shared)")
    parser.add_argument("--no-save", action="store_true", help="print only: no JSON, no plots")
    parser.add_argument("--child", nargs=2, metavar=("MODE", "SPEC"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.corpora = [c.strip() for c in args.corpora.split(",") if c.strip()]
    args.fractions = [float(f) for f in args.fractions.split(",")]
    args.sizes = [parse_size(s) for s in args.sizes.split(",") if s.strip()]
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
    return args


def recorder(part: str, meta: dict, off: bool):
    def record(row: dict) -> None:
        if not off:
            save(part, [row], meta)

    return record


CHILDREN = {"serve": serve_child, "forward": forward_child, "warm": warm_child, "llama": llama_child}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child:
        mode, spec = args.child
        print(json.dumps(CHILDREN[mode](json.loads(spec))), flush=True)
        return 0
    os.nice(max(0, args.nice - os.nice(0)))
    sys.path.insert(0, str(ROOT))
    args.cache.mkdir(parents=True, exist_ok=True)
    meta = machine()
    parts = ("real", "synthetic", "llamaindex") if args.part == "all" else (args.part,)
    for part in parts:
        args.query_count = args.questions or (100 if part == "synthetic" else 50)
        # Each row is saved as soon as it is measured: a long run stopped half-way keeps its rows.
        args.record = recorder(part, meta, args.no_save)
        rows = {"real": run_real, "synthetic": run_synthetic, "llamaindex": run_llamaindex}[part](args)
        print_table(rows, LLAMA_TABLE if part == "llamaindex" else TABLE)
        if not args.no_save:
            print(f"results: {RESULTS / (part + '.json')}")
            if part != "llamaindex":
                print(f"curves: {plot(part)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
