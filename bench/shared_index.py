"""Several processes, one index: two answering processes keep asking while a third indexes new files.

    .venv/bin/python bench/shared_index.py [--questions 1000] [--new 100] [--chroma-url URL] [--fake]

A `chroma run` server holds the vectors (started here unless --chroma-url names one). seeds/ is
indexed into a fresh data folder; then two readers answer questions on that folder: a real
`rag mcp` process driven over stdio by the SDK's client, and a Python `Assistant` in a process of
its own. Once both answer, a third process runs `rag index` on `--new` small files, each holding
one made-up fact, committing the manifest in small batches (RAG_WRITE_BATCH). Every reader asks
in turn a question on the seeds, a question on one new fact, and a search for another; they go on
until at least `--questions` questions in all and a few on new facts after the writer's commit.

Reported: the questions (answers and searches) and the errors among them (floor: 0); the delay from the writer's final
commit (watched here in the manifest) to each reader's first answer that cites the new file it was
asked about (floor: 5 s), and how many of its answers after the commit cite theirs; calls that
cited or found a new file before that commit (a reader that saw a half-written index; must be 0);
how many documents the manifest listed while the run was still writing (more than the seeds: the
isolation had something to hide); the writer's wall time; and what the generation check costs per
question. The real default model unless --fake (the hashing embedder: no quality is claimed, only
errors and delays).

`python bench/shared_index.py reader --via mcp|api ...` is one reader (started by the run itself).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SEED_QUESTIONS = (
    "Who heads the Russian delegation in the talks on the Belarusian-Polish border?",
    "How did the US role in the talks change under Trump?",
    "What does China think about the negotiations?",
    "Which two countries could act as mediators according to Jensen?",
)
_SYLLABLES = ("bra", "kov", "el", "quin", "dar", "mos", "til", "vex", "zor", "pel", "rin", "gat", "hul", "sef", "nor")
FLOOR_DELAY_S = 5.0


# --- the new files ------------------------------------------------------------------------
def fact_name(i: int) -> str:
    """A made-up word, different for each i < 3,375, that no seed document uses."""
    n = len(_SYLLABLES)
    return (_SYLLABLES[i % n] + _SYLLABLES[i // n % n] + _SYLLABLES[i // n // n % n]).capitalize() + "ith"


def fact_file(i: int) -> str:
    return f"fact_{i:03d}.txt"


def fact_question(i: int) -> str:
    return f"Who keeps the {fact_name(i)} lighthouse?"


def write_facts(folder: Path, n: int, start: int = 0) -> list[str]:
    """`n` small files (numbered from `start`), each stating one fact found in no other; returns
    their names."""
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(start, start + n):
        name = fact_name(i)
        (folder / fact_file(i)).write_text(
            f"Harbour notes, number {i}.\n\nThe {name} lighthouse is kept by Captain {name}sen, who lights "
            f"its lamp every evening at dusk. The {name} lighthouse was built of grey stone in {1800 + i}.\n",
            encoding="utf-8")
    return [fact_file(i) for i in range(start, start + n)]


# --- one reader ---------------------------------------------------------------------------
def reader_main(args) -> int:
    """Ask until the stop file appears, in turn: a question on the seeds, one on a new fact, and a
    search for another new fact (a search shows what the index holds even where the answerer would
    abstain on a word its vocabulary lacks). One JSON line per call (times, kind, what was expected,
    the sources cited or found, the error if any), flushed at once."""
    out = open(args.out, "a", encoding="utf-8")
    asker = _McpAsker(args.data_dir) if args.via == "mcp" else _ApiAsker(args.data_dir)
    order = list(range(args.facts))
    random.Random(args.via).shuffle(order)
    with asker:
        asker.ask(SEED_QUESTIONS[0])  # warm: readers opened, query model loaded
        out.write(json.dumps({"ready": time.time(), "check_us": asker.check_us()}) + "\n")
        out.flush()
        n = 0
        while not Path(args.stop).exists():
            kind = ("seed", "ask", "search")[n % 3]
            fact = order[n % len(order)]
            question = SEED_QUESTIONS[n % len(SEED_QUESTIONS)] if kind == "seed" else fact_question(fact)
            row = {"t0": time.time(), "kind": kind, "expect": None if kind == "seed" else fact_file(fact)}
            try:
                if kind == "search":
                    row["found"] = asker.search(question)
                else:
                    row["cited"], row["abstained"] = asker.ask(question)
            except Exception as exc:  # noqa: BLE001 - every failure is counted, with what it said
                row["error"] = f"{type(exc).__name__}: {exc}"[:500]
            row["t1"] = time.time()
            out.write(json.dumps(row) + "\n")
            out.flush()
            n += 1
    return 0


class _ApiAsker:
    """An `Assistant` in this process."""

    def __init__(self, data_dir: str) -> None:
        from rag.assistant import Assistant
        from rag.config import RagConfig

        self.assistant = Assistant(RagConfig.from_env(data_dir=Path(data_dir)))

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.assistant.close()

    def ask(self, question: str) -> tuple[list[str], bool]:
        answer = self.assistant.ask(question)
        return sorted({c.source for c in answer.citations}), answer.abstained

    def search(self, query: str) -> list[str]:
        return [hit.source for hit in self.assistant.search(query, k=5)]

    def check_us(self) -> float:
        """The generation check every question makes, when nothing changed: mean microseconds."""
        refresh, rounds = self.assistant.parts.refresh, 2000
        started = time.perf_counter()
        for _ in range(rounds):
            refresh()
        return round((time.perf_counter() - started) / rounds * 1e6, 2)


class _McpAsker:
    """A real `rag mcp` process, asked over stdio by the SDK's client (on a thread of its own)."""

    def __init__(self, data_dir: str) -> None:
        self.data_dir = data_dir
        self._calls = None

    def __enter__(self):
        import queue

        self._calls, ready = queue.Queue(), queue.Queue()
        self._thread = threading.Thread(target=self._serve, args=(ready,), daemon=True)
        self._thread.start()
        problem = ready.get()
        if problem:
            raise RuntimeError(problem)
        return self

    def _serve(self, ready) -> None:
        import anyio
        from mcp import Client, StdioServerParameters

        params = StdioServerParameters(command=sys.executable, args=["-m", "rag", "--data-dir", self.data_dir, "mcp"],
                                       env=dict(os.environ))

        async def session():
            async with Client(params) as client:
                ready.put(None)
                while (call := await anyio.to_thread.run_sync(self._calls.get)) is not None:
                    tool, arguments, done = call
                    try:
                        done.put(await client.call_tool(tool, arguments))
                    except Exception as exc:  # noqa: BLE001 - handed to the asking thread
                        done.put(exc)

        try:
            anyio.run(session)
        except Exception as exc:  # noqa: BLE001
            ready.put(f"rag mcp did not start: {exc!r}")

    def __exit__(self, *exc) -> None:
        self._calls.put(None)
        self._thread.join(timeout=30)

    def ask(self, question: str) -> tuple[list[str], bool]:
        answer = self._call("ask", {"question": question})
        return sorted({c["source"] for c in answer["citations"]}), answer["abstained"]

    def search(self, query: str) -> list[str]:
        return [p["source"] for p in self._call("search", {"query": query, "k": 5})["passages"]]

    def _call(self, tool: str, arguments: dict) -> dict:
        import queue

        done = queue.Queue()
        self._calls.put((tool, arguments, done))
        result = done.get(timeout=120)
        if isinstance(result, Exception):
            raise result
        if result.is_error:
            raise RuntimeError(result.content[0].text)
        return result.structured_content

    def check_us(self) -> None:
        return None  # measured in the API reader: the same code runs inside `rag mcp`


