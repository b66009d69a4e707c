"""Escalation: queue what the ladder owes (sweep) and the weekly mail; delivery is ``app.delivery``,
what a mail says ``app.letters`` (and ``app.weekly``, ``app.blocks``).

Both are state-based and idempotent functions of the database and the runtime's now; the daemon only
triggers them. Queuing and the project's next look are written in one transaction; a notification's
identity (``domain.notices``, a unique index) makes a second sweep queue nothing.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from followup.app import chat_queue, records, supervision
from followup.app.runtime import Runtime
from followup.app.views import View
from followup.domain import overdue
from followup.domain.kinds import NoticeKind, NoticeStatus, Role
from followup.domain.ladder import Memo, assess
from followup.domain.notices import NoticeKey, ProjectClock
from followup.domain.roster import Roster
from followup.domain.timeutil import as_utc, local_day, show
from followup.domain.workflow import TERMINATED
from followup.store import mailing, queries
from followup.store.models import Official, Project, Unit

log = logging.getLogger(__name__)


@dataclass
class SweepResult(View):
    looked_at: int = 0
    queued: int = 0
    planned: list[dict[str, Any]] = field(default_factory=list)
    #: due projects the sweep could not escalate (see :func:`stranded_projects`), by id
    skipped: list[int] = field(default_factory=list)
    #: the 督办 notices issued by this sweep (督〔2026〕第12号), see ``app.supervision``
    notices: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Stranded(View):
    """An active project escalation cannot follow: its workflow does not load (a file renamed, missing
    or broken), or has no place for its stage (renamed or removed while projects were in it)."""

    id: int
    name: str
    workflow: str
    stage: str
    problem: str

    @property
    def hint(self) -> str:
        return records.repair_hint(self.id)


# --------------------------------------------------------------------------- sweep


def sweep(rt: Runtime, *, dry_run: bool = False) -> SweepResult:
    """Queue every notification owed now; looks only at projects whose next look is due."""
    now = rt.now()
    result = SweepResult()
    rt.workflows.forget_failures()  # a long-lived daemon sees a repaired file at its next sweep
    with rt.store.transaction() as session:
        conn = session.connection()
        due = queries.due_projects(conn, now)
        result.looked_at = len(due)
        if not due and not supervision.anything_overdue(conn, local_day(now, rt.zone)):
            return result  # nothing due: the empty sweep reads no more (bench/sweep.py's "empty")
        roster = queries.load_roster(conn)
        stored = queries.storing(conn)
        # supervision (督办): overdue problems, notices without a reply, units behind in a round
        rows: list[dict[str, Any]] = supervision.overdue_rows(rt, conn, now, roster, stored)
        if not due and not rows:
            return result
        reds, looks, skipped = _look_at(rt, due, now, roster, stored, rows)
        result.skipped = sorted(pid for ids in skipped.values() for pid in ids)
        _report_skipped(skipped)
        if dry_run:
            result.planned = _planned(conn, rows)
            session.rollback()
            return result
        # notices first: the lock they take is never waited for by a sweep holding queued rows
        issued = supervision.issue_notices(rt, session, reds, now)
        result.notices = issued
        result.queued = queries.queue(conn, supervision.unqueued(conn, rows), stored(now))
        queries.set_next_looks(conn, looks)
    chat_queue.after_sweep(rt)  # issue 11 — the work chats' cards from the notifications just queued
    if result.queued:
        log.info(
            "sweep at %s: %d projects due, %d notifications queued",
            show(now, rt.zone),
            len(due),
            result.queued,
        )
    return result


def owed_now(rt: Runtime, conn: Connection, now: datetime) -> list[dict[str, Any]]:
    """What a sweep at ``now`` would queue on ``conn``, written nowhere: the dry run's rows (each with
    its recipient's key and name), less what the outbox holds already. The import's dry run asks it in
    its own uncommitted transaction."""
    due = queries.due_projects(conn, now)
    roster = queries.load_roster(conn)
    stored = queries.storing(conn)
    rows: list[dict[str, Any]] = supervision.overdue_rows(rt, conn, now, roster, stored)
    if not due and not rows:
        return []
    _look_at(rt, due, now, roster, stored, rows)
    return _planned(conn, rows)


def _look_at(
    rt: Runtime, due: Sequence[Any], now: datetime, roster: Roster, stored: Any, rows: list[dict[str, Any]]
) -> tuple[list[supervision.Red], list[dict[str, Any]], dict[str, list[int]]]:
    """Assess the ``due`` projects: append the notifications they owe to ``rows``; return those owed a
    督办 notice (their deadline ladder is at red or higher), their next looks, and the projects skipped
    (by problem) because their stage is not placed in a workflow."""
    memo: Memo = {}
    placed_in = records.placements(rt)
    skipped: dict[str, list[int]] = defaultdict(list)
    reds: list[supervision.Red] = []
    looks: list[dict[str, Any]] = []
    for p in due:
        placed = placed_in(p.workflow, p.stage)
        if placed.workflow is None or placed.problem is not None:
            # Left due: every sweep says so again until the project is repaired or terminated; the
            # supervision office is told once (the notification's identity).
            skipped[placed.problem or ""].append(p.id)
            key = NoticeKey.stranded(ProjectClock.from_row(p), placed.problem or "")
            for person in roster.holders.get(Role.SUPERVISION, ()):
                rows.append(_row(p.id, key, person, Role.SUPERVISION, stored(now)))
            continue
        assessment = assess(placed.workflow, ProjectClock.from_row(p), now, rt.calendar, rt.zone, memo)
        for owed in assessment.owed:
            for role, person in roster.resolve(owed.roles, p.officer_id, p.unit_id, p.leader_id):
                rows.append(_row(p.id, owed.key, person, role, stored(owed.due_at)))
            if owed.key.kind is NoticeKind.DEADLINE and overdue.at_or_past(
                placed.workflow.ladder_for(p.stage), owed.key.level
            ):
                reds.append(supervision.Red(p.id, p.unit_id, owed.key.stage_seq, owed.key.round))
        looks.append(
            {
                "pid": p.id,
                "seen_version": p.version,
                "new_level": assessment.level.key if assessment.level else None,
                "next_at_stored": stored(assessment.next_at),
            }
        )
    return reds, looks, skipped


def _planned(conn: Connection, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What a dry run says the sweep would queue: ``rows`` less what the outbox holds already (the real
    sweep's insert-ignore for a project's rows, ``supervision.unqueued`` for the unit-level ones), each
    with its recipient's key and name, and for a unit-level row (a unit behind in a round) its unit."""
    rows = supervision.unqueued(conn, rows, locking=False)
    identity = ("project_id", "stage_seq", "kind", "round", "level", "repeat_no", "recipient_id")
    pids = sorted({r["project_id"] for r in rows if r["project_id"] is not None})
    there: set[tuple[Any, ...]] = set()
    N = queries.N
    for start in range(0, len(pids), 500):
        there |= {
            tuple(r)
            for r in conn.execute(
                select(*(N.c[k] for k in identity)).where(N.c.project_id.in_(pids[start : start + 500]))
            )
        }
    fresh: list[dict[str, Any]] = []
    for r in rows:
        ident = tuple(r[k] for k in identity)
        if r["project_id"] is not None:
            if ident in there:
                continue
            there.add(ident)
        fresh.append(r)
    people = {r["recipient_id"] for r in fresh}
    names = {
        o.id: (o.key, o.name)
        for o in conn.execute(select(Official.id, Official.key, Official.name).where(Official.id.in_(people)))
    }
    unit_ids = [_unit_of(r) for r in fresh]
    units: dict[int | None, tuple[str | None, str | None]] = {None: (None, None)}
    wanted = {u for u in unit_ids if u is not None}
    if wanted:
        units |= {
            u.id: (u.key, u.name)
            for u in conn.execute(select(Unit.id, Unit.key, Unit.name).where(Unit.id.in_(wanted)))
        }
    shown = ("project_id", "kind", "level", "repeat_no", "recipient_id", "role")
    return [
        {
            **{k: r[k] for k in shown},
            "recipient_key": names[r["recipient_id"]][0],
            "recipient_name": names[r["recipient_id"]][1],
            "unit_key": units[unit][0],
            "unit_name": units[unit][1],
        }
        for r, unit in zip(fresh, unit_ids, strict=True)
    ]


