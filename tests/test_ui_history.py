"""Conversations in the chat window, through its handler functions (no server, no browser): each
question and answer is recorded with its citations, a conversation opens again as it was and is
continued with its turns as the history, and nobody reaches another owner's conversation."""

from __future__ import annotations

import json

import gradio as gr
import pytest

from rag.config import RagConfig
from rag.history import LOCAL_OWNER, History
from rag.types import Answer, Citation, PageRef

DOCUMENT = ("Harbour notes. The Quillmere lighthouse was rebuilt in 1911 after a storm. "
            "Ada Fenwick kept the lamp burning through the winter of 1912. The end.")
QUOTE = "The Quillmere lighthouse was rebuilt in 1911 after a storm."


class FakeService:
    """The parts of ui.chat.ChatService the window uses, answering from one document."""

    def __init__(self, data_dir) -> None:
        self.config = RagConfig(data_dir=data_dir, upload_dir=data_dir / "uploads")
        self.history = History(data_dir / "conversations.sqlite")
        self.asked: list[dict] = []

    def generators(self):
        return [("extractive", "extractive")]

    def ask(self, question, *, k=None, mode=None, sources=None, history=(), generator=None):
        self.asked.append({"question": question, "history": [list(t) for t in history]})
        start = DOCUMENT.index(QUOTE)
        citation = Citation(marker=1, source="notes.txt", quote=QUOTE, start_char=start, end_char=start + len(QUOTE),
                            passage=DOCUMENT, passage_start=0, passage_end=len(DOCUMENT), chunk_id="c1",
                            pages=(PageRef(number=1, label="1", start=0, end=len(DOCUMENT)),))
        yield Answer(question=question, text=f"{QUOTE} [1]", abstained=False, citations=(citation,),
                     generator="extractive")

    def document(self, source):
        return DOCUMENT if source == "notes.txt" else None

    def pages(self, source):
        return ()

    def page_image(self, *args):
        return None


@pytest.fixture
def window(tmp_path):
    from ui.app import _layout
    from ui.conversation_panel import ConversationPanel
    from ui.handlers import Handlers

    service = FakeService(tmp_path)
    with gr.Blocks():
        w = _layout(service)
    w.service, w.handlers, w.panel = service, Handlers(service, None, w), ConversationPanel(service, w)
    yield w
    service.history.close()


def user(name: str | None = None) -> gr.Request:
    return gr.Request(username=name)


def ask(w, question: str, state: dict, request: gr.Request) -> dict:
    """Ask as the window does, carrying the session's state from one answer to the next."""
    *_, final = w.handlers.respond(question, state.get("shown", []), state.get("turns", []), [], 5, "hybrid",
                                   "extractive", state.get("conversation_id"), request)
    state.update(shown=final[w.shown], turns=final[w.turns], conversation_id=final[w.conversation_id])
    return final


def test_an_answer_is_recorded_and_listed_with_its_citations(window):
    state = {}
    ask(window, "When was the lighthouse rebuilt?", state, user())
    listed = window.panel.refresh(state["conversation_id"], user())["choices"]  # as after every answer
    assert [value for _, value in listed] == [state["conversation_id"]]
    assert listed[0][0].startswith("When was the lighthouse rebuilt?")
    stored = window.service.history.get(LOCAL_OWNER, state["conversation_id"])
    (turn,) = stored.turns
    assert turn.finished and turn.answer_text == f"{QUOTE} [1]" and turn.answerer == "extractive"
    assert turn.citations[0]["quote"] == QUOTE and turn.citations[0]["source"] == "notes.txt"

    ask(window, "Who kept the lamp?", state, user())  # the same conversation goes on
    assert len(window.service.history.get(LOCAL_OWNER, state["conversation_id"]).turns) == 2


