"""Conversations in the chat window: each question and its answer recorded in the history
(rag.history) as it streams, and the sidebar's list to open, continue, rename, delete and export
them. Everything is the current owner's only: the login name; without a login, the browser (the
HttpOnly cookie ui.guard issues), so two people sharing a window's address do not see each other's.

A failing history store never stops an answer: the failure is logged as a warning and the
answer is shown all the same.
"""

from __future__ import annotations

import base64
import hashlib
import html
import logging
import re
import time
from datetime import datetime

import gradio as gr  # imported by ui.launch only after it has pointed Gradio's upload cache at ours

from rag.errors import RagError
from rag.history import LOCAL_OWNER, Conversation, History
from rag.history_export import export
from rag.types import Answer, Citation, PageRef
from ui.guard import BROWSER_COOKIE

log = logging.getLogger(__name__)

UPDATE_EVERY_S = 0.5  # a streaming answer is written at most this often (each write is fsynced)
LISTED = 50  # conversations shown in the sidebar, the most recently updated first
PASSAGE_CONTEXT = 300  # characters of the document shown around a restored quote
ABSTAINED_PREFIX = "The documents don't answer this"
EXPORT_TYPES = {"md": "text/markdown", "json": "application/json"}


def owner_of(request: gr.Request | None) -> str:
    """Whose conversations these are: the login name; without a login, the browser, by a digest of
    its cookie (the cookie itself, a bearer credential, is never stored); LOCAL_OWNER for a client
    that keeps no cookie."""
    name = getattr(request, "username", None) if request else None
    if name:
        return name
    browser = (getattr(request, "cookies", None) or {}).get(BROWSER_COOKIE)
    if browser:
        return "browser-" + hashlib.sha256(browser.encode()).hexdigest()[:24]
    return LOCAL_OWNER


class TurnRecorder:
    """One question and its answer written to the history: started when asked (the conversation
    is created with the first question), updated while it streams, finished with the answer."""

    def __init__(self, history: History, owner: str, conversation_id: str | None, question: str) -> None:
        self.history, self.owner = history, owner
        self.conversation_id, self.turn_id = conversation_id, None
        self._written_at = 0.0
        try:
            self._start(question)
        except (RagError, OSError) as exc:
            log.warning("conversation history unavailable, answering without recording: %s", exc)

    def _start(self, question: str) -> None:
        if self.conversation_id:
            try:
                self.turn_id = self.history.start_turn(self.conversation_id, self.owner, question)
                return
            except RagError as exc:  # deleted meanwhile (another window): this question starts a new one
                log.info("conversation %s is gone (%s); starting a new one", self.conversation_id, exc)
        self.conversation_id = self.history.create(self.owner)
        self.turn_id = self.history.start_turn(self.conversation_id, self.owner, question)

    def update(self, text_so_far: str) -> None:
        if self.turn_id is None or time.monotonic() - self._written_at < UPDATE_EVERY_S:
            return
        self._written_at = time.monotonic()
        self._write(self.history.update_turn, text_so_far)

    def finish(self, answer: Answer) -> None:
        if self.turn_id is not None:
            self._write(self.history.finish_turn, answer.text, answer.citations, answer.generator)

    def _write(self, method, text: str, *rest) -> None:
        try:
            method(self.turn_id, self.owner, text, *rest)
        except (RagError, OSError) as exc:
            log.warning("could not record the answer in the conversation history: %s", exc)


def list_update(history: History, owner: str, selected: str | None = None):
    """The sidebar's list of the owner's conversations, newest first."""
    try:
        summaries = history.list(owner, limit=LISTED)
    except (RagError, OSError) as exc:
        log.warning("cannot list the conversations: %s", exc)
        summaries = []
    choices = [(f"{s.title} · {_when(s.updated_at)}", s.id) for s in summaries]
    return gr.update(choices=choices, value=selected if selected in {c[1] for c in choices} else None)


def _when(seconds: float) -> str:
    return datetime.fromtimestamp(seconds).strftime("%d %b %H:%M")


def load(history: History, owner: str, conversation_id: str) -> Conversation:
    """The owner's conversation; a gr.Error with the store's one line for any other id."""
    try:
        return history.get(owner, str(conversation_id or ""))
    except RagError as exc:
        raise gr.Error(str(exc)) from None


def follow_up_turns(conversation: Conversation) -> list[list[str]]:
    """The (role, text) pairs follow-up questions resolve against: the finished turns."""
    turns = []
    for turn in conversation.turns:
        if turn.finished:
            turns += [["user", turn.question], ["assistant", turn.answer_text]]
    return turns


def stored_answer(turn, document_text) -> Answer:
    """A stored turn as an `Answer` the renderers take; each citation's passage is read again from
    its document (`document_text(source)`), or is the quote alone if the document changed."""
    citations = tuple(_citation(record, document_text(record["source"])) for record in turn.citations)
    abstained = not citations and turn.answer_text.startswith(ABSTAINED_PREFIX)
    text = turn.answer_text if turn.finished else f"{turn.answer_text} (the answer was cut short)".strip()
    return Answer(question=turn.question, text=text, abstained=abstained, citations=citations,
                  generator=turn.answerer or "answer")


def _citation(record: dict, text: str | None) -> Citation:
    start, end, quote = int(record["start"] or 0), int(record["end"] or 0), record["quote"] or ""
    if text is not None and text[start:end] == quote:
        low, high = max(0, start - PASSAGE_CONTEXT), min(len(text), end + PASSAGE_CONTEXT)
        low = _word_edge(text, low, start, forward=True)
        high = _word_edge(text, high, end, forward=False)
        passage, passage_start = text[low:high], low
    else:
        passage, passage_start = quote, start
    pages = tuple(PageRef(number=p.get("number", 0), label=str(p.get("label", "")), start=p.get("start", 0),
                          end=p.get("end", 0), ocr=bool(p.get("ocr"))) for p in record.get("pages") or ())
    return Citation(marker=int(record["marker"] or 0), source=record["source"], quote=quote, start_char=start,
                    end_char=end, passage=passage, passage_start=passage_start,
                    passage_end=passage_start + len(passage), chunk_id="", section=record.get("section") or "body",
                    pages=pages)


def _word_edge(text: str, at: int, limit: int, forward: bool) -> int:
    """`at` moved to a whitespace boundary, not past `limit`, so context starts and ends on whole words."""
    if forward:
        found = re.search(r"\s", text[at:limit])
        return at + found.end() if found and at > 0 else at
    found = [m.start() for m in re.finditer(r"\s", text[limit:at])]
    return limit + found[-1] if found and at < len(text) else at


def download_html(conversation: Conversation, fmt: str) -> str:
    """A link that downloads the conversation as Markdown or JSON. A data: URL, because the
    window serves no files by path (ui.guard refuses Gradio's file routes)."""
    try:
        body = export(conversation, fmt)
    except RagError as exc:
        raise gr.Error(str(exc)) from None
    name = _file_name(conversation.title, fmt)
    data = base64.b64encode(body.encode("utf-8")).decode("ascii")
    return (f'<a class="rag-download" download="{html.escape(name)}" '
            f'href="data:{EXPORT_TYPES[fmt]};charset=utf-8;base64,{data}">⬇ Download {html.escape(name)}</a>')


def _file_name(title: str, fmt: str) -> str:
    stem = re.sub(r"[^\w-]+", "-", title).strip("-")[:60] or "conversation"
    return f"{stem}.{fmt}"