def _unit_of(row: dict[str, Any]) -> int | None:
    """The unit a row without a project is about (a unit behind in a reporting round), else None."""
    if row["project_id"] is not None:
        return None
    subject = overdue.subject_of(row["kind"], row["round"])
    return subject[1] if subject is not None else None


def _row(project_id: int, key: NoticeKey, person: int, role: str, due_at_stored: Any) -> dict[str, Any]:
    """One notification to queue (its due time already in stored form)."""
    return {
        "project_id": project_id,
        **key.columns(),
        "recipient_id": person,
        "role": str(role),
        "due_at_stored": due_at_stored,
    }


def _report_skipped(skipped: dict[str, list[int]]) -> None:
    """One loud line per reason: the projects the sweep could not escalate, and how to repair them."""
    for problem, ids in sorted(skipped.items()):
        shown = ", ".join(map(str, ids[:20])) + (f" and {len(ids) - 20} more" if len(ids) > 20 else "")
        log.warning(
            "sweep skipped %d project(s) (%s): %s; %s; the other projects were swept",
            len(ids),
            shown,
            problem,
            records.repair_hint(ids[0]),
        )


def stranded_projects(rt: Runtime, conn: Connection | None = None) -> list[Stranded]:
    """Every active project escalation cannot follow, with why (for ``status``, the sweep's log and the
    supervision office). Reads the (workflow, stage) pairs in use once each, then only the projects of
    the pairs that fail; ``conn`` reads inside the caller's transaction."""
    if conn is None:
        with rt.store.reading() as session:
            return stranded_projects(rt, session.connection())
    active = Project.stage != TERMINATED
    pairs = conn.execute(
        select(Project.workflow, Project.stage, Project.held_stage)
        .where(active)
        .group_by(Project.workflow, Project.stage, Project.held_stage)
    ).all()
    out: list[Stranded] = []
    for workflow, stage, held_stage in pairs:
        placed = records.placement(rt, workflow, stage, held_stage)
        if placed.problem is None:
            continue
        held = Project.held_stage.is_(None) if held_stage is None else Project.held_stage == held_stage
        for pid, name in conn.execute(
            select(Project.id, Project.name).where(
                active, Project.workflow == workflow, Project.stage == stage, held
            )
        ):
            out.append(Stranded(pid, name, workflow, stage, placed.problem))
    return sorted(out, key=lambda s: s.id)


