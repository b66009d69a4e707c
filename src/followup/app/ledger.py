"""The project ledger (台账): enter a project, change its fields, list and show projects, read history."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from followup.app import records, supervision
from followup.app.runtime import Runtime
from followup.app.supervision import NoticeView, ProblemView
from followup.app.views import EventView, ProjectView, View
from followup.domain import deadlines, validate, words
from followup.domain.fields import PROJECT_FIELDS
from followup.domain.kinds import EventKind
from followup.domain.timeutil import in_zone, local_day
from followup.domain.workflow import ON_HOLD, SIDE_STATES, TERMINATED, Workflow
from followup.errors import DuplicateKey, InvalidInput
from followup.i18n import _, listed, named
from followup.store.models import Official, Project, ProjectEvent, Unit


@dataclass
class ProjectFilter:
    stage: str | None = None
    unit: str | None = None
    officer: str | None = None
    leader: str | None = None
    chain: str | None = None
    workflow: str | None = None
    include_ended: bool = False


@dataclass
class ProjectInput:
    """What ``project add`` and ``project edit`` take, as typed (strings); None = not given."""

    name: str | None = None
    officer: str | None = None
    unit: str | None = None
    workflow: str | None = None
    values: dict[str, str | None] = field(default_factory=dict)
    #: edit only: the stage a stranded project is in under its (new) workflow (see :func:`edit_project`)
    stage: str | None = None


def add_project(
    rt: Runtime,
    data: ProjectInput,
    *,
    stage: str | None = None,
    since: datetime | None = None,
    by: str | None = None,
    last_followup: datetime | None = None,
    allow_duplicate: bool = False,
) -> ProjectView:
    """Enter a project, at the first stage or (a ledger line) at ``stage`` (key or label) reached
    ``since``; its quiet clock starts at entry or ``last_followup`` (:func:`_quiet_from`). A second
    project of the same name in the unit is refused unless ``allow_duplicate``."""
    now = rt.now()
    if not data.name or not data.officer or not data.unit:
        raise InvalidInput(_("a project needs --name, --officer and --unit"))
    name = validate.line(data.name, _("project name"))
    workflow = rt.workflows.get(
        validate.workflow_name(data.workflow) if data.workflow is not None else rt.settings.default_workflow
    )
    stage = _entry_stage(workflow, stage)
    since = since or now
    quiet_from = _quiet_from(rt, since, last_followup, now)
    with rt.store.transaction() as session:
        officer = records.official(session, data.officer, what=_("officer"))
        unit = records.unit(session, data.unit, lock=True)
        if not allow_duplicate:
            _refuse_namesake(session, name, unit)
        values = _entry_values(session, workflow, stage, data.values, local_day(since, rt.zone))
        actor = records.official(session, by, what=_("--by official")) if by else None
        row = Project(
            name=name,
            workflow=workflow.name,
            stage=stage,
            stage_since=since,
            officer=officer,
            unit=unit,
            last_activity_at=quiet_from,
            created_at=now,
            updated_at=now,
            stage_seq=1,
            deadline_version=1,
            deadline=deadlines.on_entry(workflow, stage, local_day(since, rt.zone), values, rt.calendar),
            **values,
        )
        result = records.reschedule(rt, row, workflow, now)
        session.add(row)
        session.flush()
        _record_entry(rt, session, row, values, since=since, now=now, by=actor, last_followup=last_followup)
        return records.project_view(rt, row, workflow, result)


def _record_entry(
    rt: Runtime,
    session: Session,
    row: Project,
    values: dict[str, Any],
    *,
    since: datetime,
    now: datetime,
    by: Official | None,
    last_followup: datetime | None,
) -> None:
    """The project's first line of history: its entry at its stage, with the values entered."""
    changes = {k: records.shown(v) for k, v in values.items()}
    if last_followup is not None:  # kept with the line, as the ledger said it
        changes["last_followup"] = records.shown(in_zone(last_followup, rt.zone))
    records.record_event(
        rt,
        session,
        row,
        EventKind.CREATED,
        at=since,
        now=now,
        by=by,
        to_stage=row.stage,
        changes=changes or None,
    )


def _quiet_from(rt: Runtime, since: datetime, last_followup: datetime | None, now: datetime) -> datetime:
    """Where a new project's quiet clock (跟进超时) starts: at entry (``now``) — a ledger line loaded
    today is not "168 days without follow-up" today — or at the ledger's last follow-up, or at
    ``since`` when that is later (reaching the stage was news too)."""
    records.check_when(rt, since, now, None, "--since")
    if last_followup is None:
        return now
    records.check_when(rt, last_followup, now, None, "--last-followup")
    return max(since, last_followup)


