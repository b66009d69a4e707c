"""Reporting rounds (调度): a round of one period (2026-11) asks the responsible units to report on each
of their active projects by a due date; the 填报率 is reported projects over asked projects, per unit.

- The projects a round asks for are those of its units (all units when it names none) that were
  entered by the time it was opened and are not terminated — a project terminated since then is no
  longer asked for unless it reported. (The round keeps its units, not a list of projects: a project
  moved to another unit is asked of its current unit.)
- One report per project and round: a second one is refused (the first stands; its history line says
  what was reported). A report may be entered by an official of the project's unit, its case officer,
  its leader in charge, the supervision office or a principal leader, also after the due date. A
  report is a follow-up: it resets the project's quiet clock (跟进超时).
- A unit that has not reported on all its asked projects by the due date climbs the overdue ladder
  (``domain.overdue``: its head, then the supervision office) until it has, or the round is closed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Table, or_, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from followup.app import records
from followup.app.runtime import Runtime
from followup.app.views import Ref, View
from followup.domain import validate, words
from followup.domain.kinds import APPROVER_ROLES, EventKind
from followup.domain.timeutil import as_utc, in_zone, local_day
from followup.domain.workflow import TERMINATED
from followup.errors import Conflict, InvalidInput, NotFound
from followup.i18n import _
from followup.store.models import Official, Project, ReportingRound, RoundReport, Unit

ROUNDS: Table = ReportingRound.__table__  # type: ignore[assignment]
#: a round's default due date: this many working days after it is opened
DEFAULT_DUE_WORKING_DAYS = 5
_PERIOD_RE = re.compile(r"\s*(\d{4})\s*(?:[-/.年]\s*(\d{1,2})\s*月?|(\d{2}))\s*")


def period(text: str) -> str:
    """A month as typed (2026-11, 2026/11, 2026.11, 2026年11月, 202611) → ``2026-11``."""
    match = _PERIOD_RE.fullmatch(text)
    if match:
        year, month = int(match.group(1)), int(match.group(2) or match.group(3))
        if 2000 <= year <= 2100 and 1 <= month <= 12:
            return f"{year:04d}-{month:02d}"
    raise InvalidInput(
        _("bad month {text}: expected YYYY-MM, e.g. 2026-11").format(text=validate.shown(text))
    )


# --------------------------------------------------------------------------- views


@dataclass(frozen=True)
class RoundView(View):
    id: int
    period: str
    opened_at: datetime
    due_on: date
    units: list[str] | None  # the unit keys asked; None: every unit with a project
    opened_by: Ref | None
    closed_at: datetime | None


@dataclass(frozen=True)
class ReportView(View):
    """One report in a round."""

    period: str
    project_id: int
    project_name: str
    unit: Ref
    progress: str
    problems: str | None
    next_step: str | None
    funds: Decimal | None  # 万元
    reported_at: datetime
    by: Ref | None


@dataclass(frozen=True)
class UnitStatus(View):
    """One unit's 填报率 in a round: reported projects over asked ones."""

    unit: Ref
    asked: int
    reported: int
    rate: float | None  # percent, one decimal; None: nothing asked
    missing: list[int] = field(default_factory=list)  # the ids of the projects not reported yet


@dataclass(frozen=True)
class RoundStatus(View):
    round: RoundView
    asked: int
    reported: int
    rate: float | None
    overdue: bool  # past its due date with projects not reported
    units: list[UnitStatus]


def _rate(reported: int, asked: int) -> float | None:
    return round(100 * reported / asked, 1) if asked else None


def _round_view(rt: Runtime, row: ReportingRound, opener: Official | None) -> RoundView:
    return RoundView(
        id=row.id,
        period=row.period,
        opened_at=in_zone(row.opened_at, rt.zone),
        due_on=row.due_on,
        units=list(row.units) if row.units is not None else None,
        opened_by=records.ref(opener),
        closed_at=in_zone(row.closed_at, rt.zone),
    )


# --------------------------------------------------------------------------- which projects a round asks for


