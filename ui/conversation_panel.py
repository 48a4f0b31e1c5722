"""What the sidebar's "Conversations" section does: list the owner's conversations, open one (its
messages, and the citations panel as it was for its last answer), start a new one, rename, delete
and export the open one. An id that is not the owner's is a gr.Error: "no such conversation"."""

from __future__ import annotations

from typing import TYPE_CHECKING

import gradio as gr  # imported by ui.launch only after it has pointed Gradio's upload cache at ours

from rag.errors import RagError
from ui import render
from ui.chat import ChatService
from ui.conversations import download_html, follow_up_turns, list_update, load, owner_of, stored_answer
from ui.handlers import RIGHT_NONE, passage_choices

if TYPE_CHECKING:
    from ui.app import Window

OPEN_ONE_FIRST = "Open a conversation first (or ask a question: it starts one)."


class ConversationPanel:
    def __init__(self, service: ChatService, window: Window) -> None:
        self.service = service
        self.w = window

    def refresh(self, conversation_id, request: gr.Request):
        return list_update(self.service.history, owner_of(request), conversation_id)

    def open(self, conversation_id, request: gr.Request):
        """The conversation back in the window, ready to be continued: its turns are the history
        follow-up questions resolve against."""
        w = self.w
        conversation = load(self.service.history, owner_of(request), conversation_id)
        shown, last = [], None
        for turn in conversation.turns:
            last = stored_answer(turn, self.service.document)
            shown += [{"role": "user", "content": render.escape_markdown(turn.question)},
                      {"role": "assistant", "content": render.answer_markdown(last)}]
        citations = render.citations_html(last, self.service.page_image) if last else render.citations_html(None)
        return {w.chat: shown, w.shown: shown, w.turns: follow_up_turns(conversation), w.citations: citations,
                w.passage: gr.update(choices=passage_choices(last) if last else [], value=None), w.document: "",
                w.answer_json: "", w.last_answer: None, w.right: gr.update(choices=RIGHT_NONE, value=""),
                w.feedback_note: "", w.conversation_id: conversation.id, w.conversation_title: conversation.title,
                w.download: "", w.conversations: gr.update(value=conversation.id)}

    def rename(self, conversation_id, title, request: gr.Request):
        owner = owner_of(request)
        if not conversation_id:
            raise gr.Error(OPEN_ONE_FIRST)
        try:
            self.service.history.rename(owner, conversation_id, title or "")
        except RagError as exc:
            raise gr.Error(str(exc)) from None
        return list_update(self.service.history, owner, conversation_id)

    def delete(self, conversation_id, request: gr.Request):
        """Delete the open conversation; the window is emptied for a new one."""
        owner = owner_of(request)
        if not conversation_id:
            raise gr.Error(OPEN_ONE_FIRST)
        try:
            self.service.history.delete(owner, conversation_id)
        except RagError as exc:
            raise gr.Error(str(exc)) from None
        return {**self.emptied(), self.w.conversations: list_update(self.service.history, owner)}

    def export(self, conversation_id, fmt, request: gr.Request):
        if not conversation_id:
            raise gr.Error(OPEN_ONE_FIRST)
        conversation = load(self.service.history, owner_of(request), conversation_id)
        return download_html(conversation, fmt or "md")

    def emptied(self) -> dict:
        w = self.w
        return {w.chat: [], w.shown: [], w.turns: [], w.citations: render.citations_html(None),
                w.passage: gr.update(choices=[], value=None), w.document: "", w.answer_json: "", w.question: "",
                w.last_answer: None, w.right: gr.update(choices=RIGHT_NONE, value=""), w.feedback_note: "",
                w.conversation_id: None, w.conversation_title: "", w.download: "",
                w.conversations: gr.update(value=None)}
