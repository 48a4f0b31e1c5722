"""A document's layout, stored once per document beside its text: where each page lies (with its
printed label, whether OCR read it, the running lines left out of its text). Chunks, hits and
citations name their pages by looking their character span up here, so a citation names every page
its quote covers and nothing about pages is copied into each chunk.

The JSON carries a schema number. An index written before layouts existed has none: `rag index`
reads its paged documents again; a layout from a newer version is refused with a plain message."""

from __future__ import annotations

import json
from collections.abc import Iterable

from index.errors import IndexDamagedError
from index.readers.base import Page

SCHEMA = 1
PAGED_SUFFIXES = (".pdf",)  # formats whose documents had pages before layouts were stored


def dump(pages: Iterable[Page]) -> str:
    return json.dumps({"schema": SCHEMA, "pages": [
        {"number": p.number, "label": p.label, "start": p.start, "end": p.end, "ocr": p.ocr,
         "running": list(p.running), "boxes": [list(b) for b in p.boxes], "footnotes": p.footnotes,
         **({"body": p.body} if p.body is not None else {}), **({"within": p.within} if p.within else {})}
        for p in pages]}, ensure_ascii=False, separators=(",", ":"))


def load(text: str | None) -> tuple[Page, ...]:
    """The pages of a stored layout; none for a document without pages or an older index."""
    if not text:
        return ()
    data = json.loads(text)
    if data.get("schema", 0) > SCHEMA:
        raise IndexDamagedError(f"the index was written by a newer version (layout schema {data['schema']}, "
                                f"this version reads {SCHEMA}): upgrade, or run `rag index --rebuild`")
    return tuple(Page(p["number"], p["label"], p["start"], p["end"], p.get("ocr", False),
                      tuple(p.get("running", ())), tuple(tuple(b) for b in p.get("boxes", ())),
                      p.get("footnotes"), p.get("body"), p.get("within", "")) for p in data.get("pages", ()))

