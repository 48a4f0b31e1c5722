"""Readers: one module per file format, chosen by `registry.reader_for` (the name's suffix, checked
against the content). `rag index`, the chat's upload check and the eval harness all read through
`registry.read`, so a format is added in one place."""

from index.readers.base import NeedsOcr, Reader, Reading, ReadOptions
from index.readers.registry import EMPTY, NO_TEXT, SUFFIXES, read, reader_for

__all__ = ["EMPTY", "NO_TEXT", "SUFFIXES", "NeedsOcr", "ReadOptions", "Reader", "Reading", "read", "reader_for"]
