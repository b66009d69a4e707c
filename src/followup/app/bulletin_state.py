"""What the monthly bulletin (``app.bulletin``) reads as it stood at the end of its month — as it stands
now for the month in progress: the active projects assessed on the ladder (the red and 约谈 ones named),
the overdue problems, the open 督办 notices, the projects per unit, and what was entered and issued in
the month.

Of a past month, each project's clock is rebuilt as it stood at the end of the month's last day
(``app.report_lights``) and assessed then; a problem counts when it was open at that day's end (opened
by then, closed after it or not at all) and overdue on that day; a notice when it had been issued by
then and had no reply by then.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from followup.app import records
from followup.app.report_lights import Standing, end_of, standings
from followup.app.runtime import Runtime
from followup.app.views import View
from followup.domain.kinds import Light
from followup.domain.ladder import Assessment, Memo, assess
from followup.domain.notices import ProjectClock
from followup.domain.timeutil import local_day, start_of_day
from followup.domain.workflow import ON_HOLD, TERMINATED, Workflow
from followup.errors import FollowupError
from followup.store.models import Official, Problem, Project, SupervisionNotice, Unit

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
    """The state the bulletin reads: as it stood at the end of ``as_of`` when that day is over, else
    as it stands ``now`` (the problems' and notices' days late counted to ``issued``)."""
    with rt.store.reading() as session:
        conn = session.connection()
        if as_of < local_day(now, rt.zone):
            stood = standings(rt, conn, as_of, with_ended=True)
            assessed = _assessed_then(rt, session, as_of, [s for s in stood if s.clock.stage != TERMINATED])
            counts = dict(Counter(s.unit_id for s in stood))
            day, until = as_of, start_of_day(as_of + timedelta(days=1), rt.zone)
        else:
            assessed, counts = _assessed(rt, session, now), _project_counts(conn)
            day, until = issued, None
        return _State(
            assessed=assessed,
            units={u.key: u for u in session.scalars(select(Unit))},
            counts=counts,
            problems=_problems(session, day, until),
            open_problems=_open_problems(conn, until),
            notices=_notices(rt, session, day, until),
            new_in_month=_entered_between(conn, rt, first, as_of),
            issued_in_month=_issued_between(session, rt, first, as_of, until),
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
        named = _Named(
            project.id,
            project.name,
            project.unit.name,
            project.leader.name if project.leader else None,
            project.officer.name,
        )
        flagged = _flag(named, workflow, ProjectClock.from_row(project), project.held_stage, result, today)
        out.append(_Assessed(project.unit_id, result.light, result.stale_since is not None, flagged))
    return out


def _assessed_then(rt: Runtime, session: Session, as_of: date, stood: list[Standing]) -> list[_Assessed]:
    """The projects ``stood`` (active at the end of ``as_of``, as they stood then) that had a ladder,
    assessed at the end of that day, in id order."""
    conn = session.connection()
    projects: dict[int, str] = {i: n for i, n in conn.execute(select(Project.id, Project.name))}
    units: dict[int, str] = {i: n for i, n in conn.execute(select(Unit.id, Unit.name))}
    people: dict[int, str] = {i: n for i, n in conn.execute(select(Official.id, Official.name))}
    at = end_of(as_of, rt)
    memo: Memo = {}
    out: list[_Assessed] = []
    for s in stood:
        try:
            workflow = rt.workflows.get(s.clock.workflow)
        except FollowupError as exc:
            log.warning("project %s: %s", s.id, exc)
            continue
        if workflow.is_final(s.clock.stage) or workflow.placement_problem(s.clock.stage, s.held_stage):
            continue
        result = assess(workflow, s.clock, at, rt.calendar, rt.zone, memo)
        leader = people.get(s.leader_id) if s.leader_id is not None else None
        named = _Named(s.id, projects[s.id], units[s.unit_id], leader, people[s.officer_id])
        flagged = _flag(named, workflow, s.clock, s.held_stage, result, as_of)
        out.append(_Assessed(s.unit_id, result.light, result.stale_since is not None, flagged))
    return out


@dataclass(frozen=True)
class _Named:
    """A project's id and name, its unit's name, its leader's and officer's names."""

    id: int
    name: str
    unit: str
    leader: str | None
    officer: str


def _flag(
    named: _Named,
    workflow: Workflow,
    clock: ProjectClock,
    held_stage: str | None,
    result: Assessment,
    today: date,
) -> FlaggedProject:
    """A project's line as the bulletin names it (on hold: its held stage, days past its restart date)."""
    held = clock.stage == ON_HOLD
    stage = held_stage if held and held_stage else clock.stage
    past = clock.hold_until if held else clock.deadline
    return FlaggedProject(
        id=named.id,
        name=named.name,
        unit=named.unit,
        stage_label=workflow.label_of(stage),
        light=str(result.light),
        light_label=result.light_label,
        since=result.level_since,
        days_past=(today - past).days if past and past < today else None,
        leader=named.leader,
        officer=named.officer,
    )


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


def _open_at(until: datetime | None) -> ColumnElement[bool]:
    """A problem open at ``until`` (opened before it, not closed before it); None: open now."""
    if until is None:
        return Problem.closed_at.is_(None)
    return and_(Problem.opened_at < until, or_(Problem.closed_at.is_(None), Problem.closed_at >= until))


def _problems(session: Session, today: date, until: datetime | None = None) -> list[ProblemLine]:
    """Problems open (at ``until``; None: now) past their due date on ``today``, the longest overdue
    first."""
    query = (
        select(Problem, Project.name, Unit.name)
        .join(Project, Project.id == Problem.project_id)
        .join(Unit, Unit.id == Problem.owner_unit_id)
        .where(_open_at(until), Problem.due_on < today, Project.voided_at.is_(None))
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


def _issued_between(
    session: Session, rt: Runtime, first: date, last: date, until: datetime | None = None
) -> list[bool]:
    """The 督办 notices issued between ``first`` and ``last``: whether each was replied to (before
    ``until``; None: by now)."""
    rows = session.execute(select(SupervisionNotice.issued_at, SupervisionNotice.replied_at)).all()
    return [
        replied is not None and (until is None or replied < until)
        for issued, replied in rows
        if first <= local_day(issued, rt.zone) <= last
    ]


def _open_problems(conn: Connection, until: datetime | None = None) -> int:
    """How many problems are open (at ``until``; None: now)."""
    return len(conn.execute(select(Problem.id).where(_open_at(until))).all())


def _notices(rt: Runtime, session: Session, today: date, until: datetime | None = None) -> list[NoticeLine]:
    """督办 notices without a reply (issued before ``until`` and not replied to before it; None: now),
    the oldest first; days late counted to ``today``."""
    unanswered = (
        SupervisionNotice.replied_at.is_(None)
        if until is None
        else and_(
            SupervisionNotice.issued_at < until,
            or_(SupervisionNotice.replied_at.is_(None), SupervisionNotice.replied_at >= until),
        )
    )
    query = (
        select(SupervisionNotice, Project.name, Unit.name)
        .join(Project, Project.id == SupervisionNotice.project_id)
        .join(Unit, Unit.id == SupervisionNotice.unit_id)
        .where(unanswered, Project.voided_at.is_(None))
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
