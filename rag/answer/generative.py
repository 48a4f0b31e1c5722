"""An LLM answerer (llama-index backends, rag.llm): the reply streams, then every sentence is
checked against the passage its marker names (rag.cite), and the extractive answer stands in,
with a warning, when the backend cannot be reached (`llm_fallback`)."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import replace

from rag.answer.base import Answerer, Corpus, Request, timings
from rag.config import RagConfig
from rag.errors import BackendError
from rag.types import Answer

log = logging.getLogger(__name__)


class GenerativeAnswerer:
    def __init__(self, config: RagConfig, corpus: Corpus, fallback: Answerer | None = None) -> None:
        self.config = config
        self.corpus = corpus
        self.fallback = fallback
        self._llm = None

    @property
    def llm(self):
        if self._llm is None:
            from rag.backends import build_llm

            self._llm = build_llm(self.config)
        return self._llm

    def stream(self, request: Request) -> Iterator[str | Answer]:
        try:
            yield from self._generate(request)
        except BackendError as exc:
            if not self.config.llm_fallback or self.fallback is None:
                raise
            log.warning("%s; answering extractively", exc)
            yield from self.fallback.stream(replace(
                request, warnings=(*request.warnings, f"{exc}; this is the extractive answer instead")))

    def _generate(self, request: Request) -> Iterator[str | Answer]:
        from rag.cite import says_it_cannot_answer, verify
        from rag.llm import ChatAnswerer

        chat = ChatAnswerer(self.llm, lambda q: self.corpus.search(q, k=request.k, mode=request.mode, sources=request.sources))
        parts: list[str] = []
        first = None
        failure = None
        try:
            for delta in chat.stream(request.question, request.conversation):
                first = first or time.perf_counter()
                parts.append(delta)
                yield delta
        except BackendError as exc:
            if not "".join(parts).strip():
                raise  # nothing shown yet: the extractive answer may still stand in
            failure = exc  # the reader has seen part of a reply: finish it, and say it broke off
        reply = "".join(parts).strip()
        sentences, citations = verify(reply, chat.passages, self.corpus.doc_text)
        warnings: list[str] = list(request.warnings)
        if failure is not None:
            warnings.append(f"{failure}; the reply broke off part-way and is incomplete")
            if sentences:
                sentences = (*sentences[:-1], replace(sentences[-1], supported=False,
                                                       problem="cut off when the LLM backend failed"))
        abstained = says_it_cannot_answer(reply)
        if not sentences:  # an empty reply, or citation markers and nothing they could support
            abstained, citations = True, ()
            warnings.append("the LLM returned " + ("only citation markers" if reply else "an empty reply"))
            reply = "The LLM gave no answer; the closest passages are shown below."
        flagged = [s for s in sentences if not s.supported]
        if flagged:
            warnings.append(f"{len(flagged)} of {len(sentences)} sentences are not backed by the passages they cite")
        yield Answer(
            question=request.question, text=reply, abstained=abstained, citations=citations,
            sentences=sentences, passages=tuple(chat.passages), generator=self.config.generator,
            resolved_question=chat.standalone_question or request.question, warnings=tuple(warnings),
            timings=timings(request.started, first or time.perf_counter()),
        )
