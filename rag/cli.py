"""The `rag` command: `main(argv) -> int`, one subcommand per job, errors as one clear line."""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import shlex
import sys
import textwrap
from pathlib import Path

from rag import datadir
from rag import backends
from rag.config import QUERY_BACKENDS, RETRIEVAL_MODES, RagConfig
from rag.errors import InputError, RagError
from rag.assistant import MAX_K
from rag.types import FORMAT_CHARACTERS, pages_label, section_beside_pages

EXIT_OK, EXIT_PARTIAL, EXIT_ERROR = 0, 1, 2
EXIT_DAMAGED = 1  # `rag status`: the check ran and found the index damaged (each problem printed)
CONTEXT_CHARS = 160  # of passage shown around a quote
# C0 and C1 control characters (ESC among them) but newline and tab: a document's text must not
# drive the terminal it is printed on (colours, cursor moves, title or clipboard writes); nor may
# direction, zero-width and joiner characters make it display otherwise than it reads. JSON
# escapes C0 itself.
_CONTROL = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{FORMAT_CHARACTERS}]")
_JSON_UNSAFE = re.compile(f"[\x7f-\x9f{FORMAT_CHARACTERS}]")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rag", description="Index a folder of documents and search it with cited passages.",
    )
    parser.add_argument("--data-dir", type=Path, help="where the index lives (RAG_DATA_DIR, default .rag)")
    parser.add_argument("--model", help="sentence-transformers model name or folder (RAG_EMBED_MODEL)")
    parser.add_argument("--chroma-url", help="use a Chroma server, e.g. http://localhost:8000 (RAG_CHROMA_URL)")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv for debug)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("index", help="index files and folders (incremental)")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("--rebuild", action="store_true", help="drop the index and build it from scratch")
    p.add_argument("--no-ocr", dest="ocr", action="store_false", default=None,
                   help="do not read scanned PDF pages by OCR; report them instead (RAG_OCR=off)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")

    p = sub.add_parser("search", help="show the passages that best match a query")
    p.add_argument("query", nargs="?")  # "?": `--source A B "query"` hands it over in the sources
    p.add_argument("-k", type=int, help="number of passages (RAG_TOP_K, default 5)")
    p.add_argument("--mode", choices=RETRIEVAL_MODES, help="retrieval mode (RAG_RETRIEVAL_MODE)")
    p.add_argument("--source", action="extend", nargs="+", metavar="FILE", help="only search these documents")
    p.add_argument("--json", action="store_true", help="print hits as JSON")

    p = sub.add_parser("ask", help="answer a question with cited quotes (or say the documents don't)")
    p.add_argument("question", nargs="?")  # "?": `--source A B "question"` hands it over in the sources
    p.add_argument("-k", type=int, help="passages to draw the answer from (RAG_TOP_K, default 5)")
    p.add_argument("--source", action="extend", nargs="+", metavar="FILE", help="only use these documents")
    p.add_argument("--generator", choices=backends.names(), help="extractive (default) or an LLM backend (RAG_GENERATOR)")
    p.add_argument("--json", action="store_true", help="print the answer, citations and timings as JSON")

    p = sub.add_parser("chat", help="open the chat window (a local web page, http://127.0.0.1:7860)")
    p.add_argument("--host", help="address to listen on (RAG_UI_HOST, default 127.0.0.1; others need RAG_UI_AUTH)")
    p.add_argument("--port", type=int, help="port (RAG_UI_PORT, default 7860)")
    p.add_argument("--share", action="store_true", help="also make a public gradio.live link (needs RAG_UI_AUTH)")

    p = sub.add_parser("mcp", help="serve the index to MCP clients (assistants, editors) over stdio",
                       description="An MCP server with the tools search, ask, list_documents and get_passage, "
                                   "and each document as a resource. Over stdio by default; --http PORT serves "
                                   "streamable HTTP on 127.0.0.1:PORT/mcp instead (RAG_UI_AUTH, when set, "
                                   "is required as HTTP Basic credentials).")
    p.add_argument("--http", type=int, metavar="PORT", help="serve streamable HTTP on 127.0.0.1:PORT/mcp")

    p = sub.add_parser("status", help="what is indexed, with which model, where")
    p.add_argument("--json", action="store_true")

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

    p = sub.add_parser("feedback", help="what users said about answers, and eval cases made from it")
    feedback = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    q = feedback.add_parser("list", help="the feedback records, oldest first")
    q.add_argument("--json", action="store_true")
    q = feedback.add_parser("export", help="the records as eval cases, ready for `rag eval FILE`")
    q.add_argument("--out", type=Path, default=Path("feedback-cases.jsonl"), help="default: feedback-cases.jsonl")

    p = sub.add_parser("config", help="print the effective settings and their RAG_* variables")
    p.add_argument("--json", action="store_true")
    p.add_argument("--query-backend", choices=QUERY_BACKENDS, help=argparse.SUPPRESS)
    return parser


