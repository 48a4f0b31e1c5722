"""What kind of thing a question asks for, and whether a sentence holds one.

"Who heads the Russian delegation in the talks on the Belarusian-Polish border?" shares most of
its words with the article's opening sentence about those talks, but only the sentence that names
someone ("... is headed by Vladimir Medinsky") answers it. Classic factoid QA checks the expected
answer type; here it is three cheap patterns: a person (or body) for "who", a place for "where"
and "which city/country", a number or date for "how many", "when". A sentence that holds a
candidate the question does not already contain gets a bonus in sentence scoring
(`answer_type_weight`); everything else is scored as before.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_PERSON_Q = re.compile(r"^\W*(who|whom|whose)\b|\b(and|or) who\b", re.I)
_PLACE_Q = re.compile(r"^\W*(where\b|(which|what) (cit(y|ies)|countr(y|ies)|towns?|places?|venues?|regions?)\b)", re.I)
_NUMBER_Q = re.compile(r"^\W*(how (many|much|large)|when|(in )?what (year|date))\b", re.I)

# Two or more capitalised words in a row ("Vladimir Medinsky", "Russian Federation Council").
_NAME = re.compile(r"[A-Z][\w'’-]*(?:\s+(?:[A-Z][\w'’-]*|de|von|van|bin|al))*\s+[A-Z][\w'’-]+")
# A capitalised word that does not open a sentence.
_PROPER = re.compile(r"(?<![.!?:\"“]\s)(?<!^)\b[A-Z][a-z]+")
_NUMBER = re.compile(
    r"\b(\d[\d,.]*(st|nd|rd|th|d)?|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|"
    r"thirty|forty|fifty|hundreds?|thousands?|millions?|billions?|first|second|third|fourth|fifth|"
    r"January|February|March|April|May|June|July|August|September|October|November|December)\b", re.I)
# Capitalised function words, which open sentences and titles without naming anything.
_FUNCTION = frozenset(
    "The A An In On At With And But If When While This That These Those It He She They We I You As For Of To So "
    "Or Not No Yes Then There Here Its His Her Their Our My Your From By After Before Since Until Also".split())


@dataclass(frozen=True)
class AnswerType:
    """The expected kind of answer (`person`, `place` or `number`) and the question's own words,
    which never count as the answer."""

    kind: str
    question_words: frozenset[str]

    def found_in(self, sentence: str) -> bool:
        return self.holds(candidates(self.kind, sentence))

    def holds(self, candidate_words: frozenset[str]) -> bool:
        """Whether a sentence's `candidates` include one the question does not already contain."""
        return bool(candidate_words - self.question_words)


def candidates(kind: str, sentence: str) -> frozenset[str]:
    """The words of `sentence` that could answer a `kind` question, folded (names for `person`,
    capitalised words inside the sentence for `place`, numbers and months for `number`). They do
    not depend on the question, so callers may cache them per sentence."""
    if kind == "person":
        found = [word for match in _NAME.finditer(sentence) for word in _named_words(match.group())]
    elif kind == "place":
        found = [m.group() for m in _PROPER.finditer(sentence) if m.group() not in _FUNCTION]
    else:
        found = [m.group() for m in _NUMBER.finditer(sentence)]
    return frozenset(_fold(word) for word in found)


def expected_answer(question: str) -> AnswerType | None:
    """The answer type `question` asks for, or None when it is not a who/where/how-many question."""
    for kind, pattern in (("person", _PERSON_Q), ("place", _PLACE_Q), ("number", _NUMBER_Q)):
        if pattern.search(question):
            return AnswerType(kind, frozenset(_fold(w) for w in re.findall(r"[\w'’-]+", question)))
    return None


def _named_words(name: str) -> list[str]:
    """The words of a capitalised run that name something: at least two besides function words."""
    words = [w for w in name.split() if w not in _FUNCTION]
    return words if len(words) >= 2 else []


def _fold(word: str) -> str:
    return re.sub(r"['’]s$", "", word).casefold()
