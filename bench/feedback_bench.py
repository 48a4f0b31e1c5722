"""Feedback benchmark: how long a feedback click takes to be recorded (floor: 100 ms).

    .venv/bin/python bench/feedback_bench.py [--data-dir DIR] [--clicks 200]

Indexes seeds/ into a temporary folder unless --data-dir names an index, answers one question, then
records --clicks feedback clicks on it through `ChatService.feedback` (what the chat's buttons call:
the record built, the marked span read from the index, the line appended and forced to disk with
fsync), alternating the four verdicts and the ways to mark the right passage.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

from seeds_index import seeds_index

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path)
    parser.add_argument("--clicks", type=int, default=200)
    args = parser.parse_args(argv)
    from rag.assistant import Assistant
    from rag.config import RagConfig
    from ui.chat import ChatService

    with seeds_index(args.data_dir) as data_dir:
        service = ChatService(Assistant(RagConfig.from_env({}, data_dir=data_dir)))
        *_, answer = service.ask("Who heads the Russian delegation in the talks on the Belarusian-Polish border?")
        citation = answer.citations[0]
        selection = json.dumps({"source": citation.source, "start": citation.start_char, "end": citation.end_char})
        ways = [("good", "", ""), ("wrong_source", "selection", selection), ("should_abstain", "not", ""),
                ("missed", "passage:1", "")]
        service.feedback_log.per_minute = args.clicks  # the cost of a click, not the rate limit, is measured
        log = service.feedback_log.path
        before = log.stat().st_size if log.exists() else 0
        spans = []
        for n in range(args.clicks):
            verdict, right, chosen = ways[n % len(ways)]
            started = time.perf_counter()
            service.feedback(answer, verdict, right, chosen, {"k": 5})
            spans.append(time.perf_counter() - started)
        ms = sorted(s * 1000 for s in spans)
        print(json.dumps({"clicks": len(ms), "p50_ms": round(statistics.median(ms), 2),
                          "p95_ms": round(ms[int(0.95 * (len(ms) - 1))], 2), "max_ms": round(ms[-1], 2),
                          "bytes_appended": log.stat().st_size - before}))
        service.assistant.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
