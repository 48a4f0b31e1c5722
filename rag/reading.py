"""Reading a file as the index reads it, for the edges: the chat's upload check and the eval
harness read through the same readers as `rag index` (index.readers)."""

from __future__ import annotations

from index import readers
from index.readers import EMPTY, NO_TEXT, NeedsOcr, Reading, ReadOptions  # noqa: F401


def read(name: str, data: bytes, options: ReadOptions | None = None) -> Reading:
    """The file's text by the reader its name picks (InputError when it has none)."""
    return readers.read(name, data, options or ReadOptions())
