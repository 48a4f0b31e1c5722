"""Word (.docx): paragraphs and tables in document order, as plain text a quote can stand in.

Headings and paragraphs are separated by blank lines, so sentences never run across them, and
each heading starts a part named by its path ("Report › Keepers"), which chunks stay within and
citations name; list
items get a bullet; a table becomes one line per row, its cells joined by " | " (a cell merged
across columns is written once, a table nested in a cell is part of the cell's text). Text inside
content controls and tracked insertions is read (insertions as accepted; deletions are not text).
Citations point into this text. An old binary .doc, or a .docx
that is password-protected (both are OLE containers), and a damaged file each get one line.
"""

from __future__ import annotations

import io
import zipfile

from index.errors import InputError
from index.readers.base import DEFAULT_OPTIONS, Heading, Reading, ReadOptions
from index.readers.ooxml import check_unpacked
from index.readers.titles import first_heading, usable

_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_BETWEEN = "\n\n"


class WordReader:
    suffixes = (".docx",)

    def read(self, data: bytes, options: ReadOptions = DEFAULT_OPTIONS) -> Reading:
        if data.startswith(_OLE):
            raise InputError("an old-format (.doc) or password-protected Word file: save it as .docx without a password")
        if not data.startswith(b"PK"):
            raise InputError("not a Word .docx file (it is not a ZIP package)")
        check_unpacked(data, options, "Word")
        from docx.text.paragraph import Paragraph

        document = _open(data)
        body = document.element.body
        if body is None:
            raise InputError("damaged Word file: it has no document body")
        blocks: list[str] = []
        headings: list[Heading] = []
        above: list[tuple[int, str]] = []  # (level, text) of the headings the next block sits under
        at = 0
        for element in _children(body, "p", "tbl"):  # python-docx's own walk skips content controls
            if element.tag == _W + "tbl":
                text, level = _table_text(element), None
            else:
                paragraph = Paragraph(element, document._body)
                text, level = _paragraph_text(element), _heading_level(paragraph)
                if text and level is None and _is_list_item(paragraph):
                    text = f"• {text}"
            if not text:
                continue
            if level is not None:
                above = [*(h for h in above if h[0] < level), (level, text)]
                headings.append(Heading(at, " › ".join(t for _, t in above)))
            blocks.append(text)
            at += len(text) + len(_BETWEEN)
        return Reading(_BETWEEN.join(blocks) + "\n", "docx", headings=tuple(headings),
                       title=_core_title(document) or first_heading(headings))


def _core_title(document) -> str | None:
    """The title in the file's properties (File › Info), where the author set one."""
    try:
        return usable(document.core_properties.title)
    except Exception:  # noqa: BLE001 - a damaged properties part costs the title, not the document
        return None


def _open(data: bytes):
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    try:
        return docx.Document(io.BytesIO(data))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise InputError(f"damaged Word file: {exc or type(exc).__name__}") from None
    except Exception as exc:  # noqa: BLE001 - lxml and python-docx raise many kinds on broken parts
        raise InputError(f"damaged Word file: {type(exc).__name__}: {exc}") from None


_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
# Elements that wrap blocks or runs without being text themselves: content controls, tracked
# insertions (read as accepted), custom XML, smart tags, hyperlinks.
_WRAPPERS = frozenset(_W + tag for tag in ("sdt", "sdtContent", "ins", "customXml", "smartTag", "hyperlink",
                                           "moveTo"))


def _paragraph_text(p) -> str:
    """A paragraph's text: every run's text, inside content controls, insertions and hyperlinks
    too (deleted text is `w:delText`, not read); tabs and breaks as spaces."""
    parts = []
    for node in p.iter(_W + "t", _W + "tab", _W + "br", _W + "cr"):
        parts.append(node.text or "" if node.tag == _W + "t" else " ")
    return " ".join("".join(parts).split())


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


def _table_text(tbl) -> str:
    """One line per row, its cells joined by " | ": a cell's text is all its paragraphs, those of
    tables nested in it included; a cell merged across columns is one cell, and a cell merged down
    from the row above repeats its text, so each row reads whole."""
    rows = []
    above: dict[int, str] = {}  # grid column -> the text of the cell that starts there
    for tr in _children(tbl, "tr"):
        cells, column = [], 0
        for tc in _children(tr, "tc"):
            text = " ".join(t for p in tc.iter(_W + "p") if (t := _paragraph_text(p)))
            merge = tc.find(f"{_W}tcPr/{_W}vMerge")
            if merge is not None and merge.get(_W + "val") != "restart":
                text = above.get(column) or text  # continues the cell above (none in a first row)
            span = tc.find(f"{_W}tcPr/{_W}gridSpan")
            above[column] = text
            column += _whole(span.get(_W + "val") if span is not None else None)
            cells.append(text)
        if any(cells):
            rows.append(" | ".join(cells))
    return "\n".join(rows)


def _whole(value: str | None) -> int:
    return int(value) if value and value.isdigit() and 0 < int(value) < 1000 else 1


def _children(element, *tags: str):
    """`element`'s children named one of `tags`, in order, also those inside content controls and
    tracked insertions (`_WRAPPERS`)."""
    names = {_W + tag for tag in tags}
    for child in element.iterchildren():
        if child.tag in names:
            yield child
        elif child.tag in _WRAPPERS:
            yield from _children(child, *tags)
