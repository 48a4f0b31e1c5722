"""A document's title as a person would name it: what a reader found in the file (metadata, a first
heading), checked for the junk that authoring tools leave there ("Microsoft Word - draft.docx",
"untitled", a file name). No title means the file name stands in (shown by the caller)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from index.readers.base import Heading

MAX_TITLE = 200  # characters: longer is a paragraph, not a title
_JUNK = re.compile(
    r"(?i)^(?:untitled(?:\s*\d+)?|no title|title|document\s*\d*|new document|presentation\s*\d*|"
    r"powerpoint presentation|slide\s*\d*|microsoft (?:word|powerpoint|excel)\b.*|\(?anonymous\)?)$")
_FILE_NAME = re.compile(r"(?i)\.(?:pdf|docx?|pptx?|xlsx?|txt|md|html?|rtf|odt|tex|indd|qxd|e?ps|dvi|doc)\s*$")
_PATH = re.compile(r"^[\w.~:-]*[/\\]\S*$")  # "C:\work\x", "/tmp/out": a path, no words between


def usable(raw: object) -> str | None:
    """`raw` with its whitespace made single, or None when it is no title a person would give."""
    text = " ".join(str(raw or "").split())
    if not text or len(text) > MAX_TITLE or not any(ch.isalpha() for ch in text):
        return None
    if _JUNK.match(text) or _FILE_NAME.search(text) or _PATH.match(text):
        return None
    return text


def first_heading(headings: Sequence[Heading]) -> str | None:
    """The document's first heading, its own words (the top of its path)."""
    return usable(headings[0].path.split(" › ", 1)[0]) if headings else None
