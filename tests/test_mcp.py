"""`rag mcp`: the index for MCP clients, tested with the SDK's own client over stdio (a real
`rag mcp` process) and over streamable HTTP (the app on a loopback port), on the real index."""

from __future__ import annotations

import os
import sys
import threading
import time

import anyio
import pytest

from tests.conftest import free_port

QUESTION = "Who heads the Russian delegation in the talks on the Belarusian-Polish border?"


def _stdio(data_dir):
    from mcp import Client, StdioServerParameters

    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    return Client(StdioServerParameters(command=sys.executable, args=["-m", "rag", "--data-dir", str(data_dir), "mcp"],
                                        env=env))


def test_over_stdio_a_client_lists_the_tools_and_gets_a_cited_answer(seeds_index):
    async def session():
        async with _stdio(seeds_index) as client:
            tools = {tool.name: tool for tool in (await client.list_tools()).tools}
            assert set(tools) == {"search", "ask", "list_documents", "get_passage"}
            assert all(tool.output_schema for tool in tools.values())  # typed, structured results
            answer = (await client.call_tool("ask", {"question": QUESTION})).structured_content
            assert not answer["abstained"] and answer["verified"] and "Medinsky" in answer["answer"]
            for citation in answer["citations"]:  # each quote is exactly its span of the document
                span = (await client.call_tool("get_passage", {
                    "source": citation["source"], "start_char": citation["start_char"],
                    "end_char": citation["end_char"]})).structured_content
                assert span["text"] == citation["quote"]
            documents = (await client.call_tool("list_documents", {})).structured_content["documents"]
            resources = {str(r.uri) for r in (await client.list_resources()).resources}
            assert len(documents) == 5 and {d["uri"] for d in documents} == resources
            text = (await client.read_resource(documents[0]["uri"])).contents[0].text
            assert text.startswith("With Russia") or len(text) > 1000
            return answer

    anyio.run(session)


def test_an_unanswerable_question_abstains_and_follow_ups_use_the_history(seeds_index):
    async def session():
        async with _stdio(seeds_index) as client:
            none = (await client.call_tool("ask", {"question": "Did the delegations meet in Geneva?"})).structured_content
            assert none["abstained"] and not none["citations"] and "Geneva" in none["answer"]
            first = (await client.call_tool("ask", {"question": QUESTION})).structured_content
            follow = (await client.call_tool("ask", {"question": "What was his previous job?", "history": [
                {"role": "user", "content": QUESTION}, {"role": "assistant", "content": first["answer"]}]}))
            assert not follow.is_error and follow.structured_content["citations"]

    anyio.run(session)


@pytest.mark.parametrize("tool, arguments, message", [
    ("search", {"query": "mediators", "k": 0}, "k: 0 is outside 1..1000"),
    ("search", {"query": "   "}, "query: empty"),
    ("ask", {"question": "x" * 20_001}, "question: 20,001 characters; the limit is 20,000"),
    ("get_passage", {"source": "/etc/passwd", "start_char": 0, "end_char": 10}, "'/etc/passwd' is not an indexed document"),
    ("get_passage", {"source": "../seeds/000_51828c4c6a9453e8.txt", "start_char": 0, "end_char": 10},
     "is not an indexed document"),
    ("get_passage", {"source": "000_51828c4c6a9453e8.txt", "start_char": 10, "end_char": 5}, "0 <= start_char < end_char"),
    ("search", {"query": 5}, "query"),
])
def test_a_bad_argument_is_one_clear_error(seeds_index, tool, arguments, message):
    from mcp import Client

    from rag.assistant import Assistant
    from rag.config import RagConfig
    from rag.mcp_server import build_server

    async def call():
        async with Client(build_server(Assistant(RagConfig.from_env({}, data_dir=seeds_index)))) as client:
            return await client.call_tool(tool, arguments)

    result = anyio.run(call)
    assert result.is_error and message in result.content[0].text and "Traceback" not in result.content[0].text


