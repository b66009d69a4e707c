"""What the monthly bulletin (``app.bulletin``) reads as it stands when it is issued: the active
projects assessed on the ladder (the red and 约谈 ones named), the overdue problems, the open 督办
notices, the projects per unit, and what was entered and issued in the month.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from followup.app import records
from followup.app.runtime import Runtime
from followup.app.views import View
from followup.domain.kinds import Light
from followup.domain.timeutil import local_day, start_of_day
from followup.domain.workflow import ON_HOLD
from followup.store.models import Problem, Project, SupervisionNotice, Unit

log = logging.getLogger(__name__)

#: the problem levels as a county writes them
PROBLEM_LEVELS = {"general": "一般", "coordination": "协调", "major": "重大"}


@dataclass(frozen=True)
class FlaggedProject(View):
    id: int
    name: str
    unit: str
    stage_label: str
    light: str
    light_label: str
    since: date | None  # the day the level was reached
    days_past: int | None  # past its deadline (on hold: its restart date)
    leader: str | None
    officer: str


@dataclass(frozen=True)
class ProblemLine(View):
    id: int
    project_id: int
    project: str
    unit: str
    level: str
    level_label: str
    due_on: date
    days_overdue: int
    text: str


@dataclass(frozen=True)
class NoticeLine(View):
    id: int
    number: str  # 督〔2026〕第12号
    project_id: int
    project: str
    unit: str
    level: str
    issued_on: date
    reply_due: date
    days_overdue: int  # past the reply date (0: not yet due)


@dataclass(frozen=True)
class _State:
    """What the bulletin reads as it stands now (the lights, problems, notices) and of the month."""

    assessed: list[_Assessed]
    units: dict[str, Unit]
    counts: dict[int, int]
    problems: list[ProblemLine]
    open_problems: int
    notices: list[NoticeLine]
    new_in_month: int
    issued_in_month: list[bool]


def _read_state(rt: Runtime, now: datetime, issued: date, first: date, as_of: date) -> _State:
    with rt.store.reading() as session:
        conn = session.connection()
        return _State(
            assessed=_assessed(rt, session, now),
            units={u.key: u for u in session.scalars(select(Unit))},
            counts=_project_counts(conn),
            problems=_problems(session, issued),
            open_problems=_open_problems(conn),
            notices=_notices(rt, session, issued),
            new_in_month=_entered_between(conn, rt, first, as_of),
            issued_in_month=_issued_between(session, rt, first, as_of),
        )


@dataclass(frozen=True)
class _Assessed:
    unit_id: int
    light: Light
    stale: bool
    flagged: FlaggedProject


def _assessed(rt: Runtime, session: Session, now: datetime) -> list[_Assessed]:
    """Every active project with a ladder (not final, its workflow loads), assessed now."""
    today = local_day(now, rt.zone)
    out: list[_Assessed] = []
    for project, workflow, result in records.assessed_projects(rt, session, now):
        held = project.stage == ON_HOLD
        stage = project.held_stage if held and project.held_stage else project.stage
        past = project.hold_until if held else project.deadline
        flagged = FlaggedProject(
            id=project.id,
            name=project.name,
            unit=project.unit.name,
            stage_label=workflow.label_of(stage),
            light=str(result.light),
            light_label=result.light_label,
            since=result.level_since,
            days_past=(today - past).days if past and past < today else None,
            leader=project.leader.name if project.leader else None,
            officer=project.officer.name,
        )
        out.append(_Assessed(project.unit_id, result.light, result.stale_since is not None, flagged))
    return out


def _project_counts(conn: Connection) -> dict[int, int]:
    """How many projects (not voided) each unit has."""
    query = select(Project.unit_id, func.count()).where(Project.voided_at.is_(None)).group_by(Project.unit_id)
    return {unit_id: n for unit_id, n in conn.execute(query)}


def _entered_between(conn: Connection, rt: Runtime, first: date, last: date) -> int:
    """How many projects (not voided) were entered from ``first`` to ``last``, days in the county's zone."""
    start, end = start_of_day(first, rt.zone), start_of_day(last + timedelta(days=1), rt.zone)
    query = select(func.count()).where(
        Project.voided_at.is_(None), Project.created_at >= start, Project.created_at < end
    )
    return int(conn.execute(query).scalar_one())


def _problems(session: Session, today: date) -> list[ProblemLine]:
    """Open problems past their due date, the longest overdue first."""
    query = (
        select(Problem, Project.name, Unit.name)
        .join(Project, Project.id == Problem.project_id)
        .join(Unit, Unit.id == Problem.owner_unit_id)
        .where(Problem.closed_at.is_(None), Problem.due_on < today, Project.voided_at.is_(None))
        .order_by(Problem.due_on, Problem.id)
    )
    return [
        ProblemLine(
            id=p.id,
            project_id=p.project_id,
            project=project,
            unit=unit,
            level=p.level,
            level_label=PROBLEM_LEVELS.get(p.level, p.level),
            due_on=p.due_on,
            days_overdue=(today - p.due_on).days,
            text=p.text,
        )
        for p, project, unit in session.execute(query)
    ]


def _issued_between(session: Session, rt: Runtime, first: date, last: date) -> list[bool]:
    """The 督办 notices issued between ``first`` and ``last``: whether each was replied to."""
    rows = session.execute(select(SupervisionNotice.issued_at, SupervisionNotice.replied_at)).all()
    return [replied is not None for issued, replied in rows if first <= local_day(issued, rt.zone) <= last]


def _open_problems(conn: Connection) -> int:
    return len(conn.execute(select(Problem.id).where(Problem.closed_at.is_(None))).all())


def _notices(rt: Runtime, session: Session, today: date) -> list[NoticeLine]:
    """督办 notices without a reply, the oldest first."""
    query = (
        select(SupervisionNotice, Project.name, Unit.name)
        .join(Project, Project.id == SupervisionNotice.project_id)
        .join(Unit, Unit.id == SupervisionNotice.unit_id)
        .where(SupervisionNotice.replied_at.is_(None), Project.voided_at.is_(None))
        .order_by(SupervisionNotice.year, SupervisionNotice.number)
    )
    return [
        NoticeLine(
            id=n.id,
            number=f"督〔{n.year}〕第{n.number}号",
            project_id=n.project_id,
            project=project,
            unit=unit,
            level=n.level,
            issued_on=local_day(n.issued_at, rt.zone),
            reply_due=n.reply_due,
            days_overdue=max((today - n.reply_due).days, 0),
        )
        for n, project, unit in session.execute(query)
    ]
