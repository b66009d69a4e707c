"""From claimed outbox rows to messages: group by recipient, drop what is obsolete, render templates.

A notification is obsolete when its project has moved on since it was queued (``NoticeKey.is_obsolete``):
the official is told about the project as it is, never about a state it has left.

A recipient's warnings are consolidated into messages of at most ``warnings_per_message`` each (a crash
resends at most one message: a bounded one). A message's Message-ID derives from the random nonces of
its notifications (stored when they were queued), so the same group is the same message on a retry and
two databases never make the same id. A group that was handed over once (its Message-ID stored right
before: a crash, a refusal, an unknown outcome) goes again as that same message: same group, same id.
Anything that goes wrong building one message (a context, a template) is that message's permanent
failure (``Built.broken``), never the batch's.
"""

from __future__ import annotations

import hashlib
import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.utils import parseaddr
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from followup.app import records
from followup.app.runtime import Runtime
from followup.domain.kinds import NoticeKind, Role
from followup.domain.ladder import assess
from followup.domain.notices import NoticeKey, ProjectClock
from followup.domain.timeutil import as_utc, local_day
from followup.domain.workflow import TERMINATED, Workflow
from followup.errors import FollowupError
from followup.mail.message import OutgoingMessage, make_message_id
from followup.store import queries
from followup.store.models import Official, Project

log = logging.getLogger(__name__)

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
class Built:
    """What the claimed notifications became: messages, obsolete ids, and groups that could not be built
    (their ids and why)."""

    letters: list[Letter] = field(default_factory=list)
    obsolete: list[int] = field(default_factory=list)
    broken: list[tuple[tuple[int, ...], str]] = field(default_factory=list)


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


def message_key(nonces: Sequence[str]) -> str:
    """A message's key from its notifications' nonces: the nonce of a single one, else a digest of all
    (in id order). The same group always gets the same key; nothing about the database shows in it."""
    if len(nonces) == 1:
        return nonces[0]
    return hashlib.sha256(",".join(nonces).encode("ascii")).hexdigest()[:32]


def build_messages(rt: Runtime, ids: Sequence[int], now: datetime) -> Built:
    """Messages for the claimed notifications ``ids`` (per recipient and kind, at most
    ``warnings_per_message`` warnings each), the obsolete ids, and what could not be built."""
    loaded = _load(rt, ids, now)
    local_now = as_utc(now).astimezone(rt.zone).strftime("%Y-%m-%d %H:%M")
    built = Built()
    # (recipient, kind, the Message-ID the group was handed over with before, if it was) → its items
    groups: dict[tuple[int, str, str | None], Items] = defaultdict(list)
    nonces: dict[int, str] = {}
    for n in loaded.notes:
        nonces[n.id] = n.nonce
        try:
            kind, context = _context(rt, loaded, n, now)
        except Exception as exc:  # a broken project or workflow: this notification's trouble only
            log.exception("notification %s cannot be composed", n.id)
            built.broken.append(((n.id,), f"cannot compose the message: {type(exc).__name__}: {exc}"))
            continue
        if context is None:
            built.obsolete.append(n.id)
            continue
        groups[(n.recipient_id, kind, n.message_id)].append((n.id, {**context, "now": local_now}))
    cap = rt.settings.warnings_per_message
    for (who, kind, pinned), items in groups.items():
        chunks = (
            [items] if pinned or kind == "digest" else [items[i : i + cap] for i in range(0, len(items), cap)]
        )
        for chunk in chunks:
            chunk_ids = tuple(i for i, _ in chunk)
            message_id = pinned or make_message_id(
                message_key([nonces[i] for i in chunk_ids]), _domain(rt.settings.mail_from)
            )
            try:
                built.letters.append(_letter(rt, loaded.people[who], kind, chunk, local_now, message_id))
            except Exception as exc:  # a template error, a bad header value: this message only
                log.exception("message %s cannot be built", message_id)
                built.broken.append((chunk_ids, f"cannot build the message: {type(exc).__name__}: {exc}"))
    return built


def _context(rt: Runtime, loaded: _Loaded, n: Any, now: datetime) -> tuple[str, dict[str, Any] | None]:
    """The kind of message notification ``n`` goes in and its template context (None: obsolete)."""
    person = loaded.people[n.recipient_id]
    recipient = {
        "name": person.name,
        "email": person.email,
        "role": n.role,
        "role_label": Role(n.role).label if n.role in Role._value2member_map_ else DIGEST_LABEL,
    }
    if n.kind == NoticeKind.DIGEST:
        digest = loaded.digests[n.recipient_id]
        return "digest", None if digest is None else {"recipient": recipient, **digest}
    project = loaded.projects.get(n.project_id)
    key = NoticeKey.from_row(n)
    kind = "stranded" if key.kind is NoticeKind.STRANDED else "warning"
    if key.is_obsolete(ProjectClock.from_row(project) if project else None):
        return kind, None
    assert project is not None  # a notification of a vanished project is obsolete
    placed = records.placement(rt, project.workflow, project.stage, project.held_stage)
    if kind == "stranded":  # news only while the project is still stranded
        return kind, None if placed.problem is None else {
            "recipient": recipient,
            **_stranded(project, placed),
        }
    if placed.problem is not None:  # its ladder waits until the project is repaired (the office is told)
        return kind, None
    return kind, {"recipient": recipient, **_warning_context(rt, loaded, n, project, now)}


def _stranded(project: Project, placed: records.Placement) -> dict[str, Any]:
    return {
        "project": {
            "id": project.id,
            "name": project.name,
            "workflow": project.workflow,
            "stage": project.stage,
            "unit": project.unit.name,
            "officer": project.officer.name,
        },
        "problem": placed.problem,
        "hint": records.repair_hint(project.id),
    }


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


def _letter(
    rt: Runtime, person: Official, kind: str, items: Items, local_now: str, message_id: str
) -> Letter:
    """One message to ``person`` for a group of notifications of one kind."""
    from followup.mail.templates import has_kind, render  # Jinja2 only when mail goes out

    if kind == "digest":
        template, context = "digest", items[-1][1]
    elif kind == "stranded":
        template = "stranded"
        context = {"recipient": items[0][1]["recipient"], "items": [c for _, c in items], "now": local_now}
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
        message_id=message_id,
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
        workflow = _workflow(rt, project)
        label = _level(workflow, project.stage, entry["level"])["label"] if workflow else entry["level"]
        out[(pid, seq, round_)].append({"label": label, "date": entry["date"], "to": "、".join(entry["to"])})
    return out


def _workflow(rt: Runtime, project: Project) -> Workflow | None:
    """The project's workflow, or None when it cannot be loaded: one broken project must not stop the
    messages about the others (the digest, the escalation so far)."""
    try:
        return rt.workflows.get(project.workflow)
    except FollowupError as exc:
        log.warning("project %s: %s", project.id, exc)
        return None


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
        workflow = _workflow(rt, project)
        if workflow is None or workflow.is_final(project.stage):
            continue  # a project whose workflow cannot be loaded is reported by the board, not here
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
