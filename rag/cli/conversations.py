"""`rag history` (the chat's kept conversations) and `rag users` (its login names). Errors are
raised as `RagError`s; `rag.cli.main` prints them as one line and exits non-zero."""

from __future__ import annotations

import getpass
import json
import sys
from datetime import datetime

from rag import datadir
from rag.cli import output
from rag.config import RagConfig
from rag.errors import ConfigError, InputError, NotFoundError

EXIT_OK = 0  # errors are raised, and given their status by rag.cli.main


def cmd_history(args, config: RagConfig) -> int:
    from rag.history import NO_SUCH_CONVERSATION, History

    path = datadir.conversations(config.data_dir)
    if not path.exists():  # reading creates nothing
        if args.action != "list":
            raise NotFoundError(NO_SUCH_CONVERSATION)
        print("[]" if args.json else "no conversations yet")
        return EXIT_OK
    with History(path) as history:
        if args.action == "list":
            return _list(history, args)
        if args.action == "rename":
            history.rename(args.user, args.id, args.title)
            print(f"renamed {args.id}")
            return EXIT_OK
        if args.action == "delete":
            history.delete(args.user, args.id)
            print(f"deleted {args.id}")
            return EXIT_OK
        conversation = history.get(args.user, args.id)
    return _show_or_export(conversation, args)


def _list(history, args) -> int:
    summaries = history.list(args.user, limit=args.limit, offset=args.offset)
    if args.json:
        print(output.json_text([s.to_dict() for s in summaries]))
        return EXIT_OK
    if not summaries:
        print("no conversations yet")
    for summary in summaries:
        when = datetime.fromtimestamp(summary.updated_at).strftime("%Y-%m-%d %H:%M")
        turns = f"{summary.turns} question{'s' if summary.turns != 1 else ''}"
        print(output.visible(f"{summary.id}  {when}  {turns:>12}  {summary.title}"))
    return EXIT_OK


def _show_or_export(conversation, args) -> int:
    from rag import history_export

    if args.action == "show":
        if args.json:
            print(output.json_text(history_export.to_json_dict(conversation)))
        else:
            print(output.visible(history_export.to_markdown(conversation)), end="")
        return EXIT_OK
    text = history_export.export(conversation, args.format)
    if args.out is None:
        print(output.visible(text), end="")
        return EXIT_OK
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {args.out}", file=sys.stderr)
    return EXIT_OK


def cmd_users(args, config: RagConfig) -> int:
    from rag import users

    path = args.file or config.ui_users
    if path is None:
        raise ConfigError("no users file: set RAG_UI_USERS=PATH or give `rag users --file PATH`")
    if args.action == "list":
        names = sorted(users.read_users(path))
        print(json.dumps(names) if args.json else "\n".join(names) if names else f"no users in {path}")
        return EXIT_OK
    if args.action == "remove":
        users.remove_user(path, args.name)
        print(f"removed {args.name} from {path}")
        return EXIT_OK
    users.check_name(args.name)
    replaced = users.add_user(path, args.name, _new_password())
    print(f"{'changed the password of' if replaced else 'added'} {args.name} in {path}")
    return EXIT_OK


def _new_password() -> str:
    """Asked twice on a terminal; else the first line of stdin (`echo ... | rag users add NAME`)."""
    if not sys.stdin.isatty():
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise InputError("no password on stdin")
        return password
    password = getpass.getpass("password: ")
    if password != getpass.getpass("again: "):
        raise InputError("the two passwords differ; nothing was changed")
    return password
