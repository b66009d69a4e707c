"""From claimed outbox rows to messages: group by recipient, drop what is obsolete, render templates.

A notification is obsolete when its project has moved on since it was queued (``NoticeKey.is_obsolete``):
the official is told about the project as it is, never about a state it has left.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parseaddr
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from followup.app.runtime import Runtime
from followup.domain.kinds import NoticeKind, Role
from followup.domain.ladder import assess
from followup.domain.notices import NoticeKey, ProjectClock
from followup.domain.timeutil import as_utc, local_day
from followup.domain.workflow import TERMINATED, Workflow
from followup.mail.transport import OutgoingMessage, make_message_id
from followup.store import queries
from followup.store.models import Official, Project

SHIPPED_LEVELS = ("blue", "yellow", "red", "top")
STALE_LABEL = "跟进超时"
DIGEST_LABEL = "周调度"

#: one group of notifications for one recipient: (notification id, template context) each
Items = list[tuple[int, dict[str, Any]]]


@dataclass(frozen=True)
class Letter:
    ids: tuple[int, ...]
    message: OutgoingMessage


@dataclass
class _Loaded:
    """What the claimed notifications need, read in one snapshot."""

    notes: Sequence[Any]
    projects: dict[int, Project]
    people: dict[int, Official]
    sent_before: dict[tuple[int, int, str], list[dict[str, str]]]
    digests: dict[int, dict[str, Any] | None]


def _domain(mail_from: str) -> str:
    address = parseaddr(mail_from)[1]
    return address.rsplit("@", 1)[1] if "@" in address else "localhost"


def _key(ids: Sequence[int]) -> str:
    """The same group of notifications always gets the same Message-ID (a retry is the same message)."""
    if len(ids) <= 4:
        return "n" + "-".join(map(str, ids))
    digest = hashlib.sha1(",".join(map(str, ids)).encode()).hexdigest()[:12]
    return f"n{ids[0]}-{ids[-1]}-{len(ids)}-{digest}"


def build_messages(rt: Runtime, ids: Sequence[int], now: datetime) -> tuple[list[Letter], list[int]]:
    """Messages for the claimed notifications ``ids`` (one per recipient and kind), and the obsolete ids."""
    loaded = _load(rt, ids, now)
    local_now = as_utc(now).astimezone(rt.zone).strftime("%Y-%m-%d %H:%M")
    obsolete: list[int] = []
    groups: dict[tuple[int, str], Items] = defaultdict(list)
    for n in loaded.notes:
        person = loaded.people[n.recipient_id]
        recipient = {
            "name": person.name,
            "email": person.email,
            "role": n.role,
            "role_label": Role(n.role).label if n.role in Role._value2member_map_ else DIGEST_LABEL,
        }
        if n.kind == NoticeKind.DIGEST:
            context = loaded.digests[n.recipient_id]
            if context is None:
                obsolete.append(n.id)
            else:
                groups[(n.recipient_id, "digest")].append(
                    (n.id, {"recipient": recipient, **context, "now": local_now})
                )
            continue
        project = loaded.projects.get(n.project_id)
        if NoticeKey.from_row(n).is_obsolete(ProjectClock.from_row(project) if project else None):
            obsolete.append(n.id)
            continue
        assert project is not None  # a notification of a vanished project is obsolete
        context = _warning_context(rt, loaded, n, project, now)
        groups[(n.recipient_id, "warning")].append(
            (n.id, {"recipient": recipient, **context, "now": local_now})
        )
    letters = [
        _letter(rt, loaded.people[who], kind, items, local_now) for (who, kind), items in groups.items()
    ]
    return letters, obsolete


def _load(rt: Runtime, ids: Sequence[int], now: datetime) -> _Loaded:
    with rt.store.reading() as session:
        notes = queries.notifications(session.connection(), ids)
        project_ids = {n.project_id for n in notes if n.project_id is not None}
        projects = {
            p.id: p for p in session.scalars(select(Project).where(Project.id.in_(project_ids))).unique()
        }
        who = {n.recipient_id for n in notes}
        people = {o.id: o for o in session.scalars(select(Official).where(Official.id.in_(who))).unique()}
        sent_before = _escalation_so_far(rt, session, projects)
        readers = [people[n.recipient_id] for n in notes if n.kind == NoticeKind.DIGEST]
        digests = _digest_contexts(rt, session, readers, now) if readers else {}
    return _Loaded(notes, projects, people, sent_before, digests)


def _warning_context(rt: Runtime, loaded: _Loaded, n: Any, project: Project, now: datetime) -> dict[str, Any]:
    workflow = rt.workflows.get(project.workflow)
    officer = project.officer.key
    return {
        "project": _project_context(rt, project, workflow, now),
        "level": _level(workflow, project.stage, n.level),
        "escalation": loaded.sent_before.get((project.id, n.stage_seq, n.round), []),
        "commands": {
            "log": f'followup log {project.id} "跟进情况" --by {officer}',
            "advance": f"followup advance {project.id} <阶段> --by {officer}",
            "show": f"followup project show {project.id}",
        },
    }


def _letter(rt: Runtime, person: Official, kind: str, items: Items, local_now: str) -> Letter:
    """One message to ``person`` for a group of notifications of one kind."""
    from followup.mail.templates import has_kind, render  # Jinja2 only when mail goes out

    if kind == "digest":
        template, context = "digest", items[-1][1]
    elif len(items) == 1:
        context = items[0][1]
        level = context["level"]["key"]
        # A county's own ladder level uses its own templates when it ships them, else the 黄灯 ones
        # (the subject still carries the level's own label).
        known = level in SHIPPED_LEVELS or has_kind(level, rt.settings)
        template = "stale" if level == NoticeKind.STALE else (level if known else "yellow")
    else:
        template = "several"
        context = {"recipient": items[0][1]["recipient"], "items": [c for _, c in items], "now": local_now}
    subject, text, html = render(template, context, rt.settings)
    ids = tuple(i for i, _ in items)
    message = OutgoingMessage(
        message_id=make_message_id(_key(ids), _domain(rt.settings.mail_from)),
        to_name=person.name,
        to_email=person.email,
        subject=subject,
        text=text,
        html=html,
    )
    return Letter(ids, message)


def _level(workflow: Workflow, stage: str, key: str) -> dict[str, str]:
    if key == NoticeKind.STALE:
        return {"key": key, "label": STALE_LABEL}
    for level in workflow.ladder_for(stage):
        if level.key == key:
            return {"key": key, "label": level.label}
    return {"key": key, "label": key}


def _project_context(rt: Runtime, project: Project, workflow: Workflow, now: datetime) -> dict[str, Any]:
    zone = rt.zone
    today = local_day(now, zone)
    assessment = assess(workflow, ProjectClock.from_row(project), now, rt.calendar, zone)
    quiet_since = local_day(project.last_activity_at, zone)
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
        "stale_days": (today - quiet_since).days if assessment.stale_since else None,
    }


def _escalation_so_far(
    rt: Runtime, session: Session, projects: dict[int, Project]
) -> dict[tuple[int, int, str], list[dict[str, str]]]:
    """What each ladder has already sent: [{label, date, to}], oldest first."""
    if not projects:
        return {}
    grouped: dict[tuple[int, int, str, str, int], dict[str, Any]] = {}
    for row in queries.sent_so_far(session.connection(), list(projects)):
        key = (row.project_id, row.stage_seq, row.round, row.level, row.repeat_no)
        day = local_day(row.sent_at, rt.zone).isoformat()
        grouped.setdefault(key, {"level": row.level, "date": day, "to": []})["to"].append(row.name)
    out: dict[tuple[int, int, str], list[dict[str, str]]] = defaultdict(list)
    for (pid, seq, round_, _, _), entry in grouped.items():
        project = projects[pid]
        label = _level(rt.workflows.get(project.workflow), project.stage, entry["level"])["label"]
        out[(pid, seq, round_)].append({"label": label, "date": entry["date"], "to": "、".join(entry["to"])})
    return out


def _digest_contexts(
    rt: Runtime, session: Session, people: Sequence[Official], now: datetime
) -> dict[int, dict[str, Any] | None]:
    """The weekly digest of each official: their projects (as case officer, leader in charge or head
    of the responsible unit) with their lights, and this week's deadlines; None with nothing to report.
    The active projects are read and assessed once for everybody."""
    today = local_day(now, rt.zone)
    monday = today - timedelta(days=today.weekday())
    sunday = monday + timedelta(days=6)
    items: list[tuple[Project, dict[str, Any]]] = []
    active = select(Project).where(Project.stage != TERMINATED).order_by(Project.id)
    for project in session.scalars(active).unique():
        workflow = rt.workflows.get(project.workflow)
        if workflow.is_final(project.stage):
            continue
        assessment = assess(workflow, ProjectClock.from_row(project), now, rt.calendar, rt.zone)
        item = {
            "id": project.id,
            "name": project.name,
            "stage_label": workflow.label_of(project.stage),
            "deadline": project.deadline.isoformat() if project.deadline else None,
            "light": str(assessment.light),
            "light_label": assessment.light_label,
        }
        items.append((project, item))
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
