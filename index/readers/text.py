"""Plain text and Markdown: the decoded bytes, as they are (citations quote the file itself)."""

from __future__ import annotations

from index.decode import decode
from index.readers.base import (
    DEFAULT_OPTIONS,
    Reading,
    ReadOptions,
    refuse_other_formats,
)


class TextReader:
    suffixes = (".txt", ".md", ".markdown")

    def read(self, data: bytes, options: ReadOptions = DEFAULT_OPTIONS) -> Reading:
        refuse_other_formats(data, "plain")
        text, encoding = decode(data)
        return Reading(text, encoding)
