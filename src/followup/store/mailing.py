"""The reads a mail is made of: the claimed notifications, where each ladder stands for its recipient
(its newest live notification, its last delivery), the escalation so far (rungs sent, extensions), and
who gets the weekly mail. SQLAlchemy Core on the caller's connection, as ``queries``.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import and_, case, func, select, type_coerce
from sqlalchemy.engine import Connection

from followup.domain.kinds import EventKind, NoticeKind, NoticeStatus, Role
from followup.domain.workflow import TERMINATED
from followup.store.models import Official, OfficialRole, ProjectEvent, Unit, UTCDateTime
from followup.store.queries import N, P, Rows


def notifications(conn: Connection, ids: Collection[int]) -> Rows:
    return conn.execute(select(N).where(N.c.id.in_(ids)).order_by(N.c.id)).all()


#: the kinds of notification that climb a ladder of one project (not the digest, not a system alert)
LADDER_KINDS = (NoticeKind.DEADLINE.value, NoticeKind.STALE.value, NoticeKind.HOLD.value)


def sent_so_far(conn: Connection, project_ids: Collection[int]) -> Rows:
    """Every rung of a deadline or hold-expiry ladder already sent for these projects in their current
    stage entry, with its recipient's name, oldest first."""
    kinds = (NoticeKind.DEADLINE.value, NoticeKind.HOLD.value)
    return conn.execute(
        select(
            N.c.project_id,
            N.c.stage_seq,
            N.c.kind,
            N.c.round,
            N.c.level,
            N.c.repeat_no,
            N.c.sent_at,
            Official.name,
        )
        .join(Official, Official.id == N.c.recipient_id)
        .join(P, and_(P.c.id == N.c.project_id, P.c.stage_seq == N.c.stage_seq))  # the current stage entry
        .where(
            N.c.project_id.in_(list(project_ids)),
            N.c.status == NoticeStatus.SENT.value,
            N.c.kind.in_(kinds),
        )
        .order_by(N.c.sent_at, N.c.id)
    ).all()


def extensions(conn: Connection, project_ids: Collection[int]) -> Rows:
    """Every extension (延期) of these projects: when, the deadline's change, the reason, the approver."""
    return conn.execute(
        select(
            ProjectEvent.project_id,
            ProjectEvent.at,
            ProjectEvent.changes,
            ProjectEvent.note,
            Official.name,
        )
        .outerjoin(Official, Official.id == ProjectEvent.by_id)
        .where(ProjectEvent.project_id.in_(list(project_ids)), ProjectEvent.kind == EventKind.EXTEND.value)
        .order_by(ProjectEvent.at, ProjectEvent.id)
    ).all()


class LadderState(NamedTuple):
    """Where one ladder of one project stands for one recipient."""

    newest: int | None  # the newest notification not obsolete nor failed: the only one to deliver
    last_sent: datetime | None  # the last delivery of any rung of the ladder to the recipient


def ladder_states(
    conn: Connection, project_ids: Collection[int]
) -> dict[tuple[int, int, str, str, int], LadderState]:
    """For every (project, kind, round, recipient) of these projects' ladders in their current stage
    entry (an older one is obsolete anyway): its newest live notification and its last delivery (the
    unique index's leading project_id serves it)."""
    live = N.c.status.not_in((NoticeStatus.OBSOLETE.value, NoticeStatus.FAILED.value))
    rows = conn.execute(
        select(
            N.c.project_id,
            N.c.stage_seq,
            N.c.kind,
            N.c.round,
            N.c.recipient_id,
            func.max(case((live, N.c.id))),
            type_coerce(func.max(case((N.c.status == NoticeStatus.SENT.value, N.c.sent_at))), UTCDateTime()),
        )
        .join(P, and_(P.c.id == N.c.project_id, P.c.stage_seq == N.c.stage_seq))  # the current stage entry
        .where(N.c.project_id.in_(list(project_ids)), N.c.kind.in_(LADDER_KINDS))
        .group_by(N.c.project_id, N.c.stage_seq, N.c.kind, N.c.round, N.c.recipient_id)
    ).all()
    return {(r[0], r[1], r[2], r[3], r[4]): LadderState(r[5], r[6]) for r in rows}


def digest_recipients(conn: Connection, bureau_unit: str) -> tuple[set[int], set[int]]:
    """Who gets a weekly mail: (active officials with an active project — as its case officer, leader
    in charge or unit head —, the readers of the county summary: the head of the bureau unit, the
    supervision office and the principal leaders)."""
    officers = select(P.c.officer_id.label("who")).where(P.c.stage != TERMINATED)
    leaders = select(P.c.leader_id.label("who")).where(P.c.stage != TERMINATED, P.c.leader_id.is_not(None))
    heads = (
        select(Official.id.label("who"))
        .join(P, P.c.unit_id == Official.unit_id)
        .where(Official.is_head.is_(True), P.c.stage != TERMINATED)
    )
    people = {row[0] for q in (officers, leaders, heads) for row in conn.execute(q)}
    active = set(conn.execute(select(Official.id).where(Official.active.is_(True))).scalars())
    return people & active, summary_readers(conn, bureau_unit) & active


def summary_readers(conn: Connection, bureau_unit: str) -> set[int]:
    """The readers of the weekly county summary: the heads of the bureau unit (``bureau_unit``, a unit
    key), the supervision office and the principal leaders (held roles); active or not."""
    bureau_heads = (
        select(Official.id)
        .join(Unit, Unit.id == Official.unit_id)
        .where(Unit.key == bureau_unit, Official.is_head.is_(True))
    )
    held = select(OfficialRole.official_id).where(
        OfficialRole.role.in_((Role.SUPERVISION.value, Role.PRINCIPAL.value))
    )
    return set(conn.execute(bureau_heads).scalars()) | set(conn.execute(held).scalars())
