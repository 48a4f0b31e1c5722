"""Warm `ask` latency on a whole documentation set: the PostgreSQL 15 manual (1,169 HTML pages,
Debian's postgresql-doc-15) against the seeds, measured in the same run.

    apt-get install postgresql-doc-15
    .venv/bin/python bench/manual_bench.py [--data-dir DIR] [--rounds 3]

Indexes the manual's html folder into DIR (kept, so a second run only measures; default: a folder
under the system's temp dir), reports how long that took, the chunks and the index's size, then
asks the postgres question set (eval/data/postgres_*.jsonl, 137 questions) and the seeds' dev
questions in turns, in this process, and prints p50 / p95 per corpus and their ratio.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

MANUAL = Path("/usr/share/doc/postgresql-doc-15/html")


def questions(stem: str) -> list[str]:
    rows = []
    for split in ("dev", "test"):
        path = ROOT / "eval" / "data" / f"{stem}_{split}.jsonl"
        rows += [json.loads(line)["question"] for line in path.read_text().splitlines() if line.strip()]
    return rows


def size_of(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def main() -> int:
    import dataclasses

    from eval.metrics import percentile
    from rag.assistant import Assistant
    from rag.config import RagConfig

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=Path(tempfile.gettempdir()) / "rag-manual-bench")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if not MANUAL.is_dir():
        print(f"the PostgreSQL manual is not installed ({MANUAL}): apt-get install postgresql-doc-15")
        return 1
    base = RagConfig.from_env()
    manual = Assistant(dataclasses.replace(base, data_dir=args.data_dir / "manual"), progress=sys.stderr.isatty())
    started = time.perf_counter()
    report = manual.index([MANUAL])
    print(f"manual: {len(report.added) + len(report.changed)} pages indexed in {time.perf_counter() - started:.0f} s "
          f"({report.chunks_total} chunks, {size_of(args.data_dir / 'manual') / 1e6:.0f} MB)")
    seeds = Assistant(dataclasses.replace(base, data_dir=args.data_dir / "seeds"))
    seeds.index([ROOT / "seeds"])
    asked = {"manual": questions("postgres"), "seeds": questions("seeds")[:137]}
    for assistant, name in ((manual, "manual"), (seeds, "seeds")):
        assistant.ask(asked[name][0])  # warm: models, caches
    times: dict[str, list[float]] = {"manual": [], "seeds": []}
    for _ in range(args.rounds):
        for q_manual, q_seeds in zip(asked["manual"], asked["seeds"]):
            for assistant, name, question in ((manual, "manual", q_manual), (seeds, "seeds", q_seeds)):
                began = time.perf_counter()
                assistant.ask(question)
                times[name].append((time.perf_counter() - began) * 1000)
    for name, values in times.items():
        print(f"{name}: warm ask p50 {percentile(values, 50):.1f} ms, p95 {percentile(values, 95):.1f} ms "
              f"({len(values)} asks)")
    print(f"manual / seeds at p50: {percentile(times['manual'], 50) / percentile(times['seeds'], 50):.2f}x")
    manual.close()
    seeds.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