def _entry_stage(workflow: Workflow, word: str | None) -> str:
    """The stage a project enters the ledger in: ``word`` (a key or a label), or the first."""
    stage = workflow.first if word is None else words.stage_key(workflow, word)
    if stage in SIDE_STATES:
        raise InvalidInput(
            _("a project enters the ledger in a stage, not {label} ({key}); stages: {stages}").format(
                label=workflow.label_of(stage),
                key=stage,
                stages=listed(named(k, s.label) for k, s in workflow.stages.items()),
            )
        )
    return stage


def _refuse_namesake(session: Session, name: str, unit: Unit, project_id: int | None = None) -> None:
    """Refuse a second project of the same name (compared as words are) in one unit: mostly the same
    project entered twice. A voided project is none."""
    rows = session.execute(
        select(Project.id, Project.name).where(Project.unit_id == unit.id, Project.voided_at.is_(None))
    ).all()
    same = [str(r.id) for r in rows if r.id != project_id and words.folded(r.name) == words.folded(name)]
    if same:
        raise DuplicateKey(
            _(
                "unit {key!r} ({unit}) already has a project named {name}: project {ids}; "
                "if this is another one, give --allow-duplicate"
            ).format(key=unit.key, unit=unit.name, name=validate.shown(name), ids=", ".join(same))
        )


def _entry_values(
    session: Session, workflow: Workflow, stage: str, typed: dict[str, str | None], entered: date
) -> dict[str, Any]:
    """The fields of a project entering the ledger at ``stage`` on ``entered``: what every stage up to it
    requires must be there, and the stage's own date field is filled with the entry day."""
    values = records.parse_values(session, typed)
    missing = [f for f in workflow.required_at(stage) if values.get(f) in (None, "")]
    if missing:
        names = listed(named(PROJECT_FIELDS[f].label, f) for f in missing)
        options = " ".join(f"--{f.replace('_', '-')} VALUE" for f in missing)
        raise InvalidInput(
            _("a project at {label} ({key}) needs {fields}: give {options}").format(
                label=workflow.label_of(stage), key=stage, fields=names, options=options
            )
        )
    record = workflow.stages[stage].records
    if record and values.get(record) is None:
        values[record] = entered
    return values


def get_project(rt: Runtime, project_id: int) -> ProjectView:
    """A project with its ladder level as of the runtime's now."""
    with rt.store.reading() as session:
        return records.view_of(rt, records.project(session, project_id), rt.now())


@dataclass(frozen=True)
class ProjectDetail(View):
    """A project as ``project show`` shows it: the project, its open problems (问题清单) and its 督办
    notices. JSON: the project's own shape with ``problems`` and ``notices`` added."""

    project: ProjectView
    problems: tuple[ProblemView, ...]
    notices: tuple[NoticeView, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.project.to_dict(),
            "problems": [p.to_dict() for p in self.problems],
            "notices": [n.to_dict() for n in self.notices],
        }


def show_project(rt: Runtime, project_id: int) -> ProjectDetail:
    """A project with its ladder level, open problems and 督办 notices as of the runtime's now, read in
    one snapshot."""
    now = rt.now()
    with rt.store.reading() as session:
        row = records.project(session, project_id)
        problems, notices = supervision.of_project(rt, session, row, local_day(now, rt.zone))
        return ProjectDetail(records.view_of(rt, row, now), tuple(problems), tuple(notices))


def list_projects(rt: Runtime, filters: ProjectFilter) -> list[ProjectView]:
    """The projects ``filters`` choose, by id. Terminated ones only with ``include_ended`` or a stage
    filter that names them; voided ones (entered by mistake) only with ``include_ended``."""
    now = rt.now()
    with rt.store.reading() as session:
        query = select(Project).order_by(Project.id)
        if filters.stage:
            query = query.where(Project.stage.in_(sorted(_stage_filter(rt, filters.stage))))
        elif not filters.include_ended:
            query = query.where(Project.stage != TERMINATED)
        if not filters.include_ended:
            query = query.where(Project.voided_at.is_(None))
        if filters.unit:
            query = query.where(Project.unit_id == records.unit(session, filters.unit, active=False).id)
        if filters.officer:
            officer = records.official(session, filters.officer, active=False, what=_("officer"))
            query = query.where(Project.officer_id == officer.id)
        if filters.leader:
            leader = records.official(session, filters.leader, active=False, what=_("leader"))
            query = query.where(Project.leader_id == leader.id)
        if filters.chain:
            query = query.where(Project.chain == validate.line(filters.chain, "chain"))
        if filters.workflow is not None:
            # by name only: the projects of a workflow that no longer loads can be listed too
            query = query.where(Project.workflow == validate.workflow_name(filters.workflow))
        return [records.view_of(rt, row, now) for row in session.scalars(query).unique()]


