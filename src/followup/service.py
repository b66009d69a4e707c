"""The use cases: the organisation, the project ledger, stage moves, follow-up records, history.

:class:`Followup` is the one facade the CLI (and later the daemon) calls. Every method runs in one
transaction: it checks everything first and writes nothing when anything is wrong.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from followup import validate
from followup.db import Store
from followup.errors import (
    DuplicateKey,
    InvalidInput,
    StillReferenced,
    UnknownOfficial,
    UnknownProject,
    UnknownUnit,
)
from followup.escalation import Assessment, ProjectClock, assess
from followup.fields import OFFICIAL_ROLES, PROJECT_FIELDS
from followup.models import Official, OfficialRole, Project, ProjectEvent, Unit
from followup.settings import Settings
from followup.timeutil import as_utc, local_day, parse_day, show, utcnow
from followup.workdays import WorkCalendar, load_county_calendar
from followup.workflow import (
    ON_HOLD,
    SIDE_STATES,
    TERMINATED,
    MoveSubject,
    Workflow,
    WorkflowRegistry,
)

UNIT_KINDS = {"township": "乡镇", "department": "部门"}


def _json_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return value


# --------------------------------------------------------------------------- views (frozen values)


@dataclass(frozen=True)
class UnitView:
    key: str
    name: str
    kind: str
    active: bool

    @classmethod
    def from_row(cls, row: Unit) -> UnitView:
        return cls(row.key, row.name, row.kind, row.active)

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "name": self.name, "kind": self.kind, "active": self.active}


@dataclass(frozen=True)
class OfficialView:
    key: str
    name: str
    email: str
    unit: str
    unit_name: str
    head: bool
    roles: tuple[str, ...]
    active: bool

    @classmethod
    def from_row(cls, row: Official) -> OfficialView:
        return cls(
            row.key,
            row.name,
            row.email,
            row.unit.key,
            row.unit.name,
            row.is_head,
            tuple(row.roles),
            row.active,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "name": self.name,
            "email": self.email,
            "unit": self.unit,
            "unit_name": self.unit_name,
            "head": self.head,
            "roles": list(self.roles),
            "active": self.active,
        }


def _person(row: Official | None) -> dict[str, str] | None:
    return None if row is None else {"key": row.key, "name": row.name}


@dataclass(frozen=True)
class ProjectView:
    """A project as shown to users and scripts. Times are in the configured zone."""

    data: dict[str, Any]

    @property
    def id(self) -> int:
        return int(self.data["id"])

    def __getitem__(self, name: str) -> Any:
        return self.data[name]

    @classmethod
    def from_row(
        cls, row: Project, workflow: Workflow, settings: Settings, assessment: Assessment | None = None
    ) -> ProjectView:
        zone = settings.zone
        data: dict[str, Any] = {
            "id": row.id,
            "name": row.name,
            "workflow": row.workflow,
            "stage": row.stage,
            "stage_label": workflow.label_of(row.stage),
            "stage_since": show(row.stage_since, zone),
            "deadline": row.deadline.isoformat() if row.deadline else None,
            "officer": _person(row.officer),
            "unit": {"key": row.unit.key, "name": row.unit.name},
            "leader": _person(row.leader),
        }
        for name in PROJECT_FIELDS:
            if name != "leader":
                data[name] = _json_value(getattr(row, name))
        data.update(
            {
                "held_stage": row.held_stage,
                "hold_until": row.hold_until.isoformat() if row.hold_until else None,
                "hold_reason": row.hold_reason,
                "end_reason": row.end_reason,
                "last_activity_at": show(row.last_activity_at, zone),
                "created_at": show(row.created_at, zone),
                "updated_at": show(row.updated_at, zone),
                "version": row.version,
            }
        )
        stage = workflow.stages.get(row.stage)
        basis = None
        if row.deadline is not None and stage is not None:
            contract = getattr(row, stage.contract_deadline) if stage.contract_deadline else None
            if contract == row.deadline:
                basis = "contract"
            else:
                basis = "extended" if row.deadline_version > 1 else "limit"
        level = assessment.level if assessment else None
        stale = assessment.stale_since if assessment else None
        data.update(
            {
                "deadline_basis": basis,
                "deadline_version": row.deadline_version,
                "level": level.key if level else None,
                "level_label": level.label if level else None,
                "stale_since": stale.isoformat() if stale else None,
                "next_escalation_at": show(row.next_escalation_at, zone),
            }
        )
        return cls(data)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.data)


@dataclass(frozen=True)
class EventView:
    id: int
    kind: str
    at: str | None
    recorded_at: str | None
    by: dict[str, str] | None
    from_stage: str | None
    to_stage: str | None
    note: str | None
    changes: dict[str, Any] | None

    @classmethod
    def from_row(cls, row: ProjectEvent, settings: Settings) -> EventView:
        return cls(
            row.id,
            row.kind,
            show(row.at, settings.zone),
            show(row.recorded_at, settings.zone),
            _person(row.by),
            row.from_stage,
            row.to_stage,
            row.note,
            row.changes,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "at": self.at,
            "recorded_at": self.recorded_at,
            "by": self.by,
            "from": self.from_stage,
            "to": self.to_stage,
            "note": self.note,
            "changes": self.changes,
        }


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


# --------------------------------------------------------------------------- the facade


class Followup:
    """The application: one per process, over one store and one settings object."""

    def __init__(self, settings: Settings, store: Store | None = None) -> None:
        self.settings = settings
        self.store = store or Store(settings.database_url)
        self.workflows = WorkflowRegistry(settings.workflow_dir)
        self.calendar = (
            load_county_calendar(settings.calendar_file) if settings.calendar_file else WorkCalendar()
        )

    # ---- helpers

    def _unit(self, session: Session, key: str, *, active: bool = True) -> Unit:
        row = session.scalars(select(Unit).where(Unit.key == key)).one_or_none()
        if row is None:
            raise UnknownUnit(f"unknown unit {key!r}; see `followup unit list`")
        if active and not row.active:
            raise InvalidInput(f"unit {key!r} is deactivated")
        return row

    def _official(
        self, session: Session, key: str, *, active: bool = True, what: str = "official"
    ) -> Official:
        row = session.scalars(select(Official).where(Official.key == key)).unique().one_or_none()
        if row is None:
            raise UnknownOfficial(f"unknown {what} {key!r}; see `followup official list`")
        if active and not row.active:
            raise InvalidInput(f"{what} {key!r} has left office (deactivated); pick an active official")
        return row

    def _project(self, session: Session, project_id: int, *, lock: bool = False) -> Project:
        # lock: writers queue on the row (PostgreSQL; SQLite writers are serialised by BEGIN IMMEDIATE),
        # so a move is always checked against the state it will replace.
        row = session.get(Project, project_id, with_for_update={"of": Project} if lock else None)
        if row is None:
            raise UnknownProject(f"unknown project {project_id}; see `followup project list`")
        return row

    def _leader(self, session: Session, key: str) -> Official:
        row = self._official(session, key, what="leader")
        if "leader" not in row.roles:
            raise InvalidInput(
                f"official {key!r} is not a county leader (role leader); "
                f"give the role with `followup official update {key} --role leader`"
            )
        return row

    def _event(
        self,
        session: Session,
        project: Project,
        kind: str,
        *,
        at: datetime,
        now: datetime,
        by: Official | None,
        from_stage: str | None = None,
        to_stage: str | None = None,
        note: str | None = None,
        changes: dict[str, Any] | None = None,
    ) -> None:
        session.add(
            ProjectEvent(
                project_id=project.id,
                kind=kind,
                at=at,
                recorded_at=now,
                by_id=by.id if by else None,
                from_stage=from_stage,
                to_stage=to_stage,
                note=note,
                changes=changes,
            )
        )

    def _parse_values(self, session: Session, raw: Mapping[str, str | None]) -> dict[str, Any]:
        """Turn typed field values into stored ones; an empty string clears a field."""
        out: dict[str, Any] = {}
        for name, text in raw.items():
            spec = PROJECT_FIELDS.get(name)
            if spec is None:
                raise InvalidInput(f"unknown field {name!r}; fields: {', '.join(PROJECT_FIELDS)}")
            if text is None:
                continue
            if text == "":
                out[name] = None
            elif spec.kind == "amount" or spec.kind == "area":
                out[name] = validate.decimal(text, spec.name)
            elif spec.kind == "date":
                out[name] = parse_day(text, what=name)
            elif spec.kind == "official":
                out[name] = self._leader(session, text)
            else:
                out[name] = validate.line(text, name)
        return out

    @staticmethod
    def _current_values(project: Project) -> dict[str, Any]:
        return {name: getattr(project, name) for name in PROJECT_FIELDS}

    def deadline_for(
        self, workflow: Workflow, stage_key: str, entered: date, values: Mapping[str, Any]
    ) -> date | None:
        """The deadline of a stage entered on ``entered``: its contract date if the project has one,
        else the entry day plus the stage's limit; None for a final stage or a side state."""
        stage = workflow.stages.get(stage_key)
        if stage is None or stage.final or stage.limit is None:
            return None
        if stage.contract_deadline and values.get(stage.contract_deadline):
            contract: date = values[stage.contract_deadline]
            return contract
        return stage.limit.apply(entered, self.calendar)

    def _check_when(self, on: datetime, now: datetime, floor: datetime | None, what: str) -> None:
        if on > now:
            raise InvalidInput(
                f"{what} {show(on, self.settings.zone)} is in the future "
                f"(now is {show(now, self.settings.zone)})"
            )
        if floor is not None and on < as_utc(floor):
            raise InvalidInput(
                f"{what} {show(on, self.settings.zone)} is before the project's last "
                f"change ({show(floor, self.settings.zone)})"
            )

    # ---- the escalation clock

    @staticmethod
    def clock_of(project: Project) -> ProjectClock:
        return ProjectClock.from_row(project)

    def assess(self, project: Project, workflow: Workflow, now: datetime) -> Assessment:
        return assess(workflow, self.clock_of(project), now, self.calendar, self.settings.zone)

    def _reschedule(self, project: Project, workflow: Workflow, now: datetime) -> Assessment:
        """Whenever a project changes: its level, and when the sweep must next look at it
        (now, if it owes something now: queuing is idempotent, so one look too many costs nothing)."""
        assessment = self.assess(project, workflow, now)
        project.level = assessment.level.key if assessment.level else None
        project.next_escalation_at = now if assessment.owed else assessment.next_at
        return assessment

    def _view(self, project: Project, workflow: Workflow, now: datetime) -> ProjectView:
        return ProjectView.from_row(project, workflow, self.settings, self.assess(project, workflow, now))

    # ---- units

    def add_unit(self, key: str, name: str, kind: str, now: datetime) -> UnitView:
        validate.key(key, "unit")
        name = validate.line(name, "unit name", max_len=200)
        if kind not in UNIT_KINDS:
            raise InvalidInput(f"bad unit kind {kind!r}; allowed: {', '.join(UNIT_KINDS)}")
        with self.store.transaction() as session:
            if session.scalars(select(Unit.id).where(Unit.key == key)).first() is not None:
                raise DuplicateKey(f"unit {key!r} already exists")
            row = Unit(key=key, name=name, kind=kind, active=True, created_at=now)
            session.add(row)
            session.flush()
            return UnitView.from_row(row)

    def list_units(self, *, include_inactive: bool = False) -> list[UnitView]:
        with self.store.reading() as session:
            query = select(Unit).order_by(Unit.key)
            if not include_inactive:
                query = query.where(Unit.active.is_(True))
            return [UnitView.from_row(r) for r in session.scalars(query)]

    def update_unit(
        self, key: str, *, name: str | None = None, kind: str | None = None, active: bool | None = None
    ) -> UnitView:
        if name is not None:
            name = validate.line(name, "unit name", max_len=200)
        if kind is not None and kind not in UNIT_KINDS:
            raise InvalidInput(f"bad unit kind {kind!r}; allowed: {', '.join(UNIT_KINDS)}")
        with self.store.transaction() as session:
            row = self._unit(session, key, active=False)
            if active is False:
                busy = session.scalars(
                    select(Project.id).where(Project.unit_id == row.id, Project.stage != TERMINATED)
                ).first()
                if busy is not None:
                    raise StillReferenced(
                        f"unit {key!r} is still responsible for project {busy}; "
                        f"move its projects first (`followup project edit ID --unit`)"
                    )
            if name is not None:
                row.name = name
            if kind is not None:
                row.kind = kind
            if active is not None:
                row.active = active
            return UnitView.from_row(row)

    # ---- officials

    def add_official(
        self,
        key: str,
        *,
        name: str,
        email: str,
        unit: str,
        head: bool = False,
        roles: Sequence[str] = (),
        now: datetime,
    ) -> OfficialView:
        validate.key(key, "official")
        name = validate.line(name, "name", max_len=200)
        email = validate.email(email)
        roles = self._check_roles(roles)
        with self.store.transaction() as session:
            if session.scalars(select(Official.id).where(Official.key == key)).first() is not None:
                raise DuplicateKey(f"official {key!r} already exists")
            unit_row = self._unit(session, unit)
            row = Official(
                key=key,
                name=name,
                email=email,
                unit=unit_row,
                is_head=head,
                active=True,
                created_at=now,
                role_rows=[OfficialRole(role=r) for r in roles],
            )
            session.add(row)
            session.flush()
            return OfficialView.from_row(row)

    @staticmethod
    def _check_roles(roles: Iterable[str]) -> list[str]:
        out: list[str] = []
        for role in roles:
            if role not in OFFICIAL_ROLES:
                raise InvalidInput(f"unknown role {role!r}; allowed: {', '.join(OFFICIAL_ROLES)}")
            if role not in out:
                out.append(role)
        return sorted(out)

    def list_officials(
        self, *, unit: str | None = None, role: str | None = None, include_inactive: bool = False
    ) -> list[OfficialView]:
        with self.store.reading() as session:
            query = select(Official).order_by(Official.key)
            if unit is not None:
                query = query.where(Official.unit_id == self._unit(session, unit, active=False).id)
            if role is not None:
                self._check_roles([role])
                query = query.where(Official.role_rows.any(OfficialRole.role == role))
            if not include_inactive:
                query = query.where(Official.active.is_(True))
            return [OfficialView.from_row(r) for r in session.scalars(query).unique()]

    def get_official(self, key: str) -> OfficialView:
        with self.store.reading() as session:
            return OfficialView.from_row(self._official(session, key, active=False))

    def update_official(
        self,
        key: str,
        *,
        name: str | None = None,
        email: str | None = None,
        unit: str | None = None,
        head: bool | None = None,
        roles: Sequence[str] | None = None,
    ) -> OfficialView:
        if name is not None:
            name = validate.line(name, "name", max_len=200)
        if email is not None:
            email = validate.email(email)
        checked_roles = self._check_roles(roles) if roles is not None else None
        with self.store.transaction() as session:
            row = self._official(session, key, active=False)
            if name is not None:
                row.name = name
            if email is not None:
                row.email = email
            if unit is not None:
                row.unit = self._unit(session, unit)
            if head is not None:
                row.is_head = head
            if checked_roles is not None:
                if "leader" not in checked_roles and "leader" in row.roles:
                    busy = session.scalars(
                        select(Project.id).where(Project.leader_id == row.id, Project.stage != TERMINATED)
                    ).first()
                    if busy is not None:
                        raise StillReferenced(
                            f"{key!r} is leader in charge of project {busy}; reassign first"
                        )
                row.role_rows = [OfficialRole(role=r) for r in checked_roles]
            session.flush()
            return OfficialView.from_row(row)

    def deactivate_official(
        self, key: str, *, reassign_to: str | None, by: str | None, now: datetime
    ) -> tuple[OfficialView, list[int]]:
        """Mark someone as having left office; with ``reassign_to``, hand over their active projects.

        Nobody is ever deleted while referenced: the history keeps naming them.
        """
        with self.store.transaction() as session:
            row = self._official(session, key, active=False)
            if not row.active:
                raise InvalidInput(f"official {key!r} is already deactivated")
            actor = self._official(session, by) if by else None
            successor = self._official(session, reassign_to, what="successor") if reassign_to else None
            if successor is not None and successor.id == row.id:
                raise InvalidInput("cannot reassign projects to the official who leaves")
            projects = (
                session.scalars(
                    select(Project)
                    .where(
                        (Project.officer_id == row.id) | (Project.leader_id == row.id),
                        Project.stage != TERMINATED,
                    )
                    .order_by(Project.id)
                )
                .unique()
                .all()
            )
            if projects and successor is None:
                ids = ", ".join(str(p.id) for p in projects[:10])
                raise StillReferenced(
                    f"{key!r} still follows active projects ({ids}); "
                    f"give --reassign-to OFFICIAL to hand them over"
                )
            moved: list[int] = []
            for project in projects:
                assert successor is not None  # refused above when there are projects to hand over
                changes: dict[str, Any] = {}
                if project.officer_id == row.id:
                    project.officer = successor
                    changes["officer"] = [row.key, successor.key]
                if project.leader_id == row.id:
                    if "leader" not in successor.roles:
                        raise InvalidInput(
                            f"successor {reassign_to!r} is not a county leader "
                            f"(role leader) but {key!r} leads project {project.id}"
                        )
                    project.leader = successor
                    changes["leader"] = [row.key, successor.key]
                project.updated_at = now
                self._event(
                    session,
                    project,
                    "reassign",
                    at=now,
                    now=now,
                    by=actor,
                    note=f"{row.name} 离任，项目移交 {successor.name}",
                    changes=changes,
                )
                moved.append(project.id)
            row.active = False
            row.left_at = now
            session.flush()
            return OfficialView.from_row(row), moved

    def delete_official(self, key: str) -> None:
        """Remove an official entered by mistake; refused once anything refers to them."""
        with self.store.transaction() as session:
            row = self._official(session, key, active=False)
            if not row.active:
                raise StillReferenced(
                    f"official {key!r} has left office and is kept for the record; "
                    f"deactivated officials are never deleted"
                )
            used = session.scalars(
                select(Project.id).where((Project.officer_id == row.id) | (Project.leader_id == row.id))
            ).first()
            used = (
                used or session.scalars(select(ProjectEvent.id).where(ProjectEvent.by_id == row.id)).first()
            )
            if used is not None:
                raise StillReferenced(
                    f"official {key!r} is referenced by projects or their history; "
                    f"use `followup official deactivate {key}` instead"
                )
            session.delete(row)

    # ---- projects

    def add_project(
        self, data: ProjectInput, *, stage: str | None, since: datetime | None, by: str | None, now: datetime
    ) -> ProjectView:
        if not data.name or not data.officer or not data.unit:
            raise InvalidInput("a project needs --name, --officer and --unit")
        name = validate.line(data.name, "project name")
        workflow = self.workflows.get(data.workflow or self.settings.default_workflow)
        stage = stage or workflow.first
        if stage in SIDE_STATES:
            raise InvalidInput(
                f"a project enters the ledger in a stage, not {stage!r}; stages: {', '.join(workflow.stages)}"
            )
        workflow.stage(stage)
        since = since or now
        self._check_when(since, now, None, "--since")
        with self.store.transaction() as session:
            officer = self._official(session, data.officer, what="officer")
            unit = self._unit(session, data.unit)
            values = self._parse_values(session, data.values)
            # Entering the ledger at a later stage: what every stage up to it requires must be there.
            missing = [f for f in workflow.required_at(stage) if values.get(f) in (None, "")]
            if missing:
                names = ", ".join(f"{PROJECT_FIELDS[f].label} ({f})" for f in missing)
                raise InvalidInput(f"a project at {workflow.label_of(stage)} ({stage}) needs {names}")
            record = workflow.stages[stage].records
            if record and values.get(record) is None:
                values[record] = local_day(since, self.settings.zone)
            project = Project(
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
            )
            for key, value in values.items():
                setattr(project, key, value)
            project.deadline = self.deadline_for(
                workflow, stage, local_day(since, self.settings.zone), values
            )
            assessment = self._reschedule(project, workflow, now)
            session.add(project)
            session.flush()
            actor = self._official(session, by) if by else None
            self._event(
                session,
                project,
                "created",
                at=since,
                now=now,
                by=actor,
                to_stage=stage,
                changes={k: _json_value(v.key if isinstance(v, Official) else v) for k, v in values.items()}
                or None,
            )
            return ProjectView.from_row(project, workflow, self.settings, assessment)

    def get_project(self, project_id: int, now: datetime | None = None) -> ProjectView:
        """A project with its ladder level as of ``now`` (default: the real time)."""
        with self.store.reading() as session:
            row = self._project(session, project_id)
            return self._view(row, self.workflows.get(row.workflow), now or utcnow())

    def list_projects(self, filters: ProjectFilter, now: datetime | None = None) -> list[ProjectView]:
        now = now or utcnow()
        with self.store.reading() as session:
            query = select(Project).order_by(Project.id)
            if filters.stage:
                known = {s for name in self.workflows.names() for s in self.workflows.get(name).states()}
                if filters.stage not in known:
                    raise InvalidInput(f"unknown stage {filters.stage!r}; stages: {', '.join(sorted(known))}")
                query = query.where(Project.stage == filters.stage)
            elif not filters.include_ended:
                query = query.where(Project.stage != TERMINATED)
            if filters.unit:
                query = query.where(Project.unit_id == self._unit(session, filters.unit, active=False).id)
            if filters.officer:
                officer = self._official(session, filters.officer, active=False)
                query = query.where(Project.officer_id == officer.id)
            if filters.leader:
                leader = self._official(session, filters.leader, active=False)
                query = query.where(Project.leader_id == leader.id)
            if filters.chain:
                query = query.where(Project.chain == filters.chain)
            if filters.workflow:
                query = query.where(Project.workflow == self.workflows.get(filters.workflow).name)
            rows = session.scalars(query).unique().all()
            return [self._view(r, self.workflows.get(r.workflow), now) for r in rows]

    def edit_project(
        self, project_id: int, data: ProjectInput, *, by: str | None, note: str | None, now: datetime
    ) -> ProjectView:
        name = validate.line(data.name, "project name") if data.name is not None else None
        note = validate.note(note) if note else None
        with self.store.transaction() as session:
            project = self._project(session, project_id, lock=True)
            actor = self._official(session, by) if by else None
            values = self._parse_values(session, data.values)
            changes: dict[str, Any] = {}

            def change(attr: str, new: Any, shown_old: Any, shown_new: Any) -> None:
                if getattr(project, attr) != new:
                    changes[attr] = [_json_value(shown_old), _json_value(shown_new)]
                    setattr(project, attr, new)

            if name is not None:
                change("name", name, project.name, name)
            if data.officer is not None:
                officer = self._official(session, data.officer, what="officer")
                change("officer", officer, project.officer.key, officer.key)
            if data.unit is not None:
                unit = self._unit(session, data.unit)
                change("unit", unit, project.unit.key, unit.key)
            workflow = self.workflows.get(project.workflow)
            recompute = False
            if data.workflow is not None:
                new_workflow = self.workflows.get(data.workflow)
                if project.stage not in new_workflow.states():
                    raise InvalidInput(f"workflow {new_workflow.name} has no stage {project.stage!r}")
                if new_workflow.name != project.workflow:
                    change("workflow", new_workflow.name, project.workflow, new_workflow.name)
                    workflow, recompute = new_workflow, True
            # On hold, the project still owes what its held stage requires.
            current = project.held_stage or project.stage
            if current == TERMINATED:
                current = workflow.first
            for key, value in values.items():
                old = getattr(project, key)
                shown_old = old.key if isinstance(old, Official) else old
                shown_new = value.key if isinstance(value, Official) else value
                if value is None and key in workflow.required_at(current):
                    raise InvalidInput(
                        f"{key} is required at {workflow.label_of(current)} ({current}); it cannot be cleared"
                    )
                change(key, value, shown_old, shown_new)
                stage = workflow.stages.get(project.stage)
                if stage is not None and stage.contract_deadline == key:
                    recompute = True
            if not changes:
                raise InvalidInput("nothing to change: give at least one option that differs")
            if recompute and project.stage in workflow.stages:
                new_deadline = self.deadline_for(
                    workflow,
                    project.stage,
                    local_day(project.stage_since, self.settings.zone),
                    self._current_values(project),
                )
                if new_deadline != project.deadline:
                    changes["deadline"] = [_json_value(project.deadline), _json_value(new_deadline)]
                    project.deadline = new_deadline
                    project.deadline_version += 1  # a new deadline starts a fresh ladder
            project.updated_at = now
            assessment = self._reschedule(project, workflow, now)
            self._event(session, project, "edit", at=now, now=now, by=actor, note=note, changes=changes)
            session.flush()
            return ProjectView.from_row(project, workflow, self.settings, assessment)

    def advance(
        self,
        project_id: int,
        target: str | None,
        *,
        by: str,
        note: str | None = None,
        on: datetime | None = None,
        until: date | None = None,
        values: Mapping[str, str | None] | None = None,
        now: datetime,
    ) -> ProjectView:
        """Move a project to ``target`` (a stage, ``on_hold``, ``terminated``, or None: resume to the held
        stage), checked by the workflow's state machine; ``values`` are recorded in the same transaction."""
        note = validate.note(note) if note else None
        on = on or now
        with self.store.transaction() as session:
            project = self._project(session, project_id, lock=True)
            workflow = self.workflows.get(project.workflow)
            if target is None:  # resume: back to the stage it was held in, read under the same lock
                if project.stage != ON_HOLD or project.held_stage is None:
                    raise InvalidInput(f"project {project_id} is not on hold")
                target = project.held_stage
            actor = self._official(session, by, what="--by official")
            self._check_when(on, now, project.stage_since, "--on")
            parsed = self._parse_values(session, values or {})
            would_be = {**self._current_values(project), **parsed}
            if until is not None and until <= local_day(on, self.settings.zone):
                raise InvalidInput(f"--until {until} must be after the day of the move")
            subject = MoveSubject(
                state=project.stage, values=would_be, held_stage=project.held_stage, reason=note, until=until
            )
            workflow.check_move(subject, target)

            source = project.stage
            changes: dict[str, Any] = {}
            for key, value in parsed.items():
                old = getattr(project, key)
                if old != value:
                    changes[key] = [
                        _json_value(old.key if isinstance(old, Official) else old),
                        _json_value(value.key if isinstance(value, Official) else value),
                    ]
                    setattr(project, key, value)
            day = local_day(on, self.settings.zone)
            stage = workflow.stages.get(target)
            if stage is not None and stage.records and getattr(project, stage.records) is None:
                setattr(project, stage.records, day)
                changes[stage.records] = [None, day.isoformat()]

            if target == ON_HOLD:
                project.held_stage, project.held_since = source, on
                project.held_deadline, project.hold_until, project.hold_reason = project.deadline, until, note
                project.deadline = None
            elif target == TERMINATED:
                project.end_reason = note
                project.deadline = None
            elif source == ON_HOLD:
                project.deadline = self._resumed_deadline(workflow, project, day)
                project.held_stage = project.held_since = project.held_deadline = None
                project.hold_until = project.hold_reason = None
            else:
                project.deadline = self.deadline_for(workflow, target, day, self._current_values(project))
            project.stage = target
            project.stage_since = on
            project.stage_seq += 1  # every move starts a fresh ladder
            project.last_activity_at = max(as_utc(project.last_activity_at), on)
            project.updated_at = now
            assessment = self._reschedule(project, workflow, now)
            extra = {"until": until.isoformat()} if until else {}
            self._event(
                session,
                project,
                "move",
                at=on,
                now=now,
                by=actor,
                from_stage=source,
                to_stage=target,
                note=note,
                changes={**changes, **extra} or None,
            )
            session.flush()
            return ProjectView.from_row(project, workflow, self.settings, assessment)

    def _resumed_deadline(self, workflow: Workflow, project: Project, day: date) -> date | None:
        """The clock paused while on hold: push the old deadline back by the time spent on hold,
        counted in the stage limit's own unit (working days for a working-day limit)."""
        old = project.held_deadline
        stage = workflow.stages.get(project.held_stage or "")
        if old is None or stage is None or stage.limit is None or project.held_since is None:
            return old
        held_day = local_day(project.held_since, self.settings.zone)
        if stage.limit.unit == "working_days":
            paused = self.calendar.working_days_between(held_day, day)
            return self.calendar.add_working_days(old, paused)
        return old + timedelta(days=(day - held_day).days)

    def log(
        self, project_id: int, *, by: str, text: str, on: datetime | None = None, now: datetime
    ) -> EventView:
        """Record a follow-up (跟进记录); it also resets the staleness clock."""
        text = validate.note(text, "follow-up text")
        on = on or now
        with self.store.transaction() as session:
            project = self._project(session, project_id, lock=True)
            actor = self._official(session, by, what="--by official")
            self._check_when(on, now, None, "--on")
            if on < as_utc(project.created_at) and on < as_utc(project.stage_since):
                raise InvalidInput("--on is before the project was entered")
            if on > as_utc(project.last_activity_at):
                project.last_activity_at = on
            project.updated_at = now
            self._reschedule(project, self.workflows.get(project.workflow), now)
            event = ProjectEvent(
                project_id=project.id,
                kind="followup",
                at=on,
                recorded_at=now,
                by_id=actor.id,
                from_stage=project.stage,
                to_stage=project.stage,
                note=text,
            )
            session.add(event)
            session.flush()
            event.by = actor
            return EventView.from_row(event, self.settings)

    def extend(self, project_id: int, *, days: int, by: str, reason: str, now: datetime) -> ProjectView:
        """Move a project's deadline ``days`` calendar days later (延期). Only its leader in charge,
        the supervision office or a principal leader may approve; the extension starts a fresh ladder."""
        reason = validate.note(reason, "reason")
        if not 0 < days <= 3650:
            raise InvalidInput(f"bad --days {days}: expected 1 to 3650 calendar days")
        with self.store.transaction() as session:
            project = self._project(session, project_id, lock=True)
            workflow = self.workflows.get(project.workflow)
            approver = self._official(session, by, what="--by official")
            if project.deadline is None:
                raise InvalidInput(
                    f"project {project_id} has no running deadline ({workflow.label_of(project.stage)})"
                )
            allowed = project.leader_id == approver.id or {"supervision", "principal"} & set(approver.roles)
            if not allowed:
                raise InvalidInput(
                    f"{by!r} may not extend project {project_id}: only its leader in charge "
                    f"({project.leader.key if project.leader else 'none set'}), the supervision office "
                    f"or a principal leader may"
                )
            old = project.deadline
            project.deadline = old + timedelta(days=days)
            project.deadline_version += 1
            project.updated_at = now
            assessment = self._reschedule(project, workflow, now)
            self._event(
                session,
                project,
                "extend",
                at=now,
                now=now,
                by=approver,
                from_stage=project.stage,
                to_stage=project.stage,
                note=reason,
                changes={"deadline": [old.isoformat(), project.deadline.isoformat()]},
            )
            session.flush()
            return ProjectView.from_row(project, workflow, self.settings, assessment)

    def history(self, project_id: int) -> list[EventView]:
        with self.store.reading() as session:
            self._project(session, project_id)
            rows = (
                session.scalars(
                    select(ProjectEvent)
                    .where(ProjectEvent.project_id == project_id)
                    .order_by(ProjectEvent.id)
                )
                .unique()
                .all()
            )
            return [EventView.from_row(r, self.settings) for r in rows]

    # ---- the database

    def init(self) -> str:
        try:
            return self.store.migrate()
        except IntegrityError as exc:  # pragma: no cover - a half-made schema from elsewhere
            raise InvalidInput(f"cannot initialise: {exc}") from exc
