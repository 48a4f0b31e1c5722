"""Word (.docx): paragraphs and tables in document order, as plain text a quote can stand in.

Headings and paragraphs are separated by blank lines, so sentences never run across them; list
items get a bullet; a table becomes one line per row, its cells joined by " | " (a cell merged
across columns is written once). Citations point into this text. An old binary .doc, or a .docx
that is password-protected (both are OLE containers), and a damaged file each get one line.
"""

from __future__ import annotations

import io
import zipfile

from index.errors import InputError
from index.readers.base import Reading

_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


class WordReader:
    suffixes = (".docx",)

    def read(self, data: bytes) -> Reading:
        if data.startswith(_OLE):
            raise InputError("an old-format (.doc) or password-protected Word file: save it as .docx without a password")
        if not data.startswith(b"PK"):
            raise InputError("not a Word .docx file (it is not a ZIP package)")
        document = _open(data)
        blocks = [text for item in document.iter_inner_content() if (text := _block_text(item))]
        return Reading("\n\n".join(blocks) + "\n", "docx")


def _open(data: bytes):
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    try:
        return docx.Document(io.BytesIO(data))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise InputError(f"damaged Word file: {exc or type(exc).__name__}") from None
    except Exception as exc:  # noqa: BLE001 - lxml and python-docx raise many kinds on broken parts
        raise InputError(f"damaged Word file: {type(exc).__name__}: {exc}") from None


def _block_text(item) -> str:
    from docx.table import Table

    if isinstance(item, Table):
        return _table_text(item)
    text = " ".join(item.text.split())
    if text and _is_list_item(item):
        return f"• {text}"
    return text


def _is_list_item(paragraph) -> bool:
    style = (paragraph.style.name if paragraph.style is not None else "") or ""
    numbered = paragraph._p.pPr is not None and paragraph._p.pPr.numPr is not None
    return numbered or style.lower().startswith("list")


def _table_text(table) -> str:
    rows = []
    for row in table.rows:
        cells, seen = [], set()
        for cell in row.cells:
            if id(cell._tc) in seen:  # a merged cell appears once per column it spans
                continue
            seen.add(id(cell._tc))
            cells.append(" ".join(cell.text.split()))
        if any(cells):
            rows.append(" | ".join(cells))
    return "\n".join(rows)
