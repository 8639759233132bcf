"""Spreadsheet downloads: every CSV and Excel export is written here, so that no cell a user typed
can run as a formula in the spreadsheet that opens it (CSV / formula injection, OWASP). Uploaded
spreadsheets are read here too (the end of the module)."""
from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

from flask import Response

# A spreadsheet reads a cell starting with one of these as a formula (tab and CR: Excel skips them
# and reads on). Only text is neutralised: a number or a date stays typed, so -5 stays a number.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def safe_cell(value: Any) -> Any:
    """`value` as an export cell: text that a spreadsheet would take for a formula gets a leading
    apostrophe (shown as text everywhere, also after a round trip through another format);
    anything else is returned as it is."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_response(filename: str, header: Sequence[Any], rows: Iterable[Sequence[Any]]) -> Response:
    """A CSV download, UTF-8 with a byte-order mark (so Excel shows Chinese), every cell neutralised."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([safe_cell(value) for value in header])
    writer.writerows([safe_cell(value) for value in row] for row in rows)
    return Response(("\ufeff" + out.getvalue()).encode("utf-8"), mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def xlsx_response(filename: str, sheet_title: str, header: Sequence[Any], rows: Iterable[Sequence[Any]]) -> Response:
    """An Excel workbook download of one sheet (the header row frozen), every cell neutralised and
    every text cell written as text: openpyxl would otherwise store text starting with "=" as a
    formula and text such as "#N/A" as an error value."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    workbook = Workbook(write_only=True)  # streams rows: a branch is thousands of them
    sheet = workbook.create_sheet(sheet_title[:31])  # Excel's limit for a sheet's name
    sheet.freeze_panes = "A2"

    def cell(value: Any) -> Any:
        if not isinstance(value, str):
            return value
        # Control characters other than tab, LF and CR cannot be stored in a workbook's XML, and
        # openpyxl refuses the whole file for one of them: the cell loses them (before the check,
        # so that what is left is checked).
        written = WriteOnlyCell(sheet, safe_cell(ILLEGAL_CHARACTERS_RE.sub("", value)))
        written.data_type = "s"
        return written

    sheet.append([cell(value) for value in header])
    for row in rows:
        sheet.append([cell(value) for value in row])
    out = io.BytesIO()
    workbook.save(out)
    return Response(out.getvalue(), mimetype=XLSX_MIMETYPE,
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})



# --- reading uploaded spreadsheets -------------------------------------------------------------
# Uploads are read here too, so that the spreadsheet libraries are used in this module alone
# (tests/test_exports.py holds every other module to that). Reading evaluates nothing: a formula
# cell gives the value Excel cached for it, never the formula.

def csv_table(text: str) -> list[list[str]]:
    """The rows of a CSV text as lists of stripped cells (raises csv.Error on a malformed file)."""
    return [[cell.strip() for cell in row] for row in csv.reader(io.StringIO(text, newline=""))]


CSV_ERROR = csv.Error


def xlsx_table(data: bytes, max_filled_rows: int) -> list[list[Any]]:
    """The rows of a workbook's first sheet as lists of cell values (as stored: numbers, dates,
    text), read until `max_filled_rows` non-blank rows; raises ValueError on a damaged file."""
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as error:  # a damaged or foreign zip: openpyxl raises a handful of kinds
        raise ValueError("not a readable workbook") from error
    try:
        rows, filled = [], 0
        for row in workbook.worksheets[0].iter_rows(values_only=True):
            if any(value not in (None, "") for value in row):
                filled += 1
                if filled > max_filled_rows:
                    break
            rows.append(list(row))
        return rows
    finally:
        workbook.close()
