"""A serving process's idle time spent on what a lazy index left for question time.

A lazy index (`RAG_SENTENCE_VECTORS=lazy`) stores no sentence vectors; the first question that
retrieves a chunk embeds its sentences (index.sentence_cache), which on two cores costs a second or
more when none of its 60 rescored chunks was reached before. A long-running process (`rag chat`,
`rag mcp`) embeds them ahead instead, a few chunks at a time, only while it answers nothing:
a question waits at most for the batch in progress. Several processes on one index share the work
through the cache file (a chunk one of them embedded is skipped by the others).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager

from index.errors import RagError

log = logging.getLogger(__name__)


class Activity:
    """Questions (and index runs) in flight in this process, and when the last one ended."""

    def __init__(self) -> None:
        self._busy = 0
        self._last = 0.0
        self._lock = threading.Lock()

    @contextmanager
    def busy(self):
        with self._lock:
            self._busy += 1
        try:
            yield
        finally:
            with self._lock:
                self._busy -= 1
                self._last = time.monotonic()

    def idle_for(self, seconds: float) -> bool:
        with self._lock:
            return self._busy == 0 and time.monotonic() - self._last >= seconds


class SentenceWarmer:
    def __init__(self, retriever_of: Callable[[], object], activity: Activity, batch: int = 8,
                 idle_s: float = 1.0, rest_s: float = 30.0) -> None:
        self.retriever_of = retriever_of  # the newest retriever (rag.wiring.Components), or IndexMissingError
        self.activity = activity
        self.batch = batch  # chunks embedded between two looks at whether a question came
        self.idle_s = idle_s  # quiet time after a question before the work resumes
        self.rest_s = rest_s  # how long to wait, all done, before looking for a new generation's chunks
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.warmed = 0  # chunks walked over (embedded here, or found made by another process)

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="sentence-warmup", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        after = ""  # the last chunk id warmed: the next batch starts past it
        retriever = None
        while not self._stop.is_set():
            if not self.activity.idle_for(self.idle_s):
                self._stop.wait(0.1)
                continue
            try:
                current = self.retriever_of()
                if current is not retriever:  # a new generation: its new chunks too
                    retriever, after = current, ""
                batch = retriever.unembedded_after(after, self.batch)
                if not batch:  # all done: only a new generation starts the walk over
                    self._stop.wait(self.rest_s)
                    continue
                self.warmed += retriever.warm_sentences(batch)
                after = batch[-1]
            except RagError as exc:  # nothing indexed yet, or an index being repaired
                log.debug("sentence warm-up waits: %s", exc)
                retriever = None
                self._stop.wait(self.rest_s)
            except Exception as exc:  # noqa: BLE001 - readers closed under it by an index run; never fatal
                log.info("sentence warm-up paused: %s: %s", type(exc).__name__, exc)
                retriever = None
                self._stop.wait(self.rest_s)
