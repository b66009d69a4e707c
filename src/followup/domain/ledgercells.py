"""A county's ledger (台账) as a spreadsheet holds it: which column is which, and what a cell says.

Pure: no file, no database. The importer (``followup.app.ledgerio``) hands in rows of cell values as
openpyxl or the csv module reads them (None, text, numbers, dates; a formula as its text ``=SUM(…)``)
and gets back typed values, or one line per cell that says why it cannot be read. Nothing is guessed:
a date without a year or a day (``11月10日``, ``2026年7月``) is refused, never completed.

The columns a county writes, each under the names counties give it, are :data:`COLUMNS`; the README's
table is made from the same list (``followup export --template`` lists them too).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from followup.domain import validate, words
from followup.domain.timeutil import parse_day
from followup.domain.workflow import Workflow
from followup.errors import InvalidInput
from followup.i18n import _

CellKind = Literal["text", "note", "amount", "area", "date", "stage", "unit", "official", "ignored"]


@dataclass(frozen=True)
class LedgerColumn:
    """A ledger column: what it holds (``key``: a project field, or ``name``, ``stage``, ``unit``,
    ``officer``, ``progress``, ``last_followup``; ``seq``/``phone``/``light`` are not read), the
    header the export writes, and every header a county may give it."""

    key: str
    header: str
    kind: CellKind
    variants: tuple[str, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        return (self.header, *self.variants)


#: The ledger's columns in the order the export writes them. A header is compared folded (full-width
#: forms made plain, no spaces or line breaks) and without a unit in brackets: 总投资（亿元） is 总投资
#: whose bare numbers are 亿元.
COLUMNS: tuple[LedgerColumn, ...] = (
    LedgerColumn("seq", "序号", "ignored"),
    LedgerColumn("code", "项目编号", "text", ("编号", "项目代码")),
    LedgerColumn("name", "项目名称", "text", ("项目",)),
    LedgerColumn("investor", "投资方", "text", ("投资主体", "投资单位", "签约企业", "投资商", "投资企业")),
    LedgerColumn("investor_contact", "投资方联系人", "text", ("联系人",)),
    LedgerColumn("chain", "所属产业链", "text", ("产业链", "产业类别", "产业")),
    LedgerColumn("chain_link", "产业链环节", "text", ("环节",)),
    LedgerColumn(
        "amount", "合同金额（万元）", "amount", ("总投资", "计划总投资", "投资额", "投资总额", "总投资额")
    ),
    LedgerColumn("funds_in_place", "到位资金（万元）", "amount", ("资金到位", "已到位资金", "累计到位资金")),
    LedgerColumn("land", "用地面积（亩）", "area", ("用地", "占地", "占地面积")),
    LedgerColumn("stage", "目前进度", "stage", ("当前阶段", "项目进度", "进展阶段", "项目阶段", "阶段")),
    LedgerColumn("unit", "责任单位", "unit", ("牵头单位",)),
    LedgerColumn("officer", "责任人", "official", ("项目专员",)),
    LedgerColumn("leader", "包抓领导", "official", ("包联领导", "联系领导")),
    LedgerColumn("source", "信息来源", "text", ("来源",)),
    LedgerColumn("signed_on", "签约日期", "date", ("签约时间",)),
    LedgerColumn(
        "contract_start", "合同约定开工日期", "date", ("计划开工时间", "计划开工日期", "约定开工日期")
    ),
    LedgerColumn(
        "contract_production", "合同约定投产日期", "date", ("计划投产时间", "计划投产日期", "约定投产日期")
    ),
    LedgerColumn("started_on", "实际开工日期", "date", ("实际开工", "实际开工时间", "开工日期")),
    LedgerColumn("production_on", "实际投产日期", "date", ("实际投产", "实际投产时间", "投产日期")),
    LedgerColumn("progress", "最新进展", "note", ("进展情况", "进展")),
    LedgerColumn("last_followup", "最近跟进日期", "date", ("最近跟进时间", "跟进日期")),
    LedgerColumn("light", "预警", "ignored", ("预警状态", "亮灯")),
    LedgerColumn("remarks", "备注", "note"),
    LedgerColumn("phone", "联系电话", "ignored", ("电话", "手机")),
)
BY_KEY = {c.key: c for c in COLUMNS}
#: columns the importer never reads: the row number, the light (computed), a phone number (not kept)
NOT_READ = frozenset({"seq", "light", "phone"})
#: a unit in a header's brackets, and what a bare number under it is worth in 万元
_HEADER_UNITS = {"万元": Decimal(1), "亿元": Decimal(10000), "万": Decimal(1), "亿": Decimal(10000)}
_BRACKETED = re.compile(r"[(\[【]([^()\[\]【】]*)[)\]】]")


def _header_words() -> dict[str, str]:
    out: dict[str, str] = {}
    for column in COLUMNS:
        for name in column.names:
            out[_bare(name)] = column.key
    return out


def _bare(header: str) -> str:
    """A header folded, without what is in brackets and without a required-field star."""
    return _BRACKETED.sub("", words.folded(header)).strip("*＊:：")


_HEADERS = _header_words()


@dataclass(frozen=True)
class HeaderCell:
    """A recognised header: the column's index (0-based), what it holds, its text, and what a bare
    number under it is worth in 万元 (1; 10000 under 总投资（亿元）)."""

    index: int
    key: str
    text: str
    per: Decimal = Decimal(1)


def header_of(text: object) -> tuple[str, Decimal] | None:
    """The column a header names and the worth of its bare numbers, or None."""
    if not isinstance(text, str) or not text.strip():
        return None
    key = _HEADERS.get(_bare(text))
    if key is None:
        return None
    per = Decimal(1)
    for inside in _BRACKETED.findall(words.folded(text)):
        per = _HEADER_UNITS.get(inside.strip(), per)
    if BY_KEY[key].kind == "amount" and "亿元" in words.folded(text) and not _BRACKETED.search(text):
        per = Decimal(10000)  # 总投资亿元
    return key, per


#: how many recognised headers make a header row; how far down a sheet it is looked for
HEADER_MIN = 3
HEADER_SCAN = 30


def find_header(rows: Sequence[Sequence[object]]) -> int | None:
    """The index of the header row among the first rows: the first with at least three recognised
    headers (a title row, a 填报单位 row above it are passed by)."""
    for i, row in enumerate(rows[:HEADER_SCAN]):
        if sum(1 for cell in row if header_of(cell) is not None) >= HEADER_MIN:
            return i
    return None


def header_cells(row: Sequence[object]) -> tuple[list[HeaderCell], list[tuple[int, str]]]:
    """The recognised columns of a header row, and the others (index, text) that are not read."""
    found: list[HeaderCell] = []
    other: list[tuple[int, str]] = []
    for i, cell in enumerate(row):
        parsed = header_of(cell)
        if parsed is not None:
            found.append(HeaderCell(i, parsed[0], str(cell).strip(), parsed[1]))
        elif cell is not None and str(cell).strip():
            other.append((i, str(cell).strip()))
    return found, other


def column_letter(index: int) -> str:
    """A spreadsheet's name for the 0-based column ``index``: A, B, …, Z, AA."""
    out = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        out = chr(ord("A") + rest) + out
    return out