# --- the writer's commit, seen from outside -----------------------------------------------
@dataclass
class Watch:
    """The manifest's meta, polled: when the run began writing (state dirty), when it committed
    its generation (state clean with a new BM25 name), how many documents it listed meanwhile."""

    path: Path
    every_s: float = 0.005
    before: str | None = None
    dirty_at: float | None = None
    committed_at: float | None = None
    docs_mid_write: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)

    def start(self) -> Watch:
        self.before = self._meta(self._connect()).get("bm25")
        threading.Thread(target=self._run, daemon=True).start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, isolation_level=None)

    @staticmethod
    def _meta(db) -> dict[str, str]:
        return dict(db.execute("SELECT key, value FROM meta WHERE key IN ('state', 'bm25')").fetchall())

    def _run(self) -> None:
        db = self._connect()
        while not self._stop.is_set() and self.committed_at is None:
            meta, now = self._meta(db), time.time()
            if meta.get("state") == "dirty":
                self.dirty_at = self.dirty_at or now
                self.docs_mid_write = max(self.docs_mid_write, db.execute("SELECT COUNT(*) FROM docs").fetchone()[0])
            elif meta.get("state") == "clean" and meta.get("bm25") and meta.get("bm25") != self.before:
                self.committed_at = now
            time.sleep(self.every_s)
        db.close()


