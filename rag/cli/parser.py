"""The `rag` command line's grammar: the global options, then one subcommand per job."""

from __future__ import annotations

import argparse
from pathlib import Path

from rag import backends
from rag.config import QUERY_BACKENDS, RETRIEVAL_MODES
from rag.history import LOCAL_OWNER


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rag", description="Index a folder of documents and search it with cited passages.",
    )
    parser.add_argument("--data-dir", type=Path, help="where the index lives (RAG_DATA_DIR, default .rag)")
    parser.add_argument("--model", help="sentence-transformers model name or folder (RAG_EMBED_MODEL)")
    parser.add_argument("--chroma-url", help="use a Chroma server, e.g. http://localhost:8000 (RAG_CHROMA_URL)")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv for debug)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _index(sub)
    _search(sub)
    _ask(sub)
    _chat(sub)
    _mcp(sub)
    _status(sub)
    _eval(sub)
    _models(sub)
    _feedback(sub)
    _history(sub)
    _users(sub)
    _config(sub)
    return parser


def _index(sub) -> None:
    p = sub.add_parser("index", help="index files, folders and web pages (incremental)")
    p.add_argument("paths", nargs="+", metavar="PATH",
                   help="a file, a folder, or a web page's http(s):// address (a sitemap.xml: its pages)")
    p.add_argument("--crawl", type=int, default=0, metavar="N",
                   help="also follow the web pages' links on the same site, N links deep")
    p.add_argument("--max-pages", type=int, metavar="N", help="fetch at most N web pages (default 200)")
    p.add_argument("--rebuild", action="store_true", help="drop the index and build it from scratch")
    p.add_argument("--no-ocr", dest="ocr", action="store_false", default=None,
                   help="do not read scanned PDF pages by OCR; report them instead (RAG_OCR=off)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")


def _search(sub) -> None:
    p = sub.add_parser("search", help="show the passages that best match a query")
    p.add_argument("query", nargs="?")  # "?": `--source A B "query"` hands it over in the sources
    p.add_argument("-k", type=int, help="number of passages (RAG_TOP_K, default 5)")
    p.add_argument("--mode", choices=RETRIEVAL_MODES, help="retrieval mode (RAG_RETRIEVAL_MODE)")
    p.add_argument("--source", action="extend", nargs="+", metavar="FILE", help="only search these documents")
    p.add_argument("--json", action="store_true", help="print hits as JSON")


def _ask(sub) -> None:
    p = sub.add_parser("ask", help="answer a question with cited quotes (or say the documents don't)")
    p.add_argument("question", nargs="?")  # "?": `--source A B "question"` hands it over in the sources
    p.add_argument("-k", type=int, help="passages to draw the answer from (RAG_TOP_K, default 5)")
    p.add_argument("--source", action="extend", nargs="+", metavar="FILE", help="only use these documents")
    p.add_argument("--generator", choices=backends.names(), help="extractive (default) or an LLM backend (RAG_GENERATOR)")
    p.add_argument("--json", action="store_true", help="print the answer, citations and timings as JSON")


def _chat(sub) -> None:
    p = sub.add_parser("chat", help="open the chat window (a local web page, http://127.0.0.1:7860)")
    p.add_argument("--host", help="address to listen on (RAG_UI_HOST, default 127.0.0.1; others need RAG_UI_AUTH)")
    p.add_argument("--port", type=int, help="port (RAG_UI_PORT, default 7860)")
    p.add_argument("--share", action="store_true", help="also make a public gradio.live link (needs RAG_UI_AUTH)")


def _mcp(sub) -> None:
    p = sub.add_parser("mcp", help="serve the index to MCP clients (assistants, editors) over stdio",
                       description="An MCP server with the tools search, ask, list_documents and get_passage, "
                                   "and each document as a resource. Over stdio by default; --http PORT serves "
                                   "streamable HTTP on 127.0.0.1:PORT/mcp instead (RAG_UI_AUTH, when set, "
                                   "is required as HTTP Basic credentials).")
    p.add_argument("--http", type=int, metavar="PORT", help="serve streamable HTTP on 127.0.0.1:PORT/mcp")


def _status(sub) -> None:
    p = sub.add_parser("status", help="what is indexed, with which model, where")
    p.add_argument("--json", action="store_true")


