"""How the `rag` command prints: documents' text made safe for a terminal and for JSON, index
reports, answers with each quote in its passage."""

from __future__ import annotations

import json
import re
import sys
import textwrap

from rag.types import FORMAT_CHARACTERS, pages_label, section_beside_pages, titled

CONTEXT_CHARS = 160  # of passage shown around a quote
# C0 and C1 control characters (ESC among them) but newline and tab: a document's text must not
# drive the terminal it is printed on (colours, cursor moves, title or clipboard writes); nor may
# direction, zero-width and joiner characters make it display otherwise than it reads. JSON
# escapes C0 itself.
_CONTROL = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{FORMAT_CHARACTERS}]")
_JSON_UNSAFE = re.compile(f"[\x7f-\x9f{FORMAT_CHARACTERS}]")


def visible(text: str) -> str:
    """`text` safe to print on a terminal: control characters other than newline and tab are shown
    as \\xNN, direction and zero-width characters as \\uNNNN, instead of being sent to it
    (documents are written by others)."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100 else f"\\u{ord(m.group()):04x}",
                        text)


def json_text(value) -> str:
    """JSON for documents' text: readable (not ASCII-escaped), but DEL, the C1 controls, direction
    and zero-width characters, which JSON leaves raw and terminals obey or hide, written as \\u
    escapes like the C0 ones."""
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", json.dumps(value, indent=2, ensure_ascii=False))


def where(section: str, pages) -> str:
    """Where in its document a passage is: "  p. 6", "  pp. 6–7 (OCR)", "  [reader comment 3 by X]"."""
    name = section_beside_pages(section, pages)
    return (f"  {pages_label(pages)}" if pages else "") + (f"  [{name}]" if name != "body" else "")


def report_dict(report) -> dict:
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


def print_report(report) -> None:
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


def print_answer_details(answer, color: bool) -> None:
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
            print(visible(f"closest: {titled(hit.title, hit.source)}  chars {hit.start_char}-{hit.end_char}"))
            print(textwrap.indent(textwrap.fill(visible(hit.text), width=96), "   "))
        return
    for c in answer.citations:
        print(visible(f"[{c.marker}] {titled(c.title, c.source)}  chars {c.start_char}-{c.end_char}"
                      f"{where(c.section, c.pages)}"))
        if c.url:
            print(visible(f"    {c.url}"))
        print(textwrap.indent(highlight(c, color), "    "))
        print()


def highlight(citation, color: bool) -> str:
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
