"""HTML: the page's visible text, one block a line, and its headings (index.html_text), which
citations then quote."""

from __future__ import annotations

from index.decode import decode
from index.readers.base import (
    DEFAULT_OPTIONS,
    Reading,
    ReadOptions,
    refuse_other_formats,
)


class HtmlReader:
    suffixes = (".html", ".htm")

    def read(self, data: bytes, options: ReadOptions = DEFAULT_OPTIONS) -> Reading:
        from index.html_text import html_to_text

        refuse_other_formats(data, "HTML")
        text, encoding = decode(data)
        page = html_to_text(text)
        return Reading(page.text, encoding, headings=page.headings, blocks=page.blocks, title=page.title)
