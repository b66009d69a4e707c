"""Supervision (督办): the problem list (问题清单), numbered 督办 notices and their written replies
(情况说明), and what the sweep owes for them.

- A problem holds a project up; a unit owns it and it is due by a date. It is closed one by one (销号)
  by an official of its owning unit, the project's leader in charge, the supervision office or a
  principal leader. An open problem past its due date climbs the overdue ladder (``domain.overdue``)
  to its owning unit; a problem of a terminated project no longer climbs.
- When a project's deadline ladder reaches its ``red`` rung (or a higher one), the sweep issues a
  numbered notice (督〔2026〕第12号, numbered per year in the configured zone), once per ladder: one per
  (project, stage entry, deadline version), as ``supervision_notices`` says. It asks the project's
  responsible unit for a written reply within ``FOLLOWUP_NOTICE_REPLY_DAYS`` working days. Numbers
  are given under a lock (PostgreSQL: a transaction-level advisory lock; SQLite: the write lock every
  writer holds), so two sweeps at once never give one number twice.
- A reply may be given by an official of the notice's responsible unit, the project's leader in
  charge, the supervision office or a principal leader; once. A missing reply climbs the overdue ladder
  until it is given.

Every problem opened or closed, every notice issued and every reply is a line of the project's history.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from followup.app import records
from followup.app.runtime import Runtime
from followup.app.views import Ref, View
from followup.domain import overdue, validate
from followup.domain.kinds import APPROVER_ROLES, EventKind, NoticeKind
from followup.domain.notices import NoticeKey
from followup.domain.roster import Roster
from followup.domain.timeutil import in_zone, local_day
from followup.domain.workflow import TERMINATED
from followup.errors import Conflict, InvalidInput, NotFound
from followup.i18n import _
from followup.store.models import (
    Official,
    Problem,
    Project,
    ProjectEvent,
    SupervisionNotice,
    Unit,
)

log = logging.getLogger(__name__)

#: a problem's level (问题等级): key → label; either may be typed
PROBLEM_LEVELS = {"general": "一般", "coordination": "协调", "major": "重大"}
#: the PostgreSQL advisory lock the sweep's supervision writes are serialised on ("du")
SUPERVISION_LOCK = 0x6475


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


# --------------------------------------------------------------------------- views


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


@dataclass(frozen=True)
class NoticeView(View):
    """One 督办 notice and its reply."""

    id: int
    number: str  # 督〔2026〕第12号
    year: int
    seq: int
    project_id: int
    project_name: str
    unit: Ref
    level: str
    issued_at: datetime
    reply_due: date
    text: str | None
    replied_at: datetime | None
    reply_by: Ref | None
    reply_text: str | None
    #: calendar days past the reply's due date while unanswered (0: not overdue)
    overdue_days: int


def _problem_view(
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


def _notice_view(
    rt: Runtime,
    row: SupervisionNotice,
    project: Project,
    unit: Unit,
    people: dict[int, Official],
    today: date,
) -> NoticeView:
    late = (today - row.reply_due).days if row.replied_at is None else 0
    return NoticeView(
        id=row.id,
        number=overdue.notice_number(row.year, row.number),
        year=row.year,
        seq=row.number,
        project_id=row.project_id,
        project_name=project.name,
        unit=Ref(unit.key, unit.name),
        level=row.level,
        issued_at=in_zone(row.issued_at, rt.zone),
        reply_due=row.reply_due,
        text=row.text,
        replied_at=in_zone(row.replied_at, rt.zone),
        reply_by=records.ref(people.get(row.reply_by_id or 0)),
        reply_text=row.reply_text,
        overdue_days=max(late, 0),
    )


def _people(session: Session, ids: set[int | None]) -> dict[int, Official]:
    wanted = {i for i in ids if i}
    if not wanted:
        return {}
    return {o.id: o for o in session.scalars(select(Official).where(Official.id.in_(wanted))).unique()}


def _units(session: Session, ids: set[int]) -> dict[int, Unit]:
    return {u.id: u for u in session.scalars(select(Unit).where(Unit.id.in_(ids)))} if ids else {}


def _event(
    rt: Runtime,
    session: Session,
    project: Project,
    kind: EventKind,
    *,
    now: datetime,
    by: Official | None,
    note: str | None,
    changes: dict[str, Any],
) -> None:
    records.record_event(
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


def _may_act(project: Project, unit_id: int, who: Official) -> bool:
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
        _event(rt, session, project, EventKind.PROBLEM, now=now, by=actor, note=text, changes=changes)
        return _problem_view(rt, row, project, {actor.id: actor}, {unit.id: unit}, today)


def close_problem(rt: Runtime, problem_id: int, *, by: str, resolution: str) -> ProblemView:
    """Close a problem (销号) with how it was resolved; its queued overdue warnings become obsolete."""
    now = rt.now()
    today = local_day(now, rt.zone)
    resolution = validate.note(resolution, _("resolution"), max_len=2000)
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
        if not _may_act(project, row.owner_unit_id, actor):
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
        _event(
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
        people = _people(session, {row.opened_by_id, actor.id})
        return _problem_view(rt, row, project, people, _units(session, {row.owner_unit_id}), today)


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
    people = _people(session, {r.opened_by_id for r in rows} | {r.closed_by_id for r in rows})
    units = _units(session, {r.owner_unit_id for r in rows})
    return [_problem_view(rt, r, projects[r.project_id], people, units, today) for r in rows]


def open_problems(rt: Runtime, project_id: int) -> list[ProblemView]:
    """A project's open problems."""
    return list_problems(rt, open_only=True, project_id=project_id)


