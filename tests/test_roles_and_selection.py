"""Sentence roles found at index time (index/roles.py) and how the extractive answerer chooses
its sentences (rag/answer/extractive.py): hand-made text and passages, no index."""

from __future__ import annotations

import pytest

from index.roles import sentence_role
from rag.answer.extractive import candidates, compose, select
from rag.query import analyse
from rag.types import Hit, ScoredSentence

PAGE = """Potholes in the road to peace

[By Jane Doe, staff columnist, translated by John Roe]

Why would they pick such a figure? Because he is loyal, Melvin says.

Representatives meet in Abu Dhabi for talks.
Handout via Reuters

Kiev is either split down the middle or becomes neutral territory
- Trump wants the war over quickly
Disclaimer: the views here do not necessarily represent those of the site.
The poll does not necessarily reflect what voters think.
"""


@pytest.mark.parametrize("sentence, role", [
    ("Potholes in the road to peace", "heading"),
    ("[By Jane Doe, staff columnist, translated by John Roe]", "credit"),
    ("Why would they pick such a figure?", "question"),
    ("Because he is loyal, Melvin says.", "body"),
    ("Representatives meet in Abu Dhabi for talks.", "caption"),
    ("Handout via Reuters", "credit"),
    ("Kiev is either split down the middle or becomes neutral territory", "body"),  # a verb: a statement
    ("- Trump wants the war over quickly", "body"),  # a bullet is content
    ("Disclaimer: the views here do not necessarily represent those of the site.", "boilerplate"),
    ("The poll does not necessarily reflect what voters think.", "body"),
])
def test_sentence_roles(sentence, role):
    start = PAGE.index(sentence)
    assert sentence_role(PAGE, start, start + len(sentence)) == role


@pytest.mark.parametrize("sentence, role", [
    ("See Brief for Petitioners 28; supra, at 47–48.", "reference"),
    ("See, e. g., Brief for American College of Tax Counsel as Amicus Curiae 18, 21 (identifying guidance).",
     "reference"),
    ("United States v. Boyd, 991 F. 3d 1077, 1079 (CA9 2021).", "reference"),
    ("Id., at 456–457.", "reference"),
    ("For more information see Chapter 68.", "reference"),
    ("The table access method API is described in Chapter 63.", "reference"),
    ("See Section 28.4.2 for details.", "reference"),
    # statements that name a case or start with "See" are still statements
    ("In Lynch v. Arizona, 578 U. S. 613 (2016), this Court held that Simmons applies.", "body"),
    ("See that the server is stopped before you copy the files.", "body"),
    ("Accordingly, the judgment is reversed.", "body"),
])
def test_a_sentence_that_only_points_elsewhere_is_a_reference(sentence, role):
    assert sentence_role(sentence, 0, len(sentence)) == role


def test_in_a_reader_comment_a_line_without_a_full_stop_is_talk():
    text = "I'll send a map later\n\nUS and Russia split Ukraine down the Dneipr\n"
    start = text.index("US and")
    end = text.index("\n", start)
    assert sentence_role(text, start, end, in_comment=False) == "heading"
    assert sentence_role(text, start, end, in_comment=True) == "body"


def _hit(source: str, rank: int, sentences: list[tuple[str, int, float, str]]) -> Hit:
    scored = tuple(ScoredSentence(quote=q, start_char=s, end_char=s + len(q), score=sc, similarity=sc, coverage=0.0,
                                  role=role) for q, s, sc, role in sentences)
    text = " ".join(q for q, *_ in sentences)
    return Hit(chunk_id=f"{source}-{rank}", source=source, text=text, start_char=0, end_char=len(text), score=1.0,
               rank=rank, sentences=tuple(sorted(scored, key=lambda x: -x.score)))


def test_the_answer_leads_with_its_best_sentence_then_reads_in_document_order():
    query = analyse("Why did Russia and Turkey agree on Istanbul?")
    hits = [_hit("a.txt", 1, [("Russia agreed to Istanbul because of the earlier talks.", 500, 0.9, "body"),
                              ("Why did Russia agree on Istanbul at all?", 400, 1.2, "question"),
                              ("Turkey was also willing to host the delegations there.", 100, 0.8, "body")])]
    chosen = select(candidates(hits), query, max_sentences=3, margin=0.3)
    assert [s.start_char for s, _ in chosen] == [500, 100]  # the lead, then the rest in document order
    assert all(s.role == "body" for s, _ in chosen)  # the text's own question is never quoted


def test_a_sentence_joins_only_when_it_adds_evidence():
    query = analyse("Who heads the Russian delegation?")
    hits = [_hit("a.txt", 1, [("The Russian delegation is headed by Vladimir Medinsky.", 0, 1.0, "body"),
                              ("The Russian delegation is headed by a conservative.", 200, 0.95, "body"),
                              ("Jensen calls Dmitry Kozak the old negotiator.", 400, 0.9, "body")])]
    chosen = select(candidates(hits), query, max_sentences=3, margin=0.3)
    # The second sentence repeats what the lead holds; the third names someone new.
    assert [s.start_char for s, _ in chosen] == [0, 400]


def test_answer_builds_markers_and_attributes_reader_comments():
    hits = [_hit("a.txt", 1, [("China is giving the EU a lifeline today.", 0, 1.0, "body")])]
    hits[0] = Hit(**{**hits[0].__dict__, "section": "reader comment 10 by KT Chong"})
    text = "China is giving the EU a lifeline today."
    extract = compose(hits, lambda source: text, analyse("What is China giving the EU?"))
    assert extract.text == "Reader comment 10 by KT Chong: “China is giving the EU a lifeline today.” [1]"
    assert extract.citations[0].quote == text


def test_every_backend_has_an_answerer_and_the_table_is_what_everyone_reads(monkeypatch):
    from rag import backends
    from rag.answer import build
    from rag.answer.extractive import ExtractiveAnswerer
    from rag.answer.generative import GenerativeAnswerer
    from rag.cli import build_parser
    from rag.config import RagConfig

    for name in backends.names():
        kind = ExtractiveAnswerer if backends.get(name).llm is None else GenerativeAnswerer
        assert isinstance(build(name, RagConfig(), corpus=None), kind)
    monkeypatch.setattr(backends, "BACKENDS", dict(backends.BACKENDS))
    backends.register(backends.Backend("echo", lambda config: None, "llm", offer=lambda config: "echo server"))
    assert RagConfig(generator="echo").generator == "echo"  # the configuration's check reads the table
    assert ("echo server", "echo") in backends.offered(RagConfig())  # so does the chat's list
    assert build_parser().parse_args(["ask", "q", "--generator", "echo"]).generator == "echo"  # and the CLI
    with pytest.raises(Exception, match="generator must be one of extractive, openai"):
        RagConfig(generator="nosuch")


def test_asked_what_something_is_a_lead_that_points_back_follows_the_sentence_it_points_to():
    query = analyse("What is a WITH query?")
    hits = [_hit("a.html", 1, [("WITH provides a way to write auxiliary statements for use in a larger query.", 0, 0.9,
                                "body"),
                               ("These statements, often called CTEs, define temporary tables for one query.", 78, 1.1,
                                "body"),
                               ("Each auxiliary statement can be a SELECT.", 500, 0.7, "body")])]
    chosen = select(candidates(hits), query, max_sentences=3, margin=0.3)
    assert [s.start_char for s, _ in chosen][:2] == [0, 78]
    yesno = analyse("Do these statements define temporary tables?")  # a yes/no: the lead itself answers
    assert select(candidates(hits), yesno, max_sentences=3, margin=0.3)[0][0].start_char == 78

