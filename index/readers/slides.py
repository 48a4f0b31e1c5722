"""PowerPoint (.pptx) through python-pptx: each slide's text in reading order, a `Page` per slide so
that a citation names its slide ("slide 3: Quarterly results": its number and title), and its
speaker notes a page of their own right after it ("notes to slide 3: Quarterly results"), led by a
"Speaker notes" line.

A slide reads its title first, as a heading, then its shapes top to bottom and left to right, a
group's shapes in that order at the group's place; each paragraph is a line, a body placeholder's
paragraphs (bulleted, as the slide shows them) with a bullet; a table reads row by row, "Column:
value; ..." under its header row (index.readers.table_rows). Pictures and charts have no text
here. Hidden slides are read and numbered as PowerPoint numbers them. A password-protected or
old-format (.ppt) file, a damaged package and one unpacking past the budget each get one line
(index.readers.ooxml).
"""

from __future__ import annotations

import dataclasses
import io
import zipfile

from index.errors import InputError
from index.readers.base import DEFAULT_OPTIONS, Reading, ReadOptions
from index.readers.ooxml import check_package, damaged
from index.readers.table_rows import PagedText, column_number, has_header, row_line
from index.readers.titles import usable

_NOTES = "Speaker notes"
_TITLE_IN_LABEL = 60  # characters of a slide's title its label carries
_SAME_LINE = 91440  # EMU (0.1 inch): shapes whose tops differ by less read left to right
_A = "{http://schemas.openxmlformats.org/drawingml/2006/main}"


class SlidesReader:
    suffixes = (".pptx",)

    def read(self, data: bytes, options: ReadOptions = DEFAULT_OPTIONS) -> Reading:
        check_package(data, options, "PowerPoint", ".pptx", ".ppt")
        presentation = _open(data)
        watch = options.stopwatch()
        text = PagedText()
        title = None
        for number, slide in enumerate(presentation.slides, 1):
            watch.check(f"slide {number}")
            try:
                slide_title = _read_slide(number, slide, text)
            except Exception as exc:  # noqa: BLE001 - a broken part shows only once it is read
                raise damaged("PowerPoint", f"slide {number}", exc) from None
            if number == 1:
                title = usable(slide_title)
        return dataclasses.replace(text.reading("pptx"), title=title)


def _read_slide(number: int, slide, text: PagedText) -> str:
    """The slide's page, then its notes' page; returns the slide's title ("" if none)."""
    title = _title_of(slide)
    label = f"slide {number}" + (f": {_shortened(title)}" if title else "")
    text.page(number, label, _slide_lines(slide, title))
    if slide.has_notes_slide and slide.notes_slide.notes_text_frame is not None:
        notes = _paragraph_lines(slide.notes_slide.notes_text_frame, bulleted=False)
        if notes:
            text.page(number, "notes to " + label, [("heading", _NOTES), *notes])
    return title


def _open(data: bytes):
    import pptx
    from pptx.exc import PackageNotFoundError

    try:
        return pptx.Presentation(io.BytesIO(data))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise InputError(f"damaged PowerPoint file: {exc or type(exc).__name__}"[:300]) from None
    except Exception as exc:  # noqa: BLE001 - lxml and python-pptx raise many kinds on broken parts
        raise InputError(f"damaged PowerPoint file: {type(exc).__name__}: {exc}"[:300]) from None


def _title_of(slide) -> str:
    title = slide.shapes.title
    return " ".join(title.text_frame.text.split()) if title is not None and title.has_text_frame else ""


def _shortened(title: str) -> str:
    return title if len(title) <= _TITLE_IN_LABEL else title[:_TITLE_IN_LABEL - 1].rstrip() + "…"


def _slide_lines(slide, title: str) -> list[tuple[str, str]]:
    """(block kind, line) of the slide's text: its title, then its shapes in reading order."""
    lines = [("heading", title)] if title else []
    title_shape = slide.shapes.title
    for shape in _in_reading_order(slide.shapes):
        if title_shape is None or shape.shape_id != title_shape.shape_id:
            lines.extend(_shape_lines(shape))
    return lines


def _in_reading_order(shapes) -> list:
    """Top to bottom, then left to right; a shape without a position (none on the slide or its
    layout) goes last, in the file's order."""
    def position(shape):
        top, left = shape.top, shape.left
        return (0, round(top / _SAME_LINE), left) if top is not None and left is not None else (1, 0, 0)

    return sorted(shapes, key=position)


def _shape_lines(shape) -> list[tuple[str, str]]:
    from pptx.enum.shapes import MSO_SHAPE_TYPE, PP_PLACEHOLDER

    if shape.shape_type == MSO_SHAPE_TYPE.GROUP:
        return [line for child in _in_reading_order(shape.shapes) for line in _shape_lines(child)]
    if getattr(shape, "has_table", False) and shape.has_table:
        return _table_lines(shape.table)
    if not shape.has_text_frame:
        return []
    body = shape.is_placeholder and shape.placeholder_format.type in (PP_PLACEHOLDER.BODY, PP_PLACEHOLDER.OBJECT)
    return _paragraph_lines(shape.text_frame, bulleted=body)


def _paragraph_lines(frame, bulleted: bool) -> list[tuple[str, str]]:
    """A line per paragraph with text; a bullet where the paragraph has one (its own, or, in a
    body placeholder, the one the slide master gives it unless it turns it off)."""
    lines = []
    for paragraph in frame.paragraphs:
        text = " ".join(paragraph.text.split())  # a line break inside a paragraph (\v) reads as a space
        if not text:
            continue
        pPr = paragraph._p.pPr
        own = None if pPr is None else next((child.tag for child in pPr if child.tag in _BULLET_TAGS), None)
        if own == _A + "buNone" or (own is None and not bulleted):
            lines.append(("paragraph", text))
        else:
            lines.append(("item", f"• {text}"))
    return lines


_BULLET_TAGS = frozenset(_A + tag for tag in ("buNone", "buChar", "buAutoNum", "buBlip"))


def _table_lines(table) -> list[tuple[str, str]]:
    """A line per row, "Column: value; ..." when the first row is a header, else the cells in
    order named by their place; a merged cell is read once, where it starts."""
    rows = []
    for row in table.rows:
        cells = [(column, " ".join(cell.text.split())) for column, cell in enumerate(row.cells)
                 if not cell.is_spanned]
        rows.append([(column, text) for column, text in cells if text])
    rows = [row for row in rows if row]
    if not rows:
        return []
    names: dict[int, str] = {}
    if has_header(rows[0], rows[1:]):
        names, rows = dict(rows[0]), rows[1:]
    return [("row", row_line(row, lambda c: names.get(c) or column_number(c))) for row in rows]
