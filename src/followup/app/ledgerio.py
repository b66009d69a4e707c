"""The ledger (台账) in and out: ``followup import`` and ``followup export``.

Import reads a county's sheet (:mod:`followup.app.ledgerbook`), reads every cell
(:mod:`followup.domain.ledgercells`), resolves units and officials from one load of each, matches each
line to a stored project (by 项目编号, else by name and unit) and checks everything before anything is
written: one bad cell and nothing is imported, and every bad cell is reported. Then, in one
transaction, new projects are entered as ``project add --stage … --since …`` enters them, and the
changes of known ones are applied and recorded in their history (note ``导入 FILE``). Importing the
same file twice changes nothing the second time.

A ledger says where a project *is*: a stage that differs from the stored one places the project there
(a history line of kind ``move``, not checked against the workflow's moves, the stage's requirements
checked), as of the stage's own date in the ledger (签约日期 for 签约, 实际开工日期 for 开工 …) or of
now. Holding and ending a project take a reason: a ledger's 暂缓/终止 must agree with the project
(``followup hold``, ``followup terminate`` make them). An empty cell never clears a stored value.

``dry_run`` does all of it in the transaction, asks what the first sweep after it would queue (the
sweep's own rules: :func:`followup.domain.ladder.assess` and the roster), and rolls back.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from followup.app import ledgerbook, records
from followup.app.ledger import ProjectFilter, list_projects
from followup.app.ledgerbook import LedgerTable, Mark, Sheet
from followup.app.runtime import Runtime
from followup.app.views import View
from followup.domain import deadlines, ledgercells, words
from followup.domain.fields import PROJECT_FIELDS
from followup.domain.kinds import EventKind, Light, Role
from followup.domain.ladder import Memo, assess
from followup.domain.notices import NoticeKey, ProjectClock
from followup.domain.timeutil import as_utc, local_day, start_of_day
from followup.domain.workflow import ON_HOLD, SIDE_STATES, TERMINATED, Workflow
from followup.errors import FollowupError, InvalidInput, UnknownOfficial, UnknownUnit
from followup.i18n import _, named
from followup.store import queries
from followup.store.models import Notification, Official, Project, ProjectEvent, Unit

log = logging.getLogger(__name__)
T = TypeVar("T")
#: wraps an iterable to show progress (the CLI's bar); the app never prints
Progress = Callable[[Iterable[T], int, str], Iterable[T]]

#: the columns that hold a project field (the rest: name, stage, unit, officer, progress, last_followup)
FIELD_COLUMNS = tuple(c.key for c in ledgercells.COLUMNS if c.key in PROJECT_FIELDS)
#: the project fields stored in a column of their own (the leader is ``leader_id``)
_STORED_FIELDS = tuple(k for k in PROJECT_FIELDS if k != "leader")
#: how long a text may be where the database keeps it shorter than a line
MAX_LENGTHS = {"code": 64, "chain": 100, "chain_link": 100}


_UNSEEN = object()
#: bulk INSERTs bind NULLs too: rows that differ only in which fields are empty stay one batch
_BULK = {"render_nulls": True}


def _no_progress(items: Iterable[T], total: int, what: str) -> Iterable[T]:
    return items


# --------------------------------------------------------------------------- views


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


@dataclass(frozen=True)
class Planned(View):
    """What the import does to one line's project: ``create`` (with its values) or ``change`` (each
    changed field as [before, after])."""

    row: int
    action: str
    project_id: int | None
    name: str
    changes: dict[str, Any]


@dataclass(frozen=True)
class MailForecast(View):
    """What the first sweep after the import would queue for one official: how many notifications, in
    which roles (delivery folds one person's notifications into one mail)."""

    key: str
    name: str
    roles: tuple[str, ...]
    notifications: int


@dataclass(frozen=True)
class ImportNote(View):
    """A line whose date was not given and was taken as the import day: the stage's recorded date
    (``what`` = ``recorded``: 签约日期 of a line at 签约 with none, then also the day it entered the stage),
    or, the project having that date already, only the day it entered the stage (``what`` = ``stage``).
    Not refused (a county may not know the date), but said: the figures' cohorts and dates hang on it."""

    row: int
    project_id: int | None
    name: str
    stage: str
    stage_label: str
    what: str  # recorded | stage
    field: str  # the stage's recorded date: signed_on, started_on, production_on
    field_label: str
    day: date


@dataclass(frozen=True)
class ImportResult(View):
    file: str
    sheet: str
    rows: int  # project lines read
    skipped: int  # blank, 小计 and 合计 lines
    created: int
    changed: int
    unchanged: int
    dry_run: bool
    problems: tuple[CellProblem, ...] = ()
    unread_columns: tuple[str, ...] = ()
    planned: tuple[Planned, ...] = ()
    mails: tuple[MailForecast, ...] = ()
    notifications: int = 0
    #: the lines whose stage date or recorded date was taken as the import day, by row
    notes: tuple[ImportNote, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems


# --------------------------------------------------------------------------- the lines of a sheet


@dataclass
class _Line:
    row: int  # 1-based, as the spreadsheet numbers it
    raw: dict[str, Any]
    cells: dict[str, Any]


class _Problems:
    """The problems found so far, each placed on its cell."""

    def __init__(self, sheet: Sheet) -> None:
        self.sheet = sheet
        self.by_key = {c.key: c for c in sheet.columns}
        self.items: list[tuple[CellProblem, Mark]] = []
        self.rows: set[int] = set()

    def add(self, line: _Line | int, key: str | None, problem: str) -> None:
        row = line.row if isinstance(line, _Line) else line
        self.rows.add(row)
        column = self.by_key.get(key) if key else None
        raw = line.raw.get(key) if isinstance(line, _Line) and key else None
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


def _read_lines(sheet: Sheet, problems: _Problems, progress: Progress[Any]) -> tuple[list[_Line], int]:
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
    lines: list[_Line] = []
    skipped = 0
    body = sheet.rows[sheet.header_row + 1 :]
    for offset, values in enumerate(progress(body, len(body), _("reading"))):
        row = sheet.header_row + 2 + offset
        raw = {c.key: values[c.index] if c.index < len(values) else None for c in columns}
        if all(ledgercells.is_blank(v) for v in raw.values()) or ledgercells.is_summary(values):
            skipped += 1
            continue
        line = _Line(row, raw, {})
        for column in columns:
            try:
                value = ledgercells.read_cell(column.key, raw[column.key], column.per)
                limit = MAX_LENGTHS.get(column.key)
                if isinstance(value, str) and limit and len(value) > limit:
                    raise InvalidInput(_("longer than {max_len} characters").format(max_len=limit))
                line.cells[column.key] = value
            except FollowupError as exc:
                problems.add(line, column.key, str(exc))
        lines.append(line)
    return lines, skipped


# --------------------------------------------------------------------------- units and officials


class _Directory:
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


# --------------------------------------------------------------------------- planning


@dataclass
class _Plan:
    line: _Line
    workflow: Workflow
    name: str
    project: Project | None = None  # None: a new project
    values: dict[str, Any] = field(default_factory=dict)  # new: fields; known: what changes
    stage: str | None = None  # new: its stage; known: the stage it is placed in (None: no move)
    since: datetime | None = None
    quiet_from: datetime | None = None  # known: a later last follow-up (None: unchanged)
    note: str | None = None  # a follow-up (最新进展) to record
    note_at: datetime | None = None
    officer: Official | None = None
    unit: Unit | None = None
    #: the stage's date not given: ``recorded`` (its recorded date filled with the import day) or
    #: ``stage`` (only the day it entered the stage); None: given, or no stage placed
    undated: str | None = None

    @property
    def changes_anything(self) -> bool:
        return bool(
            self.project is None or self.values or self.stage or self.quiet_from or self.note is not None
        )


class _Planner:
    """Checks each line against the database as loaded once, and says what it would do."""

    def __init__(self, rt: Runtime, session: Session, problems: _Problems, now: datetime) -> None:
        self.rt = rt
        self.now = now
        self.problems = problems
        self.people = _Directory(session)
        self.default = rt.workflows.get(rt.settings.default_workflow)
        self.projects = list(session.scalars(select(Project).order_by(Project.id)).unique())
        self.by_code = {p.code: p for p in self.projects if p.code}
        self.by_name: dict[tuple[str, int], list[Project]] = defaultdict(list)
        for p in self.projects:
            if p.voided_at is None:
                self.by_name[words.folded(p.name), p.unit_id].append(p)
        latest = (
            select(func.max(ProjectEvent.id))
            .where(ProjectEvent.kind == str(EventKind.FOLLOWUP))
            .group_by(ProjectEvent.project_id)
        )
        self.notes: dict[int, str | None] = {
            pid: note
            for pid, note in session.execute(
                select(ProjectEvent.project_id, ProjectEvent.note).where(ProjectEvent.id.in_(latest))
            )
        }
        self.stages: dict[tuple[str, str], object] = {}
        self.taken: dict[int, int] = {}  # project id -> the line that matched it
        self.new_keys: dict[object, int] = {}  # a new project's code or (name, unit) -> its line

    def plan(self, line: _Line) -> _Plan | None:
        """What ``line`` does, or None (its problems noted)."""
        before = self.problems.count()
        cells = line.cells
        name = cells.get("name")
        if name is None:
            if "name" not in line.raw or ledgercells.is_blank(line.raw.get("name")):
                self.problems.add(line, "name", _("a project line needs its 项目名称"))
            return None
        unit = self._resolve(line, "unit", self.people.unit)
        officer = self._resolve(line, "officer", self.people.official)
        leader = self._resolve(line, "leader", lambda w: self.people.official(w, leader=True))
        values = {k: cells[k] for k in FIELD_COLUMNS if cells.get(k) is not None and k != "leader"}
        if leader is not None:
            values["leader"] = leader
        project = self._match(line, name, cells.get("code"), unit)
        if self.problems.count() > before:
            return None
        if project is None:
            return self._new(line, name, unit, officer, values)
        return self._known(line, project, name, unit, officer, values)

    def _resolve(self, line: _Line, key: str, lookup: Callable[[str], Any]) -> Any:
        word = line.cells.get(key)
        if word is None:
            return None
        try:
            return lookup(word)
        except FollowupError as exc:
            self.problems.add(line, key, str(exc))
            return None

    def _match(self, line: _Line, name: str, code: str | None, unit: Unit | None) -> Project | None:
        """The stored project this line is about: by 项目编号, else by name and unit; None: a new one."""
        found: Project | None = None
        if code is not None and code in self.by_code:
            found = self.by_code[code]
            if found.voided_at is not None:
                self.problems.add(
                    line,
                    "code",
                    _(
                        "项目编号 {code} is project {id}'s, which was voided: give this project another"
                    ).format(code=code, id=found.id),
                )
                return None
        elif unit is not None:
            same = self.by_name.get((words.folded(name), unit.id), [])
            if len(same) > 1:
                self.problems.add(
                    line,
                    "name",
                    _("unit {unit} has several projects named {name} ({ids}): give the 项目编号").format(
                        unit=unit.name, name=name, ids=", ".join(str(p.id) for p in same)
                    ),
                )
                return None
            if same:
                found = same[0]
                if code is not None and found.code is not None and found.code != code:
                    self.problems.add(
                        line,
                        "code",
                        _("project {id} ({name}) has 项目编号 {stored}, not {code}").format(
                            id=found.id, name=found.name, stored=found.code, code=code
                        ),
                    )
                    return None
        if found is not None:
            first = self.taken.get(found.id)
            if first is not None:
                self.problems.add(
                    line,
                    "name",
                    _("the same project as row {row} (project {id})").format(row=first, id=found.id),
                )
                return None
            self.taken[found.id] = line.row
            return found
        key: object = (
            ("code", code) if code is not None else ("name", words.folded(name), unit.id if unit else 0)
        )
        first = self.new_keys.get(key)
        if first is not None:
            self.problems.add(
                line,
                "code" if code is not None else "name",
                _("the same project as row {row}").format(row=first),
            )
            return None
        self.new_keys[key] = line.row
        return None

    def _stage(self, line: _Line, workflow: Workflow) -> str | None:
        raw = line.raw.get("stage")
        key = (workflow.name, raw if isinstance(raw, str) else repr(raw))
        found = self.stages.get(key, _UNSEEN)
        if found is _UNSEEN:  # a ledger says 已签约 thousands of times: read each word once
            try:
                found = ledgercells.stage(workflow, raw)
            except FollowupError as exc:
                found = exc
            self.stages[key] = found
        if isinstance(found, FollowupError):
            self.problems.add(line, "stage", str(found))
            raise found
        assert found is None or isinstance(found, str)
        return found

    def _day(self, line: _Line, key: str, value: date) -> datetime | None:
        """A day of the ledger as an instant (its start), refused when after now."""
        when = start_of_day(value, self.rt.zone)
        if when > self.now:
            self.problems.add(
                line,
                key,
                _("{day} is in the future (now is {now})").format(
                    day=value.isoformat(), now=local_day(self.now, self.rt.zone).isoformat()
                ),
            )
            return None
        return when

    def _new(
        self,
        line: _Line,
        name: str,
        unit: Unit | None,
        officer: Official | None,
        values: dict[str, Any],
    ) -> _Plan | None:
        workflow = self.default
        for key, found in (("unit", unit), ("officer", officer)):
            if found is None:
                self.problems.add(
                    line,
                    key,
                    _("a new project needs its {header}").format(header=ledgercells.BY_KEY[key].header),
                )
        try:
            stage = self._stage(line, workflow) or workflow.first
        except FollowupError:
            return None
        if stage in SIDE_STATES:
            self.problems.add(
                line,
                "stage",
                _(
                    "a new project enters the ledger in a stage, not {label}: enter it at its stage, "
                    "then `followup hold` or `followup terminate` it (a reason is needed)"
                ).format(label=workflow.label_of(stage)),
            )
            return None
        self._require(line, workflow, stage, values)
        record = workflow.stages[stage].records
        since = self.now
        if record and values.get(record) is not None:
            since = self._day(line, record, values[record]) or self.now
        undated = "recorded" if record and values.get(record) is None else None
        # The quiet clock: at entry, or at the ledger's last follow-up — or at the stage's own date
        # when that is later (reaching it was news). A stage the ledger gives no date for is placed
        # as of now, but that is no news: its last follow-up is then what the ledger says.
        quiet_from = self.now
        last = line.cells.get("last_followup")
        if last is not None:
            when = self._day(line, "last_followup", last)
            if when is not None:
                quiet_from = max(since, when) if since != self.now else when
        note = line.cells.get("progress")
        if unit is None or officer is None or self._has_problems(line):
            return None
        plan = _Plan(line, workflow, name, None, values, stage, since, quiet_from, officer=officer, unit=unit)
        plan.undated = undated
        if note is not None:
            plan.note = note
            plan.note_at = start_of_day(last, self.rt.zone) if last is not None else self.now
        return plan

    def _has_problems(self, line: _Line) -> bool:
        return line.row in self.problems.rows

    def _require(self, line: _Line, workflow: Workflow, stage: str, values: dict[str, Any]) -> None:
        for key in workflow.required_at(stage):
            if values.get(key) in (None, ""):
                spec = PROJECT_FIELDS[key]
                where = key if key in self.problems.by_key else "stage"
                self.problems.add(
                    line,
                    where,
                    _("a project at {label} ({key}) needs {field}").format(
                        label=workflow.label_of(stage), key=stage, field=named(spec.label, key)
                    ),
                )

    def _known(
        self,
        line: _Line,
        row: Project,
        name: str,
        unit: Unit | None,
        officer: Official | None,
        values: dict[str, Any],
    ) -> _Plan | None:
        placed = records.placement(self.rt, row.workflow, row.stage, row.held_stage)
        workflow = placed.workflow
        changed: dict[str, Any] = {}
        if name != row.name:
            changed["name"] = name
        if unit is not None and unit.id != row.unit_id:
            changed["unit"] = unit
            clash = [p for p in self.by_name.get((words.folded(name), unit.id), []) if p.id != row.id]
            if clash:
                self.problems.add(
                    line,
                    "unit",
                    _("unit {unit} already has a project named {name}: project {id}").format(
                        unit=unit.name, name=name, id=clash[0].id
                    ),
                )
        if officer is not None and officer.id != row.officer_id:
            changed["officer"] = officer
        for key, value in values.items():
            stored = getattr(row, key)
            if isinstance(value, Official):
                if stored is None or stored.id != value.id:
                    changed[key] = value
            elif stored != value:
                changed[key] = value
        stage: str | None = None
        since: datetime | None = None
        undated: str | None = None
        if not ledgercells.is_blank(line.raw.get("stage")):
            if workflow is None or placed.problem is not None:
                self.problems.add(
                    line,
                    "stage",
                    _("project {id} cannot be placed: {problem}; {hint}").format(
                        id=row.id, problem=placed.problem, hint=records.repair_hint(row.id)
                    ),
                )
                return None
            try:
                target = self._stage(line, workflow)
            except FollowupError:
                return None
            merged = {**_current(row), **changed}
            stage, since = self._placement(line, row, workflow, target, merged)
            record = workflow.stages[stage].records if stage is not None else None
            if record and (merged.get(record) is None or record not in line.cells):  # as _placement
                undated = "stage" if merged.get(record) is not None else "recorded"
        elif workflow is not None and changed:
            current = row.held_stage if row.stage == ON_HOLD else row.stage
            if current in workflow.stages:
                self._require(line, workflow, current, {**_current(row), **changed})
        quiet_from: datetime | None = None
        last = line.cells.get("last_followup")
        last_seen = local_day(row.last_activity_at, self.rt.zone)
        if last is not None and last > last_seen:
            quiet_from = self._day(line, "last_followup", last)
        note = line.cells.get("progress")
        plan = _Plan(
            line, workflow or self.default, name, row, changed, stage, since, quiet_from, officer=officer
        )
        plan.undated = undated
        if note is not None and note != self.notes.get(row.id):
            plan.note = note
            plan.note_at = quiet_from or (start_of_day(last, self.rt.zone) if last is not None else self.now)
            if plan.note_at > self.now:
                plan.note_at = self.now
        return None if self._has_problems(line) else plan

    def _placement(
        self, line: _Line, row: Project, workflow: Workflow, target: str | None, merged: dict[str, Any]
    ) -> tuple[str | None, datetime | None]:
        """The stage the ledger places a known project in, and since when; (None, None): where it is."""
        if target is None or target == row.stage:
            return None, None
        label = workflow.label_of(row.stage)
        if row.stage == ON_HOLD or row.stage == TERMINATED:
            how = "followup resume" if row.stage == ON_HOLD else "followup project show"
            self.problems.add(
                line,
                "stage",
                _("project {id} is {label} in the database, not {target}: see `{how} {id}`").format(
                    id=row.id, label=label, target=workflow.label_of(target), how=how
                ),
            )
            return None, None
        if target in SIDE_STATES:
            command = "hold" if target == ON_HOLD else "terminate"
            self.problems.add(
                line,
                "stage",
                _("{label} takes a reason: use `followup {command} {id}` (the ledger cannot say why)").format(
                    label=workflow.label_of(target), command=command, id=row.id
                ),
            )
            return None, None
        self._require(line, workflow, target, merged)
        record = workflow.stages[target].records
        since = self.now
        if record and merged.get(record) is not None and record in line.cells:
            # as of the stage's own date, but never before the project entered its stored stage (a
            # stage the ledger gave no date for was placed as of its import)
            when = self._day(line, record, merged[record])
            since = max(when, as_utc(row.stage_since)) if when is not None else self.now
        return target, since


def _current(row: Project) -> dict[str, Any]:
    return records.current_values(row)


# --------------------------------------------------------------------------- import


def import_ledger(
    rt: Runtime,
    path: Path,
    *,
    by: str,
    sheet: str | None = None,
    dry_run: bool = False,
    progress: Progress[Any] | None = None,
) -> tuple[ImportResult, Sheet, list[Mark]]:
    """Import the ledger ``path``: every line checked before anything is written, all or nothing.
    Returns what was (or, ``dry_run``, would be) done, the sheet read and the marks of its bad cells
    (for :func:`followup.app.ledgerbook.write_report`); with problems, nothing was written."""
    now = rt.now()
    bar = progress or _no_progress
    book = ledgerbook.read(path, sheet)
    problems = _Problems(book)
    lines, skipped = _read_lines(book, problems, bar)
    unread = tuple(text for _i, text in book.unread) + tuple(c.text for c in book.columns if c.key == "phone")
    note = f"导入 {path.name}"  # the history's words (a record, like 离任，项目移交)
    with rt.store.transaction() as session:
        actor = records.official(session, by, what=_("--by official"))
        planner = _Planner(rt, session, problems, now)
        plans = [p for p in (planner.plan(line) for line in bar(lines, len(lines), _("checking"))) if p]
        empty = ImportResult(
            str(path), book.name, len(lines), skipped, 0, 0, 0, dry_run, unread_columns=unread
        )
        if problems:
            session.rollback()
            result = replace_problems(empty, [p for p, _m in problems.items])
            return result, book, [m for _p, m in problems.items]
        writer = _Writer(rt, session, actor, now, note)
        planned = writer.apply(plans, bar)
        created = sum(1 for p in planned if p.action == "create")
        changed = sum(1 for p in planned if p.action == "change")
        mails: tuple[MailForecast, ...] = ()
        notifications = 0
        if dry_run:
            session.flush()
            mails, notifications = _forecast(rt, session, now)
            session.rollback()
        result = ImportResult(
            str(path),
            book.name,
            len(lines),
            skipped,
            created,
            changed,
            len(lines) - created - changed,
            dry_run,
            unread_columns=unread,
            planned=tuple(planned),
            mails=mails,
            notifications=notifications,
            notes=_notes(rt, plans, planned, now),
        )
    if not dry_run and (created or changed):
        log.info("imported %s: %d created, %d changed", path.name, created, changed)
    return result, book, []


def _notes(rt: Runtime, plans: list[_Plan], planned: list[Planned], now: datetime) -> tuple[ImportNote, ...]:
    """The lines whose stage date or recorded date the import took as its own day."""
    ids = {p.row: p.project_id for p in planned}
    day = local_day(now, rt.zone)
    out = []
    for plan in plans:
        if plan.undated is None or plan.stage is None:
            continue
        record = plan.workflow.stages[plan.stage].records
        assert record is not None
        out.append(
            ImportNote(
                plan.line.row,
                ids.get(plan.line.row),
                plan.name,
                plan.stage,
                plan.workflow.label_of(plan.stage),
                plan.undated,
                record,
                PROJECT_FIELDS[record].label,
                day,
            )
        )
    return tuple(sorted(out, key=lambda n: n.row))


def replace_problems(result: ImportResult, problems: list[CellProblem]) -> ImportResult:
    from dataclasses import replace

    ordered = sorted(problems, key=lambda p: (p.row, len(p.column), p.column))
    return replace(result, problems=tuple(ordered))


class _Writer:
    """Writes the plans in the import's transaction: new projects in bulk, then their history."""

    def __init__(self, rt: Runtime, session: Session, actor: Official, now: datetime, note: str) -> None:
        self.rt, self.session, self.actor, self.now, self.note = rt, session, actor, now, note
        self.memo: Memo = {}
        self.deadlines: dict[tuple[Any, ...], date | None] = {}

    def apply(self, plans: list[_Plan], bar: Progress[Any]) -> list[Planned]:
        planned: list[Planned] = []
        created: list[tuple[_Plan, dict[str, Any], dict[str, Any]]] = []
        for plan in bar(plans, len(plans), _("writing")):
            if plan.project is None:
                row, changes = self._create(plan)
                created.append((plan, row, changes))
            elif plan.changes_anything:
                changes = self._change(plan)
                planned.append(Planned(plan.line.row, "change", plan.project.id, plan.name, changes))
        if created:
            # Two executemany INSERTs compiled once, with ids reserved first: a 10,000-line ledger is two
            # statements, not 20,000 unit-of-work objects nor a RETURNING rendered row by row.
            self.session.flush()
            conn = self.session.connection()
            ids = queries.reserve_ids(conn, Project.__table__, len(created))
            rows = [{"id": pid, **row} for pid, (_p, row, _c) in zip(ids, created, strict=True)]
            by_keys: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
            for row in rows:  # one statement per set of columns given (the others take their defaults)
                by_keys[tuple(row)].append(row)
            for same in by_keys.values():
                queries.insert_rows(conn, Project.__table__, same)
            events: list[dict[str, Any]] = []
            for (plan, row, changes), pid in zip(created, ids, strict=True):
                stage = row["stage"]
                events.append(
                    self._event_row(
                        pid, EventKind.CREATED, plan.since or self.now, to_stage=stage,
                        changes=changes or None, note=self.note,
                    )
                )  # fmt: skip
                if plan.note is not None:
                    events.append(
                        self._event_row(
                            pid, EventKind.FOLLOWUP, plan.note_at or self.now, from_stage=stage,
                            to_stage=stage, note=plan.note,
                        )
                    )  # fmt: skip
                planned.append(Planned(plan.line.row, "create", pid, plan.name, changes))
            event_ids = queries.reserve_ids(conn, ProjectEvent.__table__, len(events))
            queries.insert_rows(
                conn, ProjectEvent.__table__, [{"id": i, **e} for i, e in zip(event_ids, events, strict=True)]
            )
        self.session.flush()
        return sorted(planned, key=lambda p: p.row)

    def _deadline(self, workflow: Workflow, stage: str, entered: date, values: dict[str, Any]) -> date | None:
        """:func:`deadlines.on_entry`, remembered: counting working days is the dearest part of a line."""
        spec = workflow.stages.get(stage)
        contract = values.get(spec.contract_deadline) if spec and spec.contract_deadline else None
        key = (workflow.name, stage, entered, contract)
        if key not in self.deadlines:
            self.deadlines[key] = deadlines.on_entry(workflow, stage, entered, values, self.rt.calendar)
        return self.deadlines[key]

    def _event_row(self, project_id: int, kind: EventKind, at: datetime, **kw: Any) -> dict[str, Any]:
        operator = self.rt.operator
        return {
            "project_id": project_id,
            "kind": str(kind),
            "at": at,
            "recorded_at": self.now,
            "by_id": self.actor.id,
            "entered_by": operator[:64] if operator else None,
            "from_stage": None,
            "to_stage": None,
            "note": None,
            "changes": None,
            **kw,
        }

    def _event(self, row: Project, kind: EventKind, at: datetime, **kw: Any) -> ProjectEvent:
        operator = self.rt.operator
        return ProjectEvent(
            project_id=row.id,
            kind=str(kind),
            at=at,
            recorded_at=self.now,
            by_id=self.actor.id,
            entered_by=operator[:64] if operator else None,
            **{"from_stage": None, "to_stage": None, "note": None, "changes": None, **kw},
        )

    def _create(self, plan: _Plan) -> tuple[dict[str, Any], dict[str, Any]]:
        """A new project's columns (entered as ``project add --stage … --since …`` enters it) and
        its history line's changes."""
        rt, workflow = self.rt, plan.workflow
        assert plan.stage is not None and plan.since is not None and plan.quiet_from is not None
        assert plan.officer is not None and plan.unit is not None
        values = dict(plan.values)
        record = workflow.stages[plan.stage].records
        if record and values.get(record) is None:
            values[record] = local_day(plan.since, rt.zone)
        leader = values.pop("leader", None)
        columns: dict[str, Any] = dict.fromkeys(_STORED_FIELDS)
        columns.update(values)
        columns.update(
            name=plan.name,
            workflow=workflow.name,
            stage=plan.stage,
            stage_since=plan.since,
            officer_id=plan.officer.id,
            unit_id=plan.unit.id,
            leader_id=leader.id if leader is not None else None,
            last_activity_at=max(plan.quiet_from, plan.note_at or plan.quiet_from),
            created_at=self.now,
            updated_at=self.now,
            version=1,
            stage_seq=1,
            deadline_version=1,
            held_stage=None,
            hold_until=None,
            deadline=self._deadline(workflow, plan.stage, local_day(plan.since, rt.zone), values),
        )
        # its level and next look, as records.reschedule says them, the ladder's parts remembered
        # across the ledger's lines (thousands of lines share a few deadlines and quiet days)
        clock = ProjectClock.from_row(SimpleNamespace(**columns))
        result = assess(workflow, clock, self.now, rt.calendar, rt.zone, self.memo)
        columns["level"] = result.level.key if result.level else None
        columns["next_escalation_at"] = self.now if result.owed else result.next_at
        changes = {k: records.shown(v) for k, v in values.items()}
        if leader is not None:
            changes["leader"] = leader.key
        changes["officer"] = plan.officer.key
        changes["unit"] = plan.unit.key
        if plan.quiet_from != self.now:
            changes["last_followup"] = records.shown(plan.quiet_from.astimezone(rt.zone))
        return columns, changes

    def _change(self, plan: _Plan) -> dict[str, Any]:
        rt, row, workflow = self.rt, plan.project, plan.workflow
        assert row is not None
        changes: dict[str, Any] = {}
        records.set_values(row, plan.values, changes)
        events: list[ProjectEvent] = []
        if changes:
            stage = workflow.stages.get(row.stage)
            if plan.stage is None and stage is not None and stage.contract_deadline in plan.values:
                new = deadlines.on_entry(
                    workflow, row.stage, local_day(row.stage_since, rt.zone), _current(row), rt.calendar
                )
                if new != row.deadline:
                    changes["deadline"] = [records.shown(row.deadline), records.shown(new)]
                    row.deadline = new
                    row.deadline_version += 1
            events.append(self._event(row, EventKind.EDIT, self.now, note=self.note, changes=dict(changes)))
        if plan.quiet_from is not None:
            before = as_utc(row.last_activity_at)
            if plan.quiet_from > before:
                changes["last_followup"] = [
                    records.shown(before.astimezone(rt.zone)),
                    records.shown(plan.quiet_from.astimezone(rt.zone)),
                ]
                row.last_activity_at = plan.quiet_from
                if not events:
                    events.append(
                        self._event(
                            row,
                            EventKind.EDIT,
                            self.now,
                            note=self.note,
                            changes={"last_followup": changes["last_followup"]},
                        )
                    )
                else:
                    events[0].changes = dict(changes)
        if plan.stage is not None and plan.since is not None:
            source = row.stage
            moved: dict[str, Any] = {}
            day = local_day(plan.since, rt.zone)
            record = workflow.stages[plan.stage].records
            if record and getattr(row, record) is None:
                setattr(row, record, day)
                moved[record] = [None, day.isoformat()]
            row.stage = plan.stage
            row.stage_since = plan.since
            row.stage_seq += 1  # placed in another stage: a fresh ladder
            row.deadline = deadlines.on_entry(workflow, plan.stage, day, _current(row), rt.calendar)
            row.last_activity_at = max(as_utc(row.last_activity_at), plan.since)
            changes["stage"] = [source, plan.stage]
            changes.update(moved)
            events.append(
                self._event(
                    row,
                    EventKind.MOVE,
                    plan.since,
                    from_stage=source,
                    to_stage=plan.stage,
                    note=self.note,
                    changes=moved or None,
                )
            )
        if plan.note is not None:
            at = plan.note_at or self.now
            row.last_activity_at = max(as_utc(row.last_activity_at), at)
            changes["progress"] = plan.note
            events.append(
                self._event(
                    row, EventKind.FOLLOWUP, at, from_stage=row.stage, to_stage=row.stage, note=plan.note
                )
            )
        row.updated_at = self.now
        records.reschedule(
            rt, row, records.placement(rt, row.workflow, row.stage, row.held_stage).workflow, self.now
        )
        self.session.add_all(events)
        return {k: v for k, v in changes.items()}


def _forecast(rt: Runtime, session: Session, now: datetime) -> tuple[tuple[MailForecast, ...], int]:
    """What the first sweep at ``now`` would queue, in the import's (uncommitted) transaction: the
    sweep's own rules, less what is queued already."""
    conn = session.connection()
    due = queries.due_projects(conn, now)
    if not due:
        return (), 0
    roster = queries.load_roster(conn)
    placed_in = records.placements(rt)
    memo: Memo = {}
    owed: list[tuple[int, NoticeKey, int, str]] = []
    for p in due:
        placed = placed_in(p.workflow, p.stage)
        clock = ProjectClock.from_row(p)
        if placed.workflow is None or placed.problem is not None:
            key = NoticeKey.stranded(clock, placed.problem or "")
            owed += [
                (p.id, key, person, str(Role.SUPERVISION))
                for person in roster.holders.get(Role.SUPERVISION, ())
            ]
            continue
        assessment = assess(placed.workflow, clock, now, rt.calendar, rt.zone, memo)
        for item in assessment.owed:
            for role, person in roster.resolve(item.roles, p.officer_id, p.unit_id, p.leader_id):
                owed.append((p.id, item.key, person, str(role)))
    ids = sorted({p.id for p in due})
    N = Notification
    queued = set()
    for start in range(0, len(ids), 500):
        queued |= {
            tuple(r)
            for r in conn.execute(
                select(
                    N.project_id, N.stage_seq, N.kind, N.round, N.level, N.repeat_no, N.recipient_id
                ).where(N.project_id.in_(ids[start : start + 500]))
            )
        }
    fresh = [
        (pid, key, person, role)
        for pid, key, person, role in owed
        if (pid, key.stage_seq, str(key.kind), key.round, key.level, key.repeat_no, person) not in queued
    ]
    counts: Counter[int] = Counter(person for _p, _k, person, _r in fresh)
    roles: dict[int, set[str]] = defaultdict(set)
    for _p, _k, person, role in fresh:
        roles[person].add(role)
    people = {
        o.id: o for o in session.scalars(select(Official).where(Official.id.in_(list(counts)))).unique()
    }
    mails = tuple(
        MailForecast(people[pid].key, people[pid].name, tuple(sorted(roles[pid])), n)
        for pid, n in sorted(counts.items(), key=lambda item: (-item[1], people[item[0]].key))
    )
    return mails, len(fresh)


# --------------------------------------------------------------------------- export


def ledger_columns() -> list[ledgercells.LedgerColumn]:
    """The columns an exported ledger has, in order."""
    return list(ledgercells.COLUMNS[:-1])  # every column but 联系电话 (not kept)


def export_table(rt: Runtime, filters: ProjectFilter, *, template: bool = False) -> LedgerTable:
    """The ledger of the projects ``filters`` choose (as ``project list``), or the template: the
    header, one example line and the instructions."""
    now = rt.now()
    today = local_day(now, rt.zone)
    columns = ledger_columns()
    county = rt.settings.county_name
    # a ledger is a document in the county's language whatever the operator reads: its headers are
    # what the import recognises, its title what a county office prints
    title = f"{county}招商引资项目台账"
    subtitle = f"截止日期：{today.year}年{today.month}月{today.day}日"
    kinds: list[str] = [c.kind for c in columns]
    headers = [c.header for c in columns]
    light_column = next(i for i, c in enumerate(columns) if c.key == "light")
    if template:
        example = _example(today)
        return LedgerTable(
            title, subtitle, headers, kinds, [[example.get(c.key) for c in columns]], [None], light_column,
            _instructions(rt),
        )  # fmt: skip
    views = list_projects(rt, filters)
    with rt.store.reading() as session:
        ids = [v.id for v in views]
        notes: dict[int, str | None] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            latest = (
                select(func.max(ProjectEvent.id))
                .where(ProjectEvent.kind == str(EventKind.FOLLOWUP), ProjectEvent.project_id.in_(chunk))
                .group_by(ProjectEvent.project_id)
            )
            for pid, note in session.execute(
                select(ProjectEvent.project_id, ProjectEvent.note).where(ProjectEvent.id.in_(latest))
            ):
                notes[pid] = note
        official_names = Counter(words.folded(n) for n in session.scalars(select(Official.name)))
        unit_names = Counter(words.folded(n) for n in session.scalars(select(Unit.name)))
    rows: list[list[Any]] = []
    lights: list[str | None] = []
    for seq, v in enumerate(views, start=1):
        light = Light.of_level(v.level)
        cells: dict[str, Any] = {
            "seq": seq,
            "name": v.name,
            "stage": v.stage_label,
            "unit": _unique(v.unit.name, v.unit.key, unit_names),
            "officer": _unique(v.officer.name, v.officer.key, official_names),
            "leader": _unique(v.leader.name, v.leader.key, official_names) if v.leader else None,
            "progress": notes.get(v.id),
            "last_followup": v.last_activity_at.date(),
            "light": v.level_label or Light.GREEN.label,
        }
        for key in FIELD_COLUMNS:
            if key != "leader":
                cells[key] = getattr(v, key)
        rows.append([cells.get(c.key) for c in columns])
        lights.append(None if light is Light.GREEN else str(light))
    return LedgerTable(title, subtitle, headers, kinds, rows, lights, light_column)


def _unique(name: str, key: str, names: Counter[str]) -> str:
    """A name as the ledger writes it: with its key when two share it (李娜（lina）), so that the
    ledger imports back to the same person."""
    return name if names[words.folded(name)] <= 1 else f"{name}（{key}）"


def export_ledger(rt: Runtime, path: Path, filters: ProjectFilter, *, template: bool = False) -> int:
    """Write the ledger (or the template) to ``path`` (.xlsx or .csv); returns how many projects."""
    ledgerbook.kind_of(path)
    table = export_table(rt, filters, template=template)
    ledgerbook.write(path, table)
    return 0 if template else len(table.rows)


def _example(today: date) -> dict[str, Any]:
    return {
        "seq": 1,
        "code": "2026-001",
        "name": "有机杂粮深加工",
        "investor": "某食品有限公司",
        "investor_contact": "王经理",
        "chain": "健康食品",
        "chain_link": "精深加工",
        "amount": Decimal(12000),
        "funds_in_place": Decimal(3000),
        "land": Decimal(50),
        "stage": "已签约",
        "unit": "城关镇人民政府",
        "officer": "李娜",
        "leader": "马县长",
        "source": "以商招商",
        "signed_on": date(today.year, 1, 15),
        "contract_start": date(today.year, 6, 30),
        "progress": "已完成土地预审",
        "last_followup": today,
        "light": Light.GREEN.label,
        "remarks": "示例行，导入前请删除",
    }


#: what each kind of cell takes, as the instructions sheet says it
_FORMS = {
    "text": "文本",
    "note": "文本，可换行",
    "amount": "万元：5000、5,000、8000万元、1.2亿；表头写（亿元）时数字按亿元计",
    "area": "亩：120.5、50亩",
    "date": "2026-8-3、2026/4/8、2026.05.20、2026年9月12日或Excel日期；须有年、月、日",
    "stage": "线索、洽谈（洽谈中）、签约（已签约）、落地/供地、开工（已开工、开工建设）、投产（已投产）；"
    "暂缓、终止须与系统一致",
    "unit": "单位名称或代码（城关镇人民政府、城关镇）",
    "official": "姓名、代码或别名（马县长）；重名时写 姓名（代码）",
    "ignored": "不导入",
}


def _instructions(rt: Runtime) -> list[tuple[str, str, str]]:
    out = [(c.header, "、".join(c.variants), _FORMS[c.kind]) for c in ledgercells.COLUMNS]
    out.append(("", "", ""))
    out.append(("说明", "", "表头所在行须至少有三个可识别的列名；表头之上的标题行、填报单位行不读。"))
    out.append(("", "", "小计、合计行和空行跳过；有一个单元格无法读取时，整个文件都不导入。"))
    out.append(("", "", "按项目编号匹配已有项目，无编号时按项目名称和责任单位匹配；空单元格不清除已有内容。"))
    return out


def describe(changes: dict[str, Any]) -> str:
    """A plan's changes in one line: 合同金额（万元）=12000, 目前进度=签约."""
    parts = []
    for key, value in changes.items():
        spec = PROJECT_FIELDS.get(key)
        label = spec.label if spec else ledgercells.BY_KEY[key].header if key in ledgercells.BY_KEY else key
        after = value[1] if isinstance(value, list) else value
        parts.append(f"{label}={after}")
    return ", ".join(parts)
