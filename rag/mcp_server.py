"""The assistant for MCP clients (assistants and editors that plug in a knowledge base): four tools
with typed results, `search`, `ask`, `list_documents` and `get_passage`, and each indexed document
as a resource, over stdio (`rag mcp`) or streamable HTTP on loopback (`rag mcp --http PORT`).

Read-only like the chat: every answer comes from the index (the manifest's texts), never from a path
on disk, so nothing outside it can be asked for. A bad argument is one error naming it, never a
traceback. Over HTTP the chat's rules apply: only a loopback `Host` (or the configured host) is
answered, and when `RAG_UI_AUTH` is set each request needs it as HTTP Basic credentials, with
failed attempts throttled as the chat's logins are.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hmac
import json
import logging
from typing import Literal

from pydantic import BaseModel, Field

from rag.assistant import MAX_K, MAX_QUERY_CHARS, Assistant
from rag.errors import RagError
from rag.types import titled

MAX_SPAN = 20_000  # characters one get_passage may return
CONTEXT = 300  # characters shown either side of a passage


class PageOut(BaseModel):
    number: int = Field(description="1-based page number")
    label: str = Field(description="the page number printed on the page, where the file has one")
    ocr: bool = Field(description="the page's text was recognised from a scan")


class PassageOut(BaseModel):
    source: str = Field(description="the document, as indexed (its path under the indexed folder)")
    title: str | None = Field(default=None, description="the document's title, where it has one")
    section: str
    pages: list[PageOut]
    start_char: int = Field(description="where the passage starts in the document's text")
    end_char: int
    score: float
    text: str


class SearchResult(BaseModel):
    passages: list[PassageOut]


class CitationOut(BaseModel):
    marker: int = Field(description="the [n] in the answer text")
    source: str
    title: str | None = Field(default=None, description="the document's title, where it has one")
    quote: str = Field(description="the exact characters start_char..end_char of the document's text")
    start_char: int
    end_char: int
    section: str
    pages: list[PageOut]


class AskResult(BaseModel):
    answer: str = Field(description="the answer with markers [n], or why the documents do not answer")
    abstained: bool = Field(description="true when the documents do not answer the question")
    verified: bool = Field(description="every sentence is supported by the passage it cites")
    citations: list[CitationOut]
    unsupported: list[str] = Field(description="sentences flagged as not supported, with the reason")
    warnings: list[str]


class DocumentOut(BaseModel):
    source: str
    title: str | None = Field(default=None, description="the document's title, where it has one")
    uri: str = Field(description="the document as an MCP resource")


class DocumentsResult(BaseModel):
    documents: list[DocumentOut]


class PassageText(BaseModel):
    source: str
    start_char: int
    end_char: int
    text: str = Field(description="characters start_char..end_char of the document's text")
    before: str = Field(description=f"up to {CONTEXT} characters before it")
    after: str = Field(description=f"up to {CONTEXT} characters after it")


class Turn(BaseModel):
    role: Literal["user", "assistant"]
    content: str


def build_server(assistant: Assistant):
    """The MCP server over `assistant`: its tools and resources (mcp.server.MCPServer)."""
    from mcp.server import MCPServer
    from mcp.server.mcpserver.exceptions import ResourceNotFoundError, ToolError
    from mcp.server.mcpserver.resources import FunctionResource

    server = MCPServer(
        "rag-cited", version="0.1",
        instructions="Search and ask the user's indexed documents. Answers quote the documents "
                     "with [n] markers; each citation gives the exact span it quotes.")

    def checked(fn, *args, **options):
        try:
            return fn(*args, **options)
        except RagError as exc:
            raise ToolError(str(exc)) from None

    @server.tool(description="Passages of the indexed documents that best match `query`, best first.")
    def search(query: str, k: int = 5, sources: list[str] | None = None) -> SearchResult:
        _check_text("query", query)
        _check_k(k)
        hits = checked(assistant.search, query, k=k, sources=sources or None)
        return SearchResult(passages=[PassageOut(
            source=h.source, title=h.title, section=h.section, pages=_pages(h.pages), start_char=h.start_char,
            end_char=h.end_char, score=h.score, text=h.text) for h in hits])

    @server.tool(description="A cited answer to `question` from the indexed documents, or an honest "
                             "'the documents don't answer this'. `history`: earlier turns, for follow-ups.")
    def ask(question: str, history: list[Turn] | None = None) -> AskResult:
        _check_text("question", question)
        turns = [(turn.role, turn.content) for turn in history or []]
        answer = checked(assistant.ask, question, history=turns)
        return AskResult(
            answer=answer.text, abstained=answer.abstained, verified=answer.verified,
            citations=[CitationOut(marker=c.marker, source=c.source, title=c.title, quote=c.quote,
                                   start_char=c.start_char, end_char=c.end_char, section=c.section,
                                   pages=_pages(c.pages))
                       for c in answer.citations],
            unsupported=[f"{s.text} ({s.problem or 'not supported'})" for s in answer.sentences if not s.supported],
            warnings=list(answer.warnings))

    @server.tool(description="The indexed documents.")
    def list_documents() -> DocumentsResult:
        status = assistant.status()
        return DocumentsResult(documents=[DocumentOut(source=s, title=status.titles.get(s), uri=_uri(s))
                                          for s in status.sources])

    @server.tool(description="Characters start_char..end_char of an indexed document, with the text "
                             "around them (as a citation's span gives them).")
    def get_passage(source: str, start_char: int, end_char: int) -> PassageText:
        text = assistant.document_text(source)
        if text is None:
            raise ToolError(f"source: {source!r} is not an indexed document (list_documents names them)")
        if not 0 <= start_char < end_char <= len(text):
            raise ToolError(f"start_char and end_char must satisfy 0 <= start_char < end_char <= {len(text)} "
                            f"(the length of {source})")
        if end_char - start_char > MAX_SPAN:
            raise ToolError(f"a passage is at most {MAX_SPAN:,} characters; ask for a shorter span")
        return PassageText(source=source, start_char=start_char, end_char=end_char, text=text[start_char:end_char],
                           before=text[max(0, start_char - CONTEXT):start_char],
                           after=text[end_char:end_char + CONTEXT])

    def read(source: str) -> str:
        text = assistant.document_text(source)
        if text is None:  # the client is told which; the server logs no traceback for a wrong name
            raise ResourceNotFoundError(f"{source[:200]!r} is not an indexed document (list_documents names them)")
        return text

    @server.resource("doc://{source}", name="document", mime_type="text/plain",
                     description="An indexed document's text, as citations index it.")
    def document(source: str) -> str:
        return read(_unquote(source))

    status = assistant.status()
    for source in status.sources:  # listed by name; one indexed later is read by the template
        server.add_resource(FunctionResource.from_function(
            functools.partial(read, source), _uri(source), name=source, mime_type="text/plain",
            description=f"The text of {titled(status.titles.get(source), source)}, as citations index it."))
    return server


def serve_stdio(assistant: Assistant) -> None:
    _quiet()
    assistant.warm_sentences()
    build_server(assistant).run("stdio")


def http_app(assistant: Assistant, port: int, auth: str | None = None):
    """The streamable HTTP app on loopback port `port` (at /mcp): only a loopback `Host` and Origin
    are answered (DNS rebinding), and with `auth` ("user:password") every request must carry it."""
    from mcp.server.transport_security import TransportSecuritySettings

    from rag.throttle import LoginThrottle

    names = ("127.0.0.1", "localhost", "[::1]")
    security = TransportSecuritySettings(
        allowed_hosts=[f"{name}:{port}" for name in names],
        allowed_origins=[f"http://{name}:{port}" for name in names])
    app = build_server(assistant).streamable_http_app(transport_security=security, host="127.0.0.1")
    return BasicAuth(app, auth, LoginThrottle()) if auth else app


def serve_http(assistant: Assistant, port: int, auth: str | None = None) -> None:
    import uvicorn

    _quiet()
    assistant.warm_sentences()
    uvicorn.run(http_app(assistant, port, auth), host="127.0.0.1", port=port, log_level="warning")


def _quiet() -> None:
    """The SDK logs every call at INFO (rejected arguments, each HTTP request): warnings only, on stderr."""
    for name in ("mcp", "httpx", "httpx2"):
        logging.getLogger(name).setLevel(logging.WARNING)


def _pages(pages) -> list[PageOut]:
    return [PageOut(number=p.number, label=p.label, ocr=p.ocr) for p in pages]


def _uri(source: str) -> str:
    from urllib.parse import quote

    return "doc://" + quote(source, safe="")


def _unquote(source: str) -> str:
    from urllib.parse import unquote

    return unquote(source)


def _check_text(name: str, value: str) -> None:
    from mcp.server.mcpserver.exceptions import ToolError

    if not value or not value.strip():
        raise ToolError(f"{name}: empty; ask about the documents in words")
    if len(value) > MAX_QUERY_CHARS:
        raise ToolError(f"{name}: {len(value):,} characters; the limit is {MAX_QUERY_CHARS:,}")


def _check_k(k: int) -> None:
    from mcp.server.mcpserver.exceptions import ToolError

    if not 1 <= k <= MAX_K:
        raise ToolError(f"k: {k} is outside 1..{MAX_K}")


class BasicAuth:
    """ASGI middleware: HTTP Basic credentials `user:password` on every request, wrong guesses
    throttled (rag.throttle.LoginThrottle) per user name guessed, so the MCP endpoint is no easier to
    guess than the chat's login. A request without credentials guesses nothing and is not counted:
    a loop of them (every client is 127.0.0.1 behind the loopback) must not lock real clients out."""

    def __init__(self, app, credentials: str, throttle) -> None:
        self.app, self.throttle = app, throttle
        self.accepted = [pair.strip().encode() for pair in credentials.split(",") if pair.strip()]

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        given = _basic(scope)
        if given:
            user = given.partition(b":")[0].decode("utf-8", "replace")
            wait = self.throttle.attempt(f"user {user}")
            if wait > 0:
                return await _plain(send, 429, f"too many failed logins; try again in {wait:.0f} s",
                                    [(b"retry-after", str(int(wait + 1)).encode())])
            if any(hmac.compare_digest(given, pair) for pair in self.accepted):
                self.throttle.succeeded(f"user {user}")
                return await self.app(scope, receive, send)
        return await _plain(send, 401, "credentials required (RAG_UI_AUTH)",
                            [(b"www-authenticate", b'Basic realm="rag"')])


def _basic(scope) -> bytes:
    for name, value in scope.get("headers", []):
        if name == b"authorization" and value[:6].lower() == b"basic ":
            try:
                return base64.b64decode(value[6:].strip(), validate=True)
            except (binascii.Error, ValueError):
                return b""
    return b""


async def _plain(send, status: int, message: str, headers: list[tuple[bytes, bytes]]) -> None:
    body = json.dumps({"error": message}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), *headers]})
    await send({"type": "http.response.body", "body": body})