# --------------------------------------------------------------------------- weekly digest


def digest_round(rt: Runtime) -> tuple[NoticeKey, datetime]:
    """This week's digest identity (ISO week) and the moment it becomes due."""
    local = as_utc(rt.now()).astimezone(rt.zone)
    year, week, _ = local.isocalendar()
    weekday, clock = rt.settings.digest_schedule
    monday = local.date() - timedelta(days=local.weekday())
    due = datetime.combine(monday + timedelta(days=weekday), clock, tzinfo=rt.zone)
    return NoticeKey.digest(year, week), due


@dataclass(frozen=True)
class WeeklyResult(View):
    """This week's weekly mails: the week, how many were queued now, and to how many people they go."""

    round: str
    due: datetime
    queued: int
    recipients: int  # officials with active projects or reading the summary
    summary_readers: int  # of them, those who read the county summary


def queue_weekly(rt: Runtime) -> WeeklyResult:
    """Queue this week's weekly mail (周调度, with the county summary for its readers) for every official
    with active projects and every reader of the summary, once its time has come; idempotent. What it
    says, and whether it is sent at all (nothing to report: not sent), is decided when it goes out."""
    now = rt.now()
    key, due = digest_round(rt)
    if as_utc(now) < due:
        return WeeklyResult(key.round, due, 0, 0, 0)
    with rt.store.transaction() as session:
        conn = session.connection()
        officials, readers = mailing.digest_recipients(conn, rt.settings.bureau_unit)
        rows = [
            {
                "project_id": None,
                **key.columns(),
                "recipient_id": who,
                "role": NoticeKind.DIGEST.value,
                "status": NoticeStatus.PENDING.value,
                "attempts": 0,
                "due_at": due,
                "created_at": now,
                "next_attempt_at": now,
            }
            for who in sorted(officials | readers)
        ]
        queued = queries.queue_digests(conn, rows)
    result = WeeklyResult(key.round, due, queued, len(rows), len(readers))
    if queued:
        log.info(
            "weekly mail %s: %d digests queued for %d recipients (%d with the county summary)",
            key.round,
            queued,
            len(rows),
            len(readers),
        )
    return result


def queue_digests(rt: Runtime) -> int:
    """Queue this week's weekly mails (:func:`queue_weekly`); how many were new."""
    return queue_weekly(rt).queued