def of_project(
    rt: Runtime, session: Session, project: Project, today: date
) -> tuple[list[ProblemView], list[NoticeView]]:
    """A project's open problems (by id) and its 督办 notices (by number, replied or not), read in the
    caller's session (``project show``)."""
    problems = session.scalars(
        select(Problem)
        .where(Problem.project_id == project.id, Problem.closed_at.is_(None))
        .order_by(Problem.id)
    ).all()
    notices = session.scalars(
        select(SupervisionNotice)
        .where(SupervisionNotice.project_id == project.id)
        .order_by(SupervisionNotice.year, SupervisionNotice.number)
    ).all()
    people = _people(session, {r.opened_by_id for r in problems} | {r.reply_by_id for r in notices})
    units = _units(session, {r.owner_unit_id for r in problems} | {r.unit_id for r in notices})
    return (
        [_problem_view(rt, r, project, people, units, today) for r in problems],
        [_notice_view(rt, r, project, units[r.unit_id], people, today) for r in notices],
    )


# --------------------------------------------------------------------------- 督办 notices and replies


def _notice(session: Session, word: str, *, lock: bool = False) -> SupervisionNotice:
    """A notice by its number (督〔2026〕第12号, 2026-12) or id."""
    parsed = overdue.parse_notice(word)
    if parsed is None:
        raise InvalidInput(
            _("bad notice {word}: give its number (督〔2026〕第12号 or 2026-12) or its id").format(
                word=validate.shown(word)
            )
        )
    query = select(SupervisionNotice)
    if isinstance(parsed, int):
        query = query.where(SupervisionNotice.id == parsed)
    else:
        query = query.where(SupervisionNotice.year == parsed[0], SupervisionNotice.number == parsed[1])
    if lock:
        query = query.with_for_update()
    row = session.scalars(query).one_or_none()
    if row is None:
        raise NotFound(
            _("unknown notice {word}; see `followup notice list`").format(word=validate.shown(word))
        )
    return row


def reply(rt: Runtime, notice: str, *, by: str, text: str) -> NoticeView:
    """Record the written reply (情况说明) to a 督办 notice; its queued reminders become obsolete."""
    now = rt.now()
    today = local_day(now, rt.zone)
    text = validate.note(text, _("reply"), max_len=4000)
    with rt.store.transaction() as session:
        row = _notice(session, notice, lock=True)
        project = records.project(session, row.project_id)
        actor = records.official(session, by, what=_("--by official"))
        number = overdue.notice_number(row.year, row.number)
        if row.replied_at is not None:
            raise Conflict(
                _("notice {number} was already replied to on {day}").format(
                    number=number, day=local_day(row.replied_at, rt.zone)
                )
            )
        unit = session.get(Unit, row.unit_id)
        assert unit is not None
        if not _may_act(project, row.unit_id, actor):
            raise InvalidInput(
                _(
                    "{key!r} ({name}) may not reply to notice {number}: only an official of its responsible "
                    "unit ({unit}), the project's leader in charge, the supervision office or a principal "
                    "leader may"
                ).format(key=actor.key, name=actor.name, number=number, unit=unit.name)
            )
        row.replied_at, row.reply_by_id, row.reply_text = now, actor.id, text
        changes = {"notice": number, "notice_id": row.id}
        _event(rt, session, project, EventKind.REPLY, now=now, by=actor, note=text, changes=changes)
        session.flush()
        return _notice_view(rt, row, project, unit, {actor.id: actor}, today)