# --- the run ------------------------------------------------------------------------------
def run(data_dir: Path, work: Path, env: dict[str, str], new: int = 100, questions: int = 1000,
        after: int = 6, write_batch: int = 8, timeout_s: float = 600) -> dict:
    """Two readers on `data_dir` (already indexed) ask at least `questions` questions in all, and
    at least `after` each once the writer's generation is committed, while `rag index` adds `new`
    fact files. `env`: the RAG_* settings every process shares (RAG_CHROMA_URL, RAG_EMBED_MODEL).
    Returns the figures (see the module's docstring)."""
    facts = work / "new"
    new_files = set(write_facts(facts, new))
    stop = work / "stop"
    stop.unlink(missing_ok=True)
    base = {**{k: v for k, v in os.environ.items() if not k.startswith("RAG_")}, **env, "RAG_DATA_DIR": str(data_dir)}
    outs = {via: work / f"reader-{via}.jsonl" for via in ("mcp", "api")}
    with ExitStack() as stack:
        readers = {}
        for via, out in outs.items():
            out.unlink(missing_ok=True)
            readers[via] = subprocess.Popen(
                [sys.executable, __file__, "reader", "--via", via, "--data-dir", str(data_dir), "--out", str(out),
                 "--stop", str(stop), "--facts", str(new)], env=base, cwd=ROOT, stderr=subprocess.PIPE, text=True)
            stack.callback(_end, readers[via])
        stack.callback(stop.touch)
        deadline = time.time() + timeout_s
        _wait(lambda: all(_rows(out) for out in outs.values()), deadline, readers, "the readers to answer")
        watch = Watch(data_dir / "manifest.sqlite").start()
        stack.callback(watch.stop)
        time.sleep(1.0)  # answers on the old generation first
        started = time.time()
        writer = subprocess.run([sys.executable, "-m", "rag", "index", str(facts), "--no-progress"],
                                env={**base, "RAG_WRITE_BATCH": str(write_batch)}, cwd=ROOT, capture_output=True,
                                text=True, timeout=timeout_s)
        if writer.returncode != 0:
            raise RuntimeError(f"rag index failed ({writer.returncode}): {writer.stderr[-2000:]}")
        write_s = time.time() - started
        _wait(lambda: watch.committed_at is not None, deadline, readers, "the writer's commit to be seen")

        def enough() -> bool:
            rows = {via: _answers(out) for via, out in outs.items()}
            late = [sum(r["t0"] > watch.committed_at for r in v) for v in rows.values()]
            return sum(map(len, rows.values())) >= questions and min(late) >= after

        _wait(enough, deadline, readers, f"{questions} questions")
    return summary({via: _rows(out) for via, out in outs.items()}, watch, write_s, new_files)


