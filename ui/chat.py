"""`ChatService`: what the chat window does, without Gradio: answer, add files, report status.

The Gradio layer (ui.app) only wires components to these methods, so they are tested directly
and through the launched app alike. One `Assistant` serves every browser session; its readers
are shared, so answers hold a read lock and indexing holds the write lock (ui.rwlock).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rag import datadir
from rag.errors import IndexBusyError, InputError, RagError
from rag import feedback
from rag.assistant import Assistant
from rag.config import RagConfig
from rag.history import History
from rag.types import Answer
from ui import upload
from ui.rwlock import ReadWriteLock

log = logging.getLogger(__name__)

SEED_EXAMPLES = (  # shown when the bundled seed articles are what is indexed
    "Who heads the Russian delegation in the talks on the Belarusian-Polish border?",
    "How did the US role in the talks change under Trump?",
    "What does China think about the negotiations?",
    "Which two countries could act as mediators according to Jensen?",
)
SEED_MARK = "000_51828c4c6a9453e8.txt"


@dataclass
class UploadResult:
    added: list[str] = field(default_factory=list)  # document names now searchable
    unchanged: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # one clear line per bad file
    notes: list[str] = field(default_factory=list)  # indexed, with a caveat (a PDF page without text)

    def message(self) -> str:
        lines = []
        if self.added:
            lines.append(f"Indexed and searchable now: {', '.join(self.added)}.")
        if self.unchanged:
            lines.append(f"Already indexed, unchanged: {', '.join(self.unchanged)}.")
        lines.extend(f"Note: {n}" for n in self.notes)
        lines.extend(f"Refused: {r}" for r in self.refused)
        return "\n".join(lines) or "No files were given."


UPLOADS_PER_BROWSER = 3  # running or waiting, from one browser


@dataclass
class _Queue:
    turn: threading.Lock = field(default_factory=threading.Lock)  # one upload of the browser at a time
    cancel: threading.Event = field(default_factory=threading.Event)
    entered: int = 0  # running or waiting


class UploadQueues:
    """Each browser's uploads: in turn, at most `limit` at once, cancelled together."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._lock = threading.Lock()
        self._queues: dict[str | None, _Queue] = {}

    def enter(self, browser: str | None) -> _Queue:
        with self._lock:
            queue = self._queues.setdefault(browser, _Queue())
            if queue.entered >= self.limit:
                raise InputError(f"{self.limit} uploads from this window are already being indexed; wait for "
                                 "them, or cancel them, before adding more")
            queue.entered += 1
            return queue

    def leave(self, browser: str | None) -> None:
        with self._lock:
            queue = self._queues[browser]
            queue.entered -= 1
            if not queue.entered:  # the last one out: a cancel asked meanwhile is spent
                del self._queues[browser]

    def cancel(self, browser: str | None) -> bool:
        with self._lock:
            queue = self._queues.get(browser)
            if queue is None:
                return False
            queue.cancel.set()
            return True


