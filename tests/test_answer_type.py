"""The expected answer type: which questions get one, and which sentences hold it."""

from __future__ import annotations

import pytest

from rag.answer_type import expected_answer


@pytest.mark.parametrize("question, kind", [
    ("Who heads the Russian delegation?", "person"),
    ("whose idea was the ceasefire?", "person"),
    ("Who led the delegation in 2022 and who in Istanbul?", "person"),
    ("Which city hosted the talks?", "place"),
    ("Where did Zelensky fly?", "place"),
    ("How many rounds of talks were held?", "number"),
    ("When did the talks restart?", "number"),
    ("What is BATNA?", None),
    ("Why was Istanbul picked?", None),
    ("How long should I bake bread?", None),  # a duration is not a count: no guess
    ("Tell me who won", None),  # "who" inside a sentence is not the question word
])
def test_question_kinds(question, kind):
    found = expected_answer(question)
    assert (found.kind if found else None) == kind


def test_a_person_is_two_capitalised_words_the_question_does_not_already_name():
    who = expected_answer("Who heads the Russian delegation?")
    assert who.found_in("The Russian delegation is headed by Vladimir Medinsky, a former minister.")
    assert not who.found_in("With Russia's assault now in its second week, Ukrainian and Russian delegates met.")
    assert not who.found_in("The Russian delegation arrived late.")  # "The Russian": a function word and a question word


def test_a_place_is_a_capitalised_word_inside_the_sentence_that_the_question_lacks():
    where = expected_answer("Where did Zelensky fly after the talks?")
    assert where.found_in("Zelensky left for an official visit to Albania at 19:30.")
    assert not where.found_in("Zelensky left after the talks ended.")
    assert not where.found_in("Afterwards the delegation rested.")  # a capital that opens the sentence


def test_a_number_is_digits_number_words_or_a_month():
    how_many = expected_answer("How many rounds of negotiations have been held?")
    assert how_many.found_in("Both sides have conducted five rounds of direct negotiations.")
    assert how_many.found_in("They met on May 15th.")
    assert not how_many.found_in("Both sides have conducted direct negotiations.")