def _asked(row_id: int, opened_at: datetime, unit_ids: list[int] | None) -> Any:
    """The projects a round asks for (id, name, unit): see the module's docstring."""
    reported = select(RoundReport.project_id).where(RoundReport.round_id == row_id)
    query = select(Project.id, Project.name, Project.unit_id).where(
        Project.created_at <= opened_at,
        Project.voided_at.is_(None),
        or_(Project.stage != TERMINATED, Project.id.in_(reported)),
    )
    if unit_ids is not None:
        query = query.where(Project.unit_id.in_(unit_ids))
    return query.order_by(Project.id)


def _unit_ids(conn: Connection, keys: list[str] | None) -> list[int] | None:
    if keys is None:
        return None
    return list(conn.execute(select(Unit.id).where(Unit.key.in_(keys))).scalars())


def _progress(conn: Connection, row: Any) -> tuple[dict[int, list[int]], dict[int, set[int]]]:
    """(asked project ids by unit, reported project ids by unit) of a round."""
    asked: dict[int, list[int]] = {}
    for pid, _name, unit_id in conn.execute(_asked(row.id, row.opened_at, _unit_ids(conn, row.units))):
        asked.setdefault(unit_id, []).append(pid)
    done: dict[int, set[int]] = {}
    for pid, unit_id in conn.execute(
        select(RoundReport.project_id, Project.unit_id)
        .join(Project, Project.id == RoundReport.project_id)
        .where(RoundReport.round_id == row.id)
    ):
        done.setdefault(unit_id, set()).add(pid)
    return asked, done


def units_behind(conn: Connection, today: date) -> list[tuple[int, date, int]]:
    """(round id, due date, unit id) of every open round past its due date and every unit of it that
    has not reported on all its asked projects (the sweep's part)."""
    out: list[tuple[int, date, int]] = []
    for row in conn.execute(
        select(ROUNDS).where(ROUNDS.c.closed_at.is_(None), ROUNDS.c.due_on < today)
    ).all():
        asked, done = _progress(conn, row)
        out.extend(
            (row.id, row.due_on, unit_id)
            for unit_id, pids in sorted(asked.items())
            if set(pids) - done.get(unit_id, set())
        )
    return out


@dataclass(frozen=True)
class Behind:
    """One unit's place in an open round: its projects not reported yet, and how many it was asked for."""

    period: str
    due_on: date
    missing: list[tuple[int, str]]  # (project id, name)
    asked: int


def behind(conn: Connection, round_id: int, unit_id: int) -> Behind | None:
    """Where a unit stands in an open round (for the mail of a unit behind); None when the round is gone
    or closed, or does not ask the unit."""
    row = conn.execute(select(ROUNDS).where(ROUNDS.c.id == round_id)).first()
    if row is None or row.closed_at is not None:
        return None
    keys = _unit_ids(conn, row.units)
    if keys is not None and unit_id not in keys:
        return None
    asked = conn.execute(_asked(row.id, row.opened_at, [unit_id])).all()
    done = set(conn.execute(select(RoundReport.project_id).where(RoundReport.round_id == row.id)).scalars())
    return Behind(
        row.period, row.due_on, [(pid, name) for pid, name, _u in asked if pid not in done], len(asked)
    )


# --------------------------------------------------------------------------- use cases


def open_round(
    rt: Runtime,
    *,
    month: str,
    by: str,
    due: date | None = None,
    units: list[str] | None = None,
) -> RoundView:
    """Open the reporting round of ``month``: its units (all with a project, when none are named) are
    asked to report on each of their active projects by ``due`` (default: 5 working days on)."""
    now = rt.now()
    today = local_day(now, rt.zone)
    key = period(month)
    due = due or rt.calendar.add_working_days(today, DEFAULT_DUE_WORKING_DAYS)
    if due < today:
        raise InvalidInput(_("--due {day} is in the past (today is {today})").format(day=due, today=today))
    with rt.store.transaction() as session:
        actor = records.official(session, by, what=_("--by official"))
        keys: list[str] | None = None
        if units:
            keys = []
            for word in units:
                unit = records.unit(session, word)
                if unit.key not in keys:
                    keys.append(unit.key)
        there = session.scalars(select(ReportingRound).where(ReportingRound.period == key)).one_or_none()
        if there is not None:
            raise Conflict(
                _(
                    "the round of {period} was already opened on {day}; see `followup round status {period}`"
                ).format(period=key, day=local_day(there.opened_at, rt.zone))
            )
        row = ReportingRound(period=key, opened_at=now, due_on=due, units=keys, opened_by_id=actor.id)
        session.add(row)
        session.flush()
        return _round_view(rt, row, actor)


