"""Spreadsheets: .xlsx through openpyxl and .csv through the csv module, read a row at a time (never
the whole workbook at once) into lines "Column: value; Column: value." in blocks of rows, each a
page that a citation names by sheet and rows ("Sheet1, rows 2–41"; "rows 2–41" for a CSV), each led
by its header's names (index.readers.table_rows).

An .xlsx gives the values its formulas had when last saved (a formula never calculated by a
spreadsheet program, as some libraries write them, reads as empty), dates as ISO dates and cells
formatted as percentages as percentages; every worksheet is read in order (chart sheets have no
cells). A password-protected or old-format (.xls) workbook, a damaged package and one unpacking
past the budget each get one line (index.readers.ooxml). A CSV is decoded strictly
(index.decode), its dialect (delimiter, quoting) sniffed from its first lines.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterator

from index.decode import decode
from index.errors import InputError, RagError
from index.readers.base import DEFAULT_OPTIONS, Reading, ReadOptions, refuse_other_formats
from index.readers.ooxml import check_package, damaged
from index.readers.table_rows import Cells, Tables, column_letter, column_number

_SNIFF_CHARS = 8192  # the sniffer's regular expressions grow with the square of their sample
_DELIMITERS = ",;\t|"


class XlsxReader:
    suffixes = (".xlsx",)

    def read(self, data: bytes, options: ReadOptions = DEFAULT_OPTIONS) -> Reading:
        check_package(data, options, "Excel", ".xlsx", ".xls")
        workbook = _open_workbook(data)
        tables = Tables(options, len(data))
        try:
            for sheet in workbook.worksheets:
                try:
                    tables.add(sheet.title, _sheet_rows(workbook, sheet), column_letter)
                except RagError:
                    raise
                except Exception as exc:  # noqa: BLE001 - a broken part shows only once it is read
                    raise damaged("Excel", f"sheet '{sheet.title}'", exc) from None
        finally:
            workbook.close()
        return tables.reading("xlsx")


class CsvReader:
    suffixes = (".csv",)

    def read(self, data: bytes, options: ReadOptions = DEFAULT_OPTIONS) -> Reading:
        refuse_other_formats(data, "CSV")
        text, encoding = decode(data)
        tables = Tables(options, len(data))
        tables.add(None, _csv_rows(text), column_number)
        return tables.reading(encoding)


def _open_workbook(data: bytes):
    import openpyxl

    try:
        return openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise InputError(f"damaged Excel file: {exc or type(exc).__name__}"[:300]) from None
    except Exception as exc:  # noqa: BLE001 - openpyxl and its XML parsers raise many kinds on broken parts
        raise InputError(f"damaged Excel file: {type(exc).__name__}: {exc}"[:300]) from None


def _sheet_rows(workbook, sheet) -> Iterator[tuple[int, Cells]]:
    """The sheet's rows as its file holds them: (row number, non-empty cells). openpyxl's own
    `iter_rows` fills in every row and column the file leaves out, up to the numbers a cell claims
    (one cell at row 10^9 costs a billion empty rows), so rows come from its parser directly and
    the work follows the file's size, not its claims."""
    from openpyxl.worksheet._reader import WorkSheetParser

    shown = _Percentages(sheet)
    with sheet._get_source() as source:
        parser = WorkSheetParser(source, sheet._shared_strings, data_only=True, epoch=workbook.epoch,
                                 date_formats=workbook._date_formats, timedelta_formats=workbook._timedelta_formats)
        for number, cells in parser.parse():
            yield number, [(cell["column"] - 1, shown(cell)) for cell in cells if cell["value"] is not None]


class _Percentages:
    """A cell's value as the sheet shows it where that differs in kind: 0.125 formatted as a
    percentage reads "12.5%". Each cell style's number format is looked up once."""

    def __init__(self, sheet) -> None:
        self.sheet = sheet
        self.percent: dict[int, bool] = {}

    def __call__(self, cell: dict) -> object:
        value, style = cell["value"], cell["style_id"]
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not style:
            return value
        if style not in self.percent:
            from openpyxl.cell.read_only import ReadOnlyCell

            self.percent[style] = "%" in (ReadOnlyCell(self.sheet, **cell).number_format or "")
        return f"{round(value * 100, 10):g}%" if self.percent[style] else value


def _csv_rows(text: str) -> Iterator[tuple[int, Cells]]:
    """Each record (a row, which may span lines inside quotes) numbered from 1 as a spreadsheet
    program shows them."""
    reader = csv.reader(io.StringIO(text, newline=""), _dialect(text))
    try:
        for number, record in enumerate(reader, 1):
            yield number, [(column, value) for column, value in enumerate(record) if value.strip()]
    except csv.Error as exc:
        raise InputError(f"damaged CSV file at line {reader.line_num}: {exc}") from None


def _dialect(text: str) -> type[csv.Dialect] | csv.Dialect:
    """The delimiter and quoting of the file's first lines, as csv.Sniffer reads them; where it
    cannot tell (it often cannot when a quoted field holds the delimiter), the delimiter that cuts
    most of those lines into the same number of fields, more than one; else a comma."""
    sample = text[:_SNIFF_CHARS]
    if len(text) > _SNIFF_CHARS and "\n" in sample:
        sample = sample[:sample.rindex("\n")]  # whole lines only
    try:
        return csv.Sniffer().sniff(sample, delimiters=_DELIMITERS)
    except csv.Error:
        pass
    best, dialect = (0.0, 1), csv.excel
    for delimiter in _DELIMITERS:
        try:
            widths = [len(row) for row in csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter) if row]
        except csv.Error:
            continue
        width = max(set(widths), key=widths.count, default=1)
        score = (widths.count(width) / len(widths) if widths else 0.0, width)
        if width > 1 and score > best:
            best, dialect = score, _excel_with(delimiter)
    return dialect


def _excel_with(delimiter: str) -> type[csv.Dialect]:
    return type("Sniffed", (csv.excel,), {"delimiter": delimiter})