def test_open_restores_messages_and_citations_and_a_follow_up_uses_its_turns(window):
    state = {}
    first = ask(window, "When was the lighthouse rebuilt?", state, user())
    window.panel.emptied()  # a new page, or "New conversation"
    opened = window.panel.open(state["conversation_id"], user())
    assert opened[window.chat] == first[window.chat]  # the bubbles as they were, markers linked
    assert "(#cite-1)" in opened[window.chat][-1]["content"]
    panel = opened[window.citations]
    assert 'id="cite-1"' in panel and f"<mark>{QUOTE}</mark>" in panel and "notes.txt" in panel
    assert opened[window.passage]["choices"] == first[window.passage]["choices"]
    assert opened[window.turns] == [["user", "When was the lighthouse rebuilt?"], ["assistant", f"{QUOTE} [1]"]]

    restored = {"shown": opened[window.shown], "turns": opened[window.turns],
                "conversation_id": opened[window.conversation_id]}
    ask(window, "And who kept its lamp?", restored, user())
    assert window.service.asked[-1]["history"] == opened[window.turns]
    assert len(window.service.history.get(LOCAL_OWNER, state["conversation_id"]).turns) == 2


def test_rename_export_and_delete(window):
    state = {}
    ask(window, "When was the lighthouse rebuilt?", state, user())
    conversation_id = state["conversation_id"]
    listed = window.panel.rename(conversation_id, "Lighthouse history", user())
    assert listed["choices"][0][0].startswith("Lighthouse history")

    import base64

    markdown = window.panel.export(conversation_id, "md", user())
    assert 'download="Lighthouse-history.md"' in markdown
    text = base64.b64decode(markdown.split("base64,")[1].split('"')[0]).decode()
    assert text.startswith("# Lighthouse history") and f'[1] notes.txt, p. 1, characters' in text
    exported = window.panel.export(conversation_id, "json", user())
    data = json.loads(base64.b64decode(exported.split("base64,")[1].split('"')[0]))
    assert data["title"] == "Lighthouse history" and data["turns"][0]["citations"][0]["quote"] == QUOTE

    emptied = window.panel.delete(conversation_id, user())
    assert emptied[window.chat] == [] and emptied[window.conversation_id] is None
    assert emptied[window.conversations]["choices"] == []
    with pytest.raises(gr.Error, match="no such conversation"):
        window.panel.open(conversation_id, user())


def test_another_owner_cannot_reach_a_conversation(window):
    state = {}
    ask(window, "When was the lighthouse rebuilt?", state, user("ann"))
    ann_id = state["conversation_id"]
    assert window.panel.refresh(None, user("bob"))["choices"] == []
    assert window.panel.refresh(None, user())["choices"] == []  # nor the loginless owner
    for attempt in (lambda: window.panel.open(ann_id, user("bob")),
                    lambda: window.panel.export(ann_id, "md", user("bob")),
                    lambda: window.panel.rename(ann_id, "mine now", user("bob")),
                    lambda: window.panel.delete(ann_id, user("bob"))):
        with pytest.raises(gr.Error) as refused:
            attempt()
        assert refused.value.message == "no such conversation"  # the one line, as for an id that never was
    # bob asking with ann's id (as if it were in his session) starts a conversation of his own
    bob = {"conversation_id": ann_id}
    ask(window, "Who kept the lamp?", bob, user("bob"))
    assert bob["conversation_id"] != ann_id
    assert len(window.service.history.get("ann", ann_id).turns) == 1
    assert window.panel.open(ann_id, user("ann"))[window.conversation_id] == ann_id


def test_a_failing_history_store_does_not_stop_the_answer(window, caplog):
    from rag.errors import StoreError

    def broken(*args, **kwargs):
        raise StoreError("the conversations file cannot be used (disk I/O error)")

    window.service.history.create = broken
    final = ask(window, "When was the lighthouse rebuilt?", {}, user())
    assert "(#cite-1)" in final[window.chat][-1]["content"] and final[window.conversation_id] is None
    assert "disk I/O error" in caplog.text and "answering without recording" in caplog.text


def test_without_a_login_each_browser_has_its_own_conversations():
    from ui.conversations import owner_of
    from ui.guard import BROWSER_COOKIE

    first = gr.Request(username=None, cookies={BROWSER_COOKIE: "a" * 43})
    second = gr.Request(username=None, cookies={BROWSER_COOKIE: "b" * 43})
    assert owner_of(first) != owner_of(second)
    assert "a" * 43 not in owner_of(first), "the cookie, a credential, is not what is stored"
    assert owner_of(gr.Request(username="ann", cookies={BROWSER_COOKIE: "a" * 43})) == "ann"