def _take_text_from_sources(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """`--source FILE ...` takes every word after it, so in `rag ask --source a.txt "question"` the
    question lands last among the sources: move it back where it belongs."""
    name = {"ask": "question", "search": "query"}.get(args.command)
    if name is None or getattr(args, name) is not None:
        return
    if args.source and len(args.source) > 1:
        setattr(args, name, args.source.pop())
    else:
        parser.error(f"the following arguments are required: {name}")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser()
    args = parser.parse_args(argv)
    _take_text_from_sources(parser, args)
    args.argv = argv
    _setup_logging(args.verbose)
    try:
        _check_k(args)
        config = RagConfig.from_env(data_dir=args.data_dir, embed_model=args.model, chroma_url=args.chroma_url,
                                    ocr=getattr(args, "ocr", None))
        return _COMMANDS[args.command](args, config)
    except RagError as exc:
        print(f"error: {visible(_message(exc, args))}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `rag ask ... | head`: the reader left, which is not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except OSError as exc:  # the environment refused something we did not foresee: still one line
        where = f": {exc.filename}" if exc.filename else ""
        print(f"error: {visible(exc.strerror or str(exc))}{visible(str(where))}", file=sys.stderr)
        return EXIT_ERROR


def _check_k(args) -> None:
    k = getattr(args, "k", None)
    if k is not None and not 1 <= k <= MAX_K:
        raise InputError(f"-k must be between 1 and {MAX_K} passages, not {k}")


def visible(text: str) -> str:
    """`text` safe to print on a terminal: control characters other than newline and tab are shown
    as \\xNN, direction and zero-width characters as \\uNNNN, instead of being sent to it
    (documents are written by others)."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100 else f"\\u{ord(m.group()):04x}",
                        text)


def _json_text(value) -> str:
    """JSON for documents' text: readable (not ASCII-escaped), but DEL, the C1 controls, direction
    and zero-width characters, which JSON leaves raw and terminals obey or hide, written as \\u
    escapes like the C0 ones."""
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", json.dumps(value, indent=2, ensure_ascii=False))


def _command_prefix(args) -> str:
    """`rag` with the global options this run was given, so that a printed fix can be pasted."""
    parts = ["rag"]
    for flag, value in (("--data-dir", args.data_dir), ("--model", args.model), ("--chroma-url", args.chroma_url)):
        if value:
            parts += [flag, shlex.quote(str(value))]
    return " ".join(parts)


def _message(exc: RagError, args) -> str:
    """The error's one line; a repair command gets this run's options (and paths, for `rag index`)."""
    from rag.errors import IndexDamagedError

    if not isinstance(exc, IndexDamagedError):
        return str(exc)
    fix = exc.fix
    if fix.startswith("rag "):
        fix = _command_prefix(args) + fix[len("rag"):]
    if args.command == "index" and fix.endswith(" PATH"):
        fix = fix[:-len("PATH")] + " ".join(shlex.quote(str(p)) for p in args.paths)
    return f"{exc.what}; repair it with `{fix}`"


def _setup_logging(verbosity: int) -> None:
    level = logging.WARNING if verbosity == 0 else logging.INFO if verbosity == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    for noisy in ("bm25s", "chromadb", "httpx", "sentence_transformers", "transformers", "urllib3"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def cmd_index(args, config: RagConfig) -> int:
    from rag.assistant import Assistant

    show_progress = not args.no_progress and sys.stderr.isatty()
    report = Assistant(config, progress=show_progress).index(args.paths, rebuild=args.rebuild)
    if args.json:
        print(json.dumps(_report_dict(report), indent=2))
    else:
        for line in report.repairs:
            print(f"repaired: {visible(line)}")
        _print_report(report)
    return EXIT_OK if report.ok else EXIT_PARTIAL


def _where(section: str, pages) -> str:
    """Where in its document a passage is: "  p. 6", "  pp. 6–7 (OCR)", "  [reader comment 3 by X]"."""
    name = section_beside_pages(section, pages)
    return (f"  {pages_label(pages)}" if pages else "") + (f"  [{name}]" if name != "body" else "")


def _report_dict(report) -> dict:
    return {
        "added": report.added, "changed": report.changed, "unchanged": len(report.unchanged),
        "removed": report.removed, "duplicates": report.duplicates,
        "failed": [{"path": f.path, "reason": f.reason} for f in report.failed],
        "skipped": [{"path": f.path, "reason": f.reason} for f in report.skipped],
        "chunks_written": report.chunks_written, "chunks_deleted": report.chunks_deleted,
        "chunks_total": report.chunks_total, "seconds": round(report.seconds, 3),
        "repairs": list(report.repairs),
        "notes": [{"path": f.path, "note": f.reason} for f in report.notes],
    }


def _print_report(report) -> None:
    for issue in report.failed:
        print(visible(f"failed: {issue.path}: {issue.reason}"), file=sys.stderr)
    for issue in report.notes:
        print(visible(f"note: {issue.path}: {issue.reason}"), file=sys.stderr)
    for doc, original in report.duplicates.items():
        print(visible(f"duplicate: {doc} has the same text as {original}; indexed once"))
    if report.skipped:
        kinds: dict[str, int] = {}
        for issue in report.skipped:
            kinds[issue.reason] = kinds.get(issue.reason, 0) + 1
        print(visible("skipped: " + ", ".join(f"{n} ({reason})" for reason, n in sorted(kinds.items()))))
    print(
        f"files: {len(report.added)} added, {len(report.changed)} changed, {len(report.unchanged)} unchanged, "
        f"{len(report.removed)} removed, {len(report.failed)} failed"
    )
    print(
        f"chunks: {report.chunks_written} written, {report.chunks_deleted} deleted, "
        f"{report.chunks_total} in index; {report.seconds:.1f} s"
    )


def cmd_search(args, config: RagConfig) -> int:
    from rag.assistant import Assistant

    hits = Assistant(config).search(args.query, k=args.k, mode=args.mode, sources=args.source)
    if args.json:
        print(_json_text([h.to_dict() for h in hits]))
        return EXIT_OK
    if not hits:
        print("no matching passages")
    for hit in hits:
        print(visible(f"{hit.rank}. {hit.source}  chars {hit.start_char}-{hit.end_char}{_where(hit.section, hit.pages)}  "
                      f"score {hit.score:.3f}"))
        print(textwrap.indent(textwrap.fill(visible(hit.text), width=96), "   "))
        print()
    return EXIT_OK


def cmd_ask(args, config: RagConfig) -> int:
    from rag.assistant import Assistant
    from rag.types import Answer

    assistant = Assistant(config)
    streaming = not args.json and (args.generator or config.generator) != "extractive"
    answer = None
    for item in assistant.ask_stream(args.question, k=args.k, sources=args.source, generator=args.generator):
        if isinstance(item, Answer):
            answer = item
        elif streaming:
            print(visible(item), end="", flush=True)
    assert answer is not None
    if args.json:
        print(_json_text(answer.to_dict()))
        return EXIT_OK
    if streaming:
        print()
    else:
        print(textwrap.fill(visible(answer.text), width=100))
    _print_answer_details(answer, color=sys.stdout.isatty())
    return EXIT_OK


def _print_answer_details(answer, color: bool) -> None:
    for warning in answer.warnings:
        print(visible(f"warning: {warning}"), file=sys.stderr)
    for sentence in answer.sentences:
        if not sentence.supported:
            print(visible(f"unverified: “{sentence.text}”: {sentence.problem}"))
    if answer.resolved_question and answer.resolved_question != answer.question:
        print(visible(f"(read as: {answer.resolved_question})"))
    print()
    if answer.abstained:
        for hit in answer.passages:
            print(visible(f"closest: {hit.source}  chars {hit.start_char}-{hit.end_char}"))
            print(textwrap.indent(textwrap.fill(visible(hit.text), width=96), "   "))
        return
    for c in answer.citations:
        print(visible(f"[{c.marker}] {c.source}  chars {c.start_char}-{c.end_char}{_where(c.section, c.pages)}"))
        print(textwrap.indent(_highlight(c, color), "    "))
        print()


def _highlight(citation, color: bool) -> str:
    """The quote inside its passage (trimmed to some context), marked: bold yellow in a terminal, »…« otherwise."""
    a = citation.start_char - citation.passage_start
    b = citation.end_char - citation.passage_start
    before, quote, after = (" ".join(visible(part).split()) for part in
                            (citation.passage[:a], citation.passage[a:b], citation.passage[b:]))
    if len(before) > CONTEXT_CHARS:
        before = "…" + before[-CONTEXT_CHARS:].split(" ", 1)[-1]
    if len(after) > CONTEXT_CHARS:
        after = after[:CONTEXT_CHARS].rsplit(" ", 1)[0] + "…"
    marked = f"\x1b[1;33m{quote}\x1b[0m" if color else f"»{quote}«"
    return textwrap.fill(" ".join(p for p in (before, marked, after) if p), width=96)


def cmd_chat(args, config: RagConfig) -> int:
    from rag.errors import ConfigError, IndexBusyError
    from rag.assistant import Assistant
    from ui.launch import launch

    config = config.replace(ui_host=args.host, ui_port=args.port)
    try:
        problems = Assistant(config).health(_command_prefix(args))
    except IndexBusyError:
        problems = []  # an index run in progress: the window shows its result when it is done
    for problem in problems:  # the window opens anyway, and says what the index lacks
        print(visible(f"warning: {problem}"), file=sys.stderr)
    try:
        launch(config, share=args.share)
    except OSError as exc:  # the port is taken, or the address is not ours
        raise ConfigError(f"cannot serve on {config.ui_host}:{config.ui_port}: {exc}") from None
    return EXIT_OK


def cmd_mcp(args, config: RagConfig) -> int:
    from rag.errors import ConfigError
    from rag.assistant import Assistant
    from rag.mcp_server import serve_http, serve_stdio

    assistant = Assistant(config)
    assistant.status()  # a missing or damaged index is reported per call, not here; this opens it
    if args.http is None:
        serve_stdio(assistant)
        return EXIT_OK
    if not 1 <= args.http <= 65535:
        raise ConfigError(f"--http must be a port between 1 and 65535, not {args.http}")
    import socket

    try:  # taken: say so before printing an address nothing will answer at
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.bind(("127.0.0.1", args.http))
    except OSError as exc:
        raise ConfigError(f"cannot serve on 127.0.0.1:{args.http}: {exc.strerror or exc}") from None
    print(f"MCP server: http://127.0.0.1:{args.http}/mcp", file=sys.stderr)
    try:
        serve_http(assistant, args.http, config.ui_auth or None)
    except (OSError, SystemExit) as exc:  # uvicorn exits when it cannot bind
        raise ConfigError(f"cannot serve on 127.0.0.1:{args.http}: {exc}") from None
    return EXIT_OK


def cmd_status(args, config: RagConfig) -> int:
    from rag.errors import IndexBusyError
    from rag.assistant import Assistant

    assistant = Assistant(config)
    busy = None
    try:
        problems = assistant.health(_command_prefix(args))
    except IndexBusyError as exc:
        problems, busy = [], str(exc)
    status = assistant.status()
    code = EXIT_DAMAGED if problems else EXIT_OK
    if args.json:
        print(json.dumps({**status.to_dict(), "problems": [p.to_dict() for p in problems],
                          **({"not_checked": busy} if busy else {})}, indent=2))
        return code
    print(f"documents: {status.documents}")
    print(f"chunks:    {status.chunks}")
    print(f"model:     {status.model}" + (f" ({status.dimension} dimensions)" if status.dimension else ""))
    print(visible(f"store:     {status.store}"))
    print(visible(f"data dir:  {status.data_dir} ({status.size_bytes / 1e6:.1f} MB)"))
    if problems:
        print(f"health:    {len(problems)} problem{'s' if len(problems) > 1 else ''} (on stderr)")
    for problem in problems:
        print(visible(f"problem: {problem}"), file=sys.stderr)
    if busy:
        print(f"health:    not checked: {busy}")
    elif not problems and not status.documents:
        print("nothing indexed yet: run `rag index PATH`")
    elif not problems:
        print("health:    ok (manifest, vectors and lexical index agree)")
    return code


def cmd_eval(args, config: RagConfig) -> int:
    from eval.harness import SEEDS_SETS, run_eval
    from eval.report import plain

    if args.genre:
        return _eval_genres(args, config)

    datasets = args.dataset or [str(p) for p in SEEDS_SETS]
    if args.feedback:
        datasets = [*datasets, str(_feedback_set(config, args.out))]
    name = Path(datasets[0]).stem if len(datasets) == 1 else "seeds" if not args.dataset else "multi"
    out = args.out or Path("eval-output") / name
    command = "rag " + " ".join(str(a) for a in args.argv)
    results = run_eval(
        datasets, configs=args.config, out=out, corpus=args.corpus, base=config, cache=args.cache,
        max_queries=args.max_queries, max_docs=args.max_docs, progress=sys.stderr.isatty(), command=command,
    )
    if args.json:
        print(json.dumps({c["name"]: {**c["metrics"], **({"splits": c["splits"]} if len(c["splits"]) > 1 else {})}
                          for c in results["configs"]}, indent=2))
        return EXIT_OK
    print(plain(results))
    print(f"wrote {', '.join(results['files'])}")
    return EXIT_OK


def _eval_genres(args, config: RagConfig) -> int:
    """`rag eval --genre ...`: each genre's dev and test sets on its corpus, a report folder each."""
    from eval.genres import GENRES, GenreMissing
    from eval.harness import run_eval
    from eval.report import plain

    if args.dataset or args.corpus or args.feedback:
        raise InputError("--genre brings its own question sets and corpus: give no DATASET, --corpus or --feedback")
    names = list(GENRES) if "all" in args.genre else list(dict.fromkeys(args.genre))
    command = "rag " + " ".join(str(a) for a in args.argv)
    combined, skipped = {}, {}
    for name in names:
        try:
            results = run_eval(configs=args.config, out=(args.out or Path("eval-output")) / name, base=config,
                               cache=args.cache, max_queries=args.max_queries, progress=sys.stderr.isatty(),
                               command=command, genre=name)
        except GenreMissing as exc:
            skipped[name] = str(exc)
            if not args.json:
                print(f"{name}: skipped: {exc}")
            continue
        combined[name] = {c["name"]: {**c["metrics"], "splits": c["splits"], "kinds": c["kinds"]}
                          for c in results["configs"]}
        if not args.json:
            print(f"\n## {name}\n")
            print(plain(results))
            print(f"wrote {', '.join(results['files'])}")
    if args.json:
        print(json.dumps({**combined, **({"skipped": skipped} if skipped else {})}, indent=2))
    return EXIT_OK


def cmd_models(args, config: RagConfig) -> int:
    from rag import models

    if args.action == "list":
        found = models.find(config)
        if args.json:
            print(json.dumps([m.to_dict() for m in found], indent=2))
            return EXIT_OK
        for m in found:
            print(visible(f"{m.name}  {m.size_bytes / 1e6:,.0f} MB  {m.kind}  ({m.found_in})  {m.path}"))
        if not found:
            print(f"no local model found; `rag models pull OWNER/REPO/FILE.gguf` fetches one into "
                  f"{models.models_folder(config)}", file=sys.stderr)
        return EXIT_OK
    repo, filename = args.name, args.file
    if filename is None and args.name.count("/") == 1:
        folder = models.pull_repository(config, args.name)
        print(f"{folder}  (every file's checksum verified); use it with RAG_EMBED_MODEL={shlex.quote(args.name)} "
              f"(an embedder) or RAG_RERANKER={shlex.quote(args.name)} (a cross-encoder)")
        return EXIT_OK
    if filename is None:
        repo, _, filename = args.name.rpartition("/")
        if repo.count("/") != 1 or not filename:
            raise InputError(f"give `rag models pull OWNER/REPO` or `OWNER/REPO/FILE.gguf` (not '{args.name}')")
    path = models.pull(config, repo, filename, args.sha256)
    print(f"{path}  (checksum verified); use it with RAG_GENERATOR=transformers RAG_LLM_MODEL={shlex.quote(str(path))}")
    return EXIT_OK


def cmd_feedback(args, config: RagConfig) -> int:
    from rag import feedback

    log = feedback.FeedbackLog(datadir.feedback(config.data_dir))
    records, problems = log.read()
    for problem in problems:
        print(f"warning: {visible(problem)}", file=sys.stderr)
    if args.action == "list":
        if args.json:
            print(_json_text(records))
            return EXIT_OK
        for entry in records:
            right = entry.get("right")
            marked = (f"  right: {right['source']} chars {right.get('start_char')}-{right.get('end_char')}" if right
                      else "  right: not in the documents" if entry.get("not_in_documents") else "")
            print(visible(f"{entry['time']}  {feedback.VERDICTS[entry['verdict']]}: {entry['question']}{marked}"))
        print(f"{len(records)} records in {log.path}", file=sys.stderr)
        return EXIT_OK
    made, skipped = feedback.cases(records)
    for reason in skipped:
        print(f"skipped: {visible(reason)}", file=sys.stderr)
    if not made:
        raise InputError(f"no feedback makes an eval case yet ({len(records)} records in {log.path})")
    feedback.write_cases(args.out, made)
    roots = _roots_of([s for case in made for s in case["sources"]], config)
    hint = f" --corpus {shlex.quote(roots[0])}" if len(roots) == 1 else ""
    print(f"wrote {len(made)} eval cases to {args.out}; run: rag eval {shlex.quote(str(args.out))}{hint}")
    return EXIT_OK


def _roots_of(sources: list[str], config: RagConfig) -> list[str]:
    """The indexed folders the sources were found under (for `rag eval --corpus`)."""
    from rag.assistant import Assistant

    assistant = Assistant(config)
    try:
        return assistant.roots(sources)
    finally:
        assistant.close()


def _feedback_set(config: RagConfig, out: Path | None) -> Path:
    """This data folder's feedback as an eval set file (split "feedback"), for `rag eval --feedback`."""
    from rag import feedback

    made, _ = feedback.cases(feedback.FeedbackLog(datadir.feedback(config.data_dir)).read()[0])
    if not made:
        raise InputError(f"no feedback in {config.data_dir} makes an eval case yet")
    path = (out or Path("eval-output") / "seeds") / "feedback-cases.jsonl"
    feedback.write_cases(path, made)
    return path


def cmd_config(args, config: RagConfig) -> int:
    values = {k: (str(v) if isinstance(v, Path) else v) for k, v in config.env_names().items()}
    for secret in ("RAG_LLM_API_KEY", "RAG_UI_AUTH"):
        if values.get(secret):
            values[secret] = "***"  # set, but not for printing
    if args.json:
        print(json.dumps(values, indent=2))
    else:
        for name, value in values.items():
            print(f"{name}={','.join(value) if isinstance(value, tuple) else value}")
    return EXIT_OK


_COMMANDS = {"index": cmd_index, "search": cmd_search, "ask": cmd_ask, "chat": cmd_chat, "mcp": cmd_mcp, "status": cmd_status,
             "eval": cmd_eval, "feedback": cmd_feedback, "models": cmd_models, "config": cmd_config}
