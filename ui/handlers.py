"""What each event of the chat window does, over the `ChatService` (ui.chat): answer, reset, take
feedback, open a document at a passage and turn its pages, add and cancel uploads. Our errors
become a message in the window, never a traceback; streamed updates are keyed by component."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import gradio as gr  # imported by ui.launch only after it has pointed Gradio's upload cache at ours

from rag.assistant import MAX_QUERY_CHARS
from rag.errors import Cancelled, RagError
from rag.types import Answer, pages_over
from ui import render
from ui.chat import ChatService
from ui.conversations import TurnRecorder, owner_of
from ui.guard import BROWSER_COOKIE

if TYPE_CHECKING:
    from ui.app import Window

RIGHT_NONE = [("None marked", "")]


class Handlers:
    """What each event does, over the `ChatService`; our errors become a message in the window,
    never a traceback. Updates are keyed by component: what a step leaves alone it does not name."""

    def __init__(self, service: ChatService, uploads, window: Window) -> None:
        self.service = service
        self.uploads = uploads
        self.w = window
        self.places = _places(service.config)

    def status_markdown(self):
        return render.without_paths(self.service.status_markdown(), self.places)

    def refresh(self):
        """The document list and the examples, filled in per page load (after any login)."""
        samples = [[q] for q in self.service.examples()]
        return gr.update(choices=self.service.source_choices()), gr.Dataset(samples=samples, visible=bool(samples))

    def refresh_sources(self):
        return gr.update(choices=self.service.source_choices())

    def respond(self, message, history, conversation, sources, k, mode, generator, conversation_id,
                request: gr.Request):
        w = self.w
        message = message or ""
        if not message.strip():
            raise gr.Error("Type a question first.")
        if len(message) > MAX_QUERY_CHARS:  # refused before this session keeps a copy
            raise gr.Error(f"The question is {len(message):,} characters long; the limit is {MAX_QUERY_CHARS:,}.")
        history = [*(history or []), {"role": "user", "content": render.escape_markdown(message)},
                   {"role": "assistant", "content": "…"}]
        if generator != "extractive":  # an LLM takes seconds: show the question at once
            yield {w.chat: history, w.question: ""}
        record = TurnRecorder(self.service.history, owner_of(request), conversation_id, message)
        answer, partial = None, ""
        try:
            for item in self.service.ask(message, k=k, mode=mode, sources=sources, history=conversation or [],
                                         generator=generator):
                if isinstance(item, Answer):
                    answer = item
                elif item and generator != "extractive":  # an extractive answer arrives whole
                    partial += item
                    record.update(partial)
                    history[-1] = {"role": "assistant", "content": render.partial_markdown(partial)}
                    yield {w.chat: history, w.question: ""}
        except RagError as exc:
            problem = render.without_paths(str(exc), self.places)
            history[-1] = {"role": "assistant", "content": f"⚠️ {render.escape_markdown(problem)}"}
            yield {w.chat: history, w.shown: history, w.question: "", w.conversation_id: record.conversation_id}
            return
        record.finish(answer)
        history[-1] = {"role": "assistant", "content": render.answer_markdown(answer)}
        conversation = [*(conversation or []), ["user", message], ["assistant", answer.text]]
        yield {w.chat: history, w.shown: history, w.turns: conversation,
               w.citations: render.citations_html(answer, self.service.page_image),
               w.passage: gr.update(choices=passage_choices(answer), value=None),
               w.answer_json: json.dumps(answer.to_dict(), ensure_ascii=False), w.question: "",
               w.last_answer: answer, w.right: gr.update(choices=_right_choices(answer), value=""),
               w.conversation_id: record.conversation_id}

    def reset(self):
        """An empty window; the next question starts a new conversation."""
        return ([], [], [], render.citations_html(None), gr.update(choices=[], value=None), "", "", "", None,
                gr.update(choices=RIGHT_NONE, value=""), "", None)

    def give_feedback(self, verdict, answer, right_passage, selected_text, k, mode, generator):
        if answer is None:
            raise gr.Error("Ask a question first: feedback is about the last answer.")
        try:
            said = self.service.feedback(answer, verdict, right_passage or "", selected_text or "",
                                         {"k": k, "retrieval_mode": mode, "generator": generator})
        except RagError as exc:
            raise gr.Error(str(exc)) from None
        return f"✓ {render.escape_markdown(said)}", self.status_markdown()

    def open_document(self, choice):
        hidden = gr.update(visible=False, value=1)
        if not choice:
            return "", hidden, ""
        source, start, end = _parse_choice(choice)
        text = render.document_html(source, self.service.document(source), start, end)
        pages = self.service.pages(source)
        cited = next((p.number for p in pages_over(pages, start, max(end, start + 1))), None)
        if cited is None:
            return text, hidden, ""
        last = max(p.number for p in pages)
        slider = gr.update(visible=True, minimum=1, maximum=max(2, last), value=cited)
        return text, slider, self._page_html(source, cited, start, end)

    def turn_page(self, number, choice):
        if not choice:
            return ""
        source, start, end = _parse_choice(choice)
        return self._page_html(source, int(number), start, end)

    def _page_html(self, source, number, start, end):
        image = self.service.page_image(source, number, start, end)
        if image is None:
            return render.no_page_html(source, number)
        return render.page_picture(image, f"{source}, page {number}")

    def add(self, uploaded, request: gr.Request, progress=gr.Progress(track_tqdm=True)):
        if not uploaded:
            return gr.skip(), gr.skip(), gr.skip(), None
        browser = _browser(request)
        items = [(Path(_path_of(f)), _name_of(f)) for f in uploaded]
        mine = [self.uploads.claim(browser, path) for path, _ in items]  # each claimed once, all of them
        if not all(mine):  # another browser's file, or any file in the folder: left alone
            _discard([path for (path, _), own in zip(items, mine) if own])
            foreign = ", ".join(name for (_, name), own in zip(items, mine) if not own)
            raise gr.Error(f"Not uploaded from this window (or too long ago): {foreign}. Add the file again.")
        try:
            result = self.service.add_files(items, progress=True, browser=browser)
        except Cancelled:
            return "Upload cancelled: nothing from it was indexed.", gr.skip(), gr.skip(), None
        except RagError as exc:
            raise gr.Error(render.without_paths(str(exc), self.places)) from None
        finally:
            _discard([path for path, _ in items])  # the browser's copy is never served back
        message = render.without_paths(result.message(), self.places)
        if result.refused and not result.added and not result.unchanged:
            raise gr.Error(message)
        return (render.escape_markdown(message), gr.update(choices=self.service.source_choices()), self.status_markdown(),
                None)

    def cancel_uploads(self, request: gr.Request):
        browser = _browser(request)
        if browser and self.service.cancel_uploads(browser):
            return "Cancelling: the upload stops after the page or batch it is on."
        return "No upload of this window is being indexed."


def _browser(request: gr.Request | None) -> str | None:
    """Which browser sent the request (the cookie ui.guard sets), for its uploads."""
    return request.cookies.get(BROWSER_COOKIE) if request else None


def _places(config) -> dict[str, str]:
    """Server folders as the window may name them: by their own name, never their full path."""
    places = {}
    for folder in (config.data_dir, config.upload_dir):
        for form in {str(folder), str(Path(folder).resolve())}:
            if form not in (".", ""):
                places[form] = Path(folder).resolve().name
    if config.chroma_url:
        places[config.chroma_url] = "the Chroma server"
    return places


def _discard(paths: list[Path]) -> None:
    """Delete raw uploads and the folder Gradio made for each, once empty."""
    for path in paths:
        path.unlink(missing_ok=True)
        try:
            path.parent.rmdir()
        except OSError:
            pass


def _right_choices(answer: Answer) -> list[tuple[str, str]]:
    """Where the right answer is, as the user may say it: nowhere, one of this answer's passages
    (its best sentence), or the text selected in the full-document view."""
    passages = []
    for n, hit in enumerate(answer.passages, 1):
        best = hit.best_sentence
        quote = " ".join((best.quote if best else hit.text).split())
        passages.append((f"#{n} {hit.source}: {quote[:70]}{'…' if len(quote) > 70 else ''}", f"passage:{n}"))
    return [*RIGHT_NONE, ("Not in the documents", "not"), *passages,
            ("The text I selected in the full document", "selection")]


def passage_choices(answer: Answer) -> list[tuple[str, str]]:
    if answer.citations:
        return [(f"[{c.marker}] {c.source} · characters {c.start_char:,}–{c.end_char:,}",
                 f"{c.start_char}\t{c.end_char}\t{c.source}") for c in answer.citations]
    return [(f"#{i} {h.source} · characters {h.start_char:,}–{h.end_char:,}", f"{h.start_char}\t{h.end_char}\t{h.source}")
            for i, h in enumerate(answer.passages, 1)]


def _parse_choice(choice: str) -> tuple[str, int, int]:
    start, end, source = choice.split("\t", 2)
    return source, int(start), int(end)


def _path_of(item) -> str:
    if isinstance(item, dict):  # a file record (FileData) as Gradio received it
        return item["path"]
    return item if isinstance(item, str) else getattr(item, "path", None) or item.name


def _name_of(item) -> str:
    """The name the browser gave the file (Gradio also keeps it as the temporary file's base name)."""
    original = item.get("orig_name") if isinstance(item, dict) else getattr(item, "orig_name", None)
    return original or Path(_path_of(item)).name
