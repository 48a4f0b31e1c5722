"""Soak test of the chat window: thousands of questions from many short browser sessions, with the
server's memory read before and after.

    .venv/bin/python bench/soak.py [--questions 2000] [--clients 8] [--per-session 250]

Starts `rag chat` over seeds/ in its own process (as bench/ui_load.py does), warms it with one
round of questions, reads the server's resident memory, then sends `--questions` questions from
`--clients` concurrent clients, each opening a fresh browser session (its own session hash and
conversation) every `--per-session` questions, and reads the memory after every 500. A server
that keeps something per question grows here. Floor (issue 14): 0 errors, 2,000 questions in at
most 10 minutes, memory growth <= 10 %. The default is eight users asking 250 questions each;
`--per-session 10` opens 200 sessions instead, which measures what Gradio keeps per session (its
last inputs and outputs, until ui.launch.SESSIONS_KEPT newer sessions evict them).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.ui_load import Session, endpoint, questions, start_server  # noqa: E402


def rss_mb(pid: int) -> float:
    """Resident memory of a process, from /proc (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


async def soak(url: str, total: int, clients: int, per_session: int, asked: list[str]) -> list[dict]:
    import httpx

    async with httpx.AsyncClient(base_url=url, timeout=120) as probe:
        ask = await endpoint(probe)
    results: list[dict] = []
    share = [total // clients + (1 if i < total % clients else 0) for i in range(clients)]

    async def one_client(i: int) -> None:
        async with httpx.AsyncClient(base_url=url, timeout=120) as http:
            session = None
            for n in range(share[i]):
                if n % per_session == 0:
                    session = Session(http, ask)  # a new browser tab: new session hash, empty conversation
                try:
                    results.append(await session.ask(asked[(i * 7 + n) % len(asked)]))
                except Exception as exc:  # noqa: BLE001 - an error is a result here, counted and shown
                    results.append({"error": f"{type(exc).__name__}: {exc}"})

    await asyncio.gather(*(one_client(i) for i in range(clients)))
    return results


def _rounds(total: int, size: int) -> list[int]:
    return [size] * (total // size) + ([total % size] if total % size else [])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--per-session", type=int, default=250, help="questions before a client opens a new session")
    args = parser.parse_args(argv)
    asked = questions(200)
    with tempfile.TemporaryDirectory() as tmp:
        server, url = start_server(Path(tmp))
        try:
            asyncio.run(soak(url, 100, args.clients, args.per_session, asked))  # warm up: models, caches, pools
            before = rss_mb(server.pid)
            began = time.perf_counter()
            results, curve = [], []
            for size in _rounds(args.questions, 500):
                results += asyncio.run(soak(url, size, args.clients, args.per_session, asked))
                curve.append(f"{len(results)}: {rss_mb(server.pid):.0f}")
            wall = time.perf_counter() - began
            after = rss_mb(server.pid)
        finally:
            server.terminate()
            server.wait(10)
    errors = [r["error"] for r in results if r.get("error")]
    growth = (after - before) / before
    print(f"{len(results)} questions from {args.clients} clients, a new session every {args.per_session}: "
          f"{wall:.0f} s ({len(results) / wall:.1f} answers/s)")
    print(f"errors: {len(errors)}" + (f"  first: {errors[0]}" if errors else ""))
    print(f"server memory: {before:.0f} MB after warm-up, {after:.0f} MB after the soak ({growth:+.1%}); "
          f"MB after each round: {', '.join(curve)}")
    met = not errors and wall <= 600 and growth <= 0.10
    print("floors (0 errors, <= 10 min, memory growth <= 10 %):", "met" if met else "NOT met")
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
