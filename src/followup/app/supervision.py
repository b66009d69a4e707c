"""Supervision (督办): the problem list (问题清单, ``app.problems``), numbered 督办 notices and their
written replies (情况说明, ``app.notices``; what each is and who may act is said there), and what the
sweep owes for them.

This module names them all (what the shells and the other use cases import) and holds what reads
both: a project's problems and notices (``project show``) and the rows the sweep owes for what is
overdue — an open problem past its due date, a missing reply, a unit behind in a reporting round —
each climbing its overdue ladder (``domain.overdue``). A problem of a terminated project no longer
climbs. Every problem opened or closed, every notice issued and every reply is a line of the
project's history.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from followup.app.notices import (
    SUPERVISION_LOCK,
    NoticeView,
    Red,
    issue_notices,
    list_notices,
    lock,
    notices_of,
    project_notices,
    reply,
    still_owed,
    unqueued,
)
from followup.app.problems import (
    PROBLEM_LEVELS,
    ProblemView,
    add_problem,
    close_problem,
    list_problems,
    open_problems,
    people_by_id,
    problem_level,
    problem_view,
    units_by_id,
)
from followup.app.runtime import Runtime
from followup.domain import overdue
from followup.domain.kinds import NoticeKind
from followup.domain.notices import NoticeKey
from followup.domain.roster import Roster
from followup.domain.timeutil import local_day
from followup.domain.workflow import TERMINATED
from followup.store.models import Problem, Project, ReportingRound, SupervisionNotice

__all__ = [
    "PROBLEM_LEVELS",
    "SUPERVISION_LOCK",
    "NoticeView",
    "ProblemView",
    "Red",
    "add_problem",
    "close_problem",
    "issue_notices",
    "list_notices",
    "list_problems",
    "lock",
    "of_project",
    "open_problems",
    "overdue_rows",
    "problem_level",
    "project_notices",
    "reply",
    "still_owed",
    "unqueued",
]


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
    people = people_by_id(session, {r.opened_by_id for r in problems})
    units = units_by_id(session, {r.owner_unit_id for r in problems})
    return (
        [problem_view(rt, r, project, people, units, today) for r in problems],
        notices_of(rt, session, project, today),
    )


# --------------------------------------------------------------------------- the sweep's part


def _row(project_id: int | None, key: NoticeKey, person: int, role: str, due_at: Any) -> dict[str, Any]:
    return {
        "project_id": project_id,
        **key.columns(),
        "recipient_id": person,
        "role": str(role),
        "due_at_stored": due_at,
    }


def anything_overdue(conn: Connection, today: date) -> bool:
    """Whether any open problem, unanswered notice or open round is past its due date: one query, so that
    a sweep with nothing due costs no more than it did before supervision (a superset of what
    :func:`overdue_rows` reads: True only means it must look)."""
    problem = select(Problem.id).where(Problem.closed_at.is_(None), Problem.due_on < today).exists()
    reply = (
        select(SupervisionNotice.id)
        .where(SupervisionNotice.replied_at.is_(None), SupervisionNotice.reply_due < today)
        .exists()
    )
    late = (
        select(ReportingRound.id)
        .where(ReportingRound.closed_at.is_(None), ReportingRound.due_on < today)
        .exists()
    )
    return bool(conn.execute(select(or_(problem, reply, late))).scalar())


def overdue_rows(
    rt: Runtime, conn: Connection, now: datetime, roster: Roster, stored: Any
) -> list[dict[str, Any]]:
    """The notifications owed now by overdue problems and missing replies (each with its project) and
    by units that have not reported in a round (no project): rows for ``queries.queue``. Reads only
    open problems and unanswered notices past their due dates (the index on ``problems.due_on``) and
    open rounds past theirs."""
    today = local_day(now, rt.zone)
    return [
        *_problem_rows(rt, conn, today, roster, stored),
        *_reply_rows(rt, conn, today, roster, stored),
        *_round_rows(rt, conn, today, roster, stored),
    ]


def _problem_rows(
    rt: Runtime, conn: Connection, today: date, roster: Roster, stored: Any
) -> list[dict[str, Any]]:
    """The rows owed by open problems past their due dates (of projects still followed)."""
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
        ladder = _Ladder(NoticeKind.PROBLEM, p.due_on, p.pid, p.officer_id, p.owner_unit_id, p.leader_id)
        key_of = lambda o, i=p.id: overdue.problem_key(i, o.level, o.repeat_no)  # noqa: E731
        out += _owed(rt, today, roster, stored, ladder, key_of)
    return out


def _reply_rows(
    rt: Runtime, conn: Connection, today: date, roster: Roster, stored: Any
) -> list[dict[str, Any]]:
    """The rows owed by unanswered notices past their reply's due date whose ladder is still the
    project's current one (:func:`still_owed`)."""
    out: list[dict[str, Any]] = []
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
        ladder = _Ladder(NoticeKind.REPLY, n.reply_due, n.pid, n.officer_id, n.unit_id, n.leader_id)
        key_of = lambda o, i=n.id: overdue.reply_key(i, o.level, o.repeat_no)  # noqa: E731
        out += _owed(rt, today, roster, stored, ladder, key_of)
    return out


def _round_rows(
    rt: Runtime, conn: Connection, today: date, roster: Roster, stored: Any
) -> list[dict[str, Any]]:
    """The rows owed by units that have not reported in an open round past its due date (no project)."""
    from followup.app import rounds  # rounds imports this module

    out: list[dict[str, Any]] = []
    for round_id, due_on, unit_id in rounds.units_behind(conn, today):
        ladder = _Ladder(NoticeKind.ROUND, due_on, None, -1, unit_id, None)
        key_of = lambda o, r=round_id, u=unit_id: overdue.round_key(r, u, o.level, o.repeat_no)  # noqa: E731
        out += _owed(rt, today, roster, stored, ladder, key_of)
    return out


@dataclass(frozen=True)
class _Ladder:
    """An overdue thing's ladder: its kind, due date, project (None: a unit's) and who it reaches."""

    kind: NoticeKind
    due_on: date
    project_id: int | None
    officer_id: int
    unit_id: int
    leader_id: int | None


def _owed(
    rt: Runtime, today: date, roster: Roster, stored: Any, ladder: _Ladder, key_of: Callable[[Any], NoticeKey]
) -> list[dict[str, Any]]:
    """The rows ``ladder`` owes today (none before its first rung), one per person its rung reaches."""
    days = rt.settings.overdue_escalation_days
    owed = overdue.assess_overdue(ladder.kind, ladder.due_on, today, rt.calendar, rt.zone, days)
    if owed is None:
        return []
    key = key_of(owed)
    people = roster.resolve(owed.roles, ladder.officer_id, ladder.unit_id, ladder.leader_id)
    return [_row(ladder.project_id, key, person, role, stored(owed.due_at)) for role, person in people]