def test_a_document_outside_the_index_cannot_be_read_as_a_resource(seeds_index):
    from mcp import Client

    from rag.assistant import Assistant
    from rag.config import RagConfig
    from rag.mcp_server import build_server

    async def read(uri):
        async with Client(build_server(Assistant(RagConfig.from_env({}, data_dir=seeds_index)))) as client:
            return await client.read_resource(uri)

    for uri in ("doc://%2Fetc%2Fpasswd", "doc://..%2F..%2Fetc%2Fpasswd", "doc://README.md"):
        with pytest.raises(Exception) as caught:
            anyio.run(read, uri)
        assert "root:" not in str(caught.value)
        said = repr(caught.value)  # the SDK's "Unknown resource", an invalid-params error, not a server fault
        assert ("Unknown resource" in said or "is not an indexed document" in said) and "-32602" in said
        assert "Error creating resource" not in said


def test_a_search_over_thousands_of_unknown_sources_names_a_few(seeds_index):
    from mcp import Client

    from rag.assistant import Assistant
    from rag.config import RagConfig
    from rag.mcp_server import build_server

    async def call():
        async with Client(build_server(Assistant(RagConfig.from_env({}, data_dir=seeds_index)))) as client:
            return await client.call_tool("search", {"query": "talks", "sources": [f"nosuch{n}.txt" for n in range(5000)]})

    message = anyio.run(call).content[0].text
    assert "'nosuch4.txt' and 4995 more" in message and "nosuch5.txt" not in message and len(message) < 3000


def test_mcp_over_http_on_a_busy_port_says_so_first(seeds_index):
    import socket

    from tests.conftest import run_subprocess

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        served = run_subprocess("--data-dir", seeds_index, "mcp", "--http", str(port))
    assert served.returncode == 2 and "MCP server:" not in served.stderr
    assert served.stderr.strip().startswith(f"error: cannot serve on 127.0.0.1:{port}")


class _Served:
    """The HTTP app served by uvicorn on a loopback port, in a thread of this process."""

    def __init__(self, data_dir, auth=None):
        import uvicorn

        from rag.assistant import Assistant
        from rag.config import RagConfig
        from rag.mcp_server import http_app

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/mcp"
        app = http_app(Assistant(RagConfig.from_env({}, data_dir=data_dir)), self.port, auth)
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self):
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        return self

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(timeout=10)


def test_over_http_a_client_gets_cited_answers_and_a_foreign_host_is_refused(seeds_index):
    import httpx
    from mcp import Client

    with _Served(seeds_index) as served:
        async def session():
            async with Client(served.url) as client:
                hits = (await client.call_tool("search", {"query": "mediators Turkey Israel", "k": 3})).structured_content
                answer = (await client.call_tool("ask", {"question": QUESTION})).structured_content
                return hits, answer

        hits, answer = anyio.run(session)
        assert len(hits["passages"]) == 3 and answer["citations"]
        foreign = httpx.post(served.url, headers={"Host": f"evil.example:{served.port}", "Content-Type": "application/json",
                                                  "Accept": "application/json, text/event-stream"},
                             json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
        assert foreign.status_code in (400, 403, 421)


def test_over_http_a_login_is_required_when_one_is_set(seeds_index):
    import httpx
    import httpx2
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    with _Served(seeds_index, auth="ada:lamp-1911") as served:
        refused = httpx.post(served.url, json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
        assert refused.status_code == 401 and "credentials required" in refused.text

        async def session():
            async with (httpx2.AsyncClient(auth=("ada", "lamp-1911")) as http,
                        Client(streamable_http_client(served.url, http_client=http)) as client):
                return (await client.call_tool("list_documents", {})).structured_content

        assert len(anyio.run(session)["documents"]) == 5
        bare = [httpx.post(served.url, json={}).status_code for _ in range(20)]  # no credentials: no guess
        assert bare == [401] * 20 and len(anyio.run(session)["documents"]) == 5  # and the real client goes on
        wrong = [httpx.post(served.url, auth=("ada", f"guess{n}"), json={}).status_code for n in range(7)]
        assert wrong[:5] == [401] * 5 and wrong[-1] == 429  # throttled as the chat's logins are
