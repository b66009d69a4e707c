"""The ledger's files: an xlsx workbook or a CSV file read into rows of cell values, a ledger written
out (title, frozen header, fitted widths, amounts as numbers, dates as dates, lights as fills), the
template, and the report of an import's bad cells (a copy of the sheet with each bad cell marked).

Only this module touches openpyxl and the csv module; what the cells mean is
:mod:`followup.domain.ledgercells`, what is done with them :mod:`followup.app.ledgerio`.
"""

from __future__ import annotations

import csv
import io
import logging
import unicodedata
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from followup.domain import ledgercells
from followup.domain.ledgercells import HeaderCell
from followup.errors import InvalidInput
from followup.i18n import _

log = logging.getLogger(__name__)
SUFFIXES = (".xlsx", ".csv")
#: the fill of each light (预警) in an exported ledger; green (正常) has none
LIGHT_FILLS = {"blue": "BDD7EE", "yellow": "FFEB9C", "red": "FF8C8C", "top": "C00000"}
BAD_FILL = "FF8C8C"
HEADER_FILL = "D9D9D9"


@dataclass
class Sheet:
    """One sheet of a ledger as read: its name, every row's values (row 1 is ``rows[0]``), the header
    row's index and its recognised columns, and the headers that are not read."""

    path: Path
    name: str
    rows: list[tuple[Any, ...]]
    header_row: int
    columns: list[HeaderCell]
    unread: list[tuple[int, str]] = field(default_factory=list)


