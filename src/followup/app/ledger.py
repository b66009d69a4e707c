"""The project ledger (台账): enter a project, change its fields, list and show projects, read history."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from followup.app import records
from followup.app.runtime import Runtime
from followup.app.views import EventView, ProjectView
from followup.domain import deadlines, validate
from followup.domain.fields import PROJECT_FIELDS
from followup.domain.kinds import EventKind
from followup.domain.timeutil import local_day
from followup.domain.workflow import SIDE_STATES, TERMINATED, Workflow
from followup.errors import InvalidInput
from followup.store.models import Project, ProjectEvent


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


def add_project(
    rt: Runtime,
    data: ProjectInput,
    *,
    stage: str | None = None,
    since: datetime | None = None,
    by: str | None = None,
) -> ProjectView:
    """Enter a project, at the first stage or (an existing ledger line) at ``stage`` reached ``since``."""
    now = rt.now()
    if not data.name or not data.officer or not data.unit:
        raise InvalidInput("a project needs --name, --officer and --unit")
    name = validate.line(data.name, "project name")
    workflow = rt.workflows.get(data.workflow or rt.settings.default_workflow)
    stage = stage or workflow.first
    if stage in SIDE_STATES:
        raise InvalidInput(
            f"a project enters the ledger in a stage, not {stage!r}; stages: {', '.join(workflow.stages)}"
        )
    workflow.stage(stage)
    since = since or now
    records.check_when(rt, since, now, None, "--since")
    with rt.store.transaction() as session:
        officer = records.official(session, data.officer, what="officer")
        unit = records.unit(session, data.unit)
        values = _entry_values(session, workflow, stage, data.values, local_day(since, rt.zone))
        row = Project(
            name=name,
            workflow=workflow.name,
            stage=stage,
            stage_since=since,
            officer=officer,
            unit=unit,
            last_activity_at=since,
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
        actor = records.official(session, by) if by else None
        changes = {k: records.shown(v) for k, v in values.items()} or None
        records.record_event(
            session, row, EventKind.CREATED, at=since, now=now, by=actor, to_stage=stage, changes=changes
        )
        return records.project_view(rt, row, workflow, result)


def _entry_values(
    session: Session, workflow: Workflow, stage: str, typed: dict[str, str | None], entered: date
) -> dict[str, Any]:
    """The fields of a project entering the ledger at ``stage`` on ``entered``: what every stage up to it
    requires must be there, and the stage's own date field is filled with the entry day."""
    values = records.parse_values(session, typed)
    missing = [f for f in workflow.required_at(stage) if values.get(f) in (None, "")]
    if missing:
        names = ", ".join(f"{PROJECT_FIELDS[f].label} ({f})" for f in missing)
        raise InvalidInput(f"a project at {workflow.label_of(stage)} ({stage}) needs {names}")
    record = workflow.stages[stage].records
    if record and values.get(record) is None:
        values[record] = entered
    return values


def get_project(rt: Runtime, project_id: int) -> ProjectView:
    """A project with its ladder level as of the runtime's now."""
    with rt.store.reading() as session:
        row = records.project(session, project_id)
        workflow = rt.workflows.get(row.workflow)
        return records.project_view(rt, row, workflow, records.assessment(rt, row, workflow, rt.now()))


def list_projects(rt: Runtime, filters: ProjectFilter) -> list[ProjectView]:
    now = rt.now()
    with rt.store.reading() as session:
        query = select(Project).order_by(Project.id)
        if filters.stage:
            known = rt.workflows.all_states()
            if filters.stage not in known:
                raise InvalidInput(f"unknown stage {filters.stage!r}; stages: {', '.join(sorted(known))}")
            query = query.where(Project.stage == filters.stage)
        elif not filters.include_ended:
            query = query.where(Project.stage != TERMINATED)
        if filters.unit:
            query = query.where(Project.unit_id == records.unit(session, filters.unit, active=False).id)
        if filters.officer:
            query = query.where(
                Project.officer_id == records.official(session, filters.officer, active=False).id
            )
        if filters.leader:
            query = query.where(
                Project.leader_id == records.official(session, filters.leader, active=False).id
            )
        if filters.chain:
            query = query.where(Project.chain == filters.chain)
        if filters.workflow:
            query = query.where(Project.workflow == rt.workflows.get(filters.workflow).name)
        out = []
        for row in session.scalars(query).unique():
            workflow = rt.workflows.get(row.workflow)
            out.append(records.project_view(rt, row, workflow, records.assessment(rt, row, workflow, now)))
        return out


