"""Titles for documents indexed before titles were read: each file is read again for its title
alone, so an older index gains titles without re-chunking or re-embedding anything."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

from index import readers
from index.errors import InputError
from index.readers.base import ReadOptions

log = logging.getLogger(__name__)


def read_missing_titles(manifest, options: ReadOptions) -> int:
    """Read and store the titles the manifest lacks (`Manifest.untitled`); returns how many were
    read. A file that cannot be read now is left for the next run; one that is no longer readable
    as its format is stored as untitled (its file name stands in). Scans are not recognised: OCR
    would cost seconds a page for one line."""
    untitled = manifest.untitled()
    if not untitled:
        return 0
    log.info("reading the titles of %d documents indexed before titles were read", len(untitled))
    options = dataclasses.replace(options, ocr=False, progress=False)
    found: dict[str, str] = {}
    for doc_id in untitled:
        record = manifest.doc(doc_id)
        try:
            data = Path(record.path).read_bytes()
            found[doc_id] = readers.read(Path(record.path).name, data, options).title or ""
        except InputError:
            found[doc_id] = ""
        except OSError:
            continue
    manifest.set_titles(found)
    return len(found)
