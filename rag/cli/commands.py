"""The `rag` subcommands: each takes the parsed arguments and the configuration and returns the
exit status; what they print goes through `rag.cli.output`."""

from __future__ import annotations

import json
import shlex
import sys
import textwrap
from pathlib import Path

from rag import datadir
from rag.cli import output
from rag.cli.conversations import cmd_history, cmd_users
from rag.config import RagConfig
from rag.errors import InputError, RagError

EXIT_OK, EXIT_PARTIAL, EXIT_ERROR = 0, 1, 2
EXIT_DAMAGED = 1  # `rag status`: the check ran and found the index damaged (each problem printed)


def cmd_index(args, config: RagConfig) -> int:
    from rag.assistant import Assistant

    show_progress = not args.no_progress and sys.stderr.isatty()
    report = Assistant(config, progress=show_progress).index(args.paths, rebuild=args.rebuild, crawl=args.crawl,
                                                             max_pages=args.max_pages)
    if args.json:
        print(json.dumps(output.report_dict(report), indent=2))
    else:
        for line in report.repairs:
            print(f"repaired: {output.visible(line)}")
        output.print_report(report)
    return EXIT_OK if report.ok else EXIT_PARTIAL


def cmd_search(args, config: RagConfig) -> int:
    from rag.assistant import Assistant
    from rag.types import titled

    hits = Assistant(config).search(args.query, k=args.k, mode=args.mode, sources=args.source)
    if args.json:
        print(output.json_text([h.to_dict() for h in hits]))
        return EXIT_OK
    if not hits:
        print("no matching passages")
    for hit in hits:
        print(output.visible(f"{hit.rank}. {titled(hit.title, hit.source)}  chars {hit.start_char}-{hit.end_char}"
                             f"{output.where(hit.section, hit.pages)}  score {hit.score:.3f}"))
        if hit.url:
            print(output.visible(f"   {hit.url}"))
        print(textwrap.indent(textwrap.fill(output.visible(hit.text), width=96), "   "))
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
            print(output.visible(item), end="", flush=True)
    assert answer is not None
    if args.json:
        print(output.json_text(answer.to_dict()))
        return EXIT_OK
    if streaming:
        print()
    else:
        print(textwrap.fill(output.visible(answer.text), width=100))
    output.print_answer_details(answer, color=sys.stdout.isatty())
    return EXIT_OK


def cmd_chat(args, config: RagConfig) -> int:
    from rag.errors import ConfigError, IndexBusyError
    from rag.assistant import Assistant
    from ui.launch import launch

    config = config.replace(ui_host=args.host, ui_port=args.port)
    try:
        problems = Assistant(config).health(command_prefix(args))
    except IndexBusyError:
        problems = []  # an index run in progress: the window shows its result when it is done
    for problem in problems:  # the window opens anyway, and says what the index lacks
        print(output.visible(f"warning: {problem}"), file=sys.stderr)
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
        problems = assistant.health(command_prefix(args))
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
    print(output.visible(f"store:     {status.store}"))
    print(output.visible(f"data dir:  {status.data_dir} ({status.size_bytes / 1e6:.1f} MB)"))
    if problems:
        print(f"health:    {len(problems)} problem{'s' if len(problems) > 1 else ''} (on stderr)")
    for problem in problems:
        print(output.visible(f"problem: {problem}"), file=sys.stderr)
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
            print(output.visible(f"{m.name}  {m.size_bytes / 1e6:,.0f} MB  {m.kind}  ({m.found_in})  {m.path}"))
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
        print(f"warning: {output.visible(problem)}", file=sys.stderr)
    if args.action == "list":
        if args.json:
            print(output.json_text(records))
            return EXIT_OK
        for entry in records:
            right = entry.get("right")
            marked = (f"  right: {right['source']} chars {right.get('start_char')}-{right.get('end_char')}" if right
                      else "  right: not in the documents" if entry.get("not_in_documents") else "")
            print(output.visible(f"{entry['time']}  {feedback.VERDICTS[entry['verdict']]}: {entry['question']}{marked}"))
        print(f"{len(records)} records in {log.path}", file=sys.stderr)
        return EXIT_OK
    made, skipped = feedback.cases(records)
    for reason in skipped:
        print(f"skipped: {output.visible(reason)}", file=sys.stderr)
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


COMMANDS = {"index": cmd_index, "search": cmd_search, "ask": cmd_ask, "chat": cmd_chat, "mcp": cmd_mcp, "status": cmd_status,
             "eval": cmd_eval, "feedback": cmd_feedback, "models": cmd_models, "config": cmd_config,
             "history": cmd_history, "users": cmd_users}


def command_prefix(args) -> str:
    """`rag` with the global options this run was given, so that a printed fix can be pasted."""
    parts = ["rag"]
    for flag, value in (("--data-dir", args.data_dir), ("--model", args.model), ("--chroma-url", args.chroma_url)):
        if value:
            parts += [flag, shlex.quote(str(value))]
    return " ".join(parts)
