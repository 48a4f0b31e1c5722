"""Value types that flow through ingestion."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import NamedTuple


@dataclass(frozen=True)
class Document:
    """One file, decoded. `text` is what citations point into (for HTML: the extracted text)."""

    doc_id: str  # path relative to the indexed root, with forward slashes
    path: str  # absolute path on disk
    root: str  # absolute path of the root it was found under
    text: str
    byte_hash: str  # sha256 of the file's bytes: detects changes
    encoding: str
    size: int
    mtime: float
    pages: tuple = ()  # index.readers.Page, for paged formats: chunks stay within a page
    headings: tuple = ()  # index.readers.Heading: chunks stay within a heading's part
    notes: tuple[str, ...] = ()  # what the reader reported, e.g. a page without a text layer
    blocks: tuple = ()  # index.readers.Block: where the file's wrapped lines are one paragraph
    title: str | None = None  # the document's own title (index.readers.titles); None: its file name stands in


class SentenceSpan(NamedTuple):
    """One sentence of a chunk: `start`/`end` index the chunk's text, `doc_start`/`doc_end` the
    original document (what a citation quotes); `role` is what it is on the page (index.roles):
    only "body" sentences are quoted as answers."""

    start: int
    end: int
    doc_start: int
    doc_end: int
    role: str = "body"


@dataclass(frozen=True)
class Chunk:
    """A window of a document's cleaned text, with its span in the original text."""

    chunk_id: str
    doc_id: str
    ordinal: int
    text: str  # cleaned text: what is embedded and matched lexically
    start_char: int  # into Document.text (the original)
    end_char: int
    section: str = "body"
    n_tokens: int = 0
    # The unit that is scored at query time and quoted in a citation.
    sentences: tuple[SentenceSpan, ...] = ()

    def sentence_texts(self) -> list[str]:
        return [self.text[s.start:s.end] for s in self.sentences]

    def sentence_inputs(self) -> list[str]:
        """What each sentence is embedded as: the sentence under the chunk's headings, so "The default
        is 100." under "CREATE TABLE › Storage Parameters › fillfactor" is about fillfactor."""
        return [indexed_text(text, self.section) for text in self.sentence_texts()]

    @property
    def indexed_text(self) -> str:
        """The text embedded and matched lexically: the chunk under its headings (`indexed_text`)."""
        return indexed_text(self.text, self.section)


@dataclass(frozen=True)
class FileIssue:
    """A file we could not index (failed) or chose not to (skipped), and why, in words."""

    path: str
    reason: str
    failed: bool = True


@dataclass
class IndexReport:
    """What one `rag index` run did; printed as the closing summary."""

    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    duplicates: dict[str, str] = field(default_factory=dict)  # doc -> the doc with the same text
    failed: list[FileIssue] = field(default_factory=list)
    skipped: list[FileIssue] = field(default_factory=list)
    chunks_written: int = 0
    chunks_deleted: int = 0
    chunks_total: int = 0
    seconds: float = 0.0
    repairs: list[str] = field(default_factory=list)  # what was found damaged and mended, a line each
    notes: list[FileIssue] = field(default_factory=list)  # indexed, with a caveat (a page with no text)

    @property
    def ok(self) -> bool:
        return not self.failed


# Sections that are not a document's own headings: the whole text, a page, a page's footnotes,
# reader comments. A heading path ("CREATE INDEX › Parameters") is the passage's context.
_NOT_HEADINGS = re.compile(r"^(body|reader comments?\b.*|(footnotes, )?page \S+)$")
_MAX_CONTEXT = 120  # characters: a deep path is cut from its start, its nearest headings kept


def indexed_text(text: str, section: str) -> str:
    """What a chunk is embedded and matched as: its text after the headings it stands under, so a
    manual's "Parameters › CONCURRENTLY" paragraph is found by a question about CREATE INDEX
    CONCURRENTLY although its own words never name the command. Citations still quote `text`."""
    if _NOT_HEADINGS.match(section):
        return text
    context = section if len(section) <= _MAX_CONTEXT else "…" + section[-_MAX_CONTEXT:]
    return f"{context}\n{text}"
