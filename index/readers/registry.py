"""Which reader reads a file: a table from suffix to reader, built from the reader classes."""

from __future__ import annotations

from pathlib import PurePath

from index.errors import InputError, RagError
from index.readers.base import DEFAULT_OPTIONS, Reader, Reading, ReadOptions, check_expansion
from index.readers.epub import EpubReader
from index.readers.html import HtmlReader
from index.readers.mail import MailReader, MboxReader
from index.readers.pdf import PdfReader
from index.readers.sheets import CsvReader, XlsxReader
from index.readers.slides import SlidesReader
from index.readers.text import TextReader
from index.readers.word import WordReader


def _attached(name: str, data: bytes, options: ReadOptions) -> Reading | None:
    """A file inside another (a mail's attachment), read as `read` reads it; None when no reader
    takes its type. Passed to the readers of containers, which cannot import this module."""
    return read(name, data, options) if PurePath(name).suffix.lower() in _BY_SUFFIX else None


READERS: tuple[Reader, ...] = (TextReader(), HtmlReader(), WordReader(), PdfReader(), MailReader(_attached),
                               MboxReader(_attached), EpubReader(), SlidesReader(), XlsxReader(), CsvReader())
_BY_SUFFIX = {suffix: reader for reader in READERS for suffix in reader.suffixes}
SUFFIXES: tuple[str, ...] = tuple(_BY_SUFFIX)
EMPTY, NO_TEXT = "empty file", "no text in file"


def reader_for(name: str) -> Reader:
    """The reader for a file name; InputError for a type no reader takes."""
    suffix = PurePath(name).suffix.lower()
    if suffix not in _BY_SUFFIX:
        raise InputError(f"unsupported type '{suffix or 'no extension'}' (readable: {', '.join(SUFFIXES)})")
    return _BY_SUFFIX[suffix]


def read(name: str, data: bytes, options: ReadOptions = DEFAULT_OPTIONS) -> Reading:
    """The file's text by the reader its name picks. InputError for an empty file, a type no
    reader takes, bytes of another format, undecodable bytes, or no text at all."""
    if not data.strip():
        raise InputError(EMPTY)
    reader = reader_for(name)
    try:
        reading = reader.read(data, options)
    except RagError:  # the file's own fault (InputError), or the user's cancel
        raise
    except Exception as exc:  # noqa: BLE001 - parsers of untrusted files fail in ways no list covers
        raise InputError(f"damaged or unreadable file: {type(exc).__name__}: {exc}"[:300]) from None
    check_expansion("reads as", len(reading.text), len(data), options)
    if not reading.text.strip():
        raise InputError(NO_TEXT)
    return reading
