"""What users say about answers, kept so that every correction becomes an eval case.

A record is one JSON line appended to `feedback.jsonl` in the data folder and forced to disk
(`os.fsync`) before the click returns, so a crash right after loses nothing. A line torn by a crash
mid-write is skipped when reading, with a message naming it; the lines before and after stand.
`cases` turns records into the eval dataset format (eval/dataset.py): the span the user marked is
the evidence a right answer must deliver, "not in the documents" an unanswerable case.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from rag.errors import InputError
from rag.types import Answer

VERDICTS = {
    "good": "good",
    "wrong_source": "wrong source",
    "should_abstain": "it should have said it doesn't know",
    "missed": "it missed the answer",
}


@dataclass(frozen=True)
class Span:
    """The passage a user marked as the right answer: characters `start_char`–`end_char` of an
    indexed document's text."""

    source: str
    start_char: int
    end_char: int
    text: str


def record(answer: Answer, verdict: str, right: Span | None = None, not_in_documents: bool = False,
           settings: dict | None = None) -> dict:
    """A feedback record for `answer`. InputError for a verdict that needs a right passage (or "not
    in the documents") and has neither, or an unknown verdict."""
    if verdict not in VERDICTS:
        raise InputError(f"unknown feedback '{verdict}' (one of: {', '.join(VERDICTS)})")
    if right is not None and not_in_documents:
        raise InputError("mark either the right passage or 'not in the documents', not both")
    return {
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "question": answer.question,
        "resolved_question": answer.resolved_question or answer.question,
        "verdict": verdict,
        "answer": answer.text,
        "abstained": answer.abstained,
        "citations": [{"marker": c.marker, "source": c.source, "start_char": c.start_char, "end_char": c.end_char,
                       "quote": c.quote} for c in answer.citations],
        "right": None if right is None else {"source": right.source, "start_char": right.start_char,
                                             "end_char": right.end_char, "text": right.text},
        "not_in_documents": not_in_documents,
        "generator": answer.generator,
        "settings": settings or {},
    }


MAX_RECORD_BYTES = 200_000  # an answer, its quotes and a marked passage fit many times over
MAX_PER_MINUTE = 60  # records a minute from everyone: a click each second, not a script's loop


class FeedbackLog:
    """`feedback.jsonl`: appended to by any thread, one whole line at a time, each forced to disk.
    Records over `MAX_RECORD_BYTES`, or beyond `MAX_PER_MINUTE`, are refused (each one is an fsync);
    `count` reads only what was appended since it last looked."""

    def __init__(self, path: Path, per_minute: int = MAX_PER_MINUTE) -> None:
        self.path, self.per_minute = path, per_minute
        self._lock = threading.Lock()
        self._recent: list[float] = []  # when the records of the last minute were appended
        self._counted = (0, 0)  # (bytes of the file counted, records in them)

    def append(self, entry: dict) -> None:
        line = (json.dumps(entry, ensure_ascii=False) + "\n").encode("utf-8")
        if len(line) > MAX_RECORD_BYTES:
            raise InputError(f"that feedback is too long to keep ({len(line) / 1000:.0f} kB; the limit is "
                             f"{MAX_RECORD_BYTES / 1000:.0f} kB)")
        now = time.monotonic()
        with self._lock:
            self._recent = [t for t in self._recent if now - t < 60]
            if len(self._recent) >= self.per_minute:
                raise InputError("too much feedback at once; try again in a minute")
            self._recent.append(now)
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                if os.fstat(fd).st_size and not _ends_with_newline(fd):
                    line = b"\n" + line  # after a torn last line: this record starts a line of its own
                os.write(fd, line)
                os.fsync(fd)
            finally:
                os.close(fd)

    def read(self) -> tuple[list[dict], list[str]]:
        """The records, oldest first, and a message for each line that is not one (torn by a crash)."""
        if not self.path.exists():
            return [], []
        records, problems = [], []
        with self.path.open(encoding="utf-8", errors="replace") as lines:
            for number, line in enumerate(lines, start=1):
                if not line.strip():
                    continue
                try:
                    entry = json.loads(line)
                except json.JSONDecodeError:
                    problems.append(f"{self.path}, line {number}: not a whole record (a write cut short?); skipped")
                    continue
                problem = _problem(entry)
                if problem is None:
                    records.append(entry)
                else:
                    problems.append(f"{self.path}, line {number}: not a feedback record ({problem}); skipped")
        return records, problems

    def count(self) -> int:
        """How many records the file holds, reading only the lines added since the last count (the
        sidebar asks at every refresh); the whole file again when it shrank (replaced or cut)."""
        with self._lock:
            try:
                size = self.path.stat().st_size
            except OSError:
                self._counted = (0, 0)
                return 0
            done, records = self._counted if self._counted[0] <= size else (0, 0)
            with self.path.open("rb") as handle:
                handle.seek(done)
                new = handle.read(size - done)
            whole = new[:new.rfind(b"\n") + 1]  # a line still being written is counted next time
            for line in whole.splitlines():
                try:
                    records += _problem(json.loads(line)) is None
                except ValueError:
                    pass
            self._counted = (done + len(whole), records)
            return records