class ChatService:
    def __init__(self, assistant: Assistant) -> None:
        self.assistant = assistant
        self.config: RagConfig = assistant.config
        self.lock = ReadWriteLock()
        self.uploads = UploadQueues(UPLOADS_PER_BROWSER)
        self.feedback_log = feedback.FeedbackLog(datadir.feedback(self.config.data_dir))
        self.history = History(datadir.conversations(self.config.data_dir))  # opened on first use

    # --- feedback -------------------------------------------------------------------------
    def feedback(self, answer: Answer, verdict: str, right: str = "", selection: str = "",
                 settings: dict | None = None) -> str:
        """Record what the user says of `answer` (rag.feedback) and say what was kept. `right` is
        the right passage: "" (none marked), "not" (not in the documents), "passage:N" (the answer's
        Nth passage: its best sentence), or "selection" with `selection` the JSON
        {"source", "start", "end"} of the text selected in the full-document view. Takes no index
        lock beyond reading a document's text, so it never waits for an upload or holds up an answer."""
        span, not_in_documents = None, right == "not"
        if right.startswith("passage:"):
            n = int(right[8:]) if right[8:].isdigit() else 0
            if not 1 <= n <= len(answer.passages):
                raise InputError("that passage is no longer shown; pick it again")
            best = answer.passages[n - 1].best_sentence
            hit = answer.passages[n - 1]
            start, end = (best.start_char, best.end_char) if best else (hit.start_char, hit.end_char)
            span = self._span(hit.source, start, end)
        elif right == "selection":
            try:
                chosen = json.loads(selection or "{}")
                span = self._span(str(chosen["source"]), int(chosen["start"]), int(chosen["end"]))
            except (ValueError, KeyError, TypeError):
                raise InputError("select the right text in the full document first (open it from a passage)") from None
        entry = feedback.record(answer, verdict, span, not_in_documents, settings)
        self.feedback_log.append(entry)
        if verdict in ("wrong_source", "missed") and span is None and not not_in_documents:
            return ("Recorded. Mark the right passage (or “not in the documents”) and send it again to make it "
                    "an eval case.")
        return "Recorded: " + feedback.VERDICTS[verdict] + (f" (right passage: {span.source}, characters "
                                                             f"{span.start_char:,}–{span.end_char:,})" if span else "")

    def _span(self, source: str, start: int, end: int) -> feedback.Span:
        text = self.document(source)
        if text is None:
            raise InputError(f"'{source}' is not an indexed document")
        if not 0 <= start < end <= len(text) or not text[start:end].strip():
            raise InputError("the marked text is empty or outside the document; select it again")
        if end - start > 2000:
            raise InputError("mark at most 2,000 characters: the sentence or two that answer")
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        return feedback.Span(source, start, end, text[start:end])

    # --- answers --------------------------------------------------------------------------
    def ask(self, question: str, *, k: int | None = None, mode: str | None = None,
            sources: Sequence[str] | None = None, history: Sequence[tuple[str, str]] = (),
            generator: str | None = None) -> Iterator[str | Answer]:
        """Stream the answer (str deltas, then the `Answer`), with the index read-locked meanwhile."""
        with self.lock.reading():
            yield from self.assistant.ask_stream(
                question, k=int(k) if k else None, mode=mode or None, sources=list(sources or []) or None,
                history=list(history), generator=generator or None,
            )

    def warm(self) -> None:
        """Open the readers and load the query model now, so the first question is not the one
        that waits a second for them. An empty index is not an error here: the page says so."""
        started = time.perf_counter()
        try:
            with self.lock.reading():
                self.assistant.search("warm up", k=1)
        except RagError as exc:
            log.info("not warmed up: %s", exc)
        else:
            log.info("readers and query model ready in %.1f s", time.perf_counter() - started)
        self.assistant.warm_sentences()  # waits for an index if there is none yet

    def generators(self) -> list[tuple[str, str]]:
        """The answerers this window offers, as (label, name): each backend of rag.backends this
        configuration can use (extractive; a server's when RAG_LLM_BASE_URL is set; a local model
        this machine has, run in-process and loaded on first use), and the configured one."""
        from rag import backends

        return backends.offered(self.config)

    # --- documents ------------------------------------------------------------------------
    def add_files(self, files: Sequence[tuple[Path, str]], progress: bool = False,
                  browser: str | None = None) -> UploadResult:
        """Store each (temporary path, name the browser gave) safely, then index the good ones in
        one incremental run. A bad file is refused with its reason and changes nothing else.

        Uploads of different browsers are read and embedded side by side, so one user's long scan
        does not keep another's small file waiting; only the switch-over to the new index is one at
        a time. One browser's uploads run in turn, at most `UPLOADS_PER_BROWSER` waiting, and
        `cancel_uploads(browser)` stops them (`Cancelled`; nothing of them is kept)."""
        queue = self.uploads.enter(browser)
        try:
            with queue.turn:
                return self._add_files(files, progress, queue.cancel.is_set)
        finally:
            self.uploads.leave(browser)

    def cancel_uploads(self, browser: str | None) -> bool:
        """Stop the uploads this browser has running or waiting; whether there were any."""
        return self.uploads.cancel(browser)

    def _add_files(self, files: Sequence[tuple[Path, str]], progress: bool,
                   cancelled: Callable[[], bool]) -> UploadResult:
        cfg = self.config
        options = cfg.read_options(progress=progress, cancelled=cancelled)
        result = UploadResult()
        stored: list[upload.Stored] = []
        try:
            for path, name in files:
                try:
                    stored.append(upload.store(Path(path), name, cfg.upload_dir, cfg.extensions,
                                               int(cfg.upload_max_mb * 1_000_000), options))
                except InputError as exc:
                    result.refused.append(str(exc))
                except OSError as exc:
                    result.refused.append(f"'{name}' could not be read: {exc.strerror or exc}")
            if not stored:
                return result
            started = time.perf_counter()
            self.assistant.progress = progress
            # embedded first with no lock held: answers wait only for the switch-over
            report = self.assistant.index([s.path for s in stored], exclusive=self.lock.writing, cancelled=cancelled,
                                          readings={s.sha256: s.reading for s in stored if s.reading is not None})
        except BaseException:
            for s in stored:
                s.undo()
            raise
        log.info("indexed %d uploaded file(s) in %.1f s", len(stored), time.perf_counter() - started)
        done = set(report.added) | set(report.changed)
        refused = {Path(issue.path).name: issue.reason for issue in [*report.failed, *report.skipped]}
        for s in stored:
            if s.name in refused:
                result.refused.append(f"'{s.name}': {refused.pop(s.name)}")
                s.undo()
                continue
            s.keep()
            if s.name in done:
                result.added.append(s.name)
            elif s.name in report.unchanged:
                result.unchanged.append(s.name)
            elif s.name in report.duplicates:
                result.unchanged.append(f"{s.name} (same text as {report.duplicates[s.name]})")
        result.refused.extend(f"'{name}': {reason}" for name, reason in refused.items())
        result.notes.extend(f"'{Path(note.path).name}': {note.reason}" for note in report.notes)
        return result

    def sources(self) -> list[str]:
        with self.lock.reading():
            return self.assistant.status().sources

    def source_choices(self) -> list[tuple[str, str]]:
        """The documents as the filter offers them: "Title — file" (the file alone when it has no
        title), each standing for its file."""
        with self.lock.reading():
            status = self.assistant.status()
        return [(f"{status.titles[s]} — {s}" if status.titles.get(s) else s, s) for s in status.sources]

    def document(self, source: str) -> str | None:
        with self.lock.reading():
            return self.assistant.document_text(source)

    def pages(self, source: str) -> tuple:
        with self.lock.reading():
            return self.assistant.document_pages(source)

    def page_image(self, source: str, number: int, start: int = 0, end: int = 0, around: bool = False) -> bytes | None:
        """A PDF page as a picture with characters `start`–`end` highlighted (render.PageImage)."""
        with self.lock.reading():
            return self.assistant.page_image(source, number, start, end, around)

    def status_markdown(self) -> str:
        with self.lock.reading():
            s = self.assistant.status()
        # Named, not located: the page must not tell a visitor where the server keeps its files.
        store = "Chroma server" if self.config.chroma_url else f"{self.config.data_dir.name}/chroma"
        line = (f"**{s.documents}** documents · **{s.chunks}** chunks · model `{_short(s.model)}` · "
                f"store `{store}` · {s.size_bytes / 1e6:.1f} MB · **{self.feedback_log.count()}** feedback")
        return "\n\n".join([line, *self.problems()])

    def problems(self) -> list[str]:
        """What is wrong with the index, a line each with its repair, for the sidebar: a damaged
        index still opens the window, which says so instead of answering nothing."""
        try:
            with self.lock.reading():
                found = self.assistant.health()
        except IndexBusyError:
            return ["⏳ an index run is in progress"]
        except RagError as exc:
            return [f"⚠️ {exc}"]
        return [f"⚠️ {problem}" for problem in found]

    def examples(self) -> list[str]:
        with self.lock.reading():
            status = self.assistant.status()
        if SEED_MARK in status.sources:
            return list(SEED_EXAMPLES)
        return example_questions(status.sources, status.titles)


_EXAMPLE_TITLE = 80  # characters: a longer title makes a question nobody would type


def example_questions(sources: Sequence[str], titles: dict[str, str], count: int = 3) -> list[str]:
    """Questions to start from, one a document: "What is <title> about?". Documents with a title
    come first; a file name ("598us1r3_j4ek.pdf") is what a document without one is known by, and
    names nothing a person would ask about, so only fills the places titles leave."""
    named = [titles[s] for s in sources if len(titles.get(s) or "") in range(1, _EXAMPLE_TITLE + 1)]
    unnamed = [Path(s).stem.replace("_", " ") for s in sources if s not in titles]
    return [f"What is {name} about?" for name in dict.fromkeys(named + unnamed)][:count]


def _short(model: str) -> str:
    return model if len(model) < 48 else "…" + model[-45:]