def summary(rows: dict[str, list[dict]], watch: Watch, write_s: float, new_files: set[str]) -> dict:
    committed = watch.committed_at
    out = {"questions": 0, "errors": 0, "first_errors": [], "write_s": round(write_s, 2),
           "docs_listed_mid_write": watch.docs_mid_write, "readers": {}}
    for via, lines in rows.items():
        ready = next(r for r in lines if "ready" in r)
        answers = [r for r in lines if "t0" in r]
        errors = [r["error"] for r in answers if "error" in r]
        fresh = [r["t1"] for r in answers if r["expect"] in r.get("cited", ()) and r["t1"] >= committed]
        # the watch sees a commit up to one poll late: only calls finished before that are judged
        early = [r for r in answers if r["t1"] < committed - watch.every_s
                 and new_files & {*r.get("cited", ()), *r.get("found", ())}]
        after = [r for r in answers if r["t0"] >= committed and r["kind"] == "ask" and "error" not in r]
        out["questions"] += len(answers)
        out["errors"] += len(errors)
        out["first_errors"] += errors[:3]
        out["readers"][via] = {
            "questions": len(answers), "errors": len(errors),
            "delay_s": round(min(fresh) - committed, 3) if fresh else None,
            "new_seen_before_commit": len(early),
            "fact_answers_after_commit": len(after),
            "citing_their_file": sum(r["expect"] in r.get("cited", ()) for r in after),
            "ask_p50_ms": round(statistics.median(r["t1"] - r["t0"] for r in answers if r["kind"] != "search") * 1000, 1),
            "check_us": ready.get("check_us"),
        }
    delays = [r["delay_s"] for r in out["readers"].values()]
    out["max_delay_s"] = max(delays) if None not in delays else None
    return out


def _rows(path: Path) -> list[dict]:
    if not path.exists():
        return []
    text = path.read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines()[:text.count("\n")] if line]


def _answers(path: Path) -> list[dict]:
    return [r for r in _rows(path) if "t0" in r]


def _wait(done, deadline: float, readers: dict[str, subprocess.Popen], what: str) -> None:
    while not done():
        for via, proc in readers.items():
            if proc.poll() is not None:
                raise RuntimeError(f"the {via} reader exited ({proc.returncode}): {proc.stderr.read()[-2000:]}")
        if time.time() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _end(proc: subprocess.Popen) -> None:
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


# --- the command --------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command")
    one = sub.add_parser("reader", help="one reader (started by the run)")
    one.add_argument("--via", choices=("mcp", "api"), required=True)
    one.add_argument("--data-dir", required=True)
    one.add_argument("--out", required=True)
    one.add_argument("--stop", required=True)
    one.add_argument("--facts", type=int, required=True)
    parser.add_argument("--questions", type=int, default=1000, help="questions asked in all (default 1,000)")
    parser.add_argument("--new", type=int, default=100, help="new files the writer indexes (default 100)")
    parser.add_argument("--chroma-url", help="a running Chroma server (default: one started here)")
    parser.add_argument("--fake", action="store_true", help="the hashing embedder instead of the real model")
    args = parser.parse_args(argv)
    if args.command == "reader":
        return reader_main(args)
    from tests.conftest import SEEDS, chroma_run

    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        work = Path(tmp)
        url = args.chroma_url or stack.enter_context(chroma_run(work / "chroma"))
        env = {"RAG_CHROMA_URL": url, "RAG_COLLECTION": f"shared{os.getpid()}"}
        if args.fake:
            env["RAG_EMBED_MODEL"] = "fake"
        data_dir = work / "data"
        subprocess.run([sys.executable, "-m", "rag", "--data-dir", str(data_dir), "index", str(SEEDS), "--no-progress"],
                       env={**{k: v for k, v in os.environ.items() if not k.startswith("RAG_")}, **env},
                       check=True, capture_output=True, cwd=ROOT)
        result = run(data_dir, work, env, new=args.new, questions=args.questions)
    result["model"] = "fake" if args.fake else "default"
    result["floor_delay_s"] = FLOOR_DELAY_S
    print(json.dumps(result, indent=2))
    ok = result["errors"] == 0 and result["max_delay_s"] is not None and result["max_delay_s"] <= FLOOR_DELAY_S
    return 0 if ok and not any(r["new_seen_before_commit"] for r in result["readers"].values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
