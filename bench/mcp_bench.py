"""MCP benchmark: warm `search` and `ask` latency through `rag mcp` against the same calls through
the Python API, and 200 calls from 4 concurrent MCP clients over HTTP, counting errors.

    .venv/bin/python bench/mcp_bench.py [--data-dir DIR] [--questions N] [--rounds 2]

Indexes seeds/ into a temporary folder unless --data-dir names an index. Latency: the dev questions
(eval/data/seeds_dev.jsonl) asked through `Assistant` in this process and through a `rag mcp` stdio
process (the SDK's client), interleaved question by question so machine noise hits both alike, after
one warm-up call each; the ratio of medians is the figure (floor: 1.5x). Load: `rag mcp --http`
served on a loopback port, 4 clients each making 50 calls (search and ask alternating).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

from seeds_index import dev_questions, seeds_index

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def latency(data_dir: Path, asked: list[str], rounds: int) -> dict:
    import anyio
    from mcp import Client, StdioServerParameters

    from rag.assistant import Assistant
    from rag.config import RagConfig

    assistant = Assistant(RagConfig.from_env({}, data_dir=data_dir))
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    params = StdioServerParameters(command=sys.executable, args=["-m", "rag", "--data-dir", str(data_dir), "mcp"], env=env)
    times: dict[str, list[float]] = {"api search": [], "mcp search": [], "api ask": [], "mcp ask": []}

    async def run():
        async with Client(params) as client:
            assistant.search(asked[0], k=5)
            assistant.ask(asked[0])
            await client.call_tool("search", {"query": asked[0]})
            await client.call_tool("ask", {"question": asked[0]})
            for _ in range(rounds):
                for question in asked:
                    for kind in ("search", "ask"):
                        started = time.perf_counter()
                        assistant.search(question, k=5) if kind == "search" else assistant.ask(question)
                        times[f"api {kind}"].append(time.perf_counter() - started)
                        started = time.perf_counter()
                        arguments = {"query": question} if kind == "search" else {"question": question}
                        result = await client.call_tool(kind, arguments)
                        times[f"mcp {kind}"].append(time.perf_counter() - started)
                        if result.is_error:
                            raise SystemExit(f"MCP {kind} failed: {result.content[0].text}")

    anyio.run(run)
    out = {name: {"p50_ms": round(statistics.median(v) * 1000, 1),
                  "p95_ms": round(sorted(v)[int(0.95 * (len(v) - 1))] * 1000, 1)} for name, v in times.items()}
    for kind in ("search", "ask"):
        out[f"ratio {kind} (p50)"] = round(out[f"mcp {kind}"]["p50_ms"] / out[f"api {kind}"]["p50_ms"], 2)
    return out


def load(data_dir: Path, asked: list[str], clients: int, calls: int) -> dict:
    import anyio
    import uvicorn
    from mcp import Client

    from rag.assistant import Assistant
    from rag.config import RagConfig
    from rag.mcp_server import http_app
    from tests.conftest import free_port

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(http_app(Assistant(RagConfig.from_env({}, data_dir=data_dir)), port),
                                          host="127.0.0.1", port=port, log_level="warning"))
    # served by a separate process would be fairer on 2 cores; a thread keeps the script self-contained
    import threading

    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    errors, done, spans = [], [0], []

    async def one(n: int):
        async with Client(f"http://127.0.0.1:{port}/mcp") as client:
            for i in range(calls):
                question = asked[(n * calls + i) % len(asked)]
                kind = "search" if i % 2 else "ask"
                started = time.perf_counter()
                try:
                    result = await client.call_tool(kind, {"query": question} if kind == "search" else {"question": question})
                    if result.is_error:
                        errors.append(result.content[0].text)
                except Exception as exc:  # noqa: BLE001 - a benchmark counts every failure
                    errors.append(repr(exc))
                spans.append(time.perf_counter() - started)
                done[0] += 1

    async def all_clients():
        async with anyio.create_task_group() as group:
            for n in range(clients):
                group.start_soon(one, n)

    started = time.perf_counter()
    anyio.run(all_clients)
    wall = time.perf_counter() - started
    server.should_exit = True
    thread.join(timeout=10)
    return {"clients": clients, "calls": done[0], "errors": len(errors), "first_errors": errors[:3],
            "wall_s": round(wall, 1), "p50_ms": round(statistics.median(spans) * 1000, 1),
            "p95_ms": round(sorted(spans)[int(0.95 * (len(spans) - 1))] * 1000, 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, help="an existing index (default: seeds/ indexed into a temp folder)")
    parser.add_argument("--questions", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--calls", type=int, default=50, help="calls per client")
    args = parser.parse_args(argv)
    with seeds_index(args.data_dir) as data_dir:
        asked = dev_questions(args.questions)
        print(json.dumps({"latency": latency(data_dir, asked, args.rounds)}))
        print(json.dumps({"load": load(data_dir, asked, args.clients, args.calls)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
