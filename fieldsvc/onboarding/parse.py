"""Reading an onboarding spreadsheet: an Excel workbook (.xlsx, its first sheet) or a CSV file in
UTF-8 (with or without a byte-order mark) or else GBK, with the header in English or Chinese.
What comes out is plain text per known column, so the preview judges every file alike."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

from flask_babel import lazy_gettext as _l

from ..errors import InvalidInput
from ..exports import CSV_ERROR, csv_table, xlsx_table

# The columns in the order of the template, with the header names each may go by (compared after
# `_header_key`: case, spaces, underscores and brackets do not matter).
COLUMNS: dict[str, tuple[str, ...]] = {
    "username": ("username", "employee number", "工号", "员工编号", "用户名"),
    "name": ("name", "姓名"),
    "phone": ("phone", "mobile", "手机", "手机号", "手机号码", "电话"),
    "team": ("team code", "team", "班组编码", "班组代码", "班组"),
    "employer_type": ("employer type", "employer", "用工类型", "用工性质"),
    "cert_type": ("certificate type", "certification type", "证书类型", "认证类型"),
    "cert_number": ("certificate number", "证书编号"),
    "cert_issued_on": ("issued on", "certificate issued on", "发证日期", "颁发日期"),
    "cert_level": ("level", "certificate level", "证书等级", "等级"),
    "initial_password": ("initial password", "初始密码"),
}
REQUIRED = ("username", "name", "team")
# The template's header, in each language it is offered in.
HEADERS = {
    "en": ("username", "name", "phone", "team code", "employer type", "certificate type", "certificate number",
           "issued on", "level", "initial password"),
    "zh": ("工号", "姓名", "手机", "班组编码", "用工类型", "证书类型", "证书编号", "发证日期", "证书等级", "初始密码"),
}
MAX_ROWS = 5000  # a branch has 1,000+ installers; a file far past that is a mistake, refused whole
MAX_CELL = 255  # longer than any column it goes into; the preview names the column's own limit

_XLSX_MAGIC = b"PK\x03\x04"  # a workbook is a zip file
_XLS_MAGIC = b"\xd0\xcf\x11\xe0"  # the old binary Excel format (and other OLE files)


@dataclass(frozen=True)
class ParsedFile:
    """The rows of a file as {column: text}, each with its line in the spreadsheet (the header is
    line 1), and which known columns the header had."""

    rows: list[dict[str, str]]
    lines: list[int]
    columns: tuple[str, ...]


def _header_key(text: str) -> str:
    return re.sub(r"[\s_()（）*:：-]+", " ", text).strip().casefold()


_ALIASES = {_header_key(alias): column for column, aliases in COLUMNS.items() for alias in aliases}


def decode_csv(data: bytes) -> str:
    """The text of a CSV file: UTF-8 after a byte-order mark, else UTF-8 if it decodes, else GBK
    (read as GB 18030, its superset, which Excel on a Chinese Windows writes as "ANSI")."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="strict")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError as error:
        raise InvalidInput(_l("The file is neither UTF-8 nor GBK text."),
                           errors={"file": [_l("The file is neither UTF-8 nor GBK text.")]}) from error


def _cell_text(value: object) -> str:
    """A cell as text: whole numbers without ".0" (Excel stores 13800001111 as a number), dates in
    ISO 8601, text stripped."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


def _xlsx_rows(data: bytes) -> list[list[str]]:
    try:
        table = xlsx_table(data, MAX_ROWS + 1)  # the header and one row too many: enough to refuse it
    except ValueError as error:
        raise InvalidInput(_l("The file could not be read as an Excel workbook."),
                           errors={"file": [_l("The file could not be read as an Excel workbook.")]}) from error
    return [[_cell_text(value) for value in row] for row in table]


def parse(data: bytes) -> ParsedFile:
    """The rows of an .xlsx or .csv file (told apart by their content, not their name); refuses
    (InvalidInput on "file") an unreadable file, a header without the required columns, a header
    naming a column twice, or more than MAX_ROWS rows. Blank rows are skipped."""
    if data.startswith(_XLS_MAGIC):
        raise InvalidInput(_l("Old .xls workbooks are not read: save the file as .xlsx or CSV."),
                           errors={"file": [_l("Old .xls workbooks are not read: save the file as .xlsx or CSV.")]})
    if data.startswith(_XLSX_MAGIC):
        table = _xlsx_rows(data)
    else:
        text = decode_csv(data)
        try:
            table = csv_table(text)
        except CSV_ERROR as error:
            raise InvalidInput(_l("The file could not be read as CSV."),
                               errors={"file": [_l("The file could not be read as CSV.")]}) from error
    while table and not any(table[0]):
        table.pop(0)  # a title row left blank above the header
    if not table:
        raise InvalidInput(_l("The file is empty."), errors={"file": [_l("The file is empty.")]})
    positions: dict[str, int] = {}
    for index, heading in enumerate(table[0]):
        column = _ALIASES.get(_header_key(heading))
        if column is None:
            continue  # an extra column (notes, a row number): ignored
        if column in positions:
            message = _l("The header names the column %(column)s twice.", column=heading)
            raise InvalidInput(message, errors={"file": [message]})
        positions[column] = index
    missing = [HEADERS["en"][list(COLUMNS).index(c)] for c in REQUIRED if c not in positions]
    if missing:
        message = _l("The header lacks the columns: %(columns)s.", columns=", ".join(missing))
        raise InvalidInput(message, errors={"file": [message]})
    rows, lines = [], []
    for line, cells in enumerate(table[1:], start=2):
        if not any(cells):
            continue
        rows.append({column: cells[index][:MAX_CELL + 1] if index < len(cells) else ""
                     for column, index in positions.items()})
        lines.append(line)
    if len(rows) > MAX_ROWS:
        message = _l("At most %(n)d rows per file.", n=MAX_ROWS)
        raise InvalidInput(message, errors={"file": [message]})
    if not rows:
        raise InvalidInput(_l("The file has no rows under its header."),
                           errors={"file": [_l("The file has no rows under its header.")]})
    return ParsedFile(rows, lines, tuple(c for c in COLUMNS if c in positions))
