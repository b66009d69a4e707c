"""The numbered 督办 notices of supervision and their written replies (情况说明), and what the sweep owes
for them.

- When a project's deadline ladder reaches its ``red`` rung (or a higher one), the sweep issues a
  numbered notice (督〔2026〕第12号, numbered per year in the configured zone), once per ladder: one per
  (project, stage entry, deadline version), as ``supervision_notices`` says. It asks the project's
  responsible unit for a written reply within ``FOLLOWUP_NOTICE_REPLY_DAYS`` working days. Numbers
  are given under a lock (PostgreSQL: a transaction-level advisory lock; SQLite: the write lock every
  writer holds), so two sweeps at once never give one number twice.
- The supervision office or a principal leader may also issue a notice by hand (:func:`issue`), with
  its own text and time to reply: numbered in the same sequence under the same lock, at level
  ``manual`` so that it never stands in for the notice owed at red; its reply is chased while the
  project stays on the deadline ladder it was issued on.
- A reply may be given by an official of the notice's responsible unit, the project's leader in
  charge, the supervision office or a principal leader; once. A missing reply climbs the overdue ladder
  until it is given (``app.supervision.overdue_rows``).

Every notice issued and every reply is a line of the project's history.
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
from followup.app.problems import event, may_act, people_by_id, units_by_id
from followup.app.runtime import Runtime
from followup.app.views import Ref, View
from followup.domain import overdue, validate
from followup.domain.kinds import APPROVER_ROLES, EventKind, Role
from followup.domain.timeutil import in_zone, local_day
from followup.domain.workflow import TERMINATED
from followup.errors import Conflict, InvalidInput, NotFound
from followup.i18n import _
from followup.store.models import Official, Project, ProjectEvent, SupervisionNotice, Unit

log = logging.getLogger(__name__)

#: the PostgreSQL advisory lock the sweep's supervision writes are serialised on ("du")
SUPERVISION_LOCK = 0x6475
#: the level of a notice issued by hand (beside the sweep's ``overdue.NOTICE_LEVEL``)
MANUAL_LEVEL = "manual"
#: the longest time a notice issued by hand may give for its reply, in working days
MAX_REPLY_DAYS = 60


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


def notice_view(
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


def notices_of(rt: Runtime, session: Session, project: Project, today: date) -> list[NoticeView]:
    """A project's 督办 notices (by number, replied or not), read in the caller's session."""
    rows = session.scalars(
        select(SupervisionNotice)
        .where(SupervisionNotice.project_id == project.id)
        .order_by(SupervisionNotice.year, SupervisionNotice.number)
    ).all()
    people = people_by_id(session, {r.reply_by_id for r in rows})
    units = units_by_id(session, {r.unit_id for r in rows})
    return [notice_view(rt, r, project, units[r.unit_id], people, today) for r in rows]


# --------------------------------------------------------------------------- notices and replies


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
        if not may_act(project, row.unit_id, actor):
            raise InvalidInput(
                _(
                    "{key!r} ({name}) may not reply to notice {number}: only an official of its responsible "
                    "unit ({unit}), the project's leader in charge, the supervision office or a principal "
                    "leader may"
                ).format(key=actor.key, name=actor.name, number=number, unit=unit.name)
            )
        row.replied_at, row.reply_by_id, row.reply_text = now, actor.id, text
        changes = {"notice": number, "notice_id": row.id}
        event(rt, session, project, EventKind.REPLY, now=now, by=actor, note=text, changes=changes)
        session.flush()
        return notice_view(rt, row, project, unit, {actor.id: actor}, today)


def issue(rt: Runtime, project_id: int, *, by: str, text: str, reply_days: int | None = None) -> NoticeView:
    """Issue a 督办 notice by hand (the supervision office, a principal leader or an operator): numbered
    as the sweep numbers them (the year's max + 1, under :func:`lock`), asking the project's
    responsible unit for a written reply within ``reply_days`` working days (default
    ``FOLLOWUP_NOTICE_REPLY_DAYS``); a line of the project's history names who issued it."""
    now = rt.now()
    today = local_day(now, rt.zone)
    text = validate.note(text, _("notice text"), max_len=2000)
    days = rt.settings.notice_reply_days if reply_days is None else reply_days
    if not 1 <= days <= MAX_REPLY_DAYS:
        raise InvalidInput(
            _("bad time to reply {days}: give 1 to {most} working days").format(
                days=days, most=MAX_REPLY_DAYS
            )
        )
    with rt.store.transaction() as session:
        lock(session.connection())  # first, as the sweep takes it before it writes any project
        project = records.project(session, project_id, lock=True)
        actor = records.official(session, by, what=_("--by official"))
        _check_issuer(actor, project)
        year = today.year
        last = select(func.coalesce(func.max(SupervisionNotice.number), 0)).where(
            SupervisionNotice.year == year
        )
        number = 1 + session.execute(last).scalar_one()
        row = SupervisionNotice(
            year=year,
            number=number,
            project_id=project.id,
            unit_id=project.unit_id,
            stage_seq=project.stage_seq,
            round=overdue.manual_round(project.deadline_version, number),
            level=MANUAL_LEVEL,
            issued_at=now,
            reply_due=rt.calendar.add_working_days(today, days),
            text=text,
        )
        session.add(row)
        session.flush()
        shown = overdue.notice_number(year, number)
        changes = {"notice": shown, "notice_id": row.id, "reply_due": row.reply_due.isoformat()}
        note = f"{shown} {text}"
        event(rt, session, project, EventKind.NOTICE, now=now, by=actor, note=note, changes=changes)
        log.info("%s issued supervision notice %s on project %d", actor.key, shown, project.id)
        return notice_view(rt, row, project, project.unit, {}, today)


def _check_issuer(actor: Official, project: Project) -> None:
    """``actor`` may issue a notice by hand (the supervision office, a principal leader, an operator), and
    ``project`` still takes one (not terminated)."""
    if not (APPROVER_ROLES | {Role.OPERATOR}) & set(actor.roles):
        raise InvalidInput(
            _(
                "{key!r} ({name}) may not issue a notice: only the supervision office or a principal "
                "leader may"
            ).format(key=actor.key, name=actor.name)
        )
    if project.stage == TERMINATED:
        raise InvalidInput(_("project {id} is terminated: it takes no notices").format(id=project.id))


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
        units = units_by_id(session, {r.unit_id for r in rows})
        people = people_by_id(session, {r.reply_by_id for r in rows})
        return [notice_view(rt, r, projects[r.project_id], units[r.unit_id], people, today) for r in rows]


def project_notices(rt: Runtime, project_id: int) -> list[NoticeView]:
    """A project's notices, replied or not."""
    with rt.store.reading() as session:
        project = records.project(session, project_id)
        return notices_of(rt, session, project, local_day(rt.now(), rt.zone))


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
    todo = _not_issued(conn, reds)
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
    out = [
        _issue(session, projects[red.project_id], red, year, number + i, reply_due, now)
        for i, red in enumerate(todo, start=1)
    ]
    session.flush()
    log.info("sweep issued %d supervision notice(s) for %s", len(out), year)
    return out


def _not_issued(conn: Connection, reds: Sequence[Red]) -> list[Red]:
    """Of ``reds``, those whose ladder has no notice yet, one per ladder, in (project, stage entry,
    round) order."""
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
    return [r for k, r in sorted(wanted.items()) if k not in issued]


def _issue(
    session: Session, project: Project, red: Red, year: int, number: int, reply_due: date, now: datetime
) -> str:
    """Add notice ``number`` of ``year`` for ``red`` and its line of history; returns its number shown."""
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
    return shown


def still_owed(stage_seq: int, round_: str, current_seq: int, deadline_version: int) -> bool:
    """Whether a notice's reply is still chased: its ladder is the project's current one. An extension or
    a move (a hold, a termination) starts another ladder: the notice stays unanswered in the list, but
    nobody is reminded of a state the project has left. A notice issued by hand is on the ladder
    ``d<version>`` its round begins with (``d3-m12``)."""
    return stage_seq == current_seq and overdue.on_deadline_ladder(round_, deadline_version)


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