def list_notices(rt: Runtime, *, open_only: bool = False, overdue_only: bool = False) -> list[NoticeView]:
    """The 督办 notices, newest number last: unanswered ones only, overdue ones only (unanswered past
    their reply's due date)."""
    now = rt.now()
    today = local_day(now, rt.zone)
    with rt.store.reading() as session:
        query = select(SupervisionNotice).order_by(SupervisionNotice.year, SupervisionNotice.number)
        if open_only or overdue_only:
            query = query.where(SupervisionNotice.replied_at.is_(None))
        if overdue_only:
            query = query.where(SupervisionNotice.reply_due < today)
        rows = session.scalars(query).all()
        projects = {
            p.id: p
            for p in session.scalars(
                select(Project).where(Project.id.in_({r.project_id for r in rows}))
            ).unique()
        }
        units = _units(session, {r.unit_id for r in rows})
        people = _people(session, {r.reply_by_id for r in rows})
        return [_notice_view(rt, r, projects[r.project_id], units[r.unit_id], people, today) for r in rows]


def project_notices(rt: Runtime, project_id: int) -> list[NoticeView]:
    """A project's notices, replied or not."""
    with rt.store.reading() as session:
        project = records.project(session, project_id)
        return of_project(rt, session, project, local_day(rt.now(), rt.zone))[1]


# --------------------------------------------------------------------------- the sweep's part


@dataclass(frozen=True)
class Red:
    """A project whose deadline ladder has reached red (or higher): owed a 督办 notice for that ladder."""

    project_id: int
    unit_id: int
    stage_seq: int
    round: str


def lock(conn: Connection) -> None:
    """Serialise the sweep's supervision writes (notice numbers, unit-level notifications): PostgreSQL
    takes a transaction-level advisory lock; SQLite writers already hold the database's write lock."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SUPERVISION_LOCK})


def issue_notices(rt: Runtime, session: Session, reds: Sequence[Red], now: datetime) -> list[str]:
    """Issue the 督办 notices owed to ``reds`` that were not issued before: numbered per year, max + 1,
    under :func:`lock`; one line of history each. Returns the new notices' numbers."""
    if not reds:
        return []
    conn = session.connection()
    lock(conn)
    wanted = {(r.project_id, r.stage_seq, r.round): r for r in reds}
    issued = {
        (row.project_id, row.stage_seq, row.round)
        for row in conn.execute(
            select(SupervisionNotice.project_id, SupervisionNotice.stage_seq, SupervisionNotice.round).where(
                SupervisionNotice.project_id.in_({r.project_id for r in reds}),
                SupervisionNotice.level == overdue.NOTICE_LEVEL,
            )
        )
    }
    todo = [r for k, r in sorted(wanted.items()) if k not in issued]
    if not todo:
        return []
    today = local_day(now, rt.zone)
    year = today.year
    number = conn.execute(
        select(func.coalesce(func.max(SupervisionNotice.number), 0)).where(SupervisionNotice.year == year)
    ).scalar_one()
    reply_due = rt.calendar.add_working_days(today, rt.settings.notice_reply_days)
    projects = {
        p.id: p
        for p in session.scalars(select(Project).where(Project.id.in_({r.project_id for r in todo}))).unique()
    }
    out: list[str] = []
    for red in todo:
        number += 1
        project = projects[red.project_id]
        shown = overdue.notice_number(year, number)
        row = SupervisionNotice(
            year=year,
            number=number,
            project_id=red.project_id,
            unit_id=red.unit_id,
            stage_seq=red.stage_seq,
            round=red.round,
            level=overdue.NOTICE_LEVEL,
            issued_at=now,
            reply_due=reply_due,
            text=_(
                "{number}: project {name} has reached red; {unit} is asked for a written reply by {due}"
            ).format(number=shown, name=project.name, unit=project.unit.name, due=reply_due.isoformat()),
        )
        session.add(row)
        session.flush()
        out.append(shown)
        session.add(
            ProjectEvent(
                project_id=project.id,
                kind=str(EventKind.NOTICE),
                at=now,
                recorded_at=now,
                by_id=None,
                from_stage=project.stage,
                to_stage=project.stage,
                note=shown,
                changes={"notice": shown, "notice_id": row.id, "reply_due": reply_due.isoformat()},
                entered_by=None,
            )
        )
    session.flush()
    log.info("sweep issued %d supervision notice(s) for %s", len(out), year)
    return out


def _row(project_id: int | None, key: NoticeKey, person: int, role: str, due_at: Any) -> dict[str, Any]:
    return {
        "project_id": project_id,
        **key.columns(),
        "recipient_id": person,
        "role": str(role),
        "due_at_stored": due_at,
    }


