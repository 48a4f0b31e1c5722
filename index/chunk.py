"""Cut cleaned text into sentence-aware chunks that fit the embedding model.

A chunk never exceeds the model's maximum sequence length in the model's own tokens (so nothing
is silently truncated at embedding time), never crosses a section (a reader comment stays
apart from the article), and repeats the previous chunk's last sentences as overlap.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Protocol

from index.clean import CleanText
from index.roles import sentence_role
from index.sentences import split_sentences
from index.types import Chunk, SentenceSpan


class TokenCounter(Protocol):
    def count(self, texts: list[str]) -> list[int]: ...

    def split_long(self, text: str, limit: int) -> list[tuple[int, int]]: ...


@dataclass(frozen=True)
class ChunkPlan:
    """Sizes in model tokens. `max_tokens` is the hard ceiling (model limit minus special tokens)."""

    chunk_tokens: int
    overlap_tokens: int
    max_tokens: int


def chunk_id(doc_id: str, start: int, end: int, text: str) -> str:
    """Stable id: same document, span and text give the same id, so re-indexing is an upsert."""
    digest = hashlib.sha256(f"{doc_id}\x00{start}:{end}\x00{text}".encode()).hexdigest()
    return digest[:32]


def chunk_document(doc_id: str, clean: CleanText, plan: ChunkPlan, tokens: TokenCounter) -> list[Chunk]:
    chunks: list[Chunk] = []
    for section in clean.sections:
        units = _units(clean.text, section.start, section.end, plan, tokens)
        in_comment = section.name.startswith("reader comment")
        roles: dict[int, str] = {}  # by unit: the sentences two chunks overlap on are judged once

        def role(k: int) -> str:
            if k not in roles:
                x, y = units[k][0], units[k][1]
                roles[k] = "heading" if clean.in_heading(x, y) else sentence_role(clean.text, x, y, in_comment)
            return roles[k]

        for i, j, n in _pack(units, plan):
            a, b = units[i][0], units[j - 1][1]
            text = clean.text[a:b]
            orig_start, orig_end = clean.original_span(a, b)
            sentences = tuple(SentenceSpan(units[k][0] - a, units[k][1] - a, *clean.original_span(*units[k][:2]),
                                           role=role(k))
                              for k in range(i, j))
            chunks.append(Chunk(
                chunk_id=chunk_id(doc_id, a, b, text),
                doc_id=doc_id,
                ordinal=len(chunks),
                text=text,
                start_char=orig_start,
                end_char=orig_end,
                section=section.name,
                n_tokens=n,
                sentences=sentences,
            ))
    return chunks


def _units(text: str, start: int, end: int, plan: ChunkPlan, tokens: TokenCounter) -> list[tuple[int, int, int]]:
    """Sentences as (start, end, n_tokens); a sentence too long for a chunk is cut at token bounds."""
    spans = split_sentences(text, start, end)
    counts = tokens.count([text[a:b] for a, b in spans])
    units: list[tuple[int, int, int]] = []
    for (a, b), n in zip(spans, counts):
        if n <= plan.chunk_tokens:
            units.append((a, b, n))
            continue
        pieces = tokens.split_long(text[a:b], plan.chunk_tokens)
        piece_counts = tokens.count([text[a + x:a + y] for x, y in pieces])
        units.extend((a + x, a + y, c) for (x, y), c in zip(pieces, piece_counts))
    return units


def _pack(units: list[tuple[int, int, int]], plan: ChunkPlan) -> list[tuple[int, int, int]]:
    """Greedy packing of consecutive units up to chunk_tokens, with trailing-sentence overlap.

    Returns windows as (first unit, one past the last unit, tokens).
    """
    windows: list[tuple[int, int, int]] = []
    i = 0
    while i < len(units):
        j, total = i, 0
        while j < len(units) and (j == i or total + units[j][2] <= plan.chunk_tokens):
            total += units[j][2]
            j += 1
        windows.append((i, j, total))
        if j >= len(units):
            break
        # step back over trailing units that fit in the overlap budget, but always advance
        k, back = j, 0
        while k - 1 > i and back + units[k - 1][2] <= plan.overlap_tokens:
            k -= 1
            back += units[k][2]
        i = k
    return windows