# --------------------------------------------------------------------------- rows

_SUMMARY_WORDS = ("小计", "合计", "总计")
_AGGREGATES = re.compile(r"^=\s*(SUM|SUBTOTAL|COUNT|COUNTA|AVERAGE)\s*\(", re.IGNORECASE)


def is_blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def is_summary(row: Sequence[object]) -> bool:
    """A 小计/合计 row: its first filled cell says so, or it holds a sum (=SUM(E4:E12))."""
    filled = [cell for cell in row if not is_blank(cell)]
    if not filled:
        return False
    first = filled[0]
    if isinstance(first, str) and any(w in first for w in _SUMMARY_WORDS):
        return True
    return any(isinstance(cell, str) and _AGGREGATES.match(cell.strip()) for cell in filled)


def is_formula(value: object) -> bool:
    return isinstance(value, str) and value.startswith("=") and len(value) > 1


def shown_cell(value: object) -> str:
    """A cell's value as a report shows it."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat(" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# --------------------------------------------------------------------------- cells


def text(value: object, what: str, *, note: bool = False) -> str | None:
    """A text cell (a name, an investor, a remark), None when empty. A number is taken as written
    (项目编号 1001, not 1001.0)."""
    if is_blank(value):
        return None
    if is_formula(value):
        raise InvalidInput(_("a formula, not a value: paste the values (选择性粘贴 → 数值)"))
    if isinstance(value, bool):
        raise InvalidInput(_("expected text, not TRUE/FALSE"))
    raw = shown_cell(value) if isinstance(value, (int, float, Decimal, date, datetime)) else str(value)
    return validate.note(raw, what) if note else validate.line(raw, what)


#: a day missing its year (11月10日, 11-10) or its day (2026年7月, 2026-07, 2026.7)
_NO_YEAR = re.compile(r"[0-9]{1,2}\s*月\s*[0-9]{1,2}\s*[日号]?|[0-9]{1,2}[-/.][0-9]{1,2}")
_NO_DAY = re.compile(r"[0-9]{4}\s*年\s*[0-9]{1,2}\s*月?|[0-9]{4}[-/.][0-9]{1,2}")
#: a day followed by a time of day (a CSV saved by Excel: 2026-11-20 0:00:00)
_WITH_TIME = re.compile(r"(.+?)\s+[0-9]{1,2}:[0-9]{2}(?::[0-9]{2})?")


def day(value: object, what: str) -> date | None:
    """A date cell: a real date, or text as counties type it (2026-8-3, 2026/4/8, 2026.05.20,
    2026年9月12日); None when empty. A date without its year or its day is refused, never completed."""
    if is_blank(value):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, (bool, int, float, Decimal)):
        raise InvalidInput(_("a number, not a date: format the cell as a date or type it as 2026-11-20"))
    if is_formula(value):
        raise InvalidInput(_("a formula, not a value: paste the values (选择性粘贴 → 数值)"))
    raw = unicodedata.normalize("NFKC", str(value)).strip()
    timed = _WITH_TIME.fullmatch(raw)
    if timed:
        raw = timed.group(1)
    if _NO_YEAR.fullmatch(raw):
        raise InvalidInput(_("the date has no year: write it in full, e.g. 2026年11月10日"))
    if _NO_DAY.fullmatch(raw):
        raise InvalidInput(_("the date has no day: write it in full, e.g. 2026年7月1日"))
    return parse_day(raw, what=what)


def _number(value: int | float | Decimal) -> Decimal:
    if isinstance(value, float):
        return Decimal(repr(value))
    return Decimal(value)


def amount(value: object, per: Decimal = Decimal(1)) -> Decimal | None:
    """An amount cell in 万元: a number (worth ``per`` 万元 each: 10000 under a header in 亿元), or
    text with or without its unit (5,000; 8000万元; 1.2亿). None when empty."""
    if is_blank(value):
        return None
    if isinstance(value, bool):
        raise InvalidInput(_("expected an amount, not TRUE/FALSE"))
    if is_formula(value):
        raise InvalidInput(_("a formula, not a value: paste the values (选择性粘贴 → 数值)"))
    if isinstance(value, (int, float, Decimal)):
        number = _number(value) * per
        return validate.decimal(str(number), _("amount"), shown_as=shown_cell(value))
    raw = str(value)
    parsed = words.amount(raw)
    if per != 1 and words.folded(raw).rstrip("万亿元") == words.folded(raw):  # a bare number
        parsed = validate.decimal(str(parsed * per), _("amount"), shown_as=raw)
    return parsed


def area(value: object) -> Decimal | None:
    """An area cell in 亩: 120.5, 50亩, 1,200. None when empty."""
    if is_blank(value):
        return None
    if isinstance(value, bool):
        raise InvalidInput(_("expected an area, not TRUE/FALSE"))
    if is_formula(value):
        raise InvalidInput(_("a formula, not a value: paste the values (选择性粘贴 → 数值)"))
    if isinstance(value, (int, float, Decimal)):
        return validate.decimal(str(_number(value)), _("land"), shown_as=shown_cell(value))
    return words.area(str(value))


#: what people write around a stage's name: 已签约, 正在洽谈, 洽谈中, 开工建设, 签约阶段
_STAGE_PREFIXES = ("已经", "已", "正在", "处于", "进入")
_STAGE_SUFFIXES = ("阶段", "建设", "中", "期", "完成", "完毕")


def stage_variants(word: str) -> list[str]:
    """``word`` and what remains of it without the words around a stage's name, longest first."""
    out = [word]
    current = unicodedata.normalize("NFKC", word).strip()
    changed = True
    while changed:
        changed = False
        for prefix in _STAGE_PREFIXES:
            if current.startswith(prefix) and len(current) > len(prefix):
                current = current[len(prefix) :]
                changed = True
        for suffix in _STAGE_SUFFIXES:
            if current.endswith(suffix) and len(current) > len(suffix):
                current = current[: -len(suffix)]
                changed = True
        if changed and current not in out:
            out.append(current)
    return out


