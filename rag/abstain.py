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


def key_terms(question: str) -> list[str]:
    """Names, places and numbers in the question, as written: the words an answer must be about."""
    found: list[str] = []
    for match in _WORD.finditer(question):
        word = re.sub(r"[’']s$", "", match.group()).strip("’'-")
        if not word:
            continue
        is_number = any(ch.isdigit() for ch in word)
        is_name = word[0].isupper() and word.lower() not in _NOT_NAMES and len(word) > 1
        if (is_number or is_name) and word not in found:
            found.append(word)
    return found


def check(question: str, hits: Sequence[Hit], min_score: float, vocabulary: Container[str] = (),
          check_terms: bool = True) -> Support:
    """`vocabulary`: every term of the corpus (BM25's), to tell "never mentioned" from "not here"."""
    if not hits:
        return Support(False, reason="nothing in the index matches the question")
    best = max((s.score for h in hits for s in h.sentences[:1]), default=0.0)
    missing: list[str] = []
    if check_terms:
        seen = {t for h in hits for t in terms(h.text)}
        missing = [w for w in key_terms(question) if terms(w) and not set(terms(w)) & seen]
    if missing:
        absent = [w for w in missing if not any(t in vocabulary for t in terms(w))] if vocabulary else []
        reason = (f"the documents never mention {_join(absent)}" if absent
                  else f"none of the passages that match the question mention {_join(missing)}")
        return Support(False, tuple(missing), best, reason)
    if best < min_score:
        return Support(False, (), best, "no passage answers the question closely enough")
    return Support(True, (), best)


def _join(words: Sequence[str]) -> str:
    quoted = [f"“{w}”" for w in words]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]
