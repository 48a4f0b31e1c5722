"""One reading of a question (rag/query.py): its form, the answer it expects, its focus, and which
sentences hold such an answer. Pure functions, no index."""

from __future__ import annotations

import pytest

from rag.query import analyse, key_terms


@pytest.mark.parametrize("question, form, expects", [
    ("Who heads the Russian delegation?", "wh", "person"),
    ("whose idea was the ceasefire?", "wh", "person"),
    ("Who led the delegation in 2022 and who in Istanbul?", "wh", "person"),
    ("What is the name of the Chechen commander?", "wh", "person"),
    ("Which Carnegie analyst called it obscurantist?", "wh", "person"),
    ("Which city hosted the talks?", "wh", "place"),
    ("Where did Zelensky fly?", "wh", "place"),
    ("How many rounds of talks were held?", "wh", "number"),
    ("How long should I bake bread?", "wh", "duration"),
    ("How often is the light inspected?", "wh", "frequency"),
    ("How many times a year do they meet?", "wh", "frequency"),
    ("How frequently does the server start a checkpoint?", "wh", "frequency"),
    ("How old was Kate Bartenwerfer when she bought the house?", "wh", "age"),
    ("What is the retail price of the module?", "wh", "money"),
    ("Which law firm represented Bittner?", "wh", "organisation"),
    ("What was Kate's profession before the remodel?", "wh", "occupation"),
    ("How do I create an index without locking out writes?", "howto", None),
    ("What command reclaims the space of dead rows?", "howto", None),
    ("What must a taxpayer do to report 25 accounts?", "howto", None),
    ("When did the talks restart?", "wh", "date"),  # a date, here and in abstention alike
    ("On what date did the talks restart?", "wh", "date"),
    ("What is BATNA?", "definition", None),
    ("Who is Vladimir Medinsky?", "definition", None),
    ("What is Russia's BATNA, according to the author?", "definition", None),
    ("What does Melvin mean by the Ukrainian minimum?", "definition", None),
    ("Why was Istanbul picked?", "why", None),
    ("What caused the near-deal to fall apart?", "why", None),
    ("How did Putin undercut the ceasefire push?", "how", None),
    ("Did Trump back restarting the talks?", "yesno", None),
    ("Is a major step forward likely soon?", "yesno", None),
    ("And did Kyiv agree?", "yesno", None),
    ("What was the outcome of the talks in Istanbul last week?", "wh", None),
    ("Tell me who won", "wh", None),  # "who" inside a sentence is not the question word
])
def test_form_and_expected_answer(question, form, expects):
    query = analyse(question)
    assert (query.form, query.expects) == (form, expects)


def test_focus_is_what_a_definition_or_a_count_is_about():
    assert analyse("What is Russia's BATNA, according to the author?").focus == "Russia's BATNA"
    assert analyse("What does Melvin mean by the Ukrainian minimum?").focus == "Ukrainian minimum"
    assert analyse("How many rounds of negotiations have been held?").focus == "rounds"
    assert analyse("How large is each WAL segment file normally?").focus == "WAL segment file"


def test_a_number_beside_what_is_counted_or_measured():
    from rag.abstain import answer_type_gap
    from rag.query import counts

    segment = analyse("How large is each WAL segment file normally?").focus_terms
    assert counts("WAL logs are stored as a set of segment files, normally each 16 MB in size.", segment)
    assert not counts("Each segment is divided into pages, normally 8 kB each.", segment)  # the pages' size
    # "How many X" abstains without a number beside X; what is measured may be named otherwise
    assert answer_type_gap("How many rounds of talks were held?", ["The talks were held in 2022 in three cities."])
    assert not answer_type_gap("How large is the EU loan?", ["The €90 billion mortgage was agreed by EU leaders."])
    assert analyse("Who is Rubio?").focus_terms == ("rubio",)


def test_a_person_is_a_whole_name_the_question_does_not_already_use():
    who = analyse("Who heads the Russian delegation?")
    assert who.holds_answer("The Russian delegation is headed by Vladimir Medinsky, a former minister.")
    assert not who.holds_answer("With Russia's assault in its second week, Ukrainian and Russian delegates met.")
    assert not who.holds_answer("The Russian delegation arrived late.")  # "The Russian": a function word
    # a country or state, an institution or a law is not anyone
    assert not who.holds_answer("The Russian delegation arrived from Romania and Arizona.")
    assert not who.holds_answer("The Russian delegation cited the Bank Secrecy Act and the Federal Government.")
    named = analyse("Which analyst called Medinsky's society obscurantist?")
    assert not named.holds_answer("The delegation is headed by Vladimir Medinsky, who oversees the society.")


def test_a_place_a_number_and_a_date():
    where = analyse("Where did Zelensky fly after the talks?")
    assert where.holds_answer("Zelensky left for an official visit to Albania at 19:30.")
    assert not where.holds_answer("Zelensky left after the talks ended.")
    assert not where.holds_answer("Afterwards the delegation rested.")  # a capital that opens the sentence
    how_many = analyse("How many rounds of negotiations have been held?")
    assert how_many.holds_answer("Both sides have conducted five rounds of direct negotiations.")
    assert not how_many.holds_answer("Both sides have conducted direct negotiations.")
    manual = analyse("Where does ANALYZE put the statistics it collects?")  # a manual's places
    assert manual.holds_answer("ANALYZE stores the results in the pg_statistic system catalog.")
    assert manual.holds_answer("The files are kept in /var/lib/postgresql/15/main.")
    assert not manual.holds_answer("ANALYZE collects statistics and/or samples about 3/4 of the table.")
    led = analyse("Who led Ukraine's delegation at the talks?")  # after "in", a capital names a place
    assert not led.holds_answer("The negotiations held in Belarus and Istanbul were led by delegations.")
    assert led.holds_answer("The delegation in Istanbul was led by Rustem Umerov.")
    when = analyse("When did the talks restart?")
    assert when.holds_answer("The talks restarted on May 15th.") and when.holds_answer("They met in March 2022.")
    assert not when.holds_answer("The talks restarted in Istanbul.")


def test_key_terms_are_names_and_numbers_not_the_first_word_or_a_year():
    assert key_terms("Did the delegations meet in Geneva in 2022 with 12 officials?") == ["Geneva", "12"]
    assert key_terms("Where did Zelensky's plane land?") == ["Zelensky"]