def _stage_filter(rt: Runtime, word: str) -> set[str]:
    """The stages ``word`` (a key or a label) names in any workflow that loads."""
    loaded = [rt.workflows.get(n) for n in rt.workflows.names() if rt.workflows.problem(n) is None]
    found = words.stage_keys(loaded, word)
    if not found:
        labels = {s: wf.label_of(s) for wf in loaded for s in wf.states()}
        close = words.suggestions(word, sorted(labels.items()))
        stages = listed(named(k, label) for k, label in labels.items())
        raise InvalidInput(
            _("unknown stage {word}{suggestions}stages: {stages}").format(
                word=validate.shown(word), suggestions=words.then(close), stages=stages
            )
        )
    return found


def edit_project(
    rt: Runtime,
    project_id: int,
    data: ProjectInput,
    *,
    by: str,
    note: str | None,
    allow_duplicate: bool = False,
) -> ProjectView:
    """Change a project's fields, its officer, unit or workflow; recorded in its history. Changing the
    contract date of the current stage, or the workflow, recomputes the deadline.

    A project escalation cannot follow (its workflow does not load, or lacks its stage) can still be
    edited, moved to another workflow, and placed in a stage of it (``data.stage``) — only such a
    project: the others move with ``advance``."""
    now = rt.now()
    name = validate.line(data.name, _("project name")) if data.name is not None else None
    note = validate.note(note) if note else None
    new_workflow = None if data.workflow is None else rt.workflows.get(validate.workflow_name(data.workflow))
    with rt.store.transaction() as session:
        row = records.project(session, project_id, lock=True)
        actor = records.official(session, by, what=_("--by official"))
        fields = records.parse_values(session, data.values)
        values: dict[str, Any] = {}  # in the order the history shows them
        if name is not None:
            values["name"] = name
        if data.officer is not None:
            values["officer"] = records.official(session, data.officer, what=_("officer"))
        if data.unit is not None:
            values["unit"] = records.unit(session, data.unit)
        workflow = records.placement(rt, row.workflow, row.stage, row.held_stage).workflow
        if new_workflow is not None and new_workflow.name != row.workflow:
            values["workflow"] = new_workflow.name
            workflow = new_workflow
        values.update(_placed(row, workflow, data.stage, moved="workflow" in values))
        values.update(fields)
        if ("name" in values or "unit" in values) and not allow_duplicate:
            _refuse_namesake(session, values.get("name", row.name), values.get("unit", row.unit), row.id)
        if workflow is not None:
            _refuse_missing_or_cleared(workflow, row, values)
        recompute = "workflow" in values or "stage" in values
        changes: dict[str, Any] = {}
        records.set_values(row, values, changes)
        if not changes:
            raise InvalidInput(_("nothing to change: give at least one option that differs"))
        if "stage" in changes:
            row.stage_seq += 1  # placed in another stage: a fresh ladder
        stage = workflow.stages.get(row.stage) if workflow else None
        if workflow is not None and stage is not None and (recompute or stage.contract_deadline in values):
            _recompute_deadline(rt, row, workflow, changes)
        row.updated_at = now
        result = records.reschedule(rt, row, workflow, now)
        records.record_event(
            rt, session, row, EventKind.EDIT, at=now, now=now, by=actor, note=note, changes=changes
        )
        session.flush()
        problem = records.placement(rt, row.workflow, row.stage, row.held_stage).problem
        return records.project_view(rt, row, workflow, result, problem=problem)


