"""A real HTTP server speaking the OpenAI chat-completions protocol, with scripted replies.

Each test gives it a function from the request's messages to the reply text, so a reply can
depend on what the assistant sent (e.g. cite whichever passage number the planted document got).
Streaming requests get server-sent events, one word per chunk, as real servers send them;
`drop_after=n` cuts the connection after n words, mid-body, as a crashed or restarted server does.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

Script = Callable[[list[dict]], str]


class ScriptedServer:
    def __init__(self, script: Script, drop_after: int | None = None) -> None:
        self.script = script
        self.drop_after = drop_after
        self.requests: list[dict] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # keep test output clean
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.requests.append(body)
                if not self.path.endswith("/chat/completions"):
                    self.send_error(404)
                    return
                reply = outer.script(body["messages"])
                if body.get("stream"):
                    self._stream(body, reply)
                else:
                    self._send_json({
                        "id": "chatcmpl-test", "object": "chat.completion", "created": int(time.time()),
                        "model": body.get("model", "test"),
                        "choices": [{"index": 0, "finish_reason": "stop",
                                     "message": {"role": "assistant", "content": reply}}],
                        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
                    })

            def _send_json(self, payload: dict) -> None:
                data = json.dumps(payload).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _stream(self, body: dict, reply: str) -> None:
                self.protocol_version = "HTTP/1.1"  # chunked, so a cut is an incomplete body, not an end
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                words = reply.split(" ")
                for i, word in enumerate(words):
                    if outer.drop_after is not None and i == outer.drop_after:
                        self.wfile.write(b"40\r\ndata: {\"id\"")  # a chunk that promises more than it holds
                        self.wfile.flush()
                        self.close_connection = True
                        self.connection.shutdown(socket.SHUT_RDWR)
                        return
                    delta = {"content": word + (" " if i < len(words) - 1 else "")}
                    if i == 0:
                        delta["role"] = "assistant"
                    chunk = {"id": "chatcmpl-test", "object": "chat.completion.chunk", "created": int(time.time()),
                             "model": body.get("model", "test"),
                             "choices": [{"index": 0, "delta": delta, "finish_reason": None}]}
                    self._chunk(f"data: {json.dumps(chunk)}\n\n".encode())
                last = {"id": "chatcmpl-test", "object": "chat.completion.chunk", "created": int(time.time()),
                        "model": body.get("model", "test"), "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
                self._chunk(f"data: {json.dumps(last)}\n\ndata: [DONE]\n\n".encode())
                self._chunk(b"")

            def _chunk(self, data: bytes) -> None:
                self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                self.wfile.flush()

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/v1"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> ScriptedServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()


def context_of(messages: list[dict]) -> str:
    """All text the assistant sent, for finding passage numbers in it."""
    return "\n".join(m["content"] if isinstance(m["content"], str) else json.dumps(m["content"]) for m in messages)


def passage_number(messages: list[dict], source: str) -> int:
    """The number [n] the prompt gave to the first passage from `source`."""
    import re

    match = re.search(rf"\[(\d+)\] {re.escape(source)},", context_of(messages))
    assert match, f"no passage from {source} in the prompt"
    return int(match.group(1))
