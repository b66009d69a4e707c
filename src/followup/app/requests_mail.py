"""The mails of extension and hold requests (``app.requests``): a request to each official who may
approve it (templates ``request.*``), carrying the approval button — or, without a public address for
the web app, the commands —, and the decision back to whoever asked (``decision.*``).

Each is a message of its own (``app.letters`` hands the claimed rows here). A request mail whose request
is no longer pending, or that the project has moved on from, is obsolete: never sent.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from followup.app import access, records
from followup.app.requests import EXTENSION, KIND_LABELS, PENDING, STATUS_LABELS, lapse_reason
from followup.app.runtime import Runtime
from followup.domain.kinds import NoticeKind, Role
from followup.domain.timeutil import show_short
from followup.i18n import _
from followup.mail.message import OutgoingMessage
from followup.store.models import ApprovalRequest, Official, Project

KINDS = (NoticeKind.REQUEST.value, NoticeKind.DECISION.value)


def letter(rt: Runtime, n: Any, person: Official, message_id: str, now: datetime) -> OutgoingMessage | None:
    """The message of the claimed notification ``n`` (a request or a decision) to ``person``, or None
    when it is obsolete (the request was decided or lapsed before its mail went)."""
    from followup.mail.templates import render  # Jinja2 only when mail goes out

    request_id = int(str(n.round).removeprefix("q"))
    with rt.store.reading() as session:
        req = session.get(ApprovalRequest, request_id)
        row = session.get(Project, n.project_id)
        if req is None or row is None:
            return None
        if n.kind == NoticeKind.REQUEST and (req.status != PENDING or lapse_reason(rt, req, row) is not None):
            return None
        context = _context(rt, session, req, row, person, n.role, now)
    subject, text, html = render(str(n.kind), context, rt.settings)
    return OutgoingMessage(
        message_id=message_id,
        to_name=person.name,
        to_email=person.email,
        subject=subject,
        text=text,
        html=html,
    )


def _context(
    rt: Runtime,
    session: Session,
    req: ApprovalRequest,
    row: Project,
    person: Official,
    role: str,
    now: datetime,
) -> dict[str, Any]:
    """What ``request.*`` and ``decision.*`` are rendered with (see notifications/README.md)."""
    zone = rt.zone
    placed = records.placement(rt, row.workflow, row.stage, row.held_stage)
    label = placed.workflow.label_of if placed.workflow else (lambda key: key)
    asker, decider = session.get(Official, req.requested_by_id), None
    if req.decided_by_id is not None:
        decider = session.get(Official, req.decided_by_id)
    asked = {
        "id": req.id,
        "kind": req.kind,
        "kind_label": _(KIND_LABELS.get(req.kind, req.kind)),
        "days": req.days,
        "until": req.until.isoformat() if req.until else None,
        "reason": req.reason,
        "asked_by": asker.name if asker else "",
        "asked_at": show_short(req.requested_at, zone),
        "new_deadline": _new_deadline(req, row),
        "status": req.status,
        "status_label": _(STATUS_LABELS.get(req.status, req.status)),
        "note": req.decision_note,
        "decided_by": decider.name if decider else None,
    }
    project = {
        "id": row.id,
        "name": row.name,
        "stage_label": label(row.stage),
        "deadline": row.deadline.isoformat() if row.deadline else None,
        "unit": row.unit.name,
        "officer": row.officer.name,
        "hold_until": row.hold_until.isoformat() if row.hold_until else None,
    }
    action = "approve" if req.status == PENDING else "view"
    url = access.action_url(rt.settings, person.id, row.id, action, now)
    commands = [] if url else _commands(req, person)
    role_label = Role(role).label if role in Role._value2member_map_ else ""
    return {
        "recipient": {
            "name": person.name,
            "email": person.email,
            "key": person.key,
            "role_label": role_label,
        },
        "request": asked,
        "project": project,
        "url": url,
        "commands": commands,
        "now": show_short(now, zone),
    }


def _new_deadline(req: ApprovalRequest, row: Project) -> str | None:
    """The deadline an extension asks for (None for a hold, or a project without one)."""
    if req.kind != EXTENSION:
        return None
    if req.until is not None:
        return req.until.isoformat()
    if row.deadline is None or req.days is None:
        return None
    return (row.deadline + timedelta(days=req.days)).isoformat()


def _commands(req: ApprovalRequest, person: Official) -> list[str]:
    """The commands that decide a pending request, when the web app has no public address."""
    if req.status != PENDING:
        return []
    return [
        f"followup approve {req.id} --by {person.key}",
        f'followup approve {req.id} --by {person.key} --reject --note "…"',
    ]
