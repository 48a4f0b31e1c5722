"""Answer benchmark: warm `ask` latency, cold `rag ask` wall time, and a plain llama-index pipeline.

    .venv/bin/pip install -e '.[bench]'
    .venv/bin/python bench/ask_bench.py [--rounds 3]

Indexes seeds/ into a temporary folder, then over the dev questions (eval/data/seeds_dev.jsonl):
- ours: `Assistant.ask` with the extractive answerer (retrieval, rescoring, abstention, citations);
- llama-index: `VectorStoreIndex.from_vector_store` over the same Chroma collection, with
  `HuggingFaceEmbedding` on the same bundled model, retrieving top 5 (the retrieval step alone:
  it has no answerer without an LLM, so its time is a lower bound for a llama-index answer).
Both run in this process, interleaved question by question, so machine noise hits both alike;
evidence hit@1/hit@5 are given for both from the same questions. Cold `rag ask` runs in fresh
processes, as a user would run it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def percentile(values: list[float], q: float) -> float:
    from eval.metrics import percentile as pct

    return pct(values, q)


def cold_ask_seconds(data_dir: Path, question: str, runs: int) -> list[float]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")} | {"RAG_DATA_DIR": str(data_dir)}
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        result = subprocess.run([sys.executable, "-m", "rag", "ask", question], env=env, capture_output=True,
                                text=True, cwd=ROOT)
        times.append(time.perf_counter() - started)
        if result.returncode != 0:
            raise SystemExit(f"rag ask failed: {result.stderr}")
    return times


def llama_index_retriever(data_dir: Path, collection: str):
    from llama_index.core import VectorStoreIndex
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding
    from llama_index.vector_stores.chroma import ChromaVectorStore

    from index.embed import resolve_model
    from index.vectors import connect

    client = connect(data_dir, None)  # the same client settings as ours: Chroma allows one per folder
    store = ChromaVectorStore(chroma_collection=client.get_collection(collection))
    embed = HuggingFaceEmbedding(model_name=str(resolve_model("sentence-transformers/all-MiniLM-L6-v2").local_dir),
                                 device="cpu")
    index = VectorStoreIndex.from_vector_store(store, embed_model=embed)
    return index.as_retriever(similarity_top_k=5)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="passes over the dev questions")
    parser.add_argument("--cold-runs", type=int, default=3)
    args = parser.parse_args(argv)

    from eval import metrics
    from eval.dataset import load_jsonl
    from rag.assistant import Assistant
    from rag.config import RagConfig

    cases = load_jsonl(ROOT / "eval" / "data" / "seeds_dev.jsonl")
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "index"
        config = RagConfig.from_env({}, data_dir=data_dir)
        assistant = Assistant(config)
        started = time.perf_counter()
        assistant.index([ROOT / "seeds"])
        print(f"indexed seeds/ in {time.perf_counter() - started:.1f} s")

        theirs = llama_index_retriever(data_dir, config.collection)
        assistant.ask(cases[0].question)  # warm-up: load both models once
        theirs.retrieve(cases[0].question)
        ours_ms: list[float] = []
        theirs_ms: list[float] = []
        ours_hits: list[list[str]] = []
        theirs_hits: list[list[str]] = []
        for round_no in range(args.rounds):
            for case in cases:
                started = time.perf_counter()
                answer = assistant.ask(case.question)
                ours_ms.append((time.perf_counter() - started) * 1000)
                started = time.perf_counter()
                nodes = theirs.retrieve(case.question)
                theirs_ms.append((time.perf_counter() - started) * 1000)
                if round_no == 0 and case.evidence:
                    ours_hits.append([h.text for h in answer.passages])
                    theirs_hits.append([n.node.get_content() for n in nodes])
        answerable = [c for c in cases if c.evidence]

        def quality(hits: list[list[str]]) -> str:
            h1 = metrics.mean([metrics.hit_at_k(p, c.evidence, 1) for c, p in zip(answerable, hits)])
            h5 = metrics.mean([metrics.hit_at_k(p, c.evidence, 5) for c, p in zip(answerable, hits)])
            return f"hit@1 {h1:.3f}  hit@5 {h5:.3f}"

        print(f"\nwarm, {len(cases)} dev questions x {args.rounds} rounds, interleaved:")
        print(f"  ours (extractive ask)        p50 {percentile(ours_ms, 50):6.1f} ms  p95 {percentile(ours_ms, 95):6.1f} ms"
              f"  {quality(ours_hits)} (passages behind the answer)")
        print(f"  llama-index retrieve top 5   p50 {percentile(theirs_ms, 50):6.1f} ms  p95 {percentile(theirs_ms, 95):6.1f} ms"
              f"  {quality(theirs_hits)}")
        print(f"  ratio p50 (llama-index / ours): {percentile(theirs_ms, 50) / percentile(ours_ms, 50):.2f}")
        assistant.close()

        cold = cold_ask_seconds(data_dir, "Who heads the Russian delegation?", args.cold_runs)
        print(f"\ncold `rag ask` in a fresh process: median {statistics.median(cold):.2f} s, "
              f"max {max(cold):.2f} s over {len(cold)} runs")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