def kind_of(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise InvalidInput(
            _("{path}: a ledger is an .xlsx or a .csv file (an .xls: save it as .xlsx in Excel)").format(
                path=path
            )
        )
    return suffix


def read(path: Path, sheet: str | None = None) -> Sheet:
    """The ledger sheet of ``path``: ``sheet`` by name, else the first whose header is recognised
    (a second sheet of instructions is passed by)."""
    kind = kind_of(path)
    if not path.is_file():
        raise InvalidInput(_("{path}: no such file").format(path=path))
    sheets = _csv_rows(path) if kind == ".csv" else _xlsx_rows(path)
    if sheet is not None:
        chosen = [(n, rows) for n, rows in sheets if n == sheet]
        if not chosen:
            raise InvalidInput(
                _("{path} has no sheet {sheet!r}; its sheets: {names}").format(
                    path=path, sheet=sheet, names=", ".join(n for n, _rows in sheets)
                )
            )
        sheets = chosen
    for name, rows in sheets:
        index = ledgercells.find_header(rows)
        if index is not None:
            columns, unread = ledgercells.header_cells(rows[index])
            return Sheet(path, name, rows, index, columns, unread)
    raise InvalidInput(
        _(
            "{path}: no ledger header found (a row naming at least {n} columns such as 项目名称, "
            "责任单位, 目前进度); see `followup export --template`"
        ).format(path=path, n=ledgercells.HEADER_MIN)
    )


def _xlsx_rows(path: Path) -> list[tuple[str, list[tuple[Any, ...]]]]:
    """Every sheet's rows of values: through :func:`_fast_rows` (ElementTree over the sheet's XML, a
    few times faster than openpyxl's reader on a 10,000-line ledger), else through openpyxl."""
    try:
        return _fast_rows(path)
    except Exception:  # anything this plain reader does not know (strict OOXML …): openpyxl's turn
        log.debug("reading %s with openpyxl", path, exc_info=True)
    return _openpyxl_rows(path)


_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_PKG = "{http://schemas.openxmlformats.org/package/2006/relationships}"


def _fast_rows(path: Path) -> list[tuple[str, list[tuple[Any, ...]]]]:
    """Cell values as openpyxl's reader gives them (``data_only=False``): text, numbers, dates by
    their number format, TRUE/FALSE, a formula as ``=…``."""
    import posixpath
    import xml.etree.ElementTree as ET

    from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format
    from openpyxl.utils.datetime import from_excel

    with zipfile.ZipFile(path) as archive:
        names = set(archive.namelist())
        strings: list[str] = []
        if "xl/sharedStrings.xml" in names:
            for si in ET.fromstring(archive.read("xl/sharedStrings.xml")).iter(f"{_MAIN}si"):
                strings.append("".join(t.text or "" for t in si.iter(f"{_MAIN}t")))
        dates: set[int] = set()
        if "xl/styles.xml" in names:
            styles = ET.fromstring(archive.read("xl/styles.xml"))
            formats = dict(BUILTIN_FORMATS)
            for fmt in styles.iter(f"{_MAIN}numFmt"):
                formats[int(fmt.get("numFmtId", "0"))] = fmt.get("formatCode", "")
            xfs = styles.find(f"{_MAIN}cellXfs")
            for i, xf in enumerate(xfs if xfs is not None else []):
                code = formats.get(int(xf.get("numFmtId", "0")), "")
                if code and is_date_format(code):
                    dates.add(i)
        rels = {
            r.get("Id"): r.get("Target", "")
            for r in ET.fromstring(archive.read("xl/_rels/workbook.xml.rels")).iter(f"{_PKG}Relationship")
        }
        out: list[tuple[str, list[tuple[Any, ...]]]] = []
        for sheet in ET.fromstring(archive.read("xl/workbook.xml")).iter(f"{_MAIN}sheet"):
            target = rels[sheet.get(f"{_REL}id")]
            member = target.lstrip("/") if target.startswith("/") else posixpath.join("xl", target)
            out.append((sheet.get("name", ""), _sheet_rows(archive.open(member), strings, dates, from_excel)))
        return out


#: how much of a sheet's XML is parsed at a time: small enough that the elements of one chunk are still
#: in the processor's cache when their row is read (64 KiB chunks read a 10,000-line sheet 1.5× slower)
_CHUNK = 1 << 12
_DIGITS = "0123456789"


def _sheet_rows(source: Any, strings: list[str], dates: set[int], from_excel: Any) -> list[tuple[Any, ...]]:
    """The rows of one sheet's XML: each ``<row>`` read when its end is parsed, then dropped."""
    import xml.etree.ElementTree as ET

    rows: list[tuple[Any, ...]] = []
    row_tag = f"{_MAIN}row"
    # a numeric cell is a date when its style's number format is one; no style is style 0
    date_styles: set[str | None] = {str(i) for i in dates} | ({None} if 0 in dates else set())
    parser: Any = ET.XMLPullParser(events=("end",))  # its events: (kind, element)

    def take() -> None:
        for _event, element in parser.read_events():
            if element.tag != row_tag:
                continue
            number = element.get("r")
            wanted = int(number) - 1 if number else len(rows)
            while len(rows) < wanted:
                rows.append(())
            rows.append(_row_values(element, strings, date_styles, from_excel))
            element.clear()

    while chunk := source.read(_CHUNK):
        parser.feed(chunk)
        take()
    parser.close()
    take()
    return rows


def _row_values(
    row: Any, strings: list[str], date_styles: set[str | None], from_excel: Any
) -> tuple[Any, ...]:
    """One ``<row>``'s values, each in the column its reference names (the gaps None): text, numbers,
    dates by their number format, TRUE/FALSE, a formula as ``=…``."""
    cell_tag, value_tag, formula_tag = f"{_MAIN}c", f"{_MAIN}v", f"{_MAIN}f"
    inline_tag, text_tag = f"{_MAIN}is", f"{_MAIN}t"
    values: list[Any] = []
    for cell in row.iter(cell_tag):
        ref = cell.get("r")
        if ref:
            letters = ref.rstrip(_DIGITS)
            index = _COLUMN_INDEX.get(letters)
            if index is None:
                index = _column_index(letters)
            while len(values) < index:
                values.append(None)
        kind = cell.get("t")
        formula = cell.find(formula_tag)
        value: Any = None
        if formula is not None:
            value = "=" + (formula.text or "(shared formula)")
        elif kind == "inlineStr":
            inline = cell.find(inline_tag)
            if inline is not None and len(inline) == 1 and inline[0].tag == text_tag:
                value = inline[0].text or None  # one run of text, as openpyxl writes it
            else:
                value = "".join(t.text or "" for t in cell.iter(text_tag)) or None
        else:
            node = cell.find(value_tag)
            raw = node.text if node is not None else None
            if raw is None:
                pass
            elif kind == "s":
                value = strings[int(raw)]
            elif kind == "str" or kind == "e":
                value = raw
            elif kind == "b":
                value = raw == "1"
            else:
                value = float(raw) if "." in raw or "e" in raw or "E" in raw else int(raw)
                if cell.get("s") in date_styles:
                    value = from_excel(value)
        values.append(value)
    return tuple(values)


_COLUMN_INDEX: dict[str, int] = {}


def _column_index(letters: str) -> int:
    """The 0-based column of a reference's letters (``AB`` → 27), remembered."""
    index = 0
    for char in letters:
        index = index * 26 + ord(char.upper()) - 64
    _COLUMN_INDEX[letters] = index - 1
    return index - 1


def _openpyxl_rows(path: Path) -> list[tuple[str, list[tuple[Any, ...]]]]:
    from openpyxl import load_workbook  # only the ledger's commands pay for openpyxl

    try:
        book = load_workbook(path, read_only=True, data_only=False)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise InvalidInput(
            _("{path} cannot be read as an xlsx workbook: {reason}").format(path=path, reason=exc)
        ) from None
    try:
        return [(ws.title, [tuple(r) for r in ws.iter_rows(values_only=True)]) for ws in book.worksheets]
    finally:
        book.close()


def _csv_rows(path: Path) -> list[tuple[str, list[tuple[Any, ...]]]]:
    raw = path.read_bytes()
    for encoding in ("utf-8-sig", "gb18030"):  # Excel in China saves CSV in GBK unless told otherwise
        try:
            content = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - gb18030 decodes any byte sequence
        raise InvalidInput(_("{path} is neither UTF-8 nor GBK text").format(path=path))
    rows = [tuple(r) for r in csv.reader(io.StringIO(content, newline=""))]
    return [(path.stem, rows)]


# --------------------------------------------------------------------------- writing


@dataclass(frozen=True)
class LedgerTable:
    """A ledger to write: its title and date line, headers, rows of typed values (dates, Decimals,
    text), and the light of each row (None: green, no fill)."""

    title: str
    subtitle: str
    headers: list[str]
    kinds: list[str]
    rows: list[list[Any]]
    lights: list[str | None]
    light_column: int | None
    instructions: list[tuple[str, str, str]] = field(default_factory=list)  # header, variants, forms


def width(value: Any) -> int:
    """How many columns a value takes on screen: a CJK character counts double."""
    text = ledgercells.shown_cell(value)
    longest = max((len(line) for line in text.split("\n")), default=0)
    line = max(text.split("\n"), key=len, default="")
    wide = sum(1 for ch in line if unicodedata.east_asian_width(ch) in "WF")
    return longest + wide


def write(path: Path, table: LedgerTable) -> None:
    """Write ``table`` as ``path`` says: an xlsx workbook, or CSV (UTF-8 with a BOM: Excel opens it)."""
    if kind_of(path) == ".csv":
        with path.open("w", encoding="utf-8-sig", newline="") as out:
            writer = csv.writer(out)
            writer.writerow(table.headers)
            for row in table.rows:
                writer.writerow([_csv_value(v) for v in row])
        return
    _write_xlsx(path, table)


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value == value.to_integral_value() else str(value)
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return str(value)


def _write_xlsx(path: Path, table: LedgerTable) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    book = Workbook()
    ws = book.active
    assert ws is not None
    ws.title = "项目台账"
    n = len(table.headers)
    ws.cell(row=1, column=1, value=table.title).font = Font(bold=True, size=14)
    ws.cell(row=1, column=1).alignment = Alignment(horizontal="center")
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=n)
    ws.cell(row=2, column=1, value=table.subtitle)
    ws.merge_cells(start_row=2, start_column=1, end_row=2, end_column=n)
    header_fill = PatternFill("solid", fgColor=HEADER_FILL)
    for j, header in enumerate(table.headers, start=1):
        cell = ws.cell(row=3, column=j, value=header)
        cell.font = Font(bold=True)
        cell.fill = header_fill
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    widths = [width(h) for h in table.headers]
    for i, row in enumerate(table.rows, start=4):
        for j, value in enumerate(row, start=1):
            kind = table.kinds[j - 1]
            if isinstance(value, Decimal):
                value = int(value) if value == value.to_integral_value() else float(value)
            cell = ws.cell(row=i, column=j, value=value)
            if kind == "amount" or kind == "area":
                cell.number_format = "#,##0.00" if kind == "amount" else "0.##"
            elif kind == "date" and value is not None:
                cell.number_format = "yyyy-mm-dd"
            elif kind == "note":
                cell.alignment = Alignment(wrap_text=True, vertical="top")
            widths[j - 1] = max(widths[j - 1], min(width(value), 40))
        light = table.lights[i - 4] if i - 4 < len(table.lights) else None
        if table.light_column is not None and light in LIGHT_FILLS:
            cell = ws.cell(row=i, column=table.light_column + 1)
            cell.fill = PatternFill("solid", fgColor=LIGHT_FILLS[light])
            if light == "top":
                cell.font = Font(color="FFFFFF", bold=True)
    for j, w in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(j)].width = max(6, w + 2)
    ws.freeze_panes = "A4"
    if table.instructions:
        notes = book.create_sheet("填报说明")
        notes.append(["列名", "也可写作", "填写说明"])
        for cell in notes[1]:
            cell.font = Font(bold=True)
            cell.fill = header_fill
        for line in table.instructions:
            notes.append(list(line))
        for j in range(1, 4):
            longest = max(width(c.value) for c in notes[get_column_letter(j)])
            notes.column_dimensions[get_column_letter(j)].width = min(60, longest + 2)
    _save(book, path)


