"""Load benchmark for the chat window: concurrent browser sessions asking through the real app.

    .venv/bin/python bench/ui_load.py [--clients 8] [--questions 10] [--url http://127.0.0.1:7860/]

Without --url it indexes seeds/ into a temporary folder and starts `rag chat` in a separate
process on a free port (so the clients' own work does not share the server's interpreter). Each
client is its own gradio_client session, asking the dev questions (eval/data/seeds_dev.jsonl)
in turn, all clients at once. Per answer it records the wall time from submit to the final
answer, and the time to the first streamed update that carries answer text. Floors (issue 6):
0 errors, extractive p95 <= 1 s, first token <= 0.5 s.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def percentile(values: list[float], q: float) -> float:
    from eval.metrics import percentile as pct

    return pct(values, q)


def questions(n: int) -> list[str]:
    lines = (ROOT / "eval" / "data" / "seeds_dev.jsonl").read_text(encoding="utf-8").splitlines()
    cases = [json.loads(line) for line in lines if line.strip()]
    return [c["question"] for c in cases if c.get("evidence")][:n]


def start_server(data_dir: Path) -> tuple[subprocess.Popen, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")} | {
        "RAG_DATA_DIR": str(data_dir), "RAG_UPLOAD_DIR": str(data_dir / "uploads")}
    subprocess.run([sys.executable, "-m", "rag", "index", str(ROOT / "seeds")], env=env, check=True,
                   capture_output=True)
    server = subprocess.Popen([sys.executable, "-m", "rag", "chat", "--port", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}/"
    import httpx

    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return server, url
        except httpx.HTTPError:
            time.sleep(0.5)
    server.kill()
    raise SystemExit(f"the chat window did not come up: {server.stderr.read()}")


def run_client(url: str, asked: list[str], results: list[dict], start: threading.Barrier) -> None:
    from gradio_client import Client

    client = Client(url, verbose=False)
    start.wait()
    for question in asked:
        began = time.perf_counter()
        first = None
        try:
            job = client.submit(question, api_name="/ask")
            for update in job:
                bubble = update[0][-1]["content"] if update and update[0] else None
                text = bubble[0]["text"] if isinstance(bubble, list) and bubble else bubble
                if first is None and text and text != "…":
                    first = time.perf_counter() - began
            final = job.result()
            total = time.perf_counter() - began
            answer = final[3]
            ok = isinstance(answer, dict) and (answer.get("citations") or answer.get("abstained"))
            results.append({"total": total, "first": first if first is not None else total, "error": None if ok else "no answer"})
        except Exception as exc:  # noqa: BLE001 - an error is a result here, counted and shown
            results.append({"total": time.perf_counter() - began, "first": None, "error": f"{type(exc).__name__}: {exc}"})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--questions", type=int, default=10)
    parser.add_argument("--url", help="an app that is already running (default: start one over seeds/)")
    args = parser.parse_args(argv)

    server = None
    with tempfile.TemporaryDirectory() as tmp:
        url = args.url
        if not url:
            server, url = start_server(Path(tmp))
        try:
            from gradio_client import Client

            Client(url, verbose=False).predict(questions(1)[0], api_name="/ask")  # warm the model
            asked = questions(args.questions)
            results: list[dict] = []
            barrier = threading.Barrier(args.clients)
            threads = [threading.Thread(target=run_client, args=(url, asked[i % len(asked):] + asked[:i % len(asked)],
                                                                 results, barrier)) for i in range(args.clients)]
            began = time.perf_counter()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            wall = time.perf_counter() - began
        finally:
            if server:
                server.terminate()
                server.wait(10)
    errors = [r["error"] for r in results if r["error"]]
    totals = [r["total"] * 1000 for r in results if not r["error"]]
    firsts = [r["first"] * 1000 for r in results if not r["error"]]
    print(f"{args.clients} clients x {args.questions} questions = {len(results)} answers in {wall:.1f} s "
          f"({len(results) / wall:.1f} answers/s)")
    print(f"errors: {len(errors)}" + (f"  first: {errors[0]}" if errors else ""))
    if totals:
        print(f"answer latency   p50 {percentile(totals, 50):7.0f} ms   p95 {percentile(totals, 95):7.0f} ms   "
              f"max {max(totals):7.0f} ms")
        print(f"first token      p50 {percentile(firsts, 50):7.0f} ms   p95 {percentile(firsts, 95):7.0f} ms   "
              f"max {max(firsts):7.0f} ms")
    floors = not errors and totals and percentile(totals, 95) <= 1000 and percentile(firsts, 95) <= 500
    print("floors (0 errors, p95 <= 1 s, first token <= 0.5 s):", "met" if floors else "NOT met")
    return 0 if floors else 1


if __name__ == "__main__":
    raise SystemExit(main())