def edit_project(
    rt: Runtime, project_id: int, data: ProjectInput, *, by: str | None, note: str | None
) -> ProjectView:
    """Change a project's fields, its officer, unit or workflow; recorded in its history. Changing the
    contract date of the current stage, or the workflow, recomputes the deadline."""
    now = rt.now()
    name = validate.line(data.name, "project name") if data.name is not None else None
    note = validate.note(note) if note else None
    with rt.store.transaction() as session:
        row = records.project(session, project_id, lock=True)
        actor = records.official(session, by) if by else None
        fields = records.parse_values(session, data.values)
        values: dict[str, Any] = {}  # in the order the history shows them
        if name is not None:
            values["name"] = name
        if data.officer is not None:
            values["officer"] = records.official(session, data.officer, what="officer")
        if data.unit is not None:
            values["unit"] = records.unit(session, data.unit)
        workflow = rt.workflows.get(row.workflow)
        recompute = False
        if data.workflow is not None:
            new_workflow = rt.workflows.get(data.workflow)
            if row.stage not in new_workflow.states():
                raise InvalidInput(f"workflow {new_workflow.name} has no stage {row.stage!r}")
            if new_workflow.name != row.workflow:
                values["workflow"] = new_workflow.name
                workflow, recompute = new_workflow, True
        values.update(fields)
        _refuse_clearing_required(workflow, row, values)
        stage = workflow.stages.get(row.stage)
        if stage is not None and stage.contract_deadline in values:
            recompute = True
        changes: dict[str, Any] = {}
        records.set_values(row, values, changes)
        if not changes:
            raise InvalidInput("nothing to change: give at least one option that differs")
        if recompute and stage is not None:
            _recompute_deadline(rt, row, workflow, changes)
        row.updated_at = now
        result = records.reschedule(rt, row, workflow, now)
        records.record_event(
            session, row, EventKind.EDIT, at=now, now=now, by=actor, note=note, changes=changes
        )
        session.flush()
        return records.project_view(rt, row, workflow, result)


def _refuse_clearing_required(workflow: Workflow, row: Project, values: dict[str, Any]) -> None:
    # On hold, the project still owes what its held stage requires.
    current = row.held_stage or row.stage
    if current == TERMINATED:
        current = workflow.first
    required = workflow.required_at(current)
    for key, value in values.items():
        if value is None and key in required:
            raise InvalidInput(
                f"{key} is required at {workflow.label_of(current)} ({current}); it cannot be cleared"
            )


def _recompute_deadline(rt: Runtime, row: Project, workflow: Workflow, changes: dict[str, Any]) -> None:
    entered = local_day(row.stage_since, rt.zone)
    new = deadlines.on_entry(workflow, row.stage, entered, records.current_values(row), rt.calendar)
    if new != row.deadline:
        changes["deadline"] = [records.shown(row.deadline), records.shown(new)]
        row.deadline = new
        row.deadline_version += 1  # a new deadline starts a fresh ladder


def history(rt: Runtime, project_id: int) -> list[EventView]:
    with rt.store.reading() as session:
        records.project(session, project_id)
        rows = session.scalars(
            select(ProjectEvent).where(ProjectEvent.project_id == project_id).order_by(ProjectEvent.id)
        ).unique()
        return [records.event_view(rt, r) for r in rows]
