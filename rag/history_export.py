"""A conversation (rag.history) written out: Markdown to read or share, JSON to keep or process.

Markdown gives each answer with its [n] markers, then its references, one a line:
`[n] source, p. X, characters a–b: "quote"`. JSON holds the whole conversation.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone

from rag.history import Conversation, Turn

EXPORT_FORMATS = ("md", "json")
JSON_FORMAT_NAME = "rag-conversation"
JSON_FORMAT_VERSION = 1


def to_markdown(conversation: Conversation) -> str:
    parts = [f"# {_one_line(conversation.title)}", ""]
    for turn in conversation.turns:
        parts += [f"## {_one_line(turn.question)}", "", turn.answer_text.strip() or "*(no answer)*", ""]
        if not turn.finished:
            parts += ["*(the answer was cut short)*", ""]
        references = [reference_line(c) for c in turn.citations]
        if references:
            parts += [*(f"- {line}" for line in references), ""]
    return "\n".join(parts)


def reference_line(citation: dict) -> str:
    """`[n] source, p. X, characters a–b: "quote"` (no page part for unpaged documents)."""
    from rag.types import PageRef, pages_label, section_beside_pages

    pages = tuple(PageRef(number=p.get("number", 0), label=str(p.get("label", "")), start=p.get("start", 0),
                          end=p.get("end", 0), ocr=bool(p.get("ocr"))) for p in citation.get("pages") or ())
    where = [str(citation.get("source", ""))]
    if pages:
        where.append(pages_label(pages))
    section = section_beside_pages(citation.get("section") or "body", pages)
    if section != "body":
        where.append(section)
    where.append(f"characters {citation.get('start')}–{citation.get('end')}")
    return f"[{citation.get('marker')}] {', '.join(where)}: \"{_one_line(citation.get('quote') or '')}\""


def to_json(conversation: Conversation) -> str:
    return json.dumps(to_json_dict(conversation), indent=2, ensure_ascii=False) + "\n"


def to_json_dict(conversation: Conversation) -> dict:
    return {
        "format": JSON_FORMAT_NAME, "version": JSON_FORMAT_VERSION,
        "id": conversation.id, "title": conversation.title,
        "created_at": _iso(conversation.created_at), "updated_at": _iso(conversation.updated_at),
        "turns": [_turn_dict(turn) for turn in conversation.turns],
    }


def export(conversation: Conversation, fmt: str) -> str:
    if fmt == "md":
        return to_markdown(conversation)
    if fmt == "json":
        return to_json(conversation)
    from rag.errors import InputError

    raise InputError(f"export format must be one of {', '.join(EXPORT_FORMATS)}, not '{fmt}'")


def _turn_dict(turn: Turn) -> dict:
    return {"id": turn.id, "question": turn.question, "answer": turn.answer_text, "answerer": turn.answerer,
            "finished": turn.finished, "created_at": _iso(turn.created_at), "updated_at": _iso(turn.updated_at),
            "citations": list(turn.citations)}


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, tz=timezone.utc).isoformat(timespec="seconds")


def _one_line(text: str) -> str:
    return " ".join(text.split())
