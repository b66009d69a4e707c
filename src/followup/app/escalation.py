"""Escalation: queue what the ladder owes (sweep) and the weekly digest; delivery is ``app.delivery``.

Both are state-based and idempotent functions of the database and the runtime's now; the daemon only
triggers them. Queuing and the project's next look are written in one transaction; a notification's
identity (``domain.notices``, a unique index) makes a second sweep queue nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from followup.app.runtime import Runtime
from followup.app.views import View
from followup.domain.kinds import NoticeKind, NoticeStatus
from followup.domain.ladder import Memo, assess
from followup.domain.notices import NoticeKey, ProjectClock
from followup.domain.timeutil import as_utc
from followup.store import queries

log = logging.getLogger(__name__)


@dataclass
class SweepResult(View):
    looked_at: int = 0
    queued: int = 0
    planned: list[dict[str, Any]] = field(default_factory=list)


# --------------------------------------------------------------------------- sweep


def sweep(rt: Runtime, *, dry_run: bool = False) -> SweepResult:
    """Queue every notification owed now; looks only at projects whose next look is due."""
    now = rt.now()
    result = SweepResult()
    with rt.store.transaction() as session:
        conn = session.connection()
        due = queries.due_projects(conn, now)
        result.looked_at = len(due)
        if not due:
            return result
        roster = queries.load_roster(conn)
        memo: Memo = {}
        stored = queries.storing(conn)
        rows: list[dict[str, Any]] = []
        looks: list[dict[str, Any]] = []
        for p in due:
            assessment = assess(
                rt.workflows.get(p.workflow), ProjectClock.from_row(p), now, rt.calendar, rt.zone, memo
            )
            for owed in assessment.owed:
                for role, person in roster.resolve(owed.roles, p.officer_id, p.unit_id, p.leader_id):
                    rows.append(
                        {
                            "project_id": p.id,
                            **owed.key.columns(),
                            "recipient_id": person,
                            "role": str(role),
                            "due_at_stored": stored(owed.due_at),
                        }
                    )
            looks.append(
                {
                    "pid": p.id,
                    "seen_version": p.version,
                    "new_level": assessment.level.key if assessment.level else None,
                    "next_at_stored": stored(assessment.next_at),
                }
            )
        if dry_run:
            shown = ("project_id", "kind", "level", "repeat_no", "recipient_id", "role")
            result.planned = [{k: r[k] for k in shown} for r in rows]
            session.rollback()
            return result
        result.queued = queries.queue(conn, rows, stored(now))
        queries.set_next_looks(conn, looks)
    if result.queued:
        log.info(
            "sweep at %s: %d projects due, %d notifications queued", now.isoformat(), len(due), result.queued
        )
    return result


# --------------------------------------------------------------------------- weekly digest


def digest_round(rt: Runtime) -> tuple[NoticeKey, datetime]:
    """This week's digest identity (ISO week) and the moment it becomes due."""
    local = as_utc(rt.now()).astimezone(rt.zone)
    year, week, _ = local.isocalendar()
    weekday, clock = rt.settings.digest_schedule
    monday = local.date() - timedelta(days=local.weekday())
    due = datetime.combine(monday + timedelta(days=weekday), clock, tzinfo=rt.zone)
    return NoticeKey.digest(year, week), due


def queue_digests(rt: Runtime) -> int:
    """Queue this week's digest for every official who has projects to report; idempotent."""
    now = rt.now()
    key, due = digest_round(rt)
    if as_utc(now) < due:
        return 0
    with rt.store.transaction() as session:
        conn = session.connection()
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
            for who in sorted(queries.digest_recipients(conn))
        ]
        return queries.queue_digests(conn, rows)
