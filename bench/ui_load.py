"""Load benchmark for the chat window: concurrent browser sessions asking through the real app.

    .venv/bin/python bench/ui_load.py [--clients 8] [--questions 10] [--url http://127.0.0.1:7860/]

Without --url it indexes seeds/ into a temporary folder and starts `rag chat` in a separate
process on a free port (so the clients' own work does not share the server's interpreter). Each
client is a browser session of its own (its own connection and session hash, sending back its
conversation as the page does), asking the dev questions (eval/data/seeds_dev.jsonl) in turn, all
clients at once. Per answer it records the wall time from submit to the final answer, and the
time to the first streamed update that carries answer text. Floors (issue 6):
0 errors, extractive p95 <= 1 s, first token <= 0.5 s.

`--upload-kb 1000` also uploads a file of that size through the page's own upload route, from one
more session, once the clients have started, and reports how long it took to become searchable:
the answers meanwhile must meet the same floors, and one more session asks once a second until the
upload is searchable: none of its answers may take over 2 s (issue 14: answers never wait for
indexing).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
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


class Session:
    """One browser tab: its own session hash and connection, speaking Gradio's queue protocol
    (POST queue/join, then the server-sent events of queue/data) as the page's JavaScript does.
    gradio_client is not used here: it polls its message queue every 50 ms and busy-waits, which
    adds up to 50 ms per message and steals the CPU the server is measured on."""

    def __init__(self, http, endpoint: dict) -> None:
        self.http = http
        self.endpoint = endpoint
        self.session_hash = uuid.uuid4().hex
        self.chat: list = []  # what the page sends back as the Chatbot's value, as a browser does

    async def ask(self, question: str) -> dict:
        from gradio_client.utils import apply_diff

        data = [question if i == self.endpoint["question"] else self.chat if i == self.endpoint["chat"] else value
                for i, value in enumerate(self.endpoint["defaults"])]
        began = time.perf_counter()
        first = None
        joined = await self.http.post("gradio_api/queue/join", json={
            "data": data, "fn_index": self.endpoint["fn_index"], "trigger_id": self.endpoint["trigger_id"],
            "session_hash": self.session_hash, "event_data": None})
        joined.raise_for_status()
        event_id = joined.json()["event_id"]
        outputs = None
        async with self.http.stream("GET", "gradio_api/queue/data", params={"session_hash": self.session_hash}) as events:
            async for line in events.aiter_lines():
                if not line.startswith("data:"):
                    continue
                message = json.loads(line[5:])
                if message.get("event_id") != event_id:
                    continue
                kind = message["msg"]
                if kind == "process_generating":
                    data = message["output"]["data"]
                    outputs = data if outputs is None else [apply_diff(o, d) for o, d in zip(outputs, data)]
                elif kind == "process_completed":
                    if not message.get("success", True):
                        return {"error": str(message.get("output", {}).get("error"))}
                    outputs = message["output"]["data"]
                else:
                    continue
                if first is None and _answer_text(outputs[0]):
                    first = time.perf_counter() - began
                if kind == "process_completed":
                    break
        total = time.perf_counter() - began
        if outputs is None:
            return {"error": "the stream ended without an answer"}
        self.chat = outputs[0]
        answer = json.loads(outputs[self.endpoint["answer_json"]] or "null")  # the "Answer as JSON" text
        ok = isinstance(answer, dict) and (answer.get("citations") or answer.get("abstained"))
        return {"total": total, "first": first if first is not None else total, "error": None if ok else "no answer"}


def _answer_text(chat: list) -> str:
    """The latest assistant message's text, once it is more than the placeholder."""
    if not chat or chat[-1].get("role") != "assistant":
        return ""
    content = chat[-1]["content"]
    text = content[0].get("text", "") if isinstance(content, list) and content else content or ""
    return "" if text in ("", "…") else text


async def endpoint(http) -> dict:
    """The `ask` event's index, trigger and input defaults, read from the page's config."""
    config = (await http.get("config")).json()
    dependency = next(d for d in config["dependencies"] if d.get("api_name") == "ask")
    components = {c["id"]: c for c in config["components"]}
    inputs = [components[i] for i in dependency["inputs"]]
    outputs = [components[i] for i in dependency["outputs"]]
    return {
        "fn_index": dependency["id"], "trigger_id": dependency["targets"][0][0],
        "defaults": [None if c["type"] == "state" else c["props"].get("value") for c in inputs],
        "question": next(i for i, c in enumerate(inputs) if c["type"] == "textbox"),
        "chat": next((i for i, c in enumerate(inputs) if c["type"] == "chatbot"), None),  # kept server-side now
        "answer_json": next(i for i, c in enumerate(outputs) if c["type"] == "code"),
    }


def synthetic_text(kb: int, seed: int = 14) -> str:
    """`kb` kilobytes of sentences made of the seeds' words in random order: no two chunks alike,
    so nothing is skipped as a duplicate and every chunk is embedded."""
    import random
    import re

    rng = random.Random(seed)
    words = re.findall(r"[A-Za-z]+", " ".join(p.read_text(encoding="utf-8") for p in sorted((ROOT / "seeds").iterdir())))
    out, size = [], 0
    while size < kb * 1000:
        sentence = " ".join(rng.choice(words) for _ in range(rng.randint(8, 25))).capitalize() + "."
        out.append(sentence + ("\n\n" if rng.random() < 0.15 else " "))
        size += len(out[-1])
    return "".join(out)


