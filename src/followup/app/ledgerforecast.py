"""A dry run's forecast: what the first sweep after an import would queue, asked in the import's
(uncommitted) transaction with the sweep's own rules (:func:`followup.domain.ladder.assess` and the
roster). Part of ``followup import --dry-run`` (:mod:`followup.app.ledgerio`).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from followup.app import records
from followup.app.runtime import Runtime
from followup.app.views import View
from followup.domain.kinds import Role
from followup.domain.ladder import Memo, assess
from followup.domain.notices import NoticeKey, ProjectClock
from followup.store import queries
from followup.store.models import Notification, Official


@dataclass(frozen=True)
class MailForecast(View):
    """What the first sweep after the import would queue for one official: how many notifications, in
    which roles (delivery folds one person's notifications into one mail)."""

    key: str
    name: str
    roles: tuple[str, ...]
    notifications: int


def forecast(rt: Runtime, session: Session, now: datetime) -> tuple[tuple[MailForecast, ...], int]:
    """What the first sweep at ``now`` would queue, in the import's (uncommitted) transaction: the
    sweep's own rules, less what is queued already."""
    conn = session.connection()
    due = queries.due_projects(conn, now)
    if not due:
        return (), 0
    roster = queries.load_roster(conn)
    placed_in = records.placements(rt)
    memo: Memo = {}
    owed: list[tuple[int, NoticeKey, int, str]] = []
    for p in due:
        placed = placed_in(p.workflow, p.stage)
        clock = ProjectClock.from_row(p)
        if placed.workflow is None or placed.problem is not None:
            key = NoticeKey.stranded(clock, placed.problem or "")
            owed += [
                (p.id, key, person, str(Role.SUPERVISION))
                for person in roster.holders.get(Role.SUPERVISION, ())
            ]
            continue
        assessment = assess(placed.workflow, clock, now, rt.calendar, rt.zone, memo)
        for item in assessment.owed:
            for role, person in roster.resolve(item.roles, p.officer_id, p.unit_id, p.leader_id):
                owed.append((p.id, item.key, person, str(role)))
    ids = sorted({p.id for p in due})
    N = Notification
    queued = set()
    for start in range(0, len(ids), 500):
        queued |= {
            tuple(r)
            for r in conn.execute(
                select(
                    N.project_id, N.stage_seq, N.kind, N.round, N.level, N.repeat_no, N.recipient_id
                ).where(N.project_id.in_(ids[start : start + 500]))
            )
        }
    fresh = [
        (pid, key, person, role)
        for pid, key, person, role in owed
        if (pid, key.stage_seq, str(key.kind), key.round, key.level, key.repeat_no, person) not in queued
    ]
    counts: Counter[int] = Counter(person for _p, _k, person, _r in fresh)
    roles: dict[int, set[str]] = defaultdict(set)
    for _p, _k, person, role in fresh:
        roles[person].add(role)
    people = {
        o.id: o for o in session.scalars(select(Official).where(Official.id.in_(list(counts)))).unique()
    }
    mails = tuple(
        MailForecast(people[pid].key, people[pid].name, tuple(sorted(roles[pid])), n)
        for pid, n in sorted(counts.items(), key=lambda item: (-item[1], people[item[0]].key))
    )
    return mails, len(fresh)


# --------------------------------------------------------------------------- export
