"""The `rag` command: `main(argv) -> int`, one subcommand per job (`commands`), its grammar
(`parser`), what it prints (`output`); every error a user can cause is one line and an exit status."""

from __future__ import annotations

import argparse
import logging
import os
import shlex
import sys

from rag.assistant import MAX_K
from rag.cli import output
from rag.cli.commands import COMMANDS, EXIT_ERROR, EXIT_OK, command_prefix
from rag.cli.parser import build_parser
from rag.config import RagConfig
from rag.errors import InputError, RagError

__all__ = ["build_parser", "main"]


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
        return COMMANDS[args.command](args, config)
    except RagError as exc:
        print(f"error: {output.visible(_message(exc, args))}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `rag ask ... | head`: the reader left, which is not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except OSError as exc:  # the environment refused something we did not foresee: still one line
        where = f": {exc.filename}" if exc.filename else ""
        print(f"error: {output.visible(exc.strerror or str(exc))}{output.visible(str(where))}", file=sys.stderr)
        return EXIT_ERROR


def _check_k(args) -> None:
    k = getattr(args, "k", None)
    if k is not None and not 1 <= k <= MAX_K:
        raise InputError(f"-k must be between 1 and {MAX_K} passages, not {k}")


def _message(exc: RagError, args) -> str:
    """The error's one line; a repair command gets this run's options (and paths, for `rag index`)."""
    from rag.errors import IndexDamagedError

    if not isinstance(exc, IndexDamagedError):
        return str(exc)
    fix = exc.fix
    if fix.startswith("rag "):
        fix = command_prefix(args) + fix[len("rag"):]
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
