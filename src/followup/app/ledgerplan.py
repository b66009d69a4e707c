"""What each line of a ledger does: the units and officials it names, the stored project it is about
(by 项目编号, else by name and unit) and what changes, every check made before anything is written.

Part of ``followup import`` (:mod:`followup.app.ledgerio`); the plans are written by
:mod:`followup.app.ledgerwrite`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache, partial
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from followup.app import records
from followup.app.ledgerlines import Directory, Line, Problems
from followup.app.runtime import Runtime
from followup.domain import ledgercells, words
from followup.domain.fields import PROJECT_FIELDS
from followup.domain.kinds import EventKind
from followup.domain.timeutil import as_utc, local_day, start_of_day
from followup.domain.workflow import ON_HOLD, SIDE_STATES, TERMINATED, Workflow
from followup.errors import FollowupError
from followup.i18n import _, named
from followup.store.models import Official, Project, ProjectEvent, Unit

#: the columns that hold a project field (the rest: name, stage, unit, officer, progress, last_followup)
FIELD_COLUMNS = tuple(c.key for c in ledgercells.COLUMNS if c.key in PROJECT_FIELDS)

_UNSEEN = object()


# --------------------------------------------------------------------------- planning


@dataclass
class Plan:
    line: Line
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


class Planner:
    """Checks each line against the database as loaded once, and says what it would do."""

    def __init__(self, rt: Runtime, session: Session, problems: Problems, now: datetime) -> None:
        self.rt = rt
        self.now = now
        self.problems = problems
        self.people = Directory(session)
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
        # a ledger's few hundred days and few stages recur on thousands of lines: each worked out once
        self.start = cache(partial(start_of_day, zone=rt.zone))  # a day's start, an instant
        self.required: dict[tuple[str, str], tuple[str, ...]] = {}  # the fields a stage requires
        self.taken: dict[int, int] = {}  # project id -> the line that matched it
        self.new_keys: dict[object, int] = {}  # a new project's code or (name, unit) -> its line

    def plan(self, line: Line) -> Plan | None:
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

    def _resolve(self, line: Line, key: str, lookup: Callable[[str], Any]) -> Any:
        word = line.cells.get(key)
        if word is None:
            return None
        try:
            return lookup(word)
        except FollowupError as exc:
            self.problems.add(line, key, str(exc))
            return None

    def _match(self, line: Line, name: str, code: str | None, unit: Unit | None) -> Project | None:
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

    def _stage(self, line: Line, workflow: Workflow) -> str | None:
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

    def _day(self, line: Line, key: str, value: date) -> datetime | None:
        """A day of the ledger as an instant (its start), refused when after now."""
        when = self.start(value)
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
        line: Line,
        name: str,
        unit: Unit | None,
        officer: Official | None,
        values: dict[str, Any],
    ) -> Plan | None:
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
        plan = Plan(line, workflow, name, None, values, stage, since, quiet_from, officer=officer, unit=unit)
        plan.undated = undated
        if note is not None:
            plan.note = note
            plan.note_at = self.start(last) if last is not None else self.now
        return plan

    def _has_problems(self, line: Line) -> bool:
        return line.row in self.problems.rows

    def _require(self, line: Line, workflow: Workflow, stage: str, values: dict[str, Any]) -> None:
        if (workflow.name, stage) not in self.required:
            self.required[workflow.name, stage] = tuple(workflow.required_at(stage))
        for key in self.required[workflow.name, stage]:
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
        line: Line,
        row: Project,
        name: str,
        unit: Unit | None,
        officer: Official | None,
        values: dict[str, Any],
    ) -> Plan | None:
        placed = records.placement(self.rt, row.workflow, row.stage, row.held_stage)
        workflow = placed.workflow
        changed = self._changed(line, row, name, unit, officer, values)
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
                stage, since, undated = self._moved(line, row, workflow, changed)
            except FollowupError:
                return None
        elif workflow is not None and changed:
            current = row.held_stage if row.stage == ON_HOLD else row.stage
            if current in workflow.stages:
                self._require(line, workflow, current, {**stored_values(row), **changed})
        quiet_from = self._quiet_from(line, row)
        plan = Plan(
            line, workflow or self.default, name, row, changed, stage, since, quiet_from, officer=officer
        )
        plan.undated = undated
        self._known_note(line, row, plan)
        return None if self._has_problems(line) else plan

    def _changed(
        self,
        line: Line,
        row: Project,
        name: str,
        unit: Unit | None,
        officer: Official | None,
        values: dict[str, Any],
    ) -> dict[str, Any]:
        """What the line changes of a known project (a clash of names noted: :meth:`_namesake`)."""
        changed: dict[str, Any] = {}
        if name != row.name:
            changed["name"] = name
        if unit is not None and unit.id != row.unit_id:
            changed["unit"] = unit
        self._namesake(line, row, name, unit)
        if officer is not None and officer.id != row.officer_id:
            changed["officer"] = officer
        for key, value in values.items():
            stored = getattr(row, key)
            if isinstance(value, Official):
                if stored is None or stored.id != value.id:
                    changed[key] = value
            elif stored != value:
                changed[key] = value
        return changed

    def _namesake(self, line: Line, row: Project, name: str, unit: Unit | None) -> None:
        """Notes a line that would give a known project the name another project of its unit has, as
        ``project edit`` refuses it: moved to a unit that has one (the 责任单位 cell), or — matched by
        its 项目编号 — renamed to another's name (a code conflict, on the 项目编号 cell)."""
        moved = unit is not None and unit.id != row.unit_id
        where = unit if unit is not None and moved else row.unit
        if not moved and words.folded(name) == words.folded(row.name):
            return
        clash = [str(p.id) for p in self.by_name.get((words.folded(name), where.id), []) if p.id != row.id]
        if clash and moved:
            text = _("unit {unit} already has a project named {name}: project {id}")
            self.problems.add(line, "unit", text.format(unit=where.name, name=name, id=clash[0]))
        elif clash:
            text = _(
                "项目编号 {code} is project {id}'s ({name}), but {line_name} of {unit} is project {other}: "
                "correct the 项目编号 or the 项目名称"
            )
            code, others = line.cells.get("code"), ", ".join(clash)
            self.problems.add(
                line,
                "code",
                text.format(
                    code=code, id=row.id, name=row.name, line_name=name, unit=where.name, other=others
                ),
            )

    def _moved(
        self, line: Line, row: Project, workflow: Workflow, changed: dict[str, Any]
    ) -> tuple[str | None, datetime | None, str | None]:
        """The stage the line places a known project in, since when, and what of its date was taken as
        the import day (see :attr:`Plan.undated`); raises (noted) when the stage cell cannot be read."""
        target = self._stage(line, workflow)
        merged = {**stored_values(row), **changed}
        stage, since = self._placement(line, row, workflow, target, merged)
        record = workflow.stages[stage].records if stage is not None else None
        undated: str | None = None
        if record and (merged.get(record) is None or record not in line.cells):  # as _placement
            undated = "stage" if merged.get(record) is not None else "recorded"
        return stage, since, undated

    def _quiet_from(self, line: Line, row: Project) -> datetime | None:
        """A known project's later last follow-up, as the ledger gives it (None: unchanged)."""
        last = line.cells.get("last_followup")
        last_seen = local_day(row.last_activity_at, self.rt.zone)
        if last is not None and last > last_seen:
            return self._day(line, "last_followup", last)
        return None

    def _known_note(self, line: Line, row: Project, plan: Plan) -> None:
        """The line's 最新进展 as a follow-up of ``plan``, unless it is the project's latest already."""
        note = line.cells.get("progress")
        if note is None or note == self.notes.get(row.id):
            return
        last = line.cells.get("last_followup")
        plan.note = note
        plan.note_at = plan.quiet_from or (self.start(last) if last is not None else self.now)
        if plan.note_at > self.now:
            plan.note_at = self.now

    def _placement(
        self, line: Line, row: Project, workflow: Workflow, target: str | None, merged: dict[str, Any]
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


def stored_values(row: Project) -> dict[str, Any]:
    return records.current_values(row)
