"""Sentence scoring (rag.rescore) and the abstention check (rag.abstain) on hand-built chunks and
hits, each rule on its own: no model, no index."""

from __future__ import annotations

import numpy as np
import pytest

from index.types import Chunk, SentenceSpan
from rag import abstain
from rag.query import analyse
from rag.rescore import Scoring, best_sentence_score, coverage, query_terms, score_sentences
from rag.types import Hit, ScoredSentence

TEXT = ("The lighthouse was rebuilt in 1911. Ada Fenwick kept its lamp burning through the winter of 1912. "
        "Where did the keeper live?")


def _chunk(text: str = TEXT, roles: tuple[str, ...] = ("body", "body", "question")) -> Chunk:
    spans, at = [], 0
    for sentence, role in zip([s + "." if not s.endswith("?") else s for s in _split(text)], roles):
        start = text.index(sentence.rstrip("."), at)
        end = start + len(sentence.rstrip(".")) + (1 if sentence.endswith(".") else 0)
        spans.append(SentenceSpan(start, end, start, end, role))
        at = end
    return Chunk(chunk_id="c1", doc_id="log.txt", ordinal=0, text=text, start_char=0, end_char=len(text),
                 sentences=tuple(spans))


def _split(text: str) -> list[str]:
    parts = [p.strip() for p in text.replace("?", "?|").replace(". ", ".|").split("|") if p.strip()]
    return [p[:-1] if p.endswith(".") else p for p in parts]


def test_question_terms_carry_their_idf_and_unknown_ones_weigh_most():
    weighted = query_terms("Who kept the lamp, the lamp?", {"kept": 1.5, "lamp": 2.0}, unseen_idf=9.0)
    assert weighted == {"who": 9.0, "kept": 1.5, "lamp": 2.0}  # "the" out, each term once, unseen ones highest
    assert query_terms("Kept the zeppelin?", {"kept": 1.5}, 9.0) == {"kept": 1.5, "zeppelin": 9.0}
    assert coverage("The lamp was lit.", {"kept": 1.0, "lamp": 3.0}) == pytest.approx(0.75)
    assert coverage("anything", {}) == 0.0


def test_a_sentence_scores_its_similarity_plus_weighted_coverage():
    chunk = _chunk()
    vectors = np.eye(3, 4, dtype=np.float32)  # sentence i points along axis i
    query = np.array([0.0, 1.0, 0.0, 0.0], dtype=np.float32)  # the question is sentence 2's direction
    weighted = query_terms("Who kept the lamp burning in 1912?", {}, unseen_idf=1.0)
    scored = score_sentences(chunk, vectors, query, TEXT, weighted, scoring=Scoring(coverage_weight=0.5))
    best = scored[0]
    assert best.quote == "Ada Fenwick kept its lamp burning through the winter of 1912."
    assert best.similarity == pytest.approx(1.0) and best.coverage == pytest.approx(0.8)  # all but "who"
    assert best.score == pytest.approx(1.0 + 0.5 * best.coverage)
    assert [s.score for s in scored] == sorted((s.score for s in scored), reverse=True)  # best first
    assert TEXT[best.start_char:best.end_char] == best.quote  # spans index the document


def test_without_stored_vectors_similarity_counts_as_zero():
    scored = score_sentences(_chunk(), None, np.ones(4, dtype=np.float32), TEXT, {"lamp": 1.0})
    assert all(s.similarity == 0.0 for s in scored)
    assert scored[0].quote.startswith("Ada Fenwick")  # coverage alone ranks


def test_the_texts_own_question_does_not_rank_its_passage():
    chunk = _chunk()
    vectors = np.eye(3, 4, dtype=np.float32)
    query = np.array([0.0, 0.0, 1.0, 0.0], dtype=np.float32)  # closest to "Where did the keeper live?"
    score, span = best_sentence_score(chunk, vectors, query, {})
    assert span != (chunk.sentences[2].doc_start, chunk.sentences[2].doc_end)  # the question is passed over
    assert score == pytest.approx(0.0)


def test_a_why_question_rewards_a_reason():
    chunk = _chunk("The pier was closed because the storm broke it. The pier is long. What now?")
    scored = score_sentences(chunk, None, np.zeros(4, dtype=np.float32), chunk.text, {},
                             analyse("Why was the pier closed?"), Scoring(answer_weight=0.3))
    assert scored[0].quote.startswith("The pier was closed because") and scored[0].bonus == pytest.approx(0.3)


def _hit(sentences: list[tuple[str, float]], source: str = "log.txt") -> Hit:
    scored = tuple(ScoredSentence(quote=q, start_char=0, end_char=len(q), score=s, similarity=s, coverage=0.0)
                   for q, s in sentences)
    text = " ".join(q for q, _ in sentences)
    return Hit(chunk_id=f"{source}-1", source=source, text=text, start_char=0, end_char=len(text), score=1.0,
               sentences=scored)


VOCABULARY = {"lighthous", "rebuilt", "ada", "fenwick", "kept", "lamp", "burn", "winter", "keeper"}


def test_the_documents_answer_when_a_close_statement_holds_the_question_terms():
    hits = [_hit([("Ada Fenwick kept the lamp burning through the winter.", 0.8)])]
    verdict = abstain.check("Who kept the lamp burning?", hits, min_score=0.45, vocabulary=VOCABULARY)
    assert verdict.answerable and verdict.best_score == pytest.approx(0.8)


@pytest.mark.parametrize("question, hits, reason, missing", [
    ("Who kept the lamp?", [], "nothing in the index matches the question", ()),
    ("Wer hat die Lampe im Winter gehalten?", [_hit([("Ada Fenwick kept the lamp.", 0.9)])],
     "most words of the question never occur in the documents", ()),
    ("Did Ada Fenwick keep the lamp in Geneva?", [_hit([("Ada Fenwick kept the lamp.", 0.9)])],
     "the documents never mention “Geneva”", ("Geneva",)),
    ("Who kept the lamp burning?", [_hit([("Ada Fenwick kept the lamp burning.", 0.3)])],
     "no passage answers the question closely enough", ()),
])
def test_each_reason_to_abstain(question, hits, reason, missing):
    verdict = abstain.check(question, hits, min_score=0.45, vocabulary=VOCABULARY)
    assert not verdict.answerable and verdict.reason.startswith(reason) and verdict.missing_terms == missing


def test_a_name_the_passages_lack_is_forgiven_only_for_a_very_close_sentence():
    hits = [_hit([("The keeper kept the lamp burning through the winter.", 0.6)])]
    vocabulary = VOCABULARY | {"tom", "hale"}
    lacking = abstain.check("Did Tom Hale keep the lamp burning?", hits, 0.45, vocabulary, missing_name_score=0.75)
    assert not lacking.answerable and lacking.missing_terms == ("Tom", "Hale")
    close = [_hit([("The keeper kept the lamp burning through the winter.", 0.9)])]
    assert abstain.check("Did Tom Hale keep the lamp burning?", close, 0.45, vocabulary, 0.75).answerable