def _round(session: Session, word: str | None) -> ReportingRound:
    """A round by period; None: the newest one."""
    if word is None:
        row = session.scalars(select(ReportingRound).order_by(ReportingRound.period.desc()).limit(1)).first()
        if row is None:
            raise NotFound(_("no reporting round yet; open one with `followup round open --month YYYY-MM`"))
        return row
    key = period(word)
    found = session.scalars(select(ReportingRound).where(ReportingRound.period == key)).one_or_none()
    if found is None:
        raise NotFound(_("no reporting round of {period}; see `followup round list`").format(period=key))
    return found


def report(
    rt: Runtime,
    month: str,
    project_id: int,
    *,
    by: str,
    progress: str,
    problems: str | None = None,
    next_step: str | None = None,
    funds: str | None = None,
) -> ReportView:
    """Enter a project's report in the round of ``month`` (once per project and round)."""
    now = rt.now()
    progress = validate.note(progress, _("progress"), max_len=4000)
    problems = validate.note(problems, _("problems"), max_len=4000) if problems else None
    next_step = validate.note(next_step, _("next step"), max_len=4000) if next_step else None
    amount = words.amount(funds, "funds") if funds else None
    with rt.store.transaction() as session:
        row = _round(session, month)
        project = records.project(session, project_id, lock=True)
        actor = records.official(session, by, what=_("--by official"))
        if row.closed_at is not None:
            raise InvalidInput(_("the round of {period} is closed").format(period=row.period))
        _check_asked(session, row, project)
        _check_not_reported(rt, session, row, project)
        _check_reporter(project, actor)
        entry = RoundReport(
            round_id=row.id,
            project_id=project.id,
            unit_id=project.unit_id,
            progress=progress,
            problems=problems,
            next_step=next_step,
            funds=amount,
            reported_at=now,
            by_id=actor.id,
            entered_by=rt.operator[:64] if rt.operator else None,
        )
        session.add(entry)
        _record_report(rt, session, project, actor, row.period, entry, now)
        session.flush()
        return ReportView(
            period=row.period,
            project_id=project.id,
            project_name=project.name,
            unit=Ref(project.unit.key, project.unit.name),
            progress=progress,
            problems=problems,
            next_step=next_step,
            funds=amount,
            reported_at=in_zone(now, rt.zone),
            by=records.ref(actor),
        )


def _check_asked(session: Session, row: ReportingRound, project: Project) -> None:
    """The round asks for ``project``: of its units, entered before it was opened, not terminated."""
    conn = session.connection()
    asked = {pid for pid, _n, _u in conn.execute(_asked(row.id, row.opened_at, _unit_ids(conn, row.units)))}
    if project.id not in asked:
        raise InvalidInput(
            _(
                "project {id} is not asked for in the round of {period} (not of its units, entered after "
                "it was opened, or terminated)"
            ).format(id=project.id, period=row.period)
        )


def _check_not_reported(rt: Runtime, session: Session, row: ReportingRound, project: Project) -> None:
    """``project`` has not reported in the round yet."""
    earlier = session.scalars(
        select(RoundReport).where(RoundReport.round_id == row.id, RoundReport.project_id == project.id)
    ).one_or_none()
    if earlier is not None:
        raise Conflict(
            _("project {id} already reported in the round of {period} on {day}").format(
                id=project.id, period=row.period, day=local_day(earlier.reported_at, rt.zone)
            )
        )


