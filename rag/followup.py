"""Turn a follow-up ("and what about China?") into a question retrieval can answer on its own.

The extractive path has no LLM to rewrite questions, so this is a few rules that cover how people
actually follow up: a short "and X?" / "what about X?" swaps X into the previous question in place
of its main name; a question that leans on pronouns ("when did he say it?") or is a bare fragment
("when?") gets the previous question's key words appended, unless it names something of its own.
A question that stands on its own is left alone, even one that starts with "and" ("And what did
Zelensky reply?" asks about Zelensky; it does not put him in the previous question).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from index.errors import InputError
from rag.query import key_terms

Turn = tuple[str, str] | dict  # ("user", text) or {"role": "user", "content": text}

_SWAP = re.compile(
    r"^\s*(?:and\s+|but\s+|ok(?:ay)?,?\s+|so\s+)?(?:what|how)\s+about\s+(?P<x>.+?)\s*[?.!]*\s*$"
    r"|^\s*and\s+(?:for\s+|in\s+|with\s+)?(?P<y>.+?)\s*[?.!]*\s*$",
    re.I,
)
# "And what did Zelensky reply?" is a new question that happens to start with "and", not "and X?".
_QUESTION_WORDS = frozenset("""
    what who whom whose when where why how which did do does is are was were can could will would should
    has have had may might must shall
""".split())
_MAX_SUBJECT_WORDS = 5
# Capitalised first words that are not names ("Any news?", "He resigned?").
_STARTERS = frozenset("any anything anyone more also really ok okay so then yes no we you i".split())
_PRONOUNS = frozenset("he she it they them him her his hers its their theirs this that these those".split())


def turns(history: Sequence[Turn] | None) -> list[tuple[str, str]]:
    """History as (role, text) pairs, from tuples or chat-style dicts (content a string or a list of
    parts, as Gradio's Chatbot keeps it); turns without text (files) are dropped."""
    pairs = []
    for turn in history or ():
        if isinstance(turn, dict):
            role, content = turn.get("role"), turn.get("content")
        elif isinstance(turn, str):
            role, content = "user", turn
        elif isinstance(turn, (tuple, list)) and len(turn) == 2:
            role, content = turn
        else:
            raise InputError(f"a history turn must be (role, text) or {{'role': ..., 'content': ...}}, "
                             f"not {str(turn)[:60]!r}")
        if isinstance(content, list):
            content = " ".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")
        if role in ("user", "assistant") and isinstance(content, str) and content.strip():
            pairs.append((role, content.strip()))
    return pairs


def user_questions(history: Sequence[Turn] | None) -> list[str]:
    return [text for role, text in turns(history) if role == "user"]


# Earlier questions read to resolve a follow-up: a chain of follow-ups longer than this is rare,
# and a long chat (or a client's made-up history) must not cost work per turn it holds.
MAX_EARLIER = 20


def resolve(question: str, history: Sequence[Turn] | None,
            similarity: Callable[[str, str], float] | None = None) -> str:
    """The standalone form of `question` given earlier user turns (oldest first).

    Each of the last `MAX_EARLIER` questions is resolved against the one before it, then `question`
    against the last. `similarity(a, b)` picks which name of the previous question a "what about
    X?" replaces (the one most like X: "China" replaces "Russia", not "Jensen"); without it, the
    first name goes.
    """
    previous = ""
    for earlier in user_questions(history)[-MAX_EARLIER:]:
        previous = _resolve_one(earlier, previous, similarity)
    return _resolve_one(question, previous, similarity)


def _resolve_one(question: str, previous: str, similarity: Callable[[str, str], float] | None) -> str:
    if not previous:
        return question
    subject = _swap_subject(question)
    if subject:
        return _swap(previous, subject, similarity)
    words = re.findall(r"[\w’'-]+", question.lower())
    has_own_terms = bool(own_terms(question))
    leans_back = any(w in _PRONOUNS for w in words) or len(words) <= 3
    if leans_back and not has_own_terms:
        extra = [t for t in key_terms(previous) if t.lower() not in question.lower()]
        context = " ".join(extra) if extra else previous
        return f"{question} ({context})"
    return question


def own_terms(question: str) -> list[str]:
    """The question's names and numbers, its first word included ("Zelensky?"): a question that has
    some is about them, not about the previous question, whatever its length."""
    skip = _PRONOUNS | _QUESTION_WORDS | _STARTERS
    return [t for t in key_terms(f"and {question}") if t.lower() not in skip]


def _swap_subject(question: str) -> str | None:
    """X of a short "and X?" / "what about X?", or None for anything else (a question word in X
    makes it a question of its own, and a long X is a sentence, not a subject)."""
    match = _SWAP.match(question)
    if not match:
        return None
    subject = (match.group("x") or match.group("y")).strip()
    words = re.findall(r"[\w’'-]+", subject.lower())
    if not words or len(words) > _MAX_SUBJECT_WORDS or any(w in _QUESTION_WORDS for w in words):
        return None
    return subject


def _swap(previous: str, subject: str, similarity: Callable[[str, str], float] | None) -> str:
    """Put `subject` in place of the previous question's name most like it; else append it."""
    names = key_terms(previous)
    if not names:
        return f"{previous} {subject}"
    target = max(names, key=lambda n: similarity(n, subject)) if similarity and len(names) > 1 else names[0]
    # "Russian" goes as a whole word; "Russia's" keeps its possessive.
    return re.sub(rf"\b{re.escape(target)}\w*(?P<s>[’']s\b)?",
                  lambda m: subject + (m.group("s") or ""), previous, count=1)