async def upload(url: str, kb: int) -> dict:
    """Upload a `kb`-kilobyte file as the page does (POST the bytes, then the upload event)."""
    import httpx

    async with httpx.AsyncClient(base_url=url, timeout=1800) as http:
        config = (await http.get("config")).json()
        dependency = next(d for d in config["dependencies"] if d.get("api_name") == "upload")
        session = Session(http, {})
        began = time.perf_counter()
        sent = await http.post("gradio_api/upload", params={"upload_id": uuid.uuid4().hex},
                               files={"files": ("bench-upload.txt", synthetic_text(kb).encode(), "text/plain")})
        sent.raise_for_status()
        data = [[{"path": sent.json()[0], "orig_name": "bench-upload.txt", "meta": {"_type": "gradio.FileData"}}]]
        joined = await http.post("gradio_api/queue/join", json={
            "data": data, "fn_index": dependency["id"], "trigger_id": dependency["targets"][0][0],
            "session_hash": session.session_hash, "event_data": None})
        joined.raise_for_status()
        async with http.stream("GET", "gradio_api/queue/data", params={"session_hash": session.session_hash}) as events:
            async for line in events.aiter_lines():
                message = json.loads(line[5:]) if line.startswith("data:") else {}
                if message.get("msg") == "process_completed":
                    ok = message.get("success", True)
                    output = message.get("output", {})
                    note = output.get("data", [""])[0] if ok else output.get("error")
                    return {"seconds": time.perf_counter() - began, "ok": ok, "note": str(note)}
    return {"seconds": time.perf_counter() - began, "ok": False, "note": "the stream ended"}


async def run_clients(url: str, clients: int, asked: list[str], upload_kb: int = 0) -> tuple[list[dict], float, dict | None]:
    import httpx

    async with httpx.AsyncClient(base_url=url, timeout=120) as probe:
        ask = await endpoint(probe)
        await Session(probe, ask).ask(asked[0])  # warm the model and the caches
    results: list[dict] = []
    uploaded: dict | None = None

    async def one_upload() -> None:
        nonlocal uploaded
        await asyncio.sleep(0.5)  # the clients are asking by now
        watching = asyncio.ensure_future(watch())
        uploaded = await upload(url, upload_kb)
        done.set()
        await watching  # its question in flight, perhaps the one that met the switch-over
        uploaded["watched"] = watched

    watched: list[float] = []
    done = asyncio.Event()

    async def watch() -> None:
        """One more session asking once a second for as long as the upload runs, switch-over included."""
        async with httpx.AsyncClient(base_url=url, timeout=600) as http:
            session = Session(http, ask)
            while not done.is_set():
                result = await session.ask(asked[len(watched) % len(asked)])
                watched.append(result["total"] if not result["error"] else float("inf"))
                await asyncio.sleep(1.0)

    async def one_client(i: int) -> None:
        async with httpx.AsyncClient(base_url=url, timeout=120) as http:
            session = Session(http, ask)
            for question in asked[i % len(asked):] + asked[:i % len(asked)]:
                try:
                    results.append(await session.ask(question))
                except Exception as exc:  # noqa: BLE001 - an error is a result here, counted and shown
                    results.append({"error": f"{type(exc).__name__}: {exc}"})

    began = time.perf_counter()
    uploading = asyncio.ensure_future(one_upload()) if upload_kb else None
    await asyncio.gather(*(one_client(i) for i in range(clients)))
    wall = time.perf_counter() - began
    if uploading is not None:
        await uploading
    return results, wall, uploaded


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--questions", type=int, default=10)
    parser.add_argument("--url", help="an app that is already running (default: start one over seeds/)")
    parser.add_argument("--upload-kb", type=int, default=0, help="also upload a file this large while asking")
    args = parser.parse_args(argv)

    server = None
    with tempfile.TemporaryDirectory() as tmp:
        url = args.url
        if not url:
            server, url = start_server(Path(tmp))
        try:
            results, wall, uploaded = asyncio.run(run_clients(url, args.clients, questions(args.questions),
                                                              args.upload_kb))
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
    if uploaded is not None:
        watched = uploaded["watched"]
        print(f"upload of {args.upload_kb} kB: {'indexed' if uploaded['ok'] else 'FAILED'} in {uploaded['seconds']:.1f} s"
              f" ({uploaded['note'][:120]})")
        print(f"while it ran, one question a second: {len(watched)} answers, slowest {max(watched, default=0):.2f} s")
    floors = not errors and totals and percentile(totals, 95) <= 1000 and percentile(firsts, 95) <= 500
    floors = floors and (uploaded is None or (uploaded["ok"] and max(uploaded["watched"], default=0) <= 2.0))
    print("floors (0 errors, p95 <= 1 s, first token <= 0.5 s" + (", during the upload <= 2 s" if uploaded else "") + "):",
          "met" if floors else "NOT met")
    return 0 if floors else 1


if __name__ == "__main__":
    raise SystemExit(main())