def _check_reporter(project: Project, actor: Official) -> None:
    """``actor`` may report on ``project``: an official of its unit, its case officer, its leader in
    charge, the supervision office or a principal leader."""
    if not (
        actor.unit_id == project.unit_id
        or actor.id in (project.officer_id, project.leader_id)
        or APPROVER_ROLES & set(actor.roles)
    ):
        raise InvalidInput(
            _(
                "{key!r} ({name}) may not report on project {id}: only an official of its unit ({unit}), "
                "its case officer, its leader in charge, the supervision office or a principal leader may"
            ).format(key=actor.key, name=actor.name, id=project.id, unit=project.unit.name)
        )


def _record_report(
    rt: Runtime,
    session: Session,
    project: Project,
    actor: Official,
    period: str,
    entry: RoundReport,
    now: datetime,
) -> None:
    """A report is activity on the project (its deadlines are rescheduled) and a line of its history."""
    if now > as_utc(project.last_activity_at):
        project.last_activity_at = now
    project.updated_at = now
    placed = records.placement(rt, project.workflow, project.stage, project.held_stage)
    records.reschedule(rt, project, placed.workflow, now)
    changes: dict[str, Any] = {"round": period}
    if entry.problems:
        changes["problems"] = entry.problems
    if entry.next_step:
        changes["next_step"] = entry.next_step
    if entry.funds is not None:
        changes["funds"] = records.shown(entry.funds)
    records.record_event(
        rt,
        session,
        project,
        EventKind.REPORT,
        at=now,
        now=now,
        by=actor,
        from_stage=project.stage,
        to_stage=project.stage,
        note=entry.progress,
        changes=changes,
    )


def status(rt: Runtime, month: str | None = None) -> RoundStatus:
    """A round's 填报率 by unit (the newest round when no month is given)."""
    today = local_day(rt.now(), rt.zone)
    with rt.store.reading() as session:
        row = _round(session, month)
        conn = session.connection()
        asked, done = _progress(conn, row)
        keys = _unit_ids(conn, row.units)
        unit_ids = set(asked) | set(keys or ())
        units = {u.id: u for u in session.scalars(select(Unit).where(Unit.id.in_(unit_ids)))}
        lines = []
        for unit_id in sorted(unit_ids, key=lambda i: units[i].key):
            pids = asked.get(unit_id, [])
            reported = [p for p in pids if p in done.get(unit_id, set())]
            unit = units[unit_id]
            lines.append(
                UnitStatus(
                    Ref(unit.key, unit.name),
                    len(pids),
                    len(reported),
                    _rate(len(reported), len(pids)),
                    [p for p in pids if p not in reported],
                )
            )
        total = sum(u.asked for u in lines)
        reported_total = sum(u.reported for u in lines)
        opener = session.get(Official, row.opened_by_id) if row.opened_by_id else None
        return RoundStatus(
            round=_round_view(rt, row, opener),
            asked=total,
            reported=reported_total,
            rate=_rate(reported_total, total),
            overdue=row.closed_at is None and row.due_on < today and reported_total < total,
            units=lines,
        )


def list_rounds(rt: Runtime) -> list[RoundStatus]:
    """Every round with its 填报率, oldest first."""
    with rt.store.reading() as session:
        periods = list(session.scalars(select(ReportingRound.period).order_by(ReportingRound.period)))
    return [status(rt, p) for p in periods]


def close_round(rt: Runtime, month: str, *, by: str) -> RoundView:
    """Close a round: it takes no more reports and no unit is reminded of it any more."""
    now = rt.now()
    with rt.store.transaction() as session:
        row = _round(session, month)
        actor = records.official(session, by, what=_("--by official"))
        if row.closed_at is not None:
            raise Conflict(_("the round of {period} is already closed").format(period=row.period))
        row.closed_at = now
        session.flush()
        opener = session.get(Official, row.opened_by_id) if row.opened_by_id else None
        return _round_view(rt, row, opener or actor)