def stage(workflow: Workflow, value: object) -> str | None:
    """The state of ``workflow`` a stage cell names, as people write it (已签约, 洽谈中, 开工建设,
    已投产, 供地, 暂缓, 终止); None when empty."""
    if is_blank(value):
        return None
    if not isinstance(value, str):
        raise InvalidInput(_("expected a stage such as 洽谈 or 已签约"))
    first: InvalidInput | None = None
    for word in stage_variants(value.strip()):
        try:
            return words.stage_key(workflow, word)
        except InvalidInput as exc:
            first = first or exc
    assert first is not None
    raise first


#: a name followed by its key in brackets, as the export writes a name two people share: 李娜（lina）
_NAME_AND_KEY = re.compile(r"(?P<name>.*?)\s*[(（]\s*(?P<key>[A-Za-z0-9][A-Za-z0-9_.-]{0,63})\s*[)）]")


def name_and_key(value: str) -> tuple[str, str | None]:
    """``李娜（lina）`` → (李娜, lina); a plain name → (name, None)."""
    found = _NAME_AND_KEY.fullmatch(value.strip())
    if found is None:
        return value.strip(), None
    return found.group("name"), found.group("key")


def cell_kind(key: str) -> CellKind:
    return BY_KEY[key].kind


def read_cell(key: str, value: object, per: Decimal = Decimal(1)) -> Any:
    """A cell of column ``key`` read by its kind (a stage, a unit or an official stay text: the
    importer resolves them); raises :class:`InvalidInput` with why it cannot be read."""
    kind = cell_kind(key)
    if kind == "amount":
        return amount(value, per)
    if kind == "area":
        return area(value)
    if kind == "date":
        return day(value, key)
    if kind in ("note", "stage"):
        return text(value, key, note=kind == "note")
    if kind in ("text", "unit", "official"):
        return text(value, key)
    return None
