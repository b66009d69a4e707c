"""From claimed outbox rows to messages: group by recipient, drop what is obsolete, render templates.

A notification is obsolete when its project has moved on since it was queued (another stage entry,
another deadline version, a newer follow-up for a staleness warning, on hold or terminated): the
official is told about the project as it is, never about a state it has left.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parseaddr
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from followup.escalation import STALE_LEVEL, ProjectClock, assess
from followup.fields import ROLES
from followup.mail import OutgoingMessage, make_message_id
from followup.models import Notification, Official, Project
from followup.timeutil import as_utc, local_day
from followup.workflow import ON_HOLD, TERMINATED

if TYPE_CHECKING:
    from followup.service import Followup

N = Notification.__table__
P = Project.__table__
SHIPPED_LEVELS = ("blue", "yellow", "red", "top")
STALE_LABEL = "跟进超时"


@dataclass(frozen=True)
class Letter:
    ids: tuple[int, ...]
    message: OutgoingMessage


def _domain(mail_from: str) -> str:
    address = parseaddr(mail_from)[1]
    return address.rsplit("@", 1)[1] if "@" in address else "localhost"


def _key(ids: Sequence[int]) -> str:
    """The same group of notifications always gets the same Message-ID (a retry is the same message)."""
    if len(ids) <= 4:
        return "n" + "-".join(map(str, ids))
    digest = hashlib.sha1(",".join(map(str, ids)).encode()).hexdigest()[:12]
    return f"n{ids[0]}-{ids[-1]}-{len(ids)}-{digest}"


def build_messages(app: Followup, ids: Sequence[int], now: datetime) -> tuple[list[Letter], list[int]]:
    """Messages for the claimed notifications ``ids`` (one per recipient and kind), and the obsolete ids."""
    from followup.compose import has_kind, render

    zone = app.settings.zone
    local_now = as_utc(now).astimezone(zone).strftime("%Y-%m-%d %H:%M")
    with app.store.reading() as session:
        conn = session.connection()
        notes = conn.execute(select(N).where(N.c.id.in_(ids)).order_by(N.c.id)).all()
        project_ids = {n.project_id for n in notes if n.project_id is not None}
        projects = {
            p.id: p for p in session.scalars(select(Project).where(Project.id.in_(project_ids))).unique()
        }
        people = {
            o.id: o
            for o in session.scalars(
                select(Official).where(Official.id.in_({n.recipient_id for n in notes}))
            ).unique()
        }
        sent_before = _escalation_so_far(app, session, projects, zone)
        readers = [people[n.recipient_id] for n in notes if n.kind == "digest"]
        digests = _digest_contexts(app, session, readers, now) if readers else {}

    obsolete: list[int] = []
    groups: dict[tuple[int, str], list[tuple[int, dict[str, Any]]]] = defaultdict(list)
    for n in notes:
        person = people[n.recipient_id]
        recipient = {
            "name": person.name,
            "email": person.email,
            "role": n.role,
            "role_label": ROLES.get(n.role, "周调度"),
        }
        if n.kind == "digest":
            context = digests[n.recipient_id]
            if context is None:
                obsolete.append(n.id)
                continue
            groups[(n.recipient_id, "digest")].append(
                (n.id, {"recipient": recipient, **context, "now": local_now})
            )
            continue
        project = projects.get(n.project_id)
        if project is None or _is_obsolete(n, project):
            obsolete.append(n.id)
            continue
        workflow = app.workflows.get(project.workflow)
        groups[(n.recipient_id, "warning")].append(
            (
                n.id,
                {
                    "recipient": recipient,
                    "project": _project_context(app, project, workflow, now),
                    "level": _level(workflow, project.stage, n.level),
                    "escalation": sent_before.get((project.id, n.stage_seq, n.round), []),
                    "commands": {
                        "log": f'followup log {project.id} "跟进情况" --by {project.officer.key}',
                        "advance": f"followup advance {project.id} <阶段> --by {project.officer.key}",
                        "show": f"followup project show {project.id}",
                    },
                    "now": local_now,
                },
            )
        )

    letters: list[Letter] = []
    domain = _domain(app.settings.mail_from)
    for (recipient_id, kind), items in groups.items():
        person = people[recipient_id]
        group_ids = tuple(i for i, _ in items)
        if kind == "digest":
            template, context = "digest", items[-1][1]
        elif len(items) == 1:
            context = items[0][1]
            level = context["level"]["key"]
            # A county's own ladder level uses its own templates when it ships them, else the 黄灯 ones
            # (the subject still carries the level's own label).
            known = level in SHIPPED_LEVELS or has_kind(level, app.settings)
            template = "stale" if level == STALE_LEVEL else (level if known else "yellow")
        else:
            template = "several"
            context = {
                "recipient": items[0][1]["recipient"],
                "items": [c for _, c in items],
                "now": local_now,
            }
        subject, text, html = render(template, context, app.settings)
        letters.append(
            Letter(
                group_ids,
                OutgoingMessage(
                    message_id=make_message_id(_key(group_ids), domain),
                    to_name=person.name,
                    to_email=person.email,
                    subject=subject,
                    text=text,
                    html=html,
                ),
            )
        )
    return letters, obsolete


def _is_obsolete(n: Any, project: Project) -> bool:
    if project.stage in (ON_HOLD, TERMINATED) or n.stage_seq != project.stage_seq:
        return True
    if n.kind == "deadline":
        return bool(n.round != f"d{project.deadline_version}")
    if n.kind == "stale":
        return bool(n.round != "s" + as_utc(project.last_activity_at).strftime("%Y%m%dT%H%M%S"))
    return False


def _level(workflow: Any, stage: str, key: str) -> dict[str, str]:
    if key == STALE_LEVEL:
        return {"key": key, "label": STALE_LABEL}
    for level in workflow.ladder_for(stage):
        if level.key == key:
            return {"key": key, "label": level.label}
    return {"key": key, "label": key}


def _project_context(app: Followup, project: Project, workflow: Any, now: datetime) -> dict[str, Any]:
    zone = app.settings.zone
    today = local_day(now, zone)
    assessment = assess(workflow, app.clock_of(project), now, app.calendar, zone)
    quiet_since = local_day(project.last_activity_at, zone)
    stale_days = (today - quiet_since).days if assessment.stale_since else None
    return {
        "id": project.id,
        "name": project.name,
        "unit": project.unit.name,
        "officer": project.officer.name,
        "officer_key": project.officer.key,
        "leader": project.leader.name if project.leader else None,
        "workflow": project.workflow,
        "stage": project.stage,
        "stage_label": workflow.label_of(project.stage),
        "stage_since": local_day(project.stage_since, zone).isoformat(),
        "deadline": project.deadline.isoformat() if project.deadline else None,
        "days_past": (today - project.deadline).days if project.deadline else None,
        "last_activity": quiet_since.isoformat(),
        "stale_days": stale_days,
    }


def _escalation_so_far(
    app: Followup, session: Any, projects: dict[int, Project], zone: Any
) -> dict[tuple[int, int, str], list[dict[str, str]]]:
    """What each ladder has already sent: [{label, date, to}], oldest first."""
    if not projects:
        return {}
    rows = (
        session.connection()
        .execute(
            select(
                N.c.project_id, N.c.stage_seq, N.c.round, N.c.level, N.c.repeat_no, N.c.sent_at, Official.name
            )
            .join(Official, Official.id == N.c.recipient_id)
            .where(N.c.project_id.in_(list(projects)), N.c.status == "sent")
            .order_by(N.c.sent_at, N.c.id)
        )
        .all()
    )
    grouped: dict[tuple[int, int, str, str, int], dict[str, Any]] = {}
    for row in rows:
        key = (row.project_id, row.stage_seq, row.round, row.level, row.repeat_no)
        day = local_day(row.sent_at, zone).isoformat()
        grouped.setdefault(key, {"level": row.level, "date": day, "to": []})["to"].append(row.name)
    out: dict[tuple[int, int, str], list[dict[str, str]]] = defaultdict(list)
    for (pid, seq, round_, _, _), entry in grouped.items():
        project = projects[pid]
        label = _level(app.workflows.get(project.workflow), project.stage, entry["level"])["label"]
        out[(pid, seq, round_)].append({"label": label, "date": entry["date"], "to": "、".join(entry["to"])})
    return out


def _digest_contexts(
    app: Followup, session: Any, people: Sequence[Official], now: datetime
) -> dict[int, dict[str, Any] | None]:
    """The weekly digest of each official: their projects (as case officer, leader in charge or head
    of the responsible unit) with their lights, and this week's deadlines; None with nothing to report.
    The active projects are read and assessed once for everybody."""
    zone = app.settings.zone
    today = local_day(now, zone)
    monday = today - timedelta(days=today.weekday())
    sunday = monday + timedelta(days=6)
    items: list[tuple[Project, dict[str, Any]]] = []
    active = select(Project).where(Project.stage != TERMINATED).order_by(Project.id)
    for project in session.scalars(active).unique():
        workflow = app.workflows.get(project.workflow)
        if workflow.is_final(project.stage):
            continue
        assessment = assess(workflow, ProjectClock.from_row(project), now, app.calendar, zone)
        items.append(
            (
                project,
                {
                    "id": project.id,
                    "name": project.name,
                    "stage_label": workflow.label_of(project.stage),
                    "deadline": project.deadline.isoformat() if project.deadline else None,
                    "light": assessment.light,
                    "light_label": assessment.light_label,
                },
            )
        )
    year, week, _ = today.isocalendar()
    out: dict[int, dict[str, Any] | None] = {}
    for person in people:
        theirs = [
            (project, item)
            for project, item in items
            if person.id in (project.officer_id, project.leader_id)
            or (person.is_head and project.unit_id == person.unit_id)
        ]
        out[person.id] = (
            {
                "week": f"{year}年第{week}周（{monday.isoformat()} 至 {sunday.isoformat()}）",
                "projects": [item for _, item in theirs],
                "due_this_week": [
                    item
                    for project, item in theirs
                    if project.deadline is not None and monday <= project.deadline <= sunday
                ],
            }
            if theirs
            else None
        )
    return out
