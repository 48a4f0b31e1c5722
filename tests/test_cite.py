"""Unit tests for verifying LLM replies (rag/cite.py), follow-up rules (rag/followup.py) and the
injection patterns (rag/injection.py): pure functions over hand-made passages, no index needed."""

from __future__ import annotations

import pytest

from index.sentences import split_sentences
from rag.cite import split_reply, support, verify
from rag.types import Hit, ScoredSentence

SOURCE = "doc.txt"


def passage(text: str, source: str = SOURCE) -> Hit:
    """A retrieved chunk that is the whole of `text`, its sentences scored in order."""
    sentences = tuple(ScoredSentence(text[a:b], a, b, 1.0 - i / 100, 0.5, 0.5)
                      for i, (a, b) in enumerate(split_sentences(text)))
    return Hit(chunk_id=f"{source}-0", source=source, text=text, start_char=0, end_char=len(text), score=1.0,
               sentences=sentences)


def check(reply: str, *texts: str):
    hits = [passage(t, f"doc{i}.txt") for i, t in enumerate(texts)]
    sentences, citations = verify(reply, hits, lambda source: texts[int(source[3:-4])])
    return sentences, citations


# --- numbers and negations -------------------------------------------------------------------

TALKS = ("The talks began in Istanbul in 1994 with 3 delegations. "
         "Turnout rose by 40% after the second round. "
         "Russia has not agreed to a ceasefire.")


@pytest.mark.parametrize("claim, number", [
    ("The talks began in Istanbul in 1995 [1].", "1995"),
    ("The talks began in Istanbul in 1994 with 4 delegations [1].", "4"),
    ("Turnout rose by 45% after the second round [1].", "45"),
])
def test_a_number_the_quote_does_not_hold_makes_the_sentence_unsupported(claim, number):
    [sentence], _ = check(claim, TALKS)
    assert not sentence.supported
    assert sentence.problem == f"number {number} missing from passage [1]"


@pytest.mark.parametrize("claim", [
    "The talks began in Istanbul in 1994 with 3 delegations [1].",
    "Turnout rose by 40% after the second round [1].",
    "The talks began in Istanbul in 1994 with three delegations [1].",
])
def test_numbers_the_quote_holds_are_supported(claim):
    [sentence], citations = check(claim, TALKS)
    assert sentence.supported, sentence.problem
    assert citations[0].quote in TALKS


def test_a_claim_in_digits_is_backed_by_a_quote_in_words():
    [sentence], _ = check("Three delegations met in Istanbul [1].",
                          "Three delegations met in Istanbul. Nothing else happened.")
    assert sentence.supported
    [sentence], _ = check("3 delegations met in Istanbul [1].", "Three delegations met in Istanbul.")
    assert sentence.supported


@pytest.mark.parametrize("claim", [
    "Russia has agreed to a ceasefire [1].",  # the quote says "not"
])
def test_dropping_the_quotes_negation_is_unsupported(claim):
    [sentence], _ = check(claim, TALKS)
    assert not sentence.supported and sentence.problem == "negation mismatch with passage [1]"


@pytest.mark.parametrize("claim", [
    "The talks did not begin in Istanbul [1].",
    "The talks never began in Istanbul [1].",
    "The talks didn't begin in Istanbul [1].",
    "There were no talks in Istanbul [1].",
])
def test_adding_a_negation_the_quote_lacks_is_unsupported(claim):
    [sentence], _ = check(claim, "The talks began in Istanbul.")
    assert not sentence.supported and sentence.problem == "negation mismatch with passage [1]"


def test_a_negated_claim_backed_by_a_negated_quote_is_supported():
    [sentence], _ = check("Russia hasn't agreed to a ceasefire [1].", TALKS)
    assert sentence.supported, sentence.problem


def test_support_prefers_the_sentence_without_a_contradiction():
    hit = passage("Kyiv has not agreed to the plan. Moscow agreed to the plan on Monday.")
    result = support("Moscow agreed to the plan [1].", hit)
    assert result.problem is None and result.quote.quote.startswith("Moscow agreed")


# --- where markers go ------------------------------------------------------------------------

@pytest.mark.parametrize("reply", [
    "Medinsky heads the delegation. [1] Kozak led it before. [2]",  # after the full stop, then text
    "Medinsky heads the delegation.[1] Kozak led it before.[2]",  # glued to the full stop
    "Medinsky heads the delegation [1]. Kozak led it before [2].",  # before the full stop
    "Medinsky heads the delegation. [1]\nKozak led it before. [2]",
])
def test_a_marker_belongs_to_the_sentence_before_it(reply):
    assert [markers for _, markers in split_reply(reply)] == [(1,), (2,)]
    assert [strip(text) for text, _ in split_reply(reply)] == ["Medinsky heads the delegation.",
                                                              "Kozak led it before."]


@pytest.mark.parametrize("reply", [
    "Medinsky heads the delegation [1][2]. Kozak led it before [2, 3].",
    "Medinsky heads the delegation. [1][2] Kozak led it before. [2, 3]",
    "Medinsky heads the delegation.[1] [2] Kozak led it before.[2; 3]",
])
def test_several_markers_stay_with_their_sentence(reply):
    assert [markers for _, markers in split_reply(reply)] == [(1, 2), (2, 3)]


def test_split_reply_keeps_the_text_as_written():
    reply = 'He said "yes." [3] Dr. Smith met the U.S. envoy.[4] Then nothing'
    pieces = split_reply(reply)
    assert pieces == [('He said "yes." [3]', (3,)), ("Dr. Smith met the U.S. envoy.[4]", (4,)), ("Then nothing", ())]


def test_markers_after_the_full_stop_are_checked_against_their_own_passage():
    sentences, citations = check("Medinsky heads the delegation. [1] Kozak led it before. [2]",
                                 "Medinsky heads the delegation.", "Kozak led it before.")
    assert [(s.markers, s.supported) for s in sentences] == [((1,), True), ((2,), True)]
    assert [c.quote for c in citations] == ["Medinsky heads the delegation.", "Kozak led it before."]


def strip(text: str) -> str:
    from rag.cite import strip_markers

    return strip_markers(text).replace(" .", ".")
