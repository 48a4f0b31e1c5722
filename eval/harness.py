"""`run_eval`: the harness from Python, as `rag eval` runs it.

    from eval.harness import run_eval
    results = run_eval(["eval/data/seeds_dev.jsonl", "eval/data/seeds_test.jsonl"],
                       configs=["dense:retrieval_mode=dense", "hybrid"])
    results = run_eval("scifact")   # a BEIR name: downloaded once into RAG_CACHE_DIR
    results = run_eval(genre="courts")   # a genre's dev and test sets on its corpus (eval.genres)
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from eval import report
from eval.dataset import load_dataset
from eval.run import evaluate, parse_variant
from rag import datadir
from rag.config import RagConfig

DATA = Path(__file__).resolve().parent / "data"
SEEDS_SETS = (DATA / "seeds_dev.jsonl", DATA / "seeds_test.jsonl")  # `rag eval` with no dataset


def run_eval(dataset: str | Path | list[str | Path] | None = None, configs: list[str] | None = None,
             out: str | Path | None = None, corpus: str | Path | None = None, base: RagConfig | None = None,
             cache: str | Path | None = None, max_queries: int | None = None, max_docs: int | None = None,
             progress: bool = False, command: str | None = None, genre: str | None = None) -> dict:
    """Evaluate `dataset` (JSONL files, one split each; a BEIR folder; or a BEIR name), or a genre's
    question sets on its corpus (`genre`: eval.genres), under each config spec
    (`name:key=value,...`); write the report to `out`. A genre whose documents are missing raises
    eval.genres.GenreMissing."""
    base = base or RagConfig.from_env()
    cache = Path(cache) if cache else datadir.eval_cache(base.data_dir)
    if genre is not None:
        from eval.genres import genre as find_genre

        chosen = find_genre(genre)
        dataset, corpus = list(chosen.sets), chosen.corpus(cache)
    if dataset is None:
        raise ValueError("run_eval needs a dataset or a genre")
    loaded = load_dataset(dataset, corpus, cache, max_queries, max_docs, downloads=base.cache_dir,
                          beir_url=base.beir_url, progress=progress)
    if genre is not None:
        loaded = dataclasses.replace(loaded, name=genre)
    variants = [parse_variant(spec, base) for spec in (configs or ["default"])]
    names = [v.name for v in variants]
    if len(set(names)) != len(names):
        from rag.errors import ConfigError

        raise ConfigError(f"configuration names must differ: {', '.join(names)}")
    results = evaluate(loaded, variants, cache, progress)
    if out is not None:
        results["files"] = [str(p) for p in report.write(results, Path(out), command)]
    return results
