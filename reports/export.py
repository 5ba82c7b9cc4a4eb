"""A report as a file to download: CSV for any program, XLSX for spreadsheets.

CSV: UTF-8 with a byte order mark (so Excel reads Polish and Czech letters), comma
separated, CRLF line ends. It opens with a few lines saying what the report is (title,
offices, period, service), then every table as a block: its title, a row of the
translated column labels, the data rows, a blank line. Figures are plain numbers for
programs, not the page's wording: counts as integers; shares as percentages with one
decimal (``12.5`` for 12.5 %, the column label ends with "(%)"); minutes and other
decimals with one decimal and a full stop; dates ISO (``2026-11-25``); hours ``09:00``;
weekdays by their name in the reader's language; no figure as an empty field. A
name that a spreadsheet would run as a formula (starting with = + - @) gets a leading
apostrophe, as spreadsheets themselves mark text. A
spreadsheet set to a comma decimal may read such a file in one column: the XLSX is the
file meant for spreadsheets.

XLSX: one sheet per table, named after it (Excel's rules: at most 31 characters, none of
``[]:*?/\\``, unique), its title and what it covers on top, then a bold header row and the
rows. Counts, shares, minutes and dates are numbers and dates in the cells, shown with a
number format (shares as percentages), so they sum and sort; names are always text, never
formulas.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from datetime import date
from typing import Any, Literal

from babel.dates import get_day_names
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Border, Font, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from .table import Column, Report, Table

# What the file covers, above the tables: (label, value), e.g. ("Period", "2026-11-01 – …").
Heading = Sequence[tuple[str, str]]
BOM = "\ufeff"
SHEET_NAME_MAX = 31
FORBIDDEN_IN_SHEET_NAMES = re.compile(r"[\[\]:*?/\\]")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
NUMBER_FORMATS = {
    "int": "#,##0",
    "share": "0.0%",
    "minutes": "0.0",
    "number": "0.0",
    "date": "yyyy-mm-dd",
}


def weekday_name(day: int, locale: str, width: Literal["abbreviated", "wide"] = "wide") -> str:
    """0 (Monday) .. 6 in the reader's language, capitalised as a label."""
    name = str(get_day_names(width, locale=locale)[day])
    return name[:1].upper() + name[1:]


def defused(text: str) -> str:
    """Text a spreadsheet shows as text, not runs as a formula: "=1+2" as "'=1+2"."""
    return f"'{text}" if text.startswith(FORMULA_START) else text


def hour_label(hour: int) -> str:
    return f"{hour:02d}:00"


def header(column: Column) -> str:
    """The column's label; a share's says its figures are percentages."""
    label = str(column.label)
    return f"{label} (%)" if column.kind == "share" else label


def plain(value: Any, kind: str, locale: str) -> str:
    """A value as the CSV gives it (see the module's docstring)."""
    if value is None:
        return ""
    if kind == "share":
        return f"{value * 100:.1f}"
    if kind in ("minutes", "number"):
        return f"{value:.1f}"
    if kind == "date":
        return value.isoformat() if isinstance(value, date) else str(value)
    if kind == "hour":
        return hour_label(value)
    if kind == "weekday":
        return weekday_name(value, locale)
    return defused(str(value))


def report_csv(report: Report, heading: Heading, *, locale: str) -> bytes:
    """The report as CSV bytes, ``heading`` above its tables."""
    out = io.StringIO()
    out.write(BOM)
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([str(report.title)])
    writer.writerows([label, defused(value)] for label, value in heading)
    for table in report.tables:
        writer.writerow([])
        writer.writerow([str(table.title)])
        writer.writerow([header(c) for c in table.columns])
        for row in table.rows:
            writer.writerow([plain(row.get(c.key), c.kind, locale) for c in table.columns])
    return out.getvalue().encode("utf-8")


def sheet_names(tables: Sequence[Table]) -> list[str]:
    """A name per table that Excel accepts, each different from the others."""
    names: list[str] = []
    for number, table in enumerate(tables, 1):
        title = _cell_text(str(table.title))
        name = FORBIDDEN_IN_SHEET_NAMES.sub(" ", title).strip(" '") or f"{number}"
        name = name[:SHEET_NAME_MAX].rstrip(" '")
        candidate, copy = name, 2
        while candidate.casefold() in (n.casefold() for n in names):  # Excel ignores case
            suffix = f" ({copy})"
            candidate = name[: SHEET_NAME_MAX - len(suffix)] + suffix
            copy += 1
        names.append(candidate)
    return names


def _cell_text(text: str) -> str:
    """Without the control characters a worksheet cannot hold (a name typed with one would
    otherwise fail the whole download)."""
    return ILLEGAL_CHARACTERS_RE.sub("", text)


def cell_value(value: Any, kind: str, locale: str) -> Any:
    """A value as the XLSX cell holds it: numbers and dates stay themselves."""
    if value is None:
        return None
    if kind == "text":
        return _cell_text(str(value))
    if kind in ("int", "share", "minutes", "number", "date"):
        return value
    return _cell_text(plain(value, kind, locale))


def _fit_columns(sheet: Worksheet, table: Table, first_row: int, locale: str) -> None:
    for index, column in enumerate(table.columns, 1):
        texts = [header(column)] + [
            plain(r.get(column.key), column.kind, locale) for r in table.rows
        ]
        width = max(len(text) for text in texts) + 3
        sheet.column_dimensions[get_column_letter(index)].width = min(max(width, 10), 60)
    sheet.freeze_panes = f"A{first_row + 1}"  # the header stays in view


def _write_sheet(sheet: Worksheet, table: Table, heading: Heading, locale: str) -> None:
    """The title and what the report covers on top, a blank row, the header, the rows."""
    sheet.cell(1, 1, _cell_text(str(table.title))).font = Font(bold=True, size=14)
    for number, (label, value) in enumerate(heading, 2):
        sheet.cell(number, 1, _cell_text(f"{label}: {value}"))
    header_row = len(heading) + 3
    under = Border(bottom=Side(style="thin"))
    for index, column in enumerate(table.columns, 1):
        cell = sheet.cell(header_row, index, _cell_text(header(column)))
        cell.font, cell.border = Font(bold=True), under
    for number, row in enumerate(table.rows, header_row + 1):
        for index, column in enumerate(table.columns, 1):
            cell = sheet.cell(number, index, cell_value(row.get(column.key), column.kind, locale))
            if column.kind == "text" and cell.value is not None:
                cell.data_type = "s"  # "=..." would be stored as a formula
            if column.kind in NUMBER_FORMATS:
                cell.number_format = NUMBER_FORMATS[column.kind]
    _fit_columns(sheet, table, header_row, locale)


def report_xlsx(report: Report, heading: Heading, *, locale: str) -> bytes:
    """The report as an XLSX workbook, one sheet per table."""
    workbook = Workbook()
    workbook.remove(workbook.active)  # type: ignore[arg-type]  # always a sheet when new
    workbook.properties.title = str(report.title)
    workbook.properties.creator = "Okienko"
    for table, name in zip(report.tables, sheet_names(report.tables), strict=True):
        _write_sheet(workbook.create_sheet(name), table, heading, locale)
    if not report.tables:  # a workbook needs a sheet
        workbook.create_sheet("1").append([str(report.title)])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
