"""`build_app`: the Gradio chat window, wired to a `ChatService`.

Left: the conversation (streamed answers whose markers [n] jump to their passage). Right: the
citations panel for the latest answer and the full document scrolled to a chosen passage. The
sidebar holds the controls, the index status and the upload box. Every handler turns our errors
into a message, never a traceback.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass

import gradio as gr  # imported by ui.launch only after it has pointed Gradio's upload cache at ours

from rag.assistant import MAX_QUERY_CHARS
from rag.config import RETRIEVAL_MODES
from ui import render
from rag.history import MAX_TITLE_CHARS
from ui.chat import ChatService
from ui.conversation_panel import ConversationPanel
from ui.handlers import RIGHT_NONE, Handlers

log = logging.getLogger(__name__)

TITLE = "rag-cited: answers you can check"
CSS = """
.rag-panel { max-height: 620px; overflow-y: auto; padding-right: 4px; }
.rag-cite { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 8px 10px; margin: 0 0 10px; }
.rag-cite.rag-flash { outline: 3px solid #f5b400; }
.rag-cite-head { font-size: 0.9em; margin-bottom: 4px; }
.rag-section { color: #8a5a00; }
.rag-passage { white-space: pre-wrap; line-height: 1.45; }
.rag-passage mark { background: #ffe066; color: inherit; padding: 0 1px; }
.rag-page-image { max-width: 100%; border: 1px solid #bbb; margin-top: 6px; }
.rag-closest { color: #8a5a00; }
.rag-unverified { border-left: 4px solid #d33; padding: 4px 8px; margin-bottom: 10px; }
.rag-empty { color: var(--body-text-color-subdued); }
"""
UPLOAD_WORKERS = 4  # uploads indexed at once, from different browsers (one browser's run in turn)
FEEDBACK_BUTTONS = {"good": "Good", "wrong_source": "Wrong source",
                    "should_abstain": "It should have said it doesn't know", "missed": "It missed the answer"}
# The text selected in the full-document view, as {"source", "start", "end"} in the document's
# characters: the view's text is the document's own (escaped, never altered), so the length of what
# precedes the selection there is its offset. It is kept as it is made (HEAD's selectionchange
# listener), so picking "the text I selected" in the dropdown afterwards, which takes the focus and
# clears the page's selection, does not lose it.
SELECTION_JS = "() => window.ragSelection ? JSON.stringify(window.ragSelection) : ''"
# A marker link [n] in an answer scrolls the citations panel to passage n and flashes it.
HEAD = """<script>
document.addEventListener('click', (event) => {
  const link = event.target.closest && event.target.closest('a[href^="#cite-"]');
  if (!link) return;
  event.preventDefault();
  event.stopPropagation();
  const target = document.getElementById(link.getAttribute('href').slice(1));
  if (!target) return;
  target.scrollIntoView({behavior: 'smooth', block: 'nearest'});
  target.classList.add('rag-flash');
  setTimeout(() => target.classList.remove('rag-flash'), 1500);
}, true);
document.addEventListener('selectionchange', () => {
  const view = document.querySelector('#rag-document .rag-passage');
  const chosen = document.getSelection();
  if (!view || !chosen || chosen.rangeCount === 0 || chosen.isCollapsed) return;
  const range = chosen.getRangeAt(0);
  if (!view.contains(range.startContainer) || !view.contains(range.endContainer)) return;
  const before = document.createRange();
  before.setStart(view, 0);
  before.setEnd(range.startContainer, range.startOffset);
  const start = before.toString().length;
  const source = document.querySelector('#rag-document .rag-cite-head b')?.innerText || '';
  window.ragSelection = {source: source, start: start, end: start + range.toString().length};
});
</script>"""
SCROLL_TO_MARK = f"() => {{ setTimeout(() => document.getElementById('{render.DOCUMENT_MARK_ID}')?.scrollIntoView({{block: 'center'}}), 50); }}"


def build_app(service: ChatService, uploads):
    """The window. Nothing about the index is built into it: the document list, the examples and
    the status arrive with the page's load event, after any login (Gradio embeds the API
    description, choices included, in the login page). `uploads` (ui.guard.UploadLedger) says
    which raw uploads each browser made."""
    from ui.guard import UPLOAD_TTL_S

    with gr.Blocks(title=TITLE, analytics_enabled=False, fill_width=True,
                   delete_cache=(60, UPLOAD_TTL_S)) as app:  # raw uploads never submitted go too
        window = _layout(service)
        changes = _wire(app, window, Handlers(service, uploads, window))
        _wire_conversations(app, window, ConversationPanel(service, window), changes)
    return app


@dataclass
class Window:
    """The components the handlers read and update."""

    turns: gr.State  # (role, text) pairs of this browser session: what follow-ups resolve against
    last_answer: gr.State  # the Answer feedback is about
    shown: gr.State  # the conversation as shown: kept here, so no request carries it back
    status: gr.Markdown
    sources: gr.Dropdown
    top_k: gr.Slider
    mode: gr.Radio
    generator: gr.Radio
    files: gr.File
    upload_note: gr.Markdown
    stop_uploads: gr.Button
    chat: gr.Chatbot
    question: gr.Textbox
    send: gr.Button
    clear: gr.Button
    right: gr.Dropdown
    verdicts: dict
    feedback_note: gr.Markdown
    selection: gr.Textbox
    examples: gr.Dataset
    citations: gr.HTML
    passage: gr.Dropdown
    page_number: gr.Slider
    page_view: gr.HTML
    document: gr.HTML
    answer_json: gr.Code
    conversation_id: gr.State  # the open conversation's id in the history; None: the next question starts one
    conversations: gr.Radio
    new_conversation: gr.Button
    conversation_title: gr.Textbox
    rename: gr.Button
    delete: gr.Button
    export_format: gr.Radio
    export: gr.Button
    download: gr.HTML


def _layout(service: ChatService) -> Window:
    """Left: the conversation and the feedback row; right: the citations panel, the full document
    and the answer as JSON; the sidebar: the controls, the status and the upload box."""
    states = {"turns": gr.State([]), "last_answer": gr.State(None), "shown": gr.State([]),
              "conversation_id": gr.State(None)}
    with gr.Sidebar(open=True, label="Settings"):
        history = _conversations()
        sidebar = _sidebar(service)
    with gr.Row(equal_height=False):
        with gr.Column(scale=3):
            conversation = _conversation()
        with gr.Column(scale=2):
            panel = _panel()
    return Window(**states, **history, **sidebar, **conversation, **panel)


def _conversations() -> dict:
    """The owner's conversations, newest first: open one to continue it; rename, delete or export
    the open one. Filled in per page load (after any login)."""
    with gr.Accordion("Conversations", open=True, elem_id="rag-conversations"):
        new_conversation = gr.Button("New conversation", size="sm", elem_id="rag-conv-new")
        conversations = gr.Radio(choices=[], value=None, show_label=False, elem_id="rag-conv-list")
        with gr.Accordion("Rename, delete, export the open one", open=False, elem_id="rag-conv-manage"):
            conversation_title = gr.Textbox(label="Title", max_lines=1, max_length=MAX_TITLE_CHARS,
                                            elem_id="rag-conv-title")
            with gr.Row():
                rename = gr.Button("Rename", size="sm", elem_id="rag-conv-rename")
                delete = gr.Button("Delete", size="sm", variant="stop", elem_id="rag-conv-delete")
            export_format = gr.Radio([("Markdown", "md"), ("JSON", "json")], value="md", show_label=False,
                                     elem_id="rag-conv-format")
            export = gr.Button("Export", size="sm", elem_id="rag-conv-export")
            download = gr.HTML("", elem_id="rag-conv-download", js_on_load=None)
    return dict(conversations=conversations, new_conversation=new_conversation,
                conversation_title=conversation_title, rename=rename, delete=delete, export_format=export_format,
                export=export, download=download)


def _sidebar(service: ChatService) -> dict:
    config = service.config
    gr.Markdown("### Documents")
    status = gr.Markdown("", elem_id="rag-status")
    sources = gr.Dropdown(choices=[], multiselect=True, allow_custom_value=True, label="Only these documents",
                          info="Empty: all documents", elem_id="rag-sources")
    gr.Markdown("### Answers")
    top_k = gr.Slider(1, 20, value=config.top_k, step=1, label="Passages to draw on", elem_id="rag-k")
    mode = gr.Radio(list(RETRIEVAL_MODES), value=config.retrieval_mode, label="Retrieval", elem_id="rag-mode")
    generators = service.generators()
    names = [name for _, name in generators]
    generator = gr.Radio(generators, value=config.generator if config.generator in names else names[0],
                         label="Answerer", elem_id="rag-generator")
    gr.Markdown("### Add documents")
    files = gr.File(file_count="multiple", file_types=list(config.extensions), label="Upload", elem_id="rag-upload")
    upload_note = gr.Markdown(f"{', '.join(config.extensions)} · up to {config.upload_max_mb:g} MB each",
                              elem_id="rag-upload-note")
    stop_uploads = gr.Button("Cancel my uploads", size="sm", elem_id="rag-upload-cancel")
    return dict(status=status, sources=sources, top_k=top_k, mode=mode, generator=generator, files=files,
                upload_note=upload_note, stop_uploads=stop_uploads)


def _conversation() -> dict:
    chat = gr.Chatbot(
        label="Conversation", height=560, buttons=["copy", "copy_all"], sanitize_html=True,
        allow_tags=False, render_markdown=True, feedback_options=None, elem_id="rag-chat",
        placeholder="Ask about your documents. Every sentence of an answer cites its passage.",
        latex_delimiters=[],
    )
    # The question box spans the conversation, as in any chat window; the buttons sit small under
    # it (beside it, their minimum widths left the box a third of the row).
    question = gr.Textbox(placeholder="Ask a question…", show_label=False, autofocus=True,
                          max_lines=6, max_length=MAX_QUERY_CHARS, elem_id="rag-question")
    with gr.Row(elem_id="rag-ask-row"):
        send = gr.Button("Ask", variant="primary", size="sm", scale=0, min_width=90, elem_id="rag-ask")
        clear = gr.Button("Clear conversation", size="sm", scale=0, min_width=150, elem_id="rag-clear")
    with gr.Group(elem_id="rag-feedback"):
        right = gr.Dropdown(choices=RIGHT_NONE, value="", label="Feedback on the last answer · the right "
                            "passage (optional)", elem_id="rag-right")
        with gr.Row():
            verdicts = {verdict: gr.Button(label, size="sm", scale=0, min_width=7 * len(label) + 30,
                                           elem_id=f"rag-fb-{verdict}")
                        for verdict, label in FEEDBACK_BUTTONS.items()}
        feedback_note = gr.Markdown("", elem_id="rag-fb-note")
    selection = gr.Textbox(visible="hidden", elem_id="rag-selection")  # set by SELECTION_JS
    examples = gr.Dataset(components=[question], samples=[], label="Examples", type="values",
                          visible=False, elem_id="rag-examples")
    return dict(chat=chat, question=question, send=send, clear=clear, right=right, verdicts=verdicts,
                feedback_note=feedback_note, selection=selection, examples=examples)


def _panel() -> dict:
    gr.Markdown("### Citations")
    citations = gr.HTML(render.citations_html(None), elem_id="rag-citations", js_on_load=None)
    with gr.Accordion("Full document", open=False):
        passage = gr.Dropdown(choices=[], label="Open the document at passage", elem_id="rag-open")
        # a PDF also as its pages: the cited one first, its quote marked; any other on request
        page_number = gr.Slider(1, 2, value=1, step=1, label="Page", visible=False, elem_id="rag-page-number")
        page_view = gr.HTML("", elem_id="rag-page-view", js_on_load=None)
        document = gr.HTML("", elem_id="rag-document", js_on_load=None)
    with gr.Accordion("Answer as JSON", open=False):
        # Text, not gr.JSON: Gradio keeps every session's last output values, and a parsed answer
        # (passages and all) costs several times its text in objects.
        answer_json = gr.Code(language="json", label="Answer", interactive=False, wrap_lines=True)
    return dict(citations=citations, passage=passage, page_number=page_number, page_view=page_view,
                document=document, answer_json=answer_json)


def _wire(app, w: Window, h: Handlers) -> list:
    """Wire the events; returns those after which the conversations list changes."""
    app.load(h.status_markdown, None, w.status, api_name="status_markdown", queue=False)
    app.load(h.refresh, None, [w.sources, w.examples], api_name=False, queue=False)
    ask_inputs = [w.question, w.shown, w.turns, w.sources, w.top_k, w.mode, w.generator, w.conversation_id]
    ask_outputs = [w.chat, w.shown, w.turns, w.citations, w.passage, w.answer_json, w.question, w.last_answer, w.right,
                   w.conversation_id]  # states only added: the API's outputs keep their places
    submitted = w.question.submit(h.respond, ask_inputs, ask_outputs, api_name="ask", concurrency_id="ask")
    submitted.then(h.refresh_sources, None, w.sources, api_name=False, queue=False)  # uploads from other browsers
    sent = w.send.click(h.respond, ask_inputs, ask_outputs, api_name=False, concurrency_id="ask")
    sent.then(h.refresh_sources, None, w.sources, api_name=False, queue=False)
    w.examples.click(lambda sample: sample[0] if sample else gr.skip(), w.examples, w.question, api_name=False,
                     queue=False, show_progress="hidden")
    cleared = w.clear.click(h.reset, None, [w.chat, w.shown, w.turns, w.citations, w.passage, w.document, w.answer_json,
                                  w.question, w.last_answer, w.right, w.feedback_note, w.conversation_id],
                  api_name="clear")
    for verdict, button in w.verdicts.items():
        button.click(None, None, [w.selection], js=SELECTION_JS, queue=False).then(
            functools.partial(h.give_feedback, verdict),
            [w.last_answer, w.right, w.selection, w.top_k, w.mode, w.generator], [w.feedback_note, w.status],
            api_name=f"feedback_{verdict}", concurrency_limit=None)
    w.passage.change(h.open_document, [w.passage], [w.document, w.page_number, w.page_view],
                     api_name=False).then(None, js=SCROLL_TO_MARK)
    w.page_number.input(h.turn_page, [w.page_number, w.passage], [w.page_view], api_name=False)  # the user turns it
    # preprocess=False: the handler takes Gradio's file records as they are (Gradio still checks
    # they lie in its upload cache); gr.File's own preprocessing leaves an empty temporary file in
    # the cache for every file it passes on. Several browsers' uploads are read and embedded side
    # by side (ChatService.add_files); the cancel goes around the queue, or it would wait behind
    # the upload it is to stop.
    w.files.upload(h.add, [w.files], [w.upload_note, w.sources, w.status, w.files], api_name="upload",
                   concurrency_limit=UPLOAD_WORKERS, concurrency_id="index", preprocess=False)
    w.stop_uploads.click(h.cancel_uploads, None, w.upload_note, api_name="cancel_uploads", queue=False)
    return [submitted, sent, cleared]


def _wire_conversations(app, w: Window, panel: ConversationPanel, changes: list) -> None:
    window = [w.chat, w.shown, w.turns, w.citations, w.passage, w.document, w.answer_json, w.question,
              w.last_answer, w.right, w.feedback_note, w.conversation_id, w.conversation_title, w.download,
              w.conversations]
    app.load(panel.refresh, [w.conversation_id], w.conversations, api_name=False, queue=False)
    # after an answer (the first question starts a conversation) or a clear: the list, the open one selected
    for event in changes:
        event.then(panel.refresh, [w.conversation_id], w.conversations, api_name=False, queue=False)
    # preprocess=False: the id goes to the handler as sent, which answers any id not the owner's
    # with "no such conversation" (Gradio's own check would name the choices instead).
    w.conversations.input(panel.open, [w.conversations], window, api_name="open_conversation", preprocess=False)
    w.new_conversation.click(panel.emptied, None, window, api_name="new_conversation", queue=False)
    w.rename.click(panel.rename, [w.conversation_id, w.conversation_title], w.conversations,
                   api_name="rename_conversation")
    w.delete.click(panel.delete, [w.conversation_id], window, api_name="delete_conversation")
    w.export.click(panel.export, [w.conversation_id, w.export_format], w.download, api_name="export_conversation")