def _problem(entry) -> str | None:
    """What makes a parsed line not a record `list`, `export` and `cases` can use, or None. The
    file is ours, but a hand edit or another tool's line must cost a message, not the export."""
    if not isinstance(entry, dict):
        return "not an object"
    if entry.get("verdict") not in VERDICTS:
        return "no known verdict"
    for name in ("question", "time"):
        if not isinstance(entry.get(name), str) or not entry[name].strip():
            return f"'{name}' is not text"
    if not isinstance(entry.get("resolved_question", ""), (str, type(None))):
        return "'resolved_question' is not text"
    right = entry.get("right")
    if right is not None and not (isinstance(right, dict) and isinstance(right.get("source"), str)
                                  and isinstance(right.get("text"), str)):
        return "'right' is not a marked passage"
    citations = entry.get("citations", [])
    if not isinstance(citations, list) or not all(
            isinstance(c, dict) and isinstance(c.get("source"), str) and isinstance(c.get("quote"), str)
            for c in citations):
        return "'citations' are not quotes"
    return None


def _ends_with_newline(fd: int) -> bool:
    return os.pread(fd, 1, os.fstat(fd).st_size - 1) == b"\n"


def write_cases(path: Path, made: list[dict]) -> None:
    """Eval cases (`cases`) as a JSONL question set `rag eval` reads."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(case, ensure_ascii=False) + "\n" for case in made), encoding="utf-8")


def cases(records: list[dict]) -> tuple[list[dict], list[str]]:
    """Eval cases (eval/dataset.py's JSONL format, split "feedback") from feedback records, and why
    each record that makes none was left out. The latest record for a question decides it; the
    same case twice is kept once.

    - a marked passage: an answerable case whose evidence is the marked text;
    - "not in the documents", or "it should have said it doesn't know": an unanswerable case;
    - "good": the answer's own quotes as evidence (an abstention: unanswerable);
    - "wrong source" or "missed" with nothing marked: no case, the right answer is unknown."""
    latest: dict[str, dict] = {}
    for entry in records:
        latest[" ".join(entry["question"].split()).casefold()] = entry
    out, skipped, seen = [], [], set()
    for entry in latest.values():
        question = entry.get("resolved_question") or entry["question"]
        if entry.get("right"):
            sources, evidence = [entry["right"]["source"]], [entry["right"]["text"]]
        elif entry.get("not_in_documents") or entry["verdict"] == "should_abstain":
            sources, evidence = [], []
        elif entry["verdict"] == "good":
            quotes = [(c["source"], c["quote"]) for c in entry.get("citations", [])]
            sources, evidence = sorted({s for s, _ in quotes}), [q for _, q in quotes]
        else:
            skipped.append(f"“{entry['question']}”: marked {VERDICTS[entry['verdict']]} without the right passage")
            continue
        evidence = [e for e in evidence if e.strip()]
        key = json.dumps([question, sources, evidence])
        if key in seen:
            continue
        seen.add(key)
        digest = hashlib.sha256(key.encode()).hexdigest()[:10]
        out.append({"id": f"feedback-{digest}", "question": question, "sources": sources, "evidence": evidence,
                    "kind": "feedback", "split": "feedback"})
    return out, skipped
