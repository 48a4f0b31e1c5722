"""Decide whether the retrieved passages answer the question at all.

Similarity scores alone cannot tell "the corpus discusses this" from "the corpus answers this":
an on-topic question about a venue or a person the documents never name scores as high as an
answerable one. So two checks: the question's key terms (names, places, numbers) must occur in
the passages, and the best sentence must score above a floor calibrated on the dev set
(docs/answers.md). A failed check names what is missing, which is what the user needs to hear.
"""

from __future__ import annotations

import re
from collections.abc import Container, Sequence
from dataclasses import dataclass

from index.lexical import terms
from index.roles import QUOTABLE
from rag import aliases
from rag.query import NUMBER_WORDS, Query, analyse, candidates, counts, has_number, new_answers
from rag.types import Hit


@dataclass(frozen=True)
class Answerability:
    """Whether the passages answer the question, and if not, why: the question's terms the
    documents never use, the best statement's score, a reason a user can read."""

    answerable: bool
    missing_terms: tuple[str, ...] = ()
    best_score: float = 0.0
    reason: str = ""


def check(question: str, hits: Sequence[Hit], min_score: float, vocabulary: Container[str] = (),
          missing_name_score: float = 0.75) -> Answerability:
    """Do the passages answer the question? In order of how sure each test is:

    most of the question's words unknown to the corpus (another language, another topic); a key
    term the corpus never uses; a name the matching passages never use, unless a sentence matches
    very closely anyway (`missing_name_score`: "the Atlantic alliance" is NATO); and the best
    statement's score under `min_score` (the text's own questions and headings match a question
    without answering it, so they do not count). `vocabulary` is every term of the corpus (BM25's).
    """
    if not hits:
        return Answerability(False, reason="nothing in the index matches the question")
    best = max((s.score - s.bonus for h in hits for s in h.sentences if s.role in QUOTABLE), default=0.0)
    question_terms = list(dict.fromkeys(terms(question)))
    if vocabulary and question_terms:
        known = sum(t in vocabulary for t in question_terms) / len(question_terms)
        # One unknown word is a name the corpus lacks ("Geneva?"), unless it is another script.
        if (known < 0.4 and len(question_terms) >= 3) or (known == 0 and _mostly_non_latin(question)):
            return Answerability(False, (), best, "most words of the question never occur in the documents "
                                            "(is it in another language than the documents?)")
    query = analyse(question)
    keys = [w for w in query.names if terms(w)]
    absent = [w for w in keys if vocabulary and not _mentioned(w, question, vocabulary)
              and not any(aliases.phrases(t) for t in terms(w))]  # "America" may be said "United States"
    if absent:
        return Answerability(False, tuple(absent), best, f"the documents never mention {_join(absent)}")
    seen = {t for h in hits for t in terms(h.text)}
    said = " ".join(h.text.lower() for h in hits)
    missing = [w for w in keys if not any(ch.isdigit() for ch in w) and not _mentioned(w, question, seen)
               and not any(p in said for t in terms(w) for p in aliases.phrases(t))]
    if query.broad and len(missing) <= len(keys) / 2:
        missing = []  # a comparison of several sources: most of what it names is enough
    if missing and best < missing_name_score:
        return Answerability(False, tuple(missing), best,
                       f"none of the passages that match the question mention {_join(missing)}")
    if best < min_score:
        return Answerability(False, (), best, "no passage answers the question closely enough")
    return Answerability(True, (), best)


_LOCATIVE = re.compile(r"\b(in|at|to|from|near|into|inside|outside|visit|visited|visiting)\s+(the\s+)?$", re.I)


def _mentioned(word: str, question: str, found: Container[str]) -> bool:
    """Whether `found` (a vocabulary, or the passages' terms) holds `word`: a number also as words
    ("100" as "hundred"), a country also by its capital or people ("Tehran" as "Iran") unless the
    question names the place itself ("did they meet in Moscow?")."""
    stems = terms(word)
    if any(t in found for t in stems):
        return True
    if word.isdigit():
        return any(t in found for w, n in NUMBER_WORDS.items() if n == word for t in terms(w))
    before = question[:question.find(word)] if word in question else ""
    if _LOCATIVE.search(before):
        return False
    return any(a in found for t in stems for a in aliases.alternatives(t))


def answer_type_gap(question: str | Query, quotes: Sequence[str]) -> str | None:
    """Why the chosen quotes cannot answer the question's kind, or None if they can.

    "How many X" needs a number next to X (or its stem) in a quote, not just any number; "when"
    needs a date or time the question does not already give, in the lead quote (the sentence the
    answer leads with must be the answer); "who" / "what is the name of" a name the question does
    not already use ("where": a place), likewise. A broad question (a comparison, a survey of the
    articles) is not held to one sentence. Requiring the lead quote to share a third of the
    question's terms as well, or a yes/no question's lead to share 40 %, caught 3 more of the 26
    unanswerable dev questions but made 4 more false abstentions: not kept (docs/answers.md).
    """
    query = question if isinstance(question, Query) else analyse(question)
    if query.broad:
        return None  # a survey or comparison: no one sentence has to hold a name or a yes
    lead = list(quotes[:1])  # the answer leads with its best sentence: that one must hold the answer
    if query.expects == "number" and query.focus and _HOW_MANY.match(query.text):
        # "How many X": a number beside X. ("How large is the EU loan" is answered by "a €90 billion
        # mortgage": what is measured may be named otherwise; any number will do.)
        if not any(counts(q, query.focus_terms) for q in quotes):
            return "the passages that match the question give no such number"
    elif query.expects == "number":
        if not any(has_number(q) for q in quotes):
            return "the passages that match the question give no such number"
    if query.expects == "date":
        if not any(new_answers("date", candidates("date", q), query.words) for q in lead):
            return "the passages that match the question give no date or time for it"
    if query.expects in ("person", "place", "organisation", "occupation"):
        if not any(new_answers(query.expects, candidates(query.expects, q), query.words) for q in lead):
            return "the passages that match the question " + {
                "person": "do not name anyone it could be", "place": "do not name a place it could be",
                "organisation": f"do not name {_a(query.asks_for or 'organisation')} it could be",
                "occupation": "do not say what the work or profession was"}[query.expects]
    if query.expects in ("money", "age"):
        if not any(new_answers(query.expects, candidates(query.expects, q), query.words) for q in quotes):
            return "the passages that match the question " + (
                "give no amount of money for it" if query.expects == "money" else "do not give anyone's age")
    return None


def _a(noun: str) -> str:
    return f"{'an' if noun[:1].lower() in 'aeiou' else 'a'} {noun}"


_HOW_MANY = re.compile(r"^\W*how\s+(many|much)\b", re.I)


def _mostly_non_latin(text: str) -> bool:
    letters = [ch for ch in text if ch.isalpha()]
    return bool(letters) and sum(ch > "\u024f" for ch in letters) > len(letters) / 2


def _join(words: Sequence[str]) -> str:
    quoted = [f"“{w}”" for w in words]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]