def _save(book: Any, path: Path) -> None:
    try:
        book.save(path)
    except OSError as exc:
        raise InvalidInput(_("cannot write {path}: {reason}").format(path=path, reason=exc)) from None


# --------------------------------------------------------------------------- the report of bad cells


@dataclass(frozen=True)
class Mark:
    """A bad cell to mark: its row (1-based), its column (0-based; None: the row as a whole), why."""

    row: int
    column: int | None
    problem: str


def write_report(sheet: Sheet, marks: Sequence[Mark], lines: Sequence[Sequence[str]], out: Path) -> None:
    """A copy of the ledger sheet with each bad cell filled red and commented with why, and a sheet
    listing every problem (``lines``: sheet, row, column, header, value, problem)."""
    from openpyxl import Workbook, load_workbook
    from openpyxl.cell.cell import MergedCell
    from openpyxl.comments import Comment
    from openpyxl.styles import Font, PatternFill

    if kind_of(sheet.path) == ".xlsx":
        book = load_workbook(sheet.path)
        ws = book[sheet.name]
        for other in [s for s in book.worksheets if s.title != sheet.name]:
            book.remove(other)
    else:
        book = Workbook()
        ws = book.active
        assert ws is not None
        ws.title = sheet.name[:31] or "ledger"
        for row in sheet.rows:
            ws.append(list(row))
    fill = PatternFill("solid", fgColor=BAD_FILL)
    reasons: dict[tuple[int, int], list[str]] = {}
    for mark in marks:
        reasons.setdefault((mark.row, (mark.column or 0) + 1), []).append(mark.problem)
    for (number, column), why in reasons.items():
        cell = ws.cell(row=number, column=column)
        if isinstance(cell, MergedCell):
            continue
        cell.fill = fill
        cell.comment = Comment("\n".join(why), "followup", width=300, height=40 + 20 * len(why))
    listing = book.create_sheet(_("problems"))
    listing.append([_("sheet"), _("row"), _("column"), _("header"), _("value"), _("problem")])
    for cell in listing[1]:
        cell.font = Font(bold=True)
    for line in lines:
        listing.append(list(line))
    listing.column_dimensions["F"].width = 80
    listing.column_dimensions["E"].width = 24
    _save(book, out)
