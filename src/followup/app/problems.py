"""The problem list (问题清单) of supervision (督办): a problem holds a project up; a unit owns it and it
is due by a date. It is closed one by one (销号) by an official of its owning unit, the project's leader
in charge, the supervision office or a principal leader. An open problem past its due date climbs the
overdue ladder (``domain.overdue``) to its owning unit (``app.supervision.overdue_rows``); a problem of
a terminated project no longer climbs. Opening and closing are lines of the project's history.

Also the reading helpers ``app.notices`` shares (officials and units by id, a history line, who may act).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from followup.app import evidence as evidence_files
from followup.app import records
from followup.app.evidence import Upload
from followup.app.runtime import Runtime
from followup.app.views import Ref, View
from followup.domain import validate
from followup.domain.kinds import APPROVER_ROLES, EventKind
from followup.domain.timeutil import in_zone, local_day
from followup.domain.workflow import TERMINATED
from followup.errors import Conflict, InvalidInput, NotFound
from followup.i18n import _
from followup.store.models import Official, Problem, Project, ProjectEvent, Unit

#: a problem's level (问题等级): key → label; either may be typed
PROBLEM_LEVELS = {"general": "一般", "coordination": "协调", "major": "重大"}


def problem_level(word: str) -> str:
    """A problem level as typed: its key (general, coordination, major) or its label (一般, 协调, 重大)."""
    text_ = word.strip()
    for key, label in PROBLEM_LEVELS.items():
        if text_.lower() == key or text_ == label:
            return key
    allowed = "、".join(f"{label}（{key}）" for key, label in PROBLEM_LEVELS.items())
    raise InvalidInput(
        _("unknown problem level {word}; allowed: {allowed}").format(
            word=validate.shown(word), allowed=allowed
        )
    )


# --------------------------------------------------------------------------- the view and shared helpers


@dataclass(frozen=True)
class ProblemView(View):
    """One problem of the problem list (问题清单)."""

    id: int
    project_id: int
    project_name: str
    level: str
    level_label: str
    owner: Ref
    due_on: date
    text: str
    opened_at: datetime
    opened_by: Ref | None
    closed_at: datetime | None
    closed_by: Ref | None
    resolution: str | None
    #: days past its due date while open (0: due today or not yet due)
    overdue_days: int

    @property
    def open(self) -> bool:
        return self.closed_at is None


def problem_view(
    rt: Runtime,
    row: Problem,
    project: Project,
    people: dict[int, Official],
    units: dict[int, Unit],
    today: date,
) -> ProblemView:
    owner = units[row.owner_unit_id]
    late = (today - row.due_on).days if row.closed_at is None else 0
    return ProblemView(
        id=row.id,
        project_id=row.project_id,
        project_name=project.name,
        level=row.level,
        level_label=PROBLEM_LEVELS.get(row.level, row.level),
        owner=Ref(owner.key, owner.name),
        due_on=row.due_on,
        text=row.text,
        opened_at=in_zone(row.opened_at, rt.zone),
        opened_by=records.ref(people.get(row.opened_by_id or 0)),
        closed_at=in_zone(row.closed_at, rt.zone),
        closed_by=records.ref(people.get(row.closed_by_id or 0)),
        resolution=row.resolution,
        overdue_days=max(late, 0),
    )


def people_by_id(session: Session, ids: set[int | None]) -> dict[int, Official]:
    wanted = {i for i in ids if i}
    if not wanted:
        return {}
    return {o.id: o for o in session.scalars(select(Official).where(Official.id.in_(wanted))).unique()}


def units_by_id(session: Session, ids: set[int]) -> dict[int, Unit]:
    return {u.id: u for u in session.scalars(select(Unit).where(Unit.id.in_(ids)))} if ids else {}


def event(
    rt: Runtime,
    session: Session,
    project: Project,
    kind: EventKind,
    *,
    now: datetime,
    by: Official | None,
    note: str | None,
    changes: dict[str, Any],
) -> ProjectEvent:
    return records.record_event(
        rt,
        session,
        project,
        kind,
        at=now,
        now=now,
        by=by,
        from_stage=project.stage,
        to_stage=project.stage,
        note=note,
        changes=changes,
    )


def may_act(project: Project, unit_id: int, who: Official) -> bool:
    """An official of ``unit_id``, the project's leader in charge, the supervision office or a
    principal leader."""
    return who.unit_id == unit_id or project.leader_id == who.id or bool(APPROVER_ROLES & set(who.roles))


# --------------------------------------------------------------------------- problems (问题清单)


def add_problem(
    rt: Runtime, project_id: int, *, level: str, owner: str, due: date, by: str, text: str
) -> ProblemView:
    """Open a problem on a project, owned by a unit and due by ``due`` (today or later)."""
    now = rt.now()
    today = local_day(now, rt.zone)
    key = problem_level(level)
    text = validate.note(text, _("problem text"), max_len=2000)
    if due < today:
        raise InvalidInput(_("--due {day} is in the past (today is {today})").format(day=due, today=today))
    with rt.store.transaction() as session:
        project = records.project(session, project_id, lock=True)
        if project.stage == TERMINATED:
            raise InvalidInput(
                _("project {id} is terminated: it takes no new problems").format(id=project_id)
            )
        unit = records.unit(session, owner)
        actor = records.official(session, by, what=_("--by official"))
        row = Problem(
            project_id=project.id,
            level=key,
            owner_unit_id=unit.id,
            due_on=due,
            text=text,
            opened_at=now,
            opened_by_id=actor.id,
            entered_by=rt.operator[:64] if rt.operator else None,
        )
        session.add(row)
        session.flush()
        changes = {"problem": row.id, "level": key, "owner": unit.key, "due_on": due.isoformat()}
        event(rt, session, project, EventKind.PROBLEM, now=now, by=actor, note=text, changes=changes)
        return problem_view(rt, row, project, {actor.id: actor}, {unit.id: unit}, today)


def close_problem(
    rt: Runtime, problem_id: int, *, by: str, resolution: str, evidence: Sequence[Upload] = ()
) -> ProblemView:
    """Close a problem (销号) with how it was resolved and ``evidence`` files attached; its queued
    overdue warnings become obsolete."""
    now = rt.now()
    today = local_day(now, rt.zone)
    resolution = validate.note(resolution, _("resolution"), max_len=2000)
    files = evidence_files.checked(rt, evidence)
    with rt.store.transaction() as session:
        row = session.get(Problem, problem_id, with_for_update=True)
        if row is None:
            raise NotFound(_("unknown problem {id}; see `followup problem list`").format(id=problem_id))
        project = records.project(session, row.project_id)
        actor = records.official(session, by, what=_("--by official"))
        if row.closed_at is not None:
            raise Conflict(
                _("problem {id} was already closed on {day}").format(
                    id=problem_id, day=local_day(row.closed_at, rt.zone)
                )
            )
        if not may_act(project, row.owner_unit_id, actor):
            owner = session.get(Unit, row.owner_unit_id)
            raise InvalidInput(
                _(
                    "{key!r} ({name}) may not close problem {id}: only an official of its owning unit "
                    "({unit}), the project's leader in charge, the supervision office or a principal "
                    "leader may"
                ).format(key=actor.key, name=actor.name, id=problem_id, unit=owner.name if owner else "?")
            )
        row.closed_at, row.closed_by_id, row.resolution = now, actor.id, resolution
        changes = {"problem": row.id}
        line = event(
            rt,
            session,
            project,
            EventKind.PROBLEM_CLOSED,
            now=now,
            by=actor,
            note=resolution,
            changes=changes,
        )
        session.flush()
        evidence_files.attach(
            rt, session, files, project_id=project.id, by=actor, now=now, event_id=line.id, problem_id=row.id
        )
        people = people_by_id(session, {row.opened_by_id, actor.id})
        return problem_view(rt, row, project, people, units_by_id(session, {row.owner_unit_id}), today)


def list_problems(
    rt: Runtime,
    *,
    open_only: bool = False,
    overdue_only: bool = False,
    project_id: int | None = None,
    unit: str | None = None,
) -> list[ProblemView]:
    """The problem list, by id: open ones only, overdue ones only (open and past their due date), of one
    project, of one owning unit."""
    now = rt.now()
    today = local_day(now, rt.zone)
    with rt.store.reading() as session:
        query = select(Problem).order_by(Problem.id)
        if open_only or overdue_only:
            query = query.where(Problem.closed_at.is_(None))
        if overdue_only:
            query = query.where(Problem.due_on < today)
        if project_id is not None:
            records.project(session, project_id)
            query = query.where(Problem.project_id == project_id)
        if unit is not None:
            query = query.where(Problem.owner_unit_id == records.unit(session, unit, active=False).id)
        rows = session.scalars(query).all()
        return _problem_views(rt, session, rows, today)


def _problem_views(rt: Runtime, session: Session, rows: Sequence[Problem], today: date) -> list[ProblemView]:
    projects = {
        p.id: p
        for p in session.scalars(select(Project).where(Project.id.in_({r.project_id for r in rows}))).unique()
    }
    people = people_by_id(session, {r.opened_by_id for r in rows} | {r.closed_by_id for r in rows})
    units = units_by_id(session, {r.owner_unit_id for r in rows})
    return [problem_view(rt, r, projects[r.project_id], people, units, today) for r in rows]


def open_problems(rt: Runtime, project_id: int) -> list[ProblemView]:
    """A project's open problems."""
    return list_problems(rt, open_only=True, project_id=project_id)
