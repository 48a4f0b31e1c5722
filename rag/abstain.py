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
from rag.types import Hit

_WORD = re.compile(r"[\w’'-]+")
# Capitalised words that start questions or are otherwise not names.
_NOT_NAMES = frozenset("""
    a an and are as at be but by can could did do does for from had has have how i if in is it
    its may might of on or should than that the their there these they this those to was were
    what when where which who whom whose why will with would according after before between
    during since about please tell give list name describe explain compare summarise summarize
""".split())


@dataclass(frozen=True)
class Support:
    answerable: bool
    missing_terms: tuple[str, ...] = ()
    best_score: float = 0.0
    reason: str = ""


_YEARS = re.compile(r"^(1[89]|20)\d\d(-(1[89]|20)?\d\d)?s?$")
_EXPECTS_NUMBER = re.compile(r"^\s*(how (many|much)|what (number|percentage|share|proportion))\b", re.I)
_EXPECTS_DATE = re.compile(r"^\s*(when|what (year|date|day|month|time))\b", re.I)
_NUMBER = re.compile(r"\d|\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|"
                     r"fifty|hundreds?|thousands?|millions?|billions?|dozens?|half|once|twice|several|many|few|no)\b", re.I)
_DATE = re.compile(r"\b(1[89]|20)\d\d\b|\b(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+\d|\d\s+"
                   r"(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)|\b(monday|tuesday|wednesday|thursday|friday|"
                   r"saturday|sunday|today|tomorrow|yesterday|tonight|week|month|year|morning|evening|night|spring|"
                   r"summer|autumn|winter|january|february|march|april|june|july|august|september|october|november|"
                   r"december)\b|\b\d{1,2}(st|nd|rd|th)\b", re.I)


def key_terms(question: str) -> list[str]:
    """Names, places and numbers in the question, as written: the words an answer must be about.

    The first word is skipped (a capital there says nothing), and so are years: articles rarely
    restate the year ("on Tuesday"), so a year the corpus lacks is context, not a missing fact.
    """
    found: list[str] = []
    for index, match in enumerate(_WORD.finditer(question)):
        word = re.sub(r"[’']s$", "", match.group()).strip("’'-")
        if not word or _YEARS.match(word):
            continue
        is_number = any(ch.isdigit() for ch in word)
        is_name = index > 0 and word[0].isupper() and word.lower() not in _NOT_NAMES and len(word) > 1
        if (is_number or is_name) and word not in found:
            found.append(word)
    return found


def check(question: str, hits: Sequence[Hit], min_score: float, vocabulary: Container[str] = (),
          missing_name_score: float = 0.75) -> Support:
    """Do the passages answer the question? In order of how sure each test is:

    most of the question's words unknown to the corpus (another language, another topic); a key
    term the corpus never uses; a name the matching passages never use, unless a sentence matches
    very closely anyway (`missing_name_score`: "the Atlantic alliance" is NATO); and the best
    sentence's score under `min_score`. `vocabulary` is every term of the corpus (BM25's).
    """
    if not hits:
        return Support(False, reason="nothing in the index matches the question")
    best = max((s.score - s.bonus for h in hits for s in h.sentences), default=0.0)
    question_terms = list(dict.fromkeys(terms(question)))
    if vocabulary and question_terms:
        known = sum(t in vocabulary for t in question_terms) / len(question_terms)
        # One unknown word is a name the corpus lacks ("Geneva?"), unless it is another script.
        if (known < 0.4 and len(question_terms) >= 3) or (known == 0 and _mostly_non_latin(question)):
            return Support(False, (), best, "most words of the question never occur in the documents "
                                            "(is it in another language than the documents?)")
    keys = [w for w in key_terms(question) if terms(w)]
    absent = [w for w in keys if vocabulary and not any(t in vocabulary for t in terms(w))]
    if absent:
        return Support(False, tuple(absent), best, f"the documents never mention {_join(absent)}")
    seen = {t for h in hits for t in terms(h.text)}
    missing = [w for w in keys if not any(ch.isdigit() for ch in w) and not set(terms(w)) & seen]
    if missing and best < missing_name_score:
        return Support(False, tuple(missing), best,
                       f"none of the passages that match the question mention {_join(missing)}")
    if best < min_score:
        return Support(False, (), best, "no passage answers the question closely enough")
    return Support(True, (), best)


def answer_type_gap(question: str, quotes: Sequence[str]) -> str | None:
    """Why the chosen quotes cannot answer a "how many X" or "when" question, or None if they can.

    "How many X" needs a number next to X (or its stem) in a quote, not just any number; "when"
    needs a date or time in a quote that also holds at least half of the question's terms.
    """
    counted = _EXPECTS_NUMBER.match(question)
    if counted:
        focus = terms(question[counted.end():])[:1]
        if not any(_counts(q, focus) for q in quotes):
            return "the passages that match the question give no such number"
    if _EXPECTS_DATE.match(question):
        wanted = set(terms(question))
        if not any(_DATE.search(q) and len(wanted & set(terms(q))) >= len(wanted) / 2 for q in quotes):
            return "the passages that match the question give no date or time for it"
    return None


def _counts(quote: str, focus: list[str]) -> bool:
    """A number within three words before the focus term ("five rounds", "521 drones and ...")."""
    words = _WORD.findall(quote)
    stems = [terms(w)[:1] for w in words]
    for i, stem in enumerate(stems):
        if not focus or stem == focus:
            window = words[max(0, i - 3):i] if focus else words
            if any(_NUMBER.fullmatch(w) or any(ch.isdigit() for ch in w) for w in window):
                return True
    return False


def _mostly_non_latin(text: str) -> bool:
    letters = [ch for ch in text if ch.isalpha()]
    return bool(letters) and sum(ch > "\u024f" for ch in letters) > len(letters) / 2


def _join(words: Sequence[str]) -> str:
    quoted = [f"“{w}”" for w in words]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]