def overdue_rows(
    rt: Runtime, conn: Connection, now: datetime, roster: Roster, stored: Any
) -> list[dict[str, Any]]:
    """The notifications owed now by overdue problems and missing replies (each with its project) and
    by units that have not reported in a round (no project): rows for ``queries.queue``. Reads only
    open problems and unanswered notices past their due dates (the index on ``problems.due_on``) and
    open rounds past theirs."""
    from followup.app import rounds  # rounds imports this module

    today = local_day(now, rt.zone)
    days = rt.settings.overdue_escalation_days
    out: list[dict[str, Any]] = []
    problems = conn.execute(
        select(
            Problem.id,
            Problem.due_on,
            Problem.owner_unit_id,
            Project.id.label("pid"),
            Project.officer_id,
            Project.leader_id,
        )
        .join(Project, Project.id == Problem.project_id)
        .where(
            Problem.closed_at.is_(None),
            Problem.due_on < today,
            Project.stage != TERMINATED,
            Project.voided_at.is_(None),
        )
    ).all()
    for p in problems:
        owed = overdue.assess_overdue(NoticeKind.PROBLEM, p.due_on, today, rt.calendar, rt.zone, days)
        if owed is None:
            continue
        key = overdue.problem_key(p.id, owed.level, owed.repeat_no)
        for role, person in roster.resolve(owed.roles, p.officer_id, p.owner_unit_id, p.leader_id):
            out.append(_row(p.pid, key, person, role, stored(owed.due_at)))
    notices = conn.execute(
        select(
            SupervisionNotice.id,
            SupervisionNotice.reply_due,
            SupervisionNotice.unit_id,
            Project.id.label("pid"),
            Project.officer_id,
            Project.leader_id,
            SupervisionNotice.stage_seq,
            SupervisionNotice.round,
            Project.stage_seq.label("current_seq"),
            Project.deadline_version,
        )
        .join(Project, Project.id == SupervisionNotice.project_id)
        .where(
            SupervisionNotice.replied_at.is_(None),
            SupervisionNotice.reply_due < today,
            Project.stage != TERMINATED,
            Project.voided_at.is_(None),
        )
    ).all()
    for n in notices:
        if not still_owed(n.stage_seq, n.round, n.current_seq, n.deadline_version):
            continue
        owed = overdue.assess_overdue(NoticeKind.REPLY, n.reply_due, today, rt.calendar, rt.zone, days)
        if owed is None:
            continue
        key = overdue.reply_key(n.id, owed.level, owed.repeat_no)
        for role, person in roster.resolve(owed.roles, n.officer_id, n.unit_id, n.leader_id):
            out.append(_row(n.pid, key, person, role, stored(owed.due_at)))
    for round_id, due_on, unit_id in rounds.units_behind(conn, today):
        owed = overdue.assess_overdue(NoticeKind.ROUND, due_on, today, rt.calendar, rt.zone, days)
        if owed is None:
            continue
        key = overdue.round_key(round_id, unit_id, owed.level, owed.repeat_no)
        for role, person in roster.resolve(owed.roles, -1, unit_id, None):
            out.append(_row(None, key, person, role, stored(owed.due_at)))
    return out


def still_owed(stage_seq: int, round_: str, current_seq: int, deadline_version: int) -> bool:
    """Whether a notice's reply is still chased: its ladder is the project's current one. An extension or
    a move (a hold, a termination) starts another ladder: the notice stays unanswered in the list, but
    nobody is reminded of a state the project has left."""
    return stage_seq == current_seq and round_ == f"d{deadline_version}"


def unqueued(conn: Connection, rows: list[dict[str, Any]], *, locking: bool = True) -> list[dict[str, Any]]:
    """Of ``rows``, those not queued yet. The outbox's unique index does not hold rows without a project
    (NULL is distinct from NULL), so the unit-level notifications are checked here, under :func:`lock`
    (``locking``; a dry run, which writes nothing, does not lock)."""
    from followup.store.queries import N

    loose = [r for r in rows if r["project_id"] is None]
    if not loose:
        return rows
    if locking:
        lock(conn)
    there = {
        (row.kind, row.round, row.level, row.repeat_no, row.recipient_id)
        for row in conn.execute(
            select(N.c.kind, N.c.round, N.c.level, N.c.repeat_no, N.c.recipient_id).where(
                N.c.project_id.is_(None), N.c.round.in_({r["round"] for r in loose})
            )
        )
    }
    seen: set[tuple[Any, ...]] = set()
    out = []
    for r in rows:
        if r["project_id"] is None:
            ident = (r["kind"], r["round"], r["level"], r["repeat_no"], r["recipient_id"])
            if ident in there or ident in seen:
                continue
            seen.add(ident)
        out.append(r)
    return out
