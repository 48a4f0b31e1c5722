"""Word (.docx): paragraphs and tables in document order, as plain text a quote can stand in.

Headings and paragraphs are separated by blank lines, so sentences never run across them, and
each heading starts a part named by its path ("Report › Keepers"), which chunks stay within and
citations name; list
items get a bullet; a table becomes one line per row, its cells joined by " | " (a cell merged
across columns is written once). Citations point into this text. An old binary .doc, or a .docx
that is password-protected (both are OLE containers), and a damaged file each get one line.
"""

from __future__ import annotations

import io
import zipfile

from index.errors import InputError
from index.readers.base import DEFAULT_OPTIONS, Heading, Reading, ReadOptions, check_expansion

_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_BETWEEN = "\n\n"


class WordReader:
    suffixes = (".docx",)

    def read(self, data: bytes, options: ReadOptions = DEFAULT_OPTIONS) -> Reading:
        if data.startswith(_OLE):
            raise InputError("an old-format (.doc) or password-protected Word file: save it as .docx without a password")
        if not data.startswith(b"PK"):
            raise InputError("not a Word .docx file (it is not a ZIP package)")
        _check_unpacked(data, options)
        document = _open(data)
        blocks: list[str] = []
        headings: list[Heading] = []
        above: list[tuple[int, str]] = []  # (level, text) of the headings the next block sits under
        at = 0
        for item in document.iter_inner_content():
            text = _block_text(item)
            if not text:
                continue
            level = _heading_level(item)
            if level is not None:
                above = [*(h for h in above if h[0] < level), (level, text)]
                headings.append(Heading(at, " › ".join(t for _, t in above)))
            blocks.append(text)
            at += len(text) + len(_BETWEEN)
        return Reading(_BETWEEN.join(blocks) + "\n", "docx", headings=tuple(headings))


def _check_unpacked(data: bytes, options: ReadOptions) -> None:
    """What the package's parts claim to unpack to, before anything is unpacked (a 333 KB file of
    empty paragraphs unpacks to hundreds of MB and takes minutes and gigabytes to parse)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as package:
            unpacked = sum(max(0, info.file_size) for info in package.infolist())
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise InputError(f"damaged Word file: {exc or type(exc).__name__}") from None
    check_expansion("unpacks to", unpacked, len(data), options)


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


def _heading_level(item) -> int | None:
    """0 for a title, n for "Heading n", None for anything else (a table, a body paragraph)."""
    style = getattr(getattr(item, "style", None), "name", "") or ""
    if style == "Title":
        return 0
    if style.startswith("Heading ") and style[8:].isdigit():
        return int(style[8:])
    return None


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