def _eval(sub) -> None:
    p = sub.add_parser("eval", help="measure retrieval and answer quality on question sets or a BEIR dataset")
    p.add_argument("dataset", nargs="*", metavar="DATASET",
                   help="JSONL question sets (one split each: dev, test, ...), a BEIR folder, or a BEIR name "
                        "such as scifact (downloaded once into RAG_CACHE_DIR); default: the seeds' dev and test sets")
    p.add_argument("--corpus", help="folder the JSONL questions are about (default: seeds)")
    p.add_argument("--genre", action="append", metavar="NAME",
                   help="a genre's dev and test sets on its own corpus: seeds, seeds-wrapped, courts, postgres, "
                        "or all (repeatable; a genre whose documents are not here is skipped, saying why)")
    p.add_argument("--config", action="append", metavar="NAME[:KEY=VALUE,...]",
                   help="a configuration to compare, e.g. dense:retrieval_mode=dense (repeatable)")
    p.add_argument("--out", type=Path, help="report folder (default: eval-output/DATASET)")
    p.add_argument("--cache", type=Path, help="indexes and embedding cache (default: DATA_DIR/eval-cache)")
    p.add_argument("--max-queries", type=int, help="evaluate only the first N cases (of each file)")
    p.add_argument("--max-docs", type=int, help="BEIR: index only the relevant documents plus N others")
    p.add_argument("--feedback", action="store_true",
                   help="also evaluate the cases made from this data folder's feedback (a 'feedback' split)")
    p.add_argument("--json", action="store_true", help="print the metrics as JSON")


def _models(sub) -> None:
    p = sub.add_parser("models", help="local models (language models, embedders, rerankers): list them, or pull one")
    models = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    q = models.add_parser("list", help="GGUF files and model folders this machine has, with their kind and size")
    q.add_argument("--json", action="store_true")
    q = models.add_parser("pull", help="download a GGUF file, or a whole embedder or reranker, from the Hugging Face Hub",
                          description="NAME is owner/repo/FILE.gguf (or owner/repo with FILE after it): that file, "
                                      "for RAG_GENERATOR=transformers; or owner/repo alone: every file of it, an "
                                      "embedding model (RAG_EMBED_MODEL) or a cross-encoder (RAG_RERANKER). It goes "
                                      "to RAG_CACHE_DIR/models; every file is checked against the Hub's checksum.")
    q.add_argument("name", metavar="NAME")
    q.add_argument("file", nargs="?", metavar="FILE")
    q.add_argument("--sha256", help="the file's expected SHA-256, where the Hub publishes none")


def _feedback(sub) -> None:
    p = sub.add_parser("feedback", help="what users said about answers, and eval cases made from it")
    feedback = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    q = feedback.add_parser("list", help="the feedback records, oldest first")
    q.add_argument("--json", action="store_true")
    q = feedback.add_parser("export", help="the records as eval cases, ready for `rag eval FILE`")
    q.add_argument("--out", type=Path, default=Path("feedback-cases.jsonl"), help="default: feedback-cases.jsonl")


def _history(sub) -> None:
    p = sub.add_parser("history", help="conversations kept from the chat: list, show, export, rename, delete them",
                       description="Conversations are kept per user in DATA_DIR/conversations.sqlite. Without "
                                   "--user, the commands act on the conversations of the user 'local': the "
                                   "chat's when it runs without a login.")
    owner = argparse.ArgumentParser(add_help=False)
    owner.add_argument("--user", default=LOCAL_OWNER, metavar="NAME",
                       help="whose conversations (default: local, the chat's without a login)")
    history = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    q = history.add_parser("list", parents=[owner], help="the conversations, most recent first")
    q.add_argument("--limit", type=int, default=50, help="at most this many (default 50, at most 1000)")
    q.add_argument("--offset", type=int, default=0, help="skip this many of the most recent")
    q.add_argument("--json", action="store_true")
    q = history.add_parser("show", parents=[owner], help="a conversation's questions, answers and references")
    q.add_argument("id", metavar="ID")
    q.add_argument("--json", action="store_true")
    q = history.add_parser("export", parents=[owner], help="write a conversation as Markdown or JSON")
    q.add_argument("id", metavar="ID")
    q.add_argument("--format", choices=("md", "json"), default="md", help="md (default) or json")
    q.add_argument("--out", type=Path, help="write it to this file (default: print it)")
    q = history.add_parser("rename", parents=[owner], help="give a conversation a title")
    q.add_argument("id", metavar="ID")
    q.add_argument("title", metavar="TITLE")
    q = history.add_parser("delete", parents=[owner], help="delete a conversation and its answers")
    q.add_argument("id", metavar="ID")


def _users(sub) -> None:
    p = sub.add_parser("users", help="the chat's login names and password hashes (the file RAG_UI_USERS)",
                       description="One `name:hash` line per user, hashed with scrypt; the file is written with "
                                   "mode 0600 and never holds a password.")
    p.add_argument("--file", type=Path, help="the users file (default: RAG_UI_USERS)")
    users = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    q = users.add_parser("add", help="add a user, or set a user's password (asked twice; read from stdin "
                                     "when it is not a terminal)")
    q.add_argument("name", metavar="NAME")
    q = users.add_parser("list", help="the user names")
    q.add_argument("--json", action="store_true")
    q = users.add_parser("remove", help="remove a user")
    q.add_argument("name", metavar="NAME")


def _config(sub) -> None:
    p = sub.add_parser("config", help="print the effective settings and their RAG_* variables")
    p.add_argument("--json", action="store_true")
    p.add_argument("--query-backend", choices=QUERY_BACKENDS, help=argparse.SUPPRESS)
