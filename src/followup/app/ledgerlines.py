"""The lines of a ledger sheet read into cells, the problems found (each placed on its cell), and
the units and officials the lines name, resolved from one load of each.

Part of ``followup import`` (:mod:`followup.app.ledgerio`): :func:`read_lines` reads every project line
of a sheet (:mod:`followup.app.ledgerbook`) with :mod:`followup.domain.ledgercells`; what each line does
is planned in :mod:`followup.app.ledgerplan`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from followup.app.ledgerbook import Mark, Sheet
from followup.app.views import View
from followup.domain import ledgercells, words
from followup.domain.kinds import Role
from followup.errors import FollowupError, InvalidInput, UnknownOfficial, UnknownUnit
from followup.i18n import _
from followup.store.models import Official, Unit

T = TypeVar("T")
#: wraps an iterable to show progress (the CLI's bar); the app never prints
Progress = Callable[[Iterable[T], int, str], Iterable[T]]

#: how long a text may be where the database keeps it shorter than a line
MAX_LENGTHS = {"code": 64, "chain": 100, "chain_link": 100}


def no_progress(items: Iterable[T], total: int, what: str) -> Iterable[T]:
    return items


@dataclass(frozen=True)
class CellProblem(View):
    """A cell the import cannot read, or a line it cannot take: where (sheet, row, column letter and
    header; column "" for the line as a whole), the value, and what is wrong."""

    sheet: str
    row: int
    column: str
    header: str
    value: str
    problem: str


@dataclass
class Line:
    row: int  # 1-based, as the spreadsheet numbers it
    raw: dict[str, Any]
    cells: dict[str, Any]


class Problems:
    """The problems found so far, each placed on its cell."""

    def __init__(self, sheet: Sheet) -> None:
        self.sheet = sheet
        self.by_key = {c.key: c for c in sheet.columns}
        self.items: list[tuple[CellProblem, Mark]] = []
        self.rows: set[int] = set()

    def add(self, line: Line | int, key: str | None, problem: str) -> None:
        row = line.row if isinstance(line, Line) else line
        self.rows.add(row)
        column = self.by_key.get(key) if key else None
        raw = line.raw.get(key) if isinstance(line, Line) and key else None
        header = column.text if column else (ledgercells.BY_KEY[key].header if key else "")
        self.items.append(
            (
                CellProblem(
                    self.sheet.name,
                    row,
                    ledgercells.column_letter(column.index) if column else "",
                    header,
                    ledgercells.shown_cell(raw),
                    problem,
                ),
                Mark(row, column.index if column else None, problem),
            )
        )

    def __bool__(self) -> bool:
        return bool(self.items)

    def count(self) -> int:
        return len(self.items)


def read_lines(sheet: Sheet, problems: Problems, progress: Progress[Any]) -> tuple[list[Line], int]:
    """Every project line of the sheet with its cells read, and how many lines were skipped."""
    columns = [c for c in sheet.columns if c.key not in ledgercells.NOT_READ]
    seen: dict[str, ledgercells.HeaderCell] = {}
    for column in columns:
        if column.key in seen:
            problems.add(
                sheet.header_row + 1,
                None,
                _("columns {first} and {second} both hold {header}: keep one").format(
                    first=ledgercells.column_letter(seen[column.key].index),
                    second=ledgercells.column_letter(column.index),
                    header=ledgercells.BY_KEY[column.key].header,
                ),
            )
        seen[column.key] = column
    if "name" not in seen:
        raise InvalidInput(
            _("{path}: the ledger has no 项目名称 column (header row {row})").format(
                path=sheet.path, row=sheet.header_row + 1
            )
        )
    lines: list[Line] = []
    skipped = 0
    readers = [(c.key, c.index, _ColumnReader(c)) for c in columns]
    body = sheet.rows[sheet.header_row + 1 :]
    for offset, values in enumerate(progress(body, len(body), _("reading"))):
        row = sheet.header_row + 2 + offset
        width = len(values)
        raw = {key: values[index] if index < width else None for key, index, _r in readers}
        if all(ledgercells.is_blank(v) for v in raw.values()) or _is_summary(values):
            skipped += 1
            continue
        line = Line(row, raw, {})
        for key, _index, reader in readers:
            value, problem = reader.read(raw[key])
            if problem is None:
                line.cells[key] = value
            else:
                problems.add(line, key, problem)
        lines.append(line)
    return lines, skipped


#: what a 小计/合计 line holds in some cell (:func:`ledgercells.is_summary` asks only of such lines)
_SUMMARY_SIGNS = ("小计", "合计", "总计", "=")


def _is_summary(values: tuple[Any, ...]) -> bool:
    """:func:`ledgercells.is_summary`, asked only of a line with a summary word or a formula's ``=`` in
    some cell (of the line's cells as text: a number or a date has neither): a project line has none."""
    text = "\n".join(map(str, values))
    if any(sign in text for sign in _SUMMARY_SIGNS):
        return ledgercells.is_summary(values)
    return False


class _ColumnReader:
    """Reads the cells of one column, each distinct value once (:func:`ledgercells.read_cell` is pure):
    a ledger says 已签约, 城关镇人民政府 or 2026-11-3 hundreds of times."""

    def __init__(self, column: ledgercells.HeaderCell) -> None:
        self.key, self.per, self.limit = column.key, column.per, MAX_LENGTHS.get(column.key)
        self.memo: dict[tuple[type, Any], tuple[Any, str | None]] = {}

    def read(self, raw: Any) -> tuple[Any, str | None]:
        """The cell's value and None, or None and why it cannot be read."""
        try:
            found = self.memo.get((raw.__class__, raw))  # the type too: 1, 1.0 and True are equal
        except TypeError:  # a value that cannot be a key (openpyxl's reader may give objects)
            return self._read(raw)
        if found is None:
            found = self.memo[raw.__class__, raw] = self._read(raw)
        return found

    def _read(self, raw: Any) -> tuple[Any, str | None]:
        try:
            value = ledgercells.read_cell(self.key, raw, self.per)
            if isinstance(value, str) and self.limit and len(value) > self.limit:
                raise InvalidInput(_("longer than {max_len} characters").format(max_len=self.limit))
        except FollowupError as exc:
            return None, str(exc)
        return value, None


# --------------------------------------------------------------------------- units and officials


class Directory:
    """Every unit and official, loaded once: a ledger names hundreds of times the same few."""

    def __init__(self, session: Session) -> None:
        self.units = list(session.scalars(select(Unit).order_by(Unit.key)))
        self.officials = list(session.scalars(select(Official).order_by(Official.key)).unique())
        self._unit_candidates = [
            words.Candidate(u.key, u.name, "" if u.active else _("deactivated")) for u in self.units
        ]
        self._official_candidates = [
            words.Candidate(o.key, o.name, o.unit.name, tuple(o.aliases or ())) for o in self.officials
        ]
        self._memo: dict[tuple[str, str], Unit | Official | FollowupError] = {}

    def unit(self, word: str) -> Unit:
        found = self._memo.get(("unit", word))
        if found is None:
            try:
                found = self._unit(word)
            except FollowupError as exc:
                found = exc
            self._memo["unit", word] = found
        if isinstance(found, FollowupError):
            raise found
        assert isinstance(found, Unit)
        return found

    def _unit(self, word: str) -> Unit:
        name, key = ledgercells.name_and_key(word)
        by_key = {u.key: u for u in self.units}
        found = by_key.get(key or word)
        if found is None:
            chosen = words.pick(
                name,
                self._unit_candidates,
                _("unit"),
                unknown=UnknownUnit,
                listing="followup unit list",
                partial=True,
            )
            found = by_key[chosen.key]
        if not found.active:
            raise InvalidInput(
                _("unit {key!r} ({name}) is deactivated").format(key=found.key, name=found.name)
            )
        return found

    def official(self, word: str, *, leader: bool = False) -> Official:
        kind = "leader" if leader else "official"
        found = self._memo.get((kind, word))
        if found is None:
            try:
                found = self._official(word, leader)
            except FollowupError as exc:
                found = exc
            self._memo[kind, word] = found
        if isinstance(found, FollowupError):
            raise found
        assert isinstance(found, Official)
        return found

    def _official(self, word: str, leader: bool) -> Official:
        name, key = ledgercells.name_and_key(word)
        by_key = {o.key: o for o in self.officials}
        found = by_key.get(key or word)
        if found is None:
            wanted = words.folded(name)
            namesakes = [o for o in self.officials if words.folded(o.name) == wanted]
            if not namesakes:
                namesakes = [
                    o for o in self.officials if wanted in {words.folded(a) for a in o.aliases or ()}
                ]
            serving = [o for o in namesakes if o.active]
            if len(serving) == 1:
                found = serving[0]
            else:
                chosen = words.pick(
                    name,
                    self._official_candidates,
                    _("leader") if leader else _("official"),
                    unknown=UnknownOfficial,
                    listing="followup official list",
                )
                found = by_key[chosen.key]
        if not found.active:
            raise InvalidInput(
                _("{what} {key!r} ({name}) has left office (deactivated); pick an active official").format(
                    what=_("official"), key=found.key, name=found.name
                )
            )
        if leader and Role.LEADER not in found.roles:
            raise InvalidInput(
                _(
                    "official {key!r} ({name}) is not a county leader (role leader); "
                    "give the role with `followup official update {key} --role leader`"
                ).format(key=found.key, name=found.name)
            )
        return found