def _placed(row: Project, workflow: Workflow | None, stage: str | None, *, moved: bool) -> dict[str, Any]:
    """``--stage``: the stage (or, on hold, the held stage) of a project its workflow has no place for
    — a stage renamed or removed, or a move to a workflow without it — checked; {} when not given."""
    held = row.stage == ON_HOLD
    current = row.held_stage if held else row.stage
    missing = workflow is not None and workflow.placement_problem(row.stage, row.held_stage) is not None
    if stage is None:
        if missing and moved:
            assert workflow is not None
            raise InvalidInput(
                _(
                    "workflow {workflow} has no stage {stage!r}: give the stage project {id} "
                    "is in now with --stage; stages: {stages}"
                ).format(workflow=workflow.name, stage=current, id=row.id, stages=", ".join(workflow.stages))
            )
        return {}
    if workflow is None:
        raise InvalidInput(_("--stage needs a workflow that loads: give --workflow NAME too"))
    if not missing:
        raise InvalidInput(
            _(
                "project {id} is in {label} ({key}) of workflow {workflow}: --stage only places a project "
                "whose stage its workflow lacks; move it with `followup advance`"
            ).format(id=row.id, label=workflow.label_of(row.stage), key=row.stage, workflow=workflow.name)
        )
    stage = words.stage_key(workflow, stage)
    if stage not in workflow.stages:
        raise InvalidInput(
            _("a project is placed in a stage, not {label} ({key}); stages: {stages}").format(
                label=workflow.label_of(stage), key=stage, stages=", ".join(workflow.stages)
            )
        )
    return {"held_stage" if held else "stage": stage}


def _refuse_missing_or_cleared(workflow: Workflow, row: Project, values: dict[str, Any]) -> None:
    """What the project's stage requires (on hold: its held stage) must stay recorded; placed in a
    stage (``--stage``), it must be recorded."""
    current = values.get("held_stage") or values.get("stage") or row.held_stage or row.stage
    if current == TERMINATED or current not in workflow.stages:
        current = workflow.first
    required = workflow.required_at(current)
    if "stage" in values or "held_stage" in values:
        merged = {**records.current_values(row), **values}
        missing = [f for f in required if merged.get(f) in (None, "")]
        if missing:
            names = listed(named(PROJECT_FIELDS[f].label, f) for f in missing)
            raise InvalidInput(
                _("a project at {label} ({key}) needs {fields}").format(
                    label=workflow.label_of(current), key=current, fields=names
                )
            )
    for key, value in values.items():
        if value is None and key in required:
            raise InvalidInput(
                _("{field} is required at {label} ({key}); it cannot be cleared").format(
                    field=key, label=workflow.label_of(current), key=current
                )
            )


def _recompute_deadline(rt: Runtime, row: Project, workflow: Workflow, changes: dict[str, Any]) -> None:
    entered = local_day(row.stage_since, rt.zone)
    new = deadlines.on_entry(workflow, row.stage, entered, records.current_values(row), rt.calendar)
    if new != row.deadline:
        changes["deadline"] = [records.shown(row.deadline), records.shown(new)]
        row.deadline = new
        row.deadline_version += 1  # a new deadline starts a fresh ladder


def void_project(rt: Runtime, project_id: int, *, by: str, reason: str) -> ProjectView:
    """Void a project entered by mistake (a duplicate, a test line): it leaves every list (but with
    ``--all``), the board, the sweep, the digests and the metrics, and takes no more changes; its
    history keeps it, with this line. Its stage becomes terminated so that whatever follows active
    projects passes it by; ``voided_at`` tells it from a project that really ended."""
    now = rt.now()
    reason = validate.note(reason, _("reason"))
    with rt.store.transaction() as session:
        row = records.project(session, project_id, lock=True)  # a voided one is refused here
        actor = records.official(session, by, what=_("--by official"))
        source = row.stage
        row.voided_at = now
        row.stage, row.stage_since, row.end_reason = TERMINATED, now, reason
        row.deadline = None
        row.stage_seq += 1  # what was queued for it is obsolete
        row.level, row.next_escalation_at = None, None
        row.updated_at = now
        records.record_event(
            rt,
            session,
            row,
            EventKind.VOID,
            at=now,
            now=now,
            by=actor,
            from_stage=source,
            to_stage=TERMINATED,
            note=reason,
        )
        session.flush()
        return records.view_of(rt, row, now)


def history(rt: Runtime, project_id: int) -> list[EventView]:
    with rt.store.reading() as session:
        project = records.project(session, project_id)
        workflow = records.placement(rt, project.workflow, project.stage).workflow
        rows = session.scalars(
            select(ProjectEvent).where(ProjectEvent.project_id == project_id).order_by(ProjectEvent.id)
        ).unique()
        return [records.event_view(rt, r, workflow) for r in rows]
